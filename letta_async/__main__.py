"""``python -m letta_async``: the same command line as the ``letta-async`` console script.

The console script is declared as ``letta_async.__main__:main``, so ``main`` must be importable
from here without running anything.
"""

from __future__ import annotations

import sys

from .cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
