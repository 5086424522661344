"""The survivor file stays true to the code it describes.

Every entry says a mutant of some line is equivalent (or awaits a test). When the code is
rewritten, the entry would otherwise linger, matching nothing, and the reasons in the file
would describe code that no longer exists.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# The mutation tool runs on 3.11+ (it reads pyproject.toml with tomllib); so does this check.
tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parent.parent
ENTRIES = tomllib.loads((ROOT / "tools" / "mutation_survivors.toml").read_text("utf-8"))["survivor"]


def _folded(text: str) -> str:
    return " ".join(text.split())


def _source_of(function: str) -> str:
    module = function.split(".x", 1)[0]
    base = ROOT / module.replace(".", "/")
    path = base.with_suffix(".py") if base.with_suffix(".py").exists() else base / "__init__.py"
    return _folded(path.read_text("utf-8"))


def test_every_entry_is_complete() -> None:
    assert ENTRIES
    for entry in ENTRIES:
        assert entry["verdict"] in ("equivalent", "pending"), entry
        assert entry["why"].strip(), entry
        assert any(line.startswith("-") for line in entry["change"].splitlines()), entry


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["function"].split(".")[-1][:40])
def test_every_entry_names_lines_the_code_still_has(entry: dict[str, str]) -> None:
    source = _source_of(entry["function"])
    removed = [_folded(line[1:]) for line in entry["change"].splitlines() if line[:1] == "-"]
    missing = [line for line in removed if line not in source]
    assert not missing, f"{entry['function']}: the code no longer has {missing}"
