"""mypy and pyright accept the official SDK's idioms written against this package.

Each checker checks two small programs: one written the way official-SDK code is written (it
must be clean), and one with mistakes a type checker must catch (narrowing forgotten, a page
used as a list, a fragment's field used as a whole call's), so a clean result cannot come
from a checker seeing ``Any`` everywhere. pyright runs in its default ``standard`` mode, as
an editor runs it for a user; mypy runs with ``--strict``.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

GOOD = """
from typing import Literal

from letta_async import AsyncLetta, AsyncStream
from letta_async.pagination import AsyncArrayPage
from letta_async.types import AgentState, AssistantMessage
from letta_async.types.agents import LettaStreamingResponse, ToolCall, ToolCallDelta
from letta_async.types.agents.approval_request_message import ToolCall as RequestedCall
from letta_async.types.agents.tool_call_message import ToolCalls
from letta_async.types import StopReasonType


def why(reason: StopReasonType, status: Literal["success", "error"]) -> str:
    return reason + status


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
        reply = await client.agents.messages.create(
            "agent-1", messages=[{"role": "user", "content": "hi"}]
        )
        for m in reply.messages:
            if m.message_type == "assistant_message":
                print(m.content)
            elif m.message_type == "tool_call_message":
                call: RequestedCall = m.tool_call
                calls: ToolCalls = m.tool_calls
                print(calls)
                if isinstance(call, ToolCall):
                    name: str = call.name
                    print(name, call.arguments)
                match call:
                    case ToolCall(name=whole):
                        print(whole)
                    case ToolCallDelta(arguments=part):
                        print(part)
            if m.message_type == "tool_return_message" and m.tool_returns:
                print(why(reply.stop_reason.stop_reason, m.tool_returns[0].status))
            print(m.run_id, m.id, m.date)
        run = await client.runs.retrieve("run-1")
        state: Literal["created", "running", "completed", "failed", "cancelled"] | None
        state = run.status
        if run.stop_reason is not None and state is not None:
            print(why(run.stop_reason, "success"), state)
        async for item in client.agents.messages.list("agent-1"):
            if item.message_type == "reasoning_message":
                print(item.reasoning, item.run_id)
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
        reply = await client.agents.messages.create("agent-1", messages=[])
        for m in reply.messages:
            if m.message_type == "tool_call_message":
                name: str = m.tool_call.name
                print(name, m.reasoning)
"""


def mypy_lines(folder: Path, files: list[str], *flags: str) -> list[str]:
    """``mypy --strict`` (and ``flags``) over ``files`` in ``folder``: its lines
    ``FILE:LINE: error: ...``."""
    result = subprocess.run(
        [
            *(sys.executable, "-m", "mypy", "--strict", "--no-error-summary", *flags),
            *("--cache-dir", str(folder / ".mypy_cache"), *files),
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    return [line for line in result.stdout.splitlines() if ": error:" in line]


def pyright_lines(folder: Path, files: list[str]) -> list[str]:
    """pyright (standard mode) over ``files`` in ``folder``: its errors, written as mypy's.

    Each error reads ``FILE:LINE: error: MESSAGE``, so that the same assertions read both
    checkers' verdicts. The repository is on pyright's ``extraPaths`` because an editable
    install is an import hook, which pyright does not run.
    """
    config = {"typeCheckingMode": "standard", "extraPaths": [str(ROOT)]}
    (folder / "pyrightconfig.json").write_text(json.dumps(config))
    result = subprocess.run(
        [
            *(sys.executable, "-m", "basedpyright", "--outputjson"),
            *("--pythonpath", sys.executable, *files),
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"pyright did not report: {result.stdout}{result.stderr}") from None
    return [
        f"{Path(d['file']).name}:{d['range']['start']['line'] + 1}: error: {d['message']}"
        for d in report["generalDiagnostics"]
        if d["severity"] == "error"
    ]


def _good_and_bad(
    check: Callable[[Path, list[str]], list[str]], folder: Path, good: str, bad: str
) -> tuple[list[str], list[str]]:
    (folder / "good.py").write_text(good)
    (folder / "bad.py").write_text(bad)
    lines = check(folder, ["good.py", "bad.py"])
    return (
        [line for line in lines if line.startswith("good.py")],
        [line for line in lines if line.startswith("bad.py")],
    )


def mypy_errors(
    tmp_path: Path, good_source: str, bad_source: str, *flags: str
) -> tuple[list[str], list[str]]:
    """``mypy --strict`` (and ``flags``) over two programs: the error lines of good.py and
    of bad.py."""

    def check(folder: Path, files: list[str]) -> list[str]:
        return mypy_lines(folder, files, *flags)

    return _good_and_bad(check, tmp_path, good_source, bad_source)


def pyright_errors(
    tmp_path: Path, good_source: str, bad_source: str
) -> tuple[list[str], list[str]]:
    """pyright (standard mode) over two programs: the error lines of good.py and of bad.py."""
    return _good_and_bad(pyright_lines, tmp_path, good_source, bad_source)


CHECKERS = {"mypy": mypy_errors, "pyright": pyright_errors}
"""Each checker by name, for the tests that ask both of them about a good and a bad program."""

requires_checker = pytest.mark.parametrize(
    "checker",
    [
        pytest.param(
            name,
            marks=pytest.mark.skipif(
                importlib.util.find_spec(name if name == "mypy" else "basedpyright") is None,
                reason=f"{name} is not installed",
            ),
        )
        for name in CHECKERS
    ],
)
"""Runs a test once per type checker; the test takes the checker's name as ``checker``."""


@requires_checker
def test_official_idioms_type_check_and_mistakes_do_not(tmp_path: Path, checker: str) -> None:
    good, bad = CHECKERS[checker](tmp_path, GOOD, BAD)
    assert good == [], "\n".join(good)
    assert any(":9: error:" in line and "content" in line for line in bad), "\n".join(bad)
    assert any(":11: error:" in line for line in bad), "\n".join(bad)
    # A fragment's name may be None: narrowing on message_type does not make it a whole call.
    assert any(":15: error:" in line for line in bad), "\n".join(bad)
    assert any(":16: error:" in line and "reasoning" in line for line in bad), "\n".join(bad)
