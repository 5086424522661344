"""The ``letta-async`` command against the local Letta-compatible server.

Most tests call ``main(argv)`` in a worker thread (it runs its own event loop with
``asyncio.run``, while the server keeps serving on the test's loop); a few start the real
``python -m letta_async`` process, to cover the entry point, exit codes and Ctrl-C.
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import anyio
import pytest

from letta_async import AsyncLetta, __version__
from letta_async._render import StreamRenderer
from letta_async.cli import main, main_async
from letta_async.testing import REASONING, REPLY, TOOL_ANSWER, Fault, LettaTestServer
from letta_async.types import AssistantMessage, LettaUsageStatistics, ToolCall, ToolCallMessage

pytestmark = pytest.mark.anyio

ESC = "\x1b["


@pytest.fixture
async def server() -> AsyncIterator[LettaTestServer]:
    async with LettaTestServer(keepalive_interval=0.2) as s:
        yield s


@pytest.fixture
def agent_id(server: LettaTestServer) -> str:
    return str(server.create_agent(name="cli-agent")["id"])


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LETTA_BASE_URL", "LETTA_API_KEY", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)


async def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = await anyio.to_thread.run_sync(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def json_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def tokens(count: int) -> str:
    return "".join(f"t{i} " for i in range(count))


# --- stream --------------------------------------------------------------------------------


async def test_stream_renders_every_kind_of_message_legibly(
    server: LettaTestServer, agent_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = await cli(
        capsys, "--base-url", server.base_url, "stream", agent_id, "hi [reasoning] [tool]"
    )
    assert code == 0, err
    assert out.splitlines()[:2] == [
        f"thinking: {REASONING}",
        'tool call: conversation_search({"query": "hi"})',
    ]
    assert out.splitlines()[2].startswith("tool return: conversation_search [success] ")
    assert out.splitlines()[3:] == [
        f"assistant: {TOOL_ANSWER}",
        "stop: end_turn",
        "usage: 200 prompt + 24 completion = 224 tokens, 2 steps",
    ]
    assert ESC not in out, "no colours when stdout is not a terminal"
    assert err == ""


async def test_token_stream_joins_deltas_into_lines(
    server: LettaTestServer, agent_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = await cli(
        capsys,
        "stream",
        "--base-url",
        server.base_url,
        agent_id,
        "hi [reasoning] [tool]",
        "--tokens",
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"thinking: {REASONING}"
    assert lines[1] == 'tool call: conversation_search({"query": "hi"})'
    assert lines[3] == f"assistant: {TOOL_ANSWER}"


async def test_color_always_paints_and_dims_reasoning(
    server: LettaTestServer, agent_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = await cli(
        capsys,
        "--base-url",
        server.base_url,
        "--color",
        "always",
        "stream",
        agent_id,
        "[reasoning]",
    )
    assert code == 0
    assert out.startswith(f"{ESC}2mthinking: ")
    assert f"{ESC}1massistant: " in out


async def test_json_prints_one_decodable_object_per_event(
    server: LettaTestServer, agent_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = await cli(
        capsys, "--base-url", server.base_url, "--json", "stream", agent_id, "hi", "--tokens"
    )
    assert code == 0, err
    events = json_lines(out)
    kinds = [e["message_type"] for e in events]
    assert kinds[0] == "ping" and kinds[-2:] == ["stop_reason", "usage_statistics"]
    text = "".join(e["content"] for e in events if e["message_type"] == "assistant_message")
    assert text == REPLY
    assert all(e["run_id"] == events[0]["run_id"] for e in events if "run_id" in e)


async def test_message_text_from_stdin(
    server: LettaTestServer,
    agent_id: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("look it up [tool]\n"))
    code, out, _ = await cli(capsys, "--base-url", server.base_url, "stream", agent_id, "-")
    assert code == 0
    assert 'conversation_search({"query": "look it up"})' in out


async def test_background_stream_shows_resume_and_loses_nothing(
    server: LettaTestServer, agent_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    server.faults.add(Fault(path=r"/messages/stream$", cut="after_frames", frames=5))
    code, out, err = await cli(
        capsys,
        "--base-url",
        server.base_url,
        "stream",
        agent_id,
        "go [tokens=30]",
        "--tokens",
        "--background",
    )
    assert code == 0, err
    assert "connection lost; resuming run run-" in err
    assert "after seq_id 5 (attempt 1)" in err
    body = "".join(line.removeprefix("assistant: ") for line in out.splitlines()[:-2])
    assert body == tokens(30), "every token exactly once, in order, across the resume"


async def test_background_json_has_contiguous_sequence_numbers(
    server: LettaTestServer, agent_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    server.faults.add(Fault(path=r"/messages/stream$", cut="after_frames", frames=4))
    code, out, err = await cli(
        capsys,
        "--json",
        "--base-url",
        server.base_url,
        "stream",
        agent_id,
        "go [tokens=12]",
        "--tokens",
        "--background",
    )
    assert code == 0
    seqs = [e["seq_id"] for e in json_lines(out) if e.get("seq_id") is not None]
    assert seqs == list(range(1, len(seqs) + 1))
    assert "resuming run" in err


# --- runs ----------------------------------------------------------------------------------


async def test_runs_tail_after_a_sequence_number(
    server: LettaTestServer, agent_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with AsyncLetta(server.base_url) as client:
        stream = client.agents.messages.stream(
            agent_id,
            messages=[{"role": "user", "content": "go [tokens=10]"}],
            stream_tokens=True,
            background=True,
        )
        events = await stream.until_done()
    all_seqs: list[int] = [s for e in events if (s := getattr(e, "seq_id", None)) is not None]
    run_id = stream.run_id
    assert run_id is not None
    code, out, _ = await cli(
        capsys, "--base-url", server.base_url, "--json", "runs", "tail", run_id, "--after", "4"
    )
    assert code == 0
    seqs = [e["seq_id"] for e in json_lines(out) if e.get("seq_id") is not None]
    assert seqs == [s for s in all_seqs if s > 4]

    code, out, _ = await cli(capsys, "--base-url", server.base_url, "runs", "tail", run_id)
    assert code == 0
    assert f"assistant: {tokens(10)}" in out


async def test_runs_of_a_missing_run_say_so_in_one_line(
    server: LettaTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 404 is the server saying the run cannot be followed: no hint to follow it again."""
    missing = "run-00000000-0000-4000-8000-000000000000"
    for command in (
        ["runs", "tail", missing],
        ["runs", "tail", missing, "--after", "3"],
        ["runs", "get", missing],
        ["runs", "cancel", missing],
    ):
        code, out, err = await cli(capsys, "--base-url", server.base_url, *command)
        assert code == 1 and out == "", command
        assert err.startswith(f"letta-async: error: no run {missing} on this server: HTTP 404")
        assert err.count("\n") == 1, err
        assert "runs tail" not in err


async def test_runs_cancel_finds_the_agent_and_cancels(
    server: LettaTestServer, agent_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with AsyncLetta(server.base_url) as client:
        run = await client.agents.messages.create_async(
            agent_id, messages=[{"role": "user", "content": "slow [delay=30]"}]
        )
    code, out, err = await cli(capsys, "--base-url", server.base_url, "runs", "cancel", run.id)
    assert code == 0, err
    assert out == f"{run.id}: cancelled\n"
    record = await server.wait_for_run(run.id)
    assert record.status == "cancelled"
    cancels = server.requests_to(rf"/v1/agents/{agent_id}/messages/cancel$", "POST")
    assert [r.json for r in cancels] == [{"run_ids": [run.id]}]

    code, out, err = await cli(capsys, "--base-url", server.base_url, "runs", "cancel", run.id)
    assert code == 0 and out == "" and "already finished (cancelled)" in err

    code, out, _ = await cli(capsys, "--base-url", server.base_url, "runs", "get", run.id)
    assert code == 0 and "status:      cancelled" in out


# --- agents --------------------------------------------------------------------------------


async def test_agents_list_table_json_and_limit(
    server: LettaTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = [server.create_agent(name=f"agent-{n}")["id"] for n in range(3)]
    code, out, _ = await cli(capsys, "--base-url", server.base_url, "agents", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "MODEL"]
    assert {line.split()[0] for line in lines[1:]} == set(ids)

    code, out, _ = await cli(
        capsys, "--base-url", server.base_url, "agents", "list", "--json", "--limit", "2"
    )
    assert code == 0
    rows = json_lines(out)
    assert len(rows) == 2 and {r["id"] for r in rows} <= set(ids)


async def test_env_vars_supply_url_and_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with LettaTestServer(api_key="sekrit") as server:
        server.create_agent(name="from-env")
        monkeypatch.setenv("LETTA_BASE_URL", server.base_url)
        monkeypatch.setenv("LETTA_API_KEY", "sekrit")
        code, out, _ = await cli(capsys, "agents", "list")
        assert code == 0 and "from-env" in out

        monkeypatch.setenv("LETTA_API_KEY", "wrong")
        code, out, err = await cli(capsys, "agents", "list")
        assert code == 1 and out == ""
        assert err.startswith("letta-async: error: Error code: 401 - ") and "sekrit" not in err
        assert err.count("\n") == 1

        code, _, _ = await cli(capsys, "--api-key", "sekrit", "agents", "list")
        assert code == 0


# --- which server --------------------------------------------------------------------------


def _client_url(*argv: str) -> str:
    from letta_async.cli._app import _Session, build_parser

    session = _Session(
        build_parser().parse_args([*argv, "agents", "list"]), io.StringIO(), io.StringIO()
    )
    return str(session.client().base_url)


def test_the_server_is_chosen_as_the_library_chooses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # The official SDK's default is Letta Cloud; the library keeps it, and so does the CLI.
    assert _client_url() == str(AsyncLetta().base_url) == "https://api.letta.com"
    monkeypatch.setenv("LETTA_BASE_URL", "http://127.0.0.1:8283")
    assert _client_url() == "http://127.0.0.1:8283"
    assert _client_url("--base-url", "http://127.0.0.1:9000/") == "http://127.0.0.1:9000"
    help_text = build_help()
    assert "else $LETTA_BASE_URL, else Letta Cloud" in help_text
    assert "export LETTA_BASE_URL=http://localhost:8283" in help_text


def build_help() -> str:
    from letta_async.cli._app import build_parser

    return " ".join(build_parser().format_help().split())


async def test_a_failure_at_the_default_server_names_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone used to a local server learns that the command talked to Letta Cloud.

    The default is pointed at loopback addresses so that nothing leaves the machine.
    """
    from letta_async import _config

    monkeypatch.setitem(_config.ENVIRONMENTS, "cloud", "http://127.0.0.1:9")
    code, _, err = await cli(capsys, "agents", "list")
    assert code == 1
    first, hint = err.splitlines()
    assert first.startswith("letta-async: error: Connection error. Connection failed")
    assert hint == (
        "letta-async: no --base-url or $LETTA_BASE_URL, so this was Letta Cloud "
        "(http://127.0.0.1:9); for a local server: export LETTA_BASE_URL=http://localhost:8283"
    )
    async with LettaTestServer(api_key="sekrit") as server:
        monkeypatch.setitem(_config.ENVIRONMENTS, "cloud", server.base_url)
        code, _, err = await cli(capsys, "agents", "list")
        assert code == 1 and "Error code: 401" in err
        assert f"so this was Letta Cloud ({server.base_url})" in err
        code, _, err = await cli(capsys, "--base-url", server.base_url, "agents", "list")
        assert code == 1 and err.count("\n") == 1  # a server the user named: no hint


# --- failures ------------------------------------------------------------------------------


async def test_errors_are_one_line_without_traceback(
    server: LettaTestServer, agent_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = "agent-00000000-0000-4000-8000-000000000000"
    code, out, err = await cli(capsys, "--base-url", server.base_url, "stream", missing, "hi")
    assert code == 1 and out == ""
    assert err.startswith("letta-async: error: Error code: 404 - ")
    assert f"Agent with ID {missing} not found" in err
    assert err.count("\n") == 1 and "Traceback" not in err

    code, _, err = await cli(capsys, "--base-url", "http://127.0.0.1:9", "agents", "list")
    assert code == 1 and err.startswith("letta-async: error: Connection error. Connection failed")
    assert err.count("\n") == 1

    code, _, err = await cli(capsys, "--base-url", "ftp://nope", "agents", "list")
    assert code == 1 and "base_url must be" in err

    code, out, err = await cli(
        capsys, "--base-url", server.base_url, "stream", agent_id, "[error500]"
    )
    assert code == 1
    assert "error [llm_error]" in out
    failure = "the run failed: llm_error: An error occurred with the LLM request."
    assert err == f"letta-async: error: {failure}\n"


async def test_verbose_logs_requests_to_stderr_and_cleans_up(
    server: LettaTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    logger = logging.getLogger("letta_async")
    handlers, level = list(logger.handlers), logger.level
    code, _, err = await cli(capsys, "-v", "--base-url", server.base_url, "agents", "list")
    assert code == 0
    assert f"letta_async DEBUG request GET {server.base_url}/v1/agents/" in err
    assert logger.handlers == handlers and logger.level == level


async def test_a_bug_is_one_line_unless_verbose(
    server: LettaTestServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from letta_async.cli import _app

    async def broken(session: Any) -> int:
        raise KeyError("oops")

    monkeypatch.setattr(_app, "_cmd_agents_list", broken)
    code, _, err = await cli(capsys, "--base-url", server.base_url, "agents", "list")
    assert code == 1
    assert (
        err == "letta-async: error: unexpected KeyError: 'oops' (run with -v for the traceback)\n"
    )
    with pytest.raises(KeyError):
        await cli(capsys, "-v", "--base-url", server.base_url, "agents", "list")


async def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = await cli(capsys, "runs")
    assert code == 2 and "required" in err
    code, _, err = await cli(capsys, "stream", "agent-x")
    assert code == 2
    code, out, _ = await cli(capsys, "--version")
    assert code == 0 and out.strip() == f"letta-async {__version__}"


async def test_main_async_runs_inside_a_loop(server: LettaTestServer, agent_id: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = await main_async(
        ["--base-url", server.base_url, "stream", agent_id, "hi"], stdout=out, stderr=err
    )
    assert code == 0 and f"assistant: {REPLY}" in out.getvalue()


# --- the real process ----------------------------------------------------------------------


def _env(server: LettaTestServer) -> dict[str, str]:
    env = dict(os.environ)
    env["LETTA_BASE_URL"] = server.base_url
    env.pop("LETTA_API_KEY", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


async def test_python_dash_m_entry_point(server: LettaTestServer, agent_id: str) -> None:
    with anyio.fail_after(30):
        done = await anyio.run_process(
            [sys.executable, "-m", "letta_async", "stream", agent_id, "hi [tool]"],
            env=_env(server),
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert f"assistant: {TOOL_ANSWER}" in done.stdout.decode()

    with anyio.fail_after(30):
        failed = await anyio.run_process(
            [sys.executable, "-m", "letta_async", "runs", "get", "run-nope"],
            env=_env(server),
            check=False,
        )
    assert failed.returncode == 1
    assert failed.stderr.decode().startswith("letta-async: error: no run run-nope on this server")
    assert b"Traceback" not in failed.stderr


async def test_ctrl_c_exits_130_with_a_resume_hint(server: LettaTestServer, agent_id: str) -> None:
    command = [
        sys.executable,
        "-m",
        "letta_async",
        "stream",
        agent_id,
        "go [tokens=400] [chunkdelay=0.02]",
        "--tokens",
        "--background",
    ]
    with anyio.fail_after(30):
        async with await anyio.open_process(
            command, env=_env(server), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        ) as process:
            assert process.stdout is not None and process.stderr is not None
            seen = b""
            async for chunk in process.stdout:
                seen += chunk
                if b"t5 " in seen:
                    break
            process.send_signal(signal.SIGINT)
            err = b"".join([chunk async for chunk in process.stderr]).decode()
            await process.wait()
    assert process.returncode == 130
    assert "letta-async: interrupted" in err
    assert "letta-async runs tail run-" in err and "--after " in err
    assert "Traceback" not in err


# --- packaging -----------------------------------------------------------------------------


def test_console_script_and_version_have_one_source() -> None:
    root = Path(__file__).resolve().parent.parent
    pyproject = (root / "pyproject.toml").read_text()
    assert re.search(r'^letta-async = "letta_async\.__main__:main"$', pyproject, re.M)
    assert re.search(r'^dynamic = \["version"\]$', pyproject, re.M)
    assert re.search(r'^path = "letta_async/_version\.py"$', pyproject, re.M)
    assert not re.search(r"^version\s*=", pyproject, re.M), "no second version in pyproject"
    defining = [
        p.relative_to(root).as_posix()
        for p in (root / "letta_async").rglob("*.py")
        if re.search(r"^__version__\s*=", p.read_text(), re.M)
    ]
    assert defining == ["letta_async/_version.py"]
    assert re.fullmatch(r"\d+\.\d+\.\d+(?:[.-]?(?:a|b|rc|dev)\d+)?", __version__)
    changelog = (root / "CHANGELOG.md").read_text()
    assert f"## [{__version__}]" in changelog, "every released version has a changelog entry"
    try:
        installed = importlib.metadata.version("letta-async")
    except importlib.metadata.PackageNotFoundError:
        return
    assert installed == __version__


def test_dunder_main_exposes_main_without_running() -> None:
    import letta_async.__main__ as entry

    assert entry.main is main


# --- the renderer on its own ---------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _tool_calls_event(*calls: ToolCall) -> ToolCallMessage:
    return ToolCallMessage(id="message-1", date=datetime.now(timezone.utc), tool_calls=list(calls))


def test_renderer_puts_each_call_of_a_step_on_its_own_line() -> None:
    out = io.StringIO()
    renderer = StreamRenderer(out)
    renderer.feed(
        _tool_calls_event(
            ToolCall(name="first", arguments='{"a": 1}', tool_call_id="call_1"),
            ToolCall(name="second", arguments="{}", tool_call_id="call_2"),
        )
    )
    renderer.end()
    assert out.getvalue() == 'tool call: first({"a": 1})\ntool call: second({})\n'


def test_renderer_colours_terminals_unless_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    usage = LettaUsageStatistics(prompt_tokens=1, completion_tokens=2, total_tokens=3, step_count=1)
    terminal = _Terminal()
    StreamRenderer(terminal).feed(usage)
    line = "usage: 1 prompt + 2 completion = 3 tokens, 1 step"
    assert terminal.getvalue() == f"{ESC}2m{line}{ESC}0m\n"
    monkeypatch.setenv("NO_COLOR", "1")
    plain = _Terminal()
    StreamRenderer(plain).feed(usage)
    assert plain.getvalue() == f"{line}\n"


def test_renderer_notice_never_lands_mid_sentence() -> None:
    out, err = io.StringIO(), io.StringIO()
    renderer = StreamRenderer(out)
    now = datetime.now(timezone.utc)
    renderer.feed(AssistantMessage(id="message-1", date=now, content="Hello "))
    renderer.notice("reconnecting", out=err)
    renderer.feed(AssistantMessage(id="message-1", date=now, content="world"))
    renderer.end()
    assert out.getvalue() == "assistant: Hello \nassistant: world\n"
    assert err.getvalue() == "reconnecting\n"
