"""Every official method is called by the migration corpus, or the table says why not.

The corpus (tests/e2e/migration/programs) is where this client is compared with the official
SDK method by method; a method no program calls is a method nobody compared. The scan that
finds the calls is static (tools/gen_method_table.py), so it is checked here on small
programs whose calls are known, including the lookalikes it must not count.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

table = pytest.importorskip("tools.gen_method_table")

METHODS = [entry["path"] for entry in json.loads(table.SURFACE.read_text())["methods"]]


def test_every_official_method_is_called_or_excused() -> None:
    coverage = table.corpus_coverage(METHODS)
    missing = table.uncovered(METHODS, coverage)
    assert missing == [], (
        "official methods that no migration program calls and NOT_IN_CORPUS does not excuse "
        f"(write a program or give the reason): {missing}"
    )


def test_excuses_are_for_methods_nobody_calls() -> None:
    coverage = table.corpus_coverage(METHODS)
    assert set(table.NOT_IN_CORPUS) <= set(METHODS), set(table.NOT_IN_CORPUS) - set(METHODS)
    stale = sorted(set(table.NOT_IN_CORPUS) & set(coverage))
    assert stale == [], f"called by the corpus, so no longer excused: {stale}"


def test_the_table_shows_the_coverage_figure() -> None:
    coverage = table.corpus_coverage(METHODS)
    text = table.OUTPUT.read_text(encoding="utf-8")
    called = sum(method in coverage for method in METHODS)
    assert f"Called by the migration corpus: {called}/{len(METHODS)}" in text
    for method, program in coverage.items():
        assert f"| `{program}`" in text, method


SAMPLE = """
import letta_client
from letta_client import AsyncLetta


async def helper(c: AsyncLetta, other: object) -> None:
    await c.tags.list()
    other.folders.create(name="not a client")


async def main() -> None:
    client = AsyncLetta()
    quiet = client.with_options(max_retries=0)
    await client.agents.messages.create("a", input="hi")
    await client.agents.with_raw_response.retrieve("a")
    await quiet.runs.retrieve("r")
    await client.copy(max_retries=1).blocks.delete("b")
    async with letta_client.AsyncLetta() as scoped:
        await scoped.health()
    stream = await client.agents.messages.stream("a", input="hi")
    await stream.close()
    data = {"x": 1}
    data.get("x")
    response = object()
    response.delete  # an attribute of something else
    client.agents  # a resource, not a call
"""


def test_scan_finds_calls_through_every_kind_of_client() -> None:
    found = table.calls_in(SAMPLE, METHODS)
    assert found == {
        "tags.list",
        "with_options",
        "agents.messages.create",
        "agents.retrieve",
        "runs.retrieve",
        "copy",
        "blocks.delete",
        "health",
        "agents.messages.stream",
    }


def test_coverage_names_the_first_program(tmp_path: Path) -> None:
    head = "from letta_client import AsyncLetta\nclient = AsyncLetta()\n"
    (tmp_path / "02_b.py").write_text(head + "client.health()\nclient.tags.list()\n")
    (tmp_path / "01_a.py").write_text(head + "client.tags.list()\n")
    (tmp_path / "notes.py").write_text(head + "client.models.list()\n")
    coverage = table.corpus_coverage(["health", "tags.list", "models.list"], tmp_path)
    assert coverage == {"health": "02_b", "tags.list": "01_a"}
    assert table.uncovered(["health", "tags.list", "models.list"], coverage) == ["models.list"]
    assert table.corpus_cell("tags.list", coverage) == "`01_a`"
    assert table.corpus_cell("request", coverage).startswith("not called: ")
    assert table.corpus_cell("models.list", coverage) == ""
