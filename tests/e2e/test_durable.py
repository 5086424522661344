"""Durable streams against the real Letta 0.16.8 server: a worker killed mid-stream, another
one finishes the run, every event applied exactly once.

The fleet's Redis is the stack's own ``redis-server`` (database 3, so that nothing touches
the server's keys). Workers are ``letta-async worker`` processes with the chaos sink
(``tests/durable/chaos_sink.py``); the reference is the run's full replay read with raw
aiohttp, so the check does not depend on the client's decoder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest
import redis.asyncio as aioredis

import letta_async
from letta_async.durable import RedisCursorStore, submit
from tests.durable.chaos_check import Delivered, judge_run

from .conftest import create_agent
from .stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

REPO = Path(__file__).resolve().parents[2]
LEASE = 2.0
# The frame kinds of the test server's log that the chaos judge knows, by message_type.
_KINDS = {"stop_reason": "stop_reason", "usage_statistics": "usage", "error_message": "error"}


async def replay_log(base_url: str, run_id: str) -> list[tuple[int | None, str]]:
    """The run's frames as the server replays them, numbered the server's way."""
    log: list[tuple[int | None, str]] = []
    position = 0
    async with aiohttp.ClientSession(skip_auto_headers=["User-Agent"]) as http:
        url = f"{base_url}/v1/runs/{run_id}/stream"
        body = {"starting_after": 0, "include_pings": False}
        async with http.post(url, json=body) as response:
            text = await response.text()
    for line in text.splitlines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        frame: dict[str, Any] = json.loads(line[len("data: ") :])
        kind = frame.get("message_type")
        seq = frame.get("seq_id")
        position = seq if isinstance(seq, int) else position + 1
        if kind == "ping":
            continue
        log.append((position, {"stop_reason": "stop_reason"}.get(str(kind), "message")))
    return [
        (seq, "usage" if i == len(log) - 1 and seq else kind) for i, (seq, kind) in enumerate(log)
    ]


async def test_a_killed_worker_is_taken_over(stack: Stack, tmp_path: Path) -> None:
    redis_url = f"redis://127.0.0.1:{stack.redis_port}/3"
    sink = aioredis.Redis.from_url(redis_url)
    await sink.flushdb()
    store = RedisCursorStore(redis_url, namespace="chaos")
    procs: list[Any] = []

    async def worker(incarnation: int) -> None:
        env = dict(os.environ, CHAOS_SINK=redis_url, CHAOS_INCARNATION=str(incarnation))
        env["PYTHONPATH"] = str(REPO)
        command = [sys.executable, "-m", "letta_async", "worker", "--base-url", stack.base_url]
        command += ["--redis", redis_url, "--namespace", "chaos", "--lease-ttl", str(LEASE)]
        command += ["--poll", "0.1"]
        for option, name in (
            ("--handler", "handle"),
            ("--on-claim", "on_claim"),
            ("--on-outcome", "on_outcome"),
        ):
            command += [option, f"tests.durable.chaos_sink:{name}"]
        log = (tmp_path / f"worker-{incarnation}.log").open("wb")
        try:
            procs.append(
                await anyio.open_process(
                    command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log
                )
            )
        finally:
            log.close()

    try:
        async with letta_async.AsyncLetta(base_url=stack.base_url) as client:
            agent_id = await create_agent(client)
            await submit(
                store,
                "e2e-job",
                agent_id,
                messages=[{"role": "user", "content": "look it up [tool] [chunkdelay=0.4]"}],
                stream_tokens=True,
            )
            await worker(1)
            with anyio.fail_after(60):
                while not await sink.keys("chaos:sink:*"):
                    await anyio.sleep(0.05)
                (sink_key,) = await sink.keys("chaos:sink:*")
                while await sink.llen(sink_key) < 4:
                    await anyio.sleep(0.05)
            procs[0].send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            await procs[0].wait()
            delivered_before = await sink.llen(sink_key)
            await worker(2)
            with anyio.fail_after(90):
                while await sink.llen("chaos:outcomes") < 1:
                    await anyio.sleep(0.1)
            outcomes = [e.decode().split("|") for e in await sink.lrange("chaos:outcomes", 0, -1)]
            claims = [e.decode().split("|") for e in await sink.lrange("chaos:claims", 0, -1)]
            entries = await sink.lrange(sink_key, 0, -1)
            run_id = sink_key.decode().removeprefix("chaos:sink:")
            log = await replay_log(stack.base_url, run_id)
            run = await client.runs.retrieve(run_id)
            counts = await store.counts()
            await client.agents.delete(agent_id)
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                with anyio.move_on_after(10):
                    await proc.wait()
                if proc.returncode is None:
                    proc.kill()
            await proc.aclose()
        await store.aclose()
        await sink.flushdb()
        await sink.aclose()
    assert [(o[1], o[3]) for o in outcomes] == [("completed", "2")]
    assert [c[2] for c in claims] == ["1", "2"], claims
    assert float(claims[1][3]) - killed_at <= LEASE + 1.0
    assert 0 < delivered_before < len(log), "the kill came mid-stream"
    verdict = judge_run(run_id, log, [Delivered.parse(e) for e in entries])
    assert verdict.clean, verdict.problems
    assert verdict.events == len(log) and verdict.duplicated == 0
    assert run.status == "completed"
    assert counts == {"queued": 0, "held": 0, "parked": 0}


class _Crash(BaseException):
    """Stands in for the process dying inside its handler: nothing catches it."""


def _contains(error: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``error`` is ``kind`` or a (task group's) exception group holding one."""
    if isinstance(error, kind):
        return True
    return any(_contains(e, kind) for e in getattr(error, "exceptions", ()))


async def test_a_conversation_stream_survives_a_crash(stack: Stack, tmp_path: Path) -> None:
    """Embedded store, a conversation of the agent: the first process dies mid-stream, the
    next one recovers the key and finishes the run; every event once, in the server's order."""
    from letta_async.durable import Batch, DurableStreams, SQLiteCursorStore

    first: list[int | None] = []
    rest: list[int | None] = []

    async def dies_on_the_fourth(batch: Batch) -> None:
        if len(first) == 3:
            raise _Crash
        first.extend(batch.seq_ids)

    async def records(batch: Batch) -> None:
        rest.extend(batch.seq_ids)

    async with letta_async.AsyncLetta(base_url=stack.base_url) as client:
        agent_id = await create_agent(client)
        conversation = await client.conversations.create(agent_id=agent_id)
        try:
            async with SQLiteCursorStore(tmp_path / "cursors.db") as store:
                with pytest.raises(BaseException) as died:  # a group holding the crash
                    async with DurableStreams(
                        client, store, dies_on_the_fourth, max_batch=1
                    ) as durable:
                        await durable.send(
                            "conv-job",
                            agent_id,
                            conversation_id=conversation.id,
                            messages=[{"role": "user", "content": "look it up [tool]"}],
                            stream_tokens=True,
                        )
                assert _contains(died.value, _Crash)
                (left,) = await store.in_flight()
                assert left.conversation_id == conversation.id
                async with DurableStreams(client, store, records) as durable:
                    await durable.recover()
                    (outcome,) = await durable.join()
                assert await store.in_flight() == []
            run_id = outcome.run_id or ""
            log = await replay_log(stack.base_url, run_id)
            run = await client.runs.retrieve(run_id)
            listed = [m async for m in client.conversations.messages.list(conversation.id)]
        finally:
            await client.agents.delete(agent_id)
    assert outcome.status == "completed"
    assert run.conversation_id == conversation.id
    assert first + rest == [seq for seq, _ in log]  # nothing lost, nothing twice
    assert len(first) == 3 and rest
    (sent,) = [m for m in listed if m.message_type == "user_message"]  # sent once
    assert sent.run_id == run_id and sent.otid == left.otids[0]


async def test_a_conversation_send_whose_run_was_never_named_is_found(
    stack: Stack, tmp_path: Path
) -> None:
    """The process died after the request left and before the run id came back: recovery
    finds the run by ``otid`` in the conversation's history and never sends again."""
    from letta_async.durable import Batch, DurableStreams, OtidLookup, SQLiteCursorStore
    from letta_async.durable._job import prepare

    delivered: list[int | None] = []

    async def records(batch: Batch) -> None:
        delivered.extend(batch.seq_ids)

    text = "look it up [tool] [chunkdelay=0.2]"
    async with letta_async.AsyncLetta(base_url=stack.base_url) as client:
        agent_id = await create_agent(client)
        conversation = await client.conversations.create(agent_id=agent_id)
        cursor = prepare("conv-job", agent_id, [{"role": "user", "content": text}], {},
                         conversation.id)  # fmt: skip
        try:
            async with SQLiteCursorStore(tmp_path / "cursors.db") as store:
                await store.record(cursor)
                await store.mark_sending("conv-job", time.time())
                # Sent with the recorded otid; the sender dies before reading a frame.
                stream = await client.conversations.messages.create(
                    conversation.id,
                    messages=[{"role": "user", "content": text, "otid": cursor.otids[0]}],
                    background=True,
                    streaming=True,
                )
                await stream.__aenter__()
                await stream.aclose()
                async with DurableStreams(
                    client, store, records, lookup=OtidLookup(grace=20)
                ) as durable:
                    await durable.recover()
                    (outcome,) = await durable.join()
            run_id = outcome.run_id or ""
            log = await replay_log(stack.base_url, run_id)
            listed = [m async for m in client.conversations.messages.list(conversation.id)]
        finally:
            await client.agents.delete(agent_id)
    assert outcome.status == "completed"
    assert delivered == [seq for seq, _ in log]
    sent = [m for m in listed if m.message_type == "user_message"]
    assert [(m.otid, m.run_id) for m in sent] == [(cursor.otids[0], run_id)]  # one send
