"""First-run edges against the real Letta 0.16.8 server: what a new user meets first.

* ``examples/durable_embedded.py`` run as its docstring says (crash, carry on), then once more
  on the finished state: the outcome names the real stop reason and the re-run says there is
  nothing to do instead of reporting a mismatch.
* A durable key resumed after its ``stop_reason`` was acknowledged still reports it.
* ``letta-async worker`` says why the server refused a send, and ``inflight --ended`` shows
  it after the key left the store.
* ``letta-async runs tail`` on a run the server does not have: one line, no resume hint.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import anyio
import pytest
import redis.asyncio as aioredis

import letta_async
from letta_async.cli import main_async
from letta_async.durable import Batch, DurableStreams, SQLiteCursorStore
from letta_async.durable._job import prepare

from .conftest import create_agent
from .stack import AGENT_EMBEDDING, AGENT_MODEL, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

REPO = Path(__file__).resolve().parents[2]
MISSING_AGENT = "agent-00000000-0000-4000-8000-00000000dead"
MISSING_RUN = "run-00000000-0000-4000-8000-000000000000"


async def test_durable_example_crashes_carries_on_and_then_has_nothing_to_do(
    base_url: str, tmp_path: Path
) -> None:
    env = dict(os.environ, LETTA_BASE_URL=base_url)
    env.update(LETTA_DEMO_MODEL=AGENT_MODEL, LETTA_DEMO_EMBEDDING=AGENT_EMBEDDING)
    env.pop("LETTA_API_KEY", None)
    command = [sys.executable, str(REPO / "examples" / "durable_embedded.py")]
    command += ["--state", str(tmp_path)]
    with anyio.fail_after(120):
        # The scripted model's reply is a handful of events: crash after the third.
        first = await anyio.run_process([*command, "--crash-after", "3"], env=env, check=False)
        second = await anyio.run_process(command, env=env, check=False)
        third = await anyio.run_process(command, env=env, check=False)
    assert first.returncode == 3, first.stdout.decode() + first.stderr.decode()
    out = second.stdout.decode()
    assert second.returncode == 0, out + second.stderr.decode()
    assert "recovering count-to-forty: streaming after " in out
    assert "count-to-forty: completed (end_turn)" in out
    assert "checked against a full replay: every event exactly once, in order" in out
    again = third.stdout.decode()
    assert third.returncode == 0, again + third.stderr.decode()
    assert again.startswith("count-to-forty was delivered already (") and "MISMATCH" not in again
    assert again.rstrip().endswith("nothing to do")


async def test_a_key_resumed_past_its_stop_reason_still_reports_it(
    base_url: str, tmp_path: Path
) -> None:
    delivered: list[tuple[str, int | None]] = []

    async def sink(batch: Batch) -> None:
        delivered.extend(zip([e.message_type for e in batch.events], batch.seq_ids, strict=True))

    messages = [{"role": "user", "content": "hi"}]
    async with letta_async.AsyncLetta(base_url=base_url) as client:
        agent_id = await create_agent(client)
        try:
            async with SQLiteCursorStore(tmp_path / "c.db") as store:
                async with DurableStreams(client, store, sink) as durable:
                    await durable.send("first", agent_id, messages=messages)
                    (first,) = await durable.join()
                assert first.status == "completed" and first.run_id is not None
                stopped_at = dict(delivered)["stop_reason"]
                assert stopped_at is not None
                # As if the process died after acknowledging the stop_reason.
                await store.record(prepare("again", agent_id, messages, {}))
                await store.ack("again", first.run_id, stopped_at)
                delivered.clear()
                async with DurableStreams(client, store, sink) as durable:
                    await durable.recover()
                    (again,) = await durable.join()
        finally:
            await client.agents.delete(agent_id)
    assert first.stop_reason == "end_turn"  # from the stream's own stop_reason frame
    assert [kind for kind, _ in delivered] == ["usage_statistics"]
    assert (again.status, again.run_id, again.stop_reason) == (
        "completed",
        first.run_id,
        "end_turn",
    )


async def test_worker_says_why_a_send_was_refused(stack: Stack) -> None:
    redis_url = f"redis://127.0.0.1:{stack.redis_port}/4"
    namespace = "edges-rejected"
    where = ["--redis", redis_url, "--namespace", namespace]
    common = ["--base-url", stack.base_url]
    redis = aioredis.Redis.from_url(redis_url)
    try:
        await redis.flushdb()
        assert await main_async([*common, "submit", *where, "job-r", MISSING_AGENT, "hi"]) == 0
        err = io.StringIO()
        worker = [*common, "worker", *where, "--until-empty", "--poll", "0.05"]
        with anyio.fail_after(60):
            assert await main_async(worker, stdout=io.StringIO(), stderr=err) == 0
        out = io.StringIO()
        assert await main_async(["inflight", *where, "--ended"], stdout=out) == 0
    finally:
        await redis.flushdb()
        await redis.aclose()
    reason = f"HTTP 404: Agent with ID {MISSING_AGENT} not found"
    assert f"key job-r: the server refused the send to agent {MISSING_AGENT}" in err.getvalue()
    assert f"dropped: {reason}" in err.getvalue()
    assert "1 rejected (why: letta-async inflight --ended" in err.getvalue()
    line = out.getvalue()
    assert line.startswith("job-r  rejected  -  after 0  ") and line.endswith(f"  {reason}\n")


async def test_runs_tail_of_a_missing_run_is_one_line(base_url: str) -> None:
    for command in (["runs", "tail", MISSING_RUN], ["runs", "tail", MISSING_RUN, "--after", "3"]):
        out, err = io.StringIO(), io.StringIO()
        with anyio.fail_after(30):
            code = await main_async(["--base-url", base_url, *command], stdout=out, stderr=err)
        assert code == 1 and out.getvalue() == ""
        assert err.getvalue().startswith(
            f"letta-async: error: no run {MISSING_RUN} on this server: HTTP 404"
        )
        assert err.getvalue().count("\n") == 1, err.getvalue()
