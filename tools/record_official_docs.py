"""Record which parameters each official method's docstring documents.

Run with an interpreter that has ``letta-client==1.12.1`` installed (never a dependency of
this package)::

    python tools/record_official_docs.py > tests/fixtures/official_docs.json

For every method in ``tools/official_surface.json`` it writes the names of the official
docstring's ``Args:`` entries and the docstring's length, so that
``tests/test_docstrings.py`` can hold the generated docstrings to at least as much.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from pathlib import Path
from typing import Any

import letta_client

SURFACE = Path(__file__).resolve().parent / "official_surface.json"
ENTRY = re.compile(r"^  (\w+):", re.MULTILINE)


def args_of(doc: str) -> list[str]:
    """The names of the ``Args:`` section's entries (indented two spaces, as the SDK writes)."""
    _, found, section = doc.partition("\nArgs:\n")
    return ENTRY.findall(section) if found else []


def main() -> int:
    surface: dict[str, Any] = json.loads(SURFACE.read_text())
    client = letta_client.AsyncLetta(api_key="unused", base_url="http://127.0.0.1:9")
    methods: dict[str, Any] = {}
    for entry in surface["methods"]:
        target: Any = client
        for part in entry["path"].split("."):
            target = getattr(target, part)
        doc = inspect.getdoc(target) or ""
        methods[entry["path"]] = {"args": args_of(doc), "chars": len(doc)}
    facts = {"sdk": f"letta-client {letta_client.__version__}", "methods": methods}
    json.dump(facts, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
