"""The Redis worker: a fleet in one process, a paused worker shut out, and the commands."""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
import redis.asyncio as aioredis

from letta_async import AsyncLetta
from letta_async.cli import main_async
from letta_async.durable import Batch, Claim, RedisCursorStore, Worker, submit
from letta_async.testing import LettaTestServer

from .chaos import REPO, _reap, _spawn
from .redis_server import RedisServer

pytestmark = pytest.mark.anyio


@pytest.fixture
async def server() -> AsyncIterator[LettaTestServer]:
    async with LettaTestServer(keepalive_interval=0.2) as s:
        yield s


def logged_seqs(server: LettaTestServer, run_id: str) -> list[int | None]:
    frames = server.state.runs[run_id].frames
    return [f.seq for f in frames if f.kind not in ("ping", "done")]


async def test_two_workers_share_the_keys(
    server: LettaTestServer, redis_store: RedisCursorStore
) -> None:
    agent = server.create_agent()["id"]
    for i in range(30):
        await submit(
            redis_store,
            f"k{i}",
            agent,
            messages=[{"role": "user", "content": "count [tokens=6] [chunkdelay=0.01]"}],
        )
    delivered: dict[str, list[int | None]] = {}
    claims: list[Claim] = []

    async def handler(batch: Batch) -> None:
        delivered.setdefault(batch.run_id, []).extend(batch.seq_ids)

    async with AsyncLetta(base_url=server.base_url) as client:
        workers = [
            Worker(
                client, redis_store, handler, limit=5, poll_interval=0.05, on_claim=claims.append
            )
            for _ in range(2)
        ]
        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                for worker in workers:
                    group.start_soon(lambda w=worker: w.run(until_empty=True))
    assert sum(w.outcomes.get("completed", 0) for w in workers) == 30
    assert all(w.claimed > 0 for w in workers)
    assert Counter(c.cursor.key for c in claims) == {f"k{i}": 1 for i in range(30)}
    assert len(delivered) == 30
    for run_id, seqs in delivered.items():
        assert seqs == logged_seqs(server, run_id)
    assert await redis_store.counts() == {"queued": 0, "held": 0, "parked": 0}


async def test_a_paused_worker_delivers_nothing_after_its_lease_was_taken(
    server: LettaTestServer, tmp_path: Path
) -> None:
    """SIGSTOP a worker mid-run past its lease; another takes over; SIGCONT the first."""
    agent = server.create_agent()["id"]
    with RedisServer() as redis_server:
        store = RedisCursorStore(redis_server.url, namespace="chaos")
        sink = aioredis.Redis.from_url(redis_server.url)
        procs = []
        try:
            await submit(
                store,
                "slow",
                agent,
                messages=[{"role": "user", "content": "count [tokens=30] [chunkdelay=0.15]"}],
                stream_tokens=True,
            )

            async def worker(incarnation: int) -> None:
                env = dict(os.environ, CHAOS_SINK=redis_server.url)
                env["CHAOS_INCARNATION"] = str(incarnation)
                env["PYTHONPATH"] = str(REPO)
                command = [sys.executable, "-m", "letta_async", "worker", "--base-url"]
                command += [server.base_url, "--redis", redis_server.url, "--namespace", "chaos"]
                command += ["--lease-ttl", "1", "--poll", "0.1"]
                for option, name in (
                    ("--handler", "handle"),
                    ("--on-claim", "on_claim"),
                    ("--on-outcome", "on_outcome"),
                ):
                    command += [option, f"tests.durable.chaos_sink:{name}"]
                log = tmp_path / f"worker-{incarnation}.log"
                procs.append(await _spawn(command, env=env, log=log))

            await worker(1)
            with anyio.fail_after(20):
                while await sink.llen("chaos:claims") == 0 or not await sink.keys("chaos:sink:*"):
                    await anyio.sleep(0.05)
                (sink_key,) = await sink.keys("chaos:sink:*")
                while await sink.llen(sink_key) < 3:
                    await anyio.sleep(0.05)
            # The second worker is up (and idle, nothing to claim) before the first stops, so
            # that the take-over time is the lease's doing, not a process start's.
            await worker(2)
            with anyio.fail_after(20):
                while "on namespace" not in (tmp_path / "worker-2.log").read_text():
                    await anyio.sleep(0.05)
            procs[0].send_signal(signal.SIGSTOP)
            stopped_at = time.monotonic()
            with anyio.fail_after(20):
                while await sink.llen("chaos:claims") < 2:
                    await anyio.sleep(0.05)
            await anyio.sleep(0.5)
            procs[0].send_signal(signal.SIGCONT)
            with anyio.fail_after(30):
                while (await store.counts())["held"] or (await store.counts())["queued"]:
                    await anyio.sleep(0.1)
                while await sink.llen("chaos:outcomes") < 2:
                    await anyio.sleep(0.1)
            entries = [e.decode().split("|") for e in await sink.lrange(sink_key, 0, -1)]
            outcomes = [e.decode().split("|") for e in await sink.lrange("chaos:outcomes", 0, -1)]
            claims = [e.decode().split("|") for e in await sink.lrange("chaos:claims", 0, -1)]
            stale = await sink.llen("chaos:stale")
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGCONT)
                await _reap(proc)
            await sink.aclose()
            await store.aclose()
    fences = [int(fence) for _seq, fence, *_ in entries]
    story = f"deliveries {entries}, outcomes {outcomes}, claims {claims}, stale {stale}"
    assert 1 in fences and 2 in fences, story
    assert fences == sorted(fences), story  # nothing from fence 1 once fence 2 delivered
    assert stale == 0, story  # the paused worker did not even try
    assert {(o[1], o[3]) for o in outcomes} == {("fenced", "1"), ("completed", "2")}, story
    took_over = float(claims[1][3]) - stopped_at
    assert took_over <= 1.0 + 1.0, story
    run_id = sink_key.decode().removeprefix("chaos:sink:")
    first: list[int] = []
    for seq, *_ in entries:
        if int(seq) not in first:
            first.append(int(seq))
    assert first == logged_seqs(server, run_id)


async def test_submit_worker_and_inflight_commands(
    server: LettaTestServer, redis_store: RedisCursorStore
) -> None:
    agent = server.create_agent()["id"]
    url = f"redis://127.0.0.1:{redis_store.redis.connection_pool.connection_kwargs['port']}/0"
    common = ["--base-url", server.base_url]
    where = ["--redis", url, "--namespace", redis_store.namespace]
    out = io.StringIO()
    assert await main_async([*common, "submit", *where, "job-1", agent, "hello"], stdout=out) == 0
    assert out.getvalue().startswith("job-1: submitted (otid ")
    out = io.StringIO()
    assert await main_async([*common, "inflight", *where], stdout=out) == 0
    assert out.getvalue().startswith("job-1  recorded")
    out, err = io.StringIO(), io.StringIO()
    code = await main_async(
        [*common, "worker", *where, "--until-empty", "--poll", "0.05"], stdout=out, stderr=err
    )
    assert code == 0, err.getvalue()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert {line["key"] for line in lines} == {"job-1"}
    (run_id,) = {line["run_id"] for line in lines}
    assert [line["seq_id"] for line in lines] == logged_seqs(server, run_id)
    assert lines[-1]["event"]["message_type"] == "usage_statistics"
    assert "1 completed" in err.getvalue()
    err = io.StringIO()
    code = await main_async(
        [*common, "worker", *where, "--handler", "no_such_module:f"], stderr=err
    )
    assert code == 2 and "cannot import" in err.getvalue()
