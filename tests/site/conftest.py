"""The built documentation site, opened in headless Chromium.

Opt-in like the end-to-end suite: unless ``LETTA_SITE=1`` is set, nothing in this directory is
collected, since the site has to be built first. ``nox -s docs`` builds it, installs Chromium
when it is missing, and runs these tests with the variable set.
"""

from __future__ import annotations

import os

if os.environ.get("LETTA_SITE") != "1":
    collect_ignore_glob = ["test_*.py"]
