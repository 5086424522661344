"""``mypy --strict`` accepts the official SDK's idioms written against this package.

One mypy run checks two small programs: one written the way official-SDK code is written
(it must be clean), and one with mistakes a type checker must catch (narrowing forgotten, a
page used as a list), so a clean result cannot come from mypy seeing ``Any`` everywhere.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

GOOD = """
from letta_async import AsyncLetta, AsyncStream
from letta_async.pagination import AsyncArrayPage
from letta_async.types import AgentState, AssistantMessage
from letta_async.types.agents import LettaStreamingResponse


async def main() -> None:
    async with AsyncLetta() as client:
        stream: AsyncStream[LettaStreamingResponse] = await client.agents.messages.stream(
            "agent-1", messages=[{"role": "user", "content": "hi"}], stream_tokens=True
        )
        async for chunk in stream:
            if chunk.message_type == "assistant_message":
                message: AssistantMessage = chunk
                print(message.content)
        page: AsyncArrayPage[AgentState] = await client.agents.list(limit=5)
        agents: list[AgentState] = page.items
        if page.has_next_page():
            older = await page.get_next_page()
            agents += older.items
        async for agent in client.agents.list():
            print(agent.name)
        print(len(agents))
"""

BAD = """
from letta_async import AsyncLetta


async def main() -> None:
    async with AsyncLetta() as client:
        stream = await client.agents.messages.stream("agent-1", messages=[])
        async for chunk in stream:
            print(chunk.content)
        page = await client.agents.list()
        print(page[0])
"""


def mypy_errors(
    tmp_path: Path, good_source: str, bad_source: str, *flags: str
) -> tuple[list[str], list[str]]:
    """``mypy --strict`` (and ``flags``) over two programs: the error lines of good.py and
    of bad.py."""
    (tmp_path / "good.py").write_text(good_source)
    (tmp_path / "bad.py").write_text(bad_source)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            *flags,
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            "good.py",
            "bad.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() if ": error:" in line]
    good = [line for line in lines if line.startswith("good.py")]
    bad = [line for line in lines if line.startswith("bad.py")]
    return good, bad


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")
def test_official_idioms_type_check_and_mistakes_do_not(tmp_path: Path) -> None:
    good, bad = mypy_errors(tmp_path, GOOD, BAD)
    assert good == [], "\n".join(good)
    assert any(":9: error:" in line and "content" in line for line in bad), "\n".join(bad)
    assert any(":11: error:" in line and "not indexable" in line for line in bad), "\n".join(bad)
