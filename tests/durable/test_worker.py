"""The Redis worker: a fleet in one process, a paused worker shut out, and the commands."""

from __future__ import annotations

import io
import itertools
import json
import os
import signal
import socket
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest
import redis.asyncio as aioredis

from letta_async import AsyncLetta
from letta_async.cli import main_async
from letta_async.durable import (
    Batch,
    Claim,
    Ended,
    OtidLookup,
    Outcome,
    RedisCursorStore,
    Worker,
    submit,
)
from letta_async.testing import LettaTestServer

from .chaos import REPO, _reap, _spawn
from .redis_server import RedisServer
from .test_leases import redis_calls

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


async def test_a_worker_with_more_slots_than_one_claim_fills_them_at_once_and_hands_all_back(
    server: LettaTestServer, redis_store: RedisCursorStore
) -> None:
    """150 keys and 200 slots: the worker holds all 150 long before its poll interval (a claim
    that came back full is followed by another at once), and leaving hands every one back to
    the queue, none left leased for a take-over to find."""
    agent = server.create_agent()["id"]
    prompt = [{"role": "user", "content": "hi [delay=20]"}]
    for i in range(150):
        await submit(redis_store, f"k{i:03d}", agent, messages=prompt)

    async def handler(batch: Batch) -> None:
        pass

    async with AsyncLetta(base_url=server.base_url) as client:
        worker = Worker(client, redis_store, handler, limit=200, poll_interval=30)
        with anyio.fail_after(15):
            async with anyio.create_task_group() as group:
                group.start_soon(worker.run)
                while worker.held < 150:
                    await anyio.sleep(0.01)
                assert await redis_store.counts() == {"queued": 0, "held": 150, "parked": 0}
                group.cancel_scope.cancel()
    assert worker.claimed == 150
    log = await redis_store.claim_log()
    assert sorted(c.key for c in log) == [f"k{i:03d}" for i in range(150)]
    assert await redis_store.counts() == {"queued": 150, "held": 0, "parked": 0}


async def test_a_worker_finds_a_conversation_send_that_died_unnamed_and_never_resends_it(
    server: LettaTestServer, redis_store: RedisCursorStore
) -> None:
    """A process made a conversation key's send and died before the run was named (the key
    stays ``sending``). The worker that claims it looks the message's otid up in that
    conversation, not in the agent's default history, stores the run it found (the store
    names it while the first batch is handled, as ``inflight`` shows) and delivers the run
    once; the message is not sent a second time. The agent's history, which holds every
    conversation's messages, has moved on since (other sends, newer than the lookup's depth):
    only the conversation's own history still has the message near the top."""
    agent = server.create_agent()["id"]
    conversation = server.create_conversation(agent)["id"]
    text = "hi [tokens=6] [chunkdelay=0.02]"
    cursor = await submit(
        redis_store, "c", agent, messages=[{"role": "user", "content": text}],
        conversation_id=conversation,
    )  # fmt: skip
    assert await redis_store.mark_sending("c", time.time())
    stored: list[str | None] = []
    delivered: list[Batch] = []

    async def handler(batch: Batch) -> None:
        if not delivered:
            got = await redis_store.get(batch.key)
            stored.append(got.run_id if got is not None else None)
        delivered.append(batch)

    async with AsyncLetta(base_url=server.base_url) as client:
        sent = [{"role": "user", "content": text, "otid": cursor.otids[0]}]
        stream = await client.conversations.messages.create(
            conversation, messages=sent, background=True, streaming=True
        )
        await stream.__aenter__()
        await stream.aclose()  # the process dies here, the run unnamed
        await server.wait_for_run(next(iter(server.state.runs)))
        for i in range(4):
            await client.agents.messages.create(
                agent, messages=[{"role": "user", "content": f"{i}"}]
            )
        lookup = OtidLookup(depth=6, page=3, grace=0.5)
        worker = Worker(client, redis_store, handler, poll_interval=0.05, lookup=lookup)
        with anyio.fail_after(30):
            await worker.run(until_empty=True)
    (run_id,) = [r for r, run in server.state.runs.items() if run.conversation_id == conversation]
    assert worker.outcomes == {"completed": 1}
    assert stored == [run_id]
    assert {b.run_id for b in delivered} == {run_id}
    assert [s for b in delivered for s in b.seq_ids] == logged_seqs(server, run_id)
    assert len(server.requests_to(r"/v1/conversations/[^/]+/messages$", "POST")) == 1


async def test_a_busy_live_workers_idle_key_is_never_taken_over(
    server: LettaTestServer, redis_server: RedisServer
) -> None:
    """A key whose run is silent for several lease TTLs (a long LLM call: pings only, nothing
    to deliver or acknowledge) stays with its live worker, even while that worker's process
    is busy (synchronous work holds its event loop for a tenth of the TTL at a time): leases
    are renewed every third of the TTL. A second worker, in a thread of its own and polling
    all the while, never gets the key."""
    agent = server.create_agent()["id"]
    namespace = f"idle{os.getpid()}"
    ttl = 1.5
    delivered: list[Batch] = []

    async def handler(batch: Batch) -> None:
        delivered.append(batch)

    async def second_worker() -> Worker:
        async with (
            RedisCursorStore(redis_server.url, namespace=namespace) as store,
            AsyncLetta(base_url=server.base_url) as client,
        ):
            worker = Worker(client, store, handler, lease_ttl=ttl, poll_interval=0.01)
            with anyio.fail_after(30):
                await worker.run(until_empty=True)
            return worker

    async def busy(done: anyio.Event) -> None:
        while not done.is_set():
            time.sleep(ttl / 10)  # noqa: ASYNC251 -- the point: the loop is held
            await anyio.sleep(ttl / 30)

    async with LateRenewals(redis_server.url, namespace) as store:  # never late here
        prompt = [{"role": "user", "content": "hi [delay=6]"}]
        await submit(store, "idle", agent, messages=prompt)
        async with AsyncLetta(base_url=server.base_url) as client:
            first = Worker(client, store, handler, lease_ttl=ttl, poll_interval=0.05)
            done = anyio.Event()
            seconds: list[Worker] = []

            async def run_second() -> None:
                seconds.append(await anyio.to_thread.run_sync(anyio.run, second_worker))

            async def run_first() -> None:
                await first.run(until_empty=True)
                done.set()

            with anyio.fail_after(40):
                async with anyio.create_task_group() as group:
                    group.start_soon(run_first)
                    while first.held == 0:
                        await anyio.sleep(0.01)
                    group.start_soon(run_second)
                    group.start_soon(busy, done)
        log = await store.claim_log()
    (second,) = seconds
    assert [(c.key, c.owner, c.previous_owner) for c in log] == [("idle", first.worker_id, None)]
    # README: leases renewed every third of the TTL; the busy loop can only delay a round.
    gaps = [b - a for a, b in itertools.pairwise(store.asked_at)]
    assert len(gaps) >= 6 and min(gaps) >= ttl / 3 - 0.005, gaps
    assert (first.claimed, second.claimed) == (1, 0)
    assert first.outcomes == {"completed": 1}
    (run_id,) = {b.run_id for b in delivered}
    assert [s for b in delivered for s in b.seq_ids] == logged_seqs(server, run_id)


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
    err = io.StringIO()
    assert await main_async([*common, "submit", *where, "job-1", agent, "again"], stderr=err) == 1
    assert err.getvalue() == (
        "letta-async: error: key 'job-1' is already in the store, unfinished "
        "(see letta-async inflight)\n"
    )
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


async def test_a_poison_key_backs_off_then_dies_and_the_rest_completes(
    server: LettaTestServer, redis_store: RedisCursorStore
) -> None:
    agent = server.create_agent()["id"]
    for key in ("poison", "fine"):
        await submit(redis_store, key, agent, messages=[{"role": "user", "content": key}])
    handled: dict[str, list[int | None]] = {}

    async def handler(batch: Batch) -> None:
        if batch.key == "poison":
            raise ValueError("bad event")
        handled.setdefault(batch.run_id, []).extend(batch.seq_ids)

    async with AsyncLetta(base_url=server.base_url) as client:
        worker = Worker(
            client,
            redis_store,
            handler,
            poll_interval=0.02,
            retry_delay=0.1,
            max_retry_delay=1.0,
            max_failures=6,
        )
        with anyio.fail_after(20):
            await worker.run(until_empty=True)
    assert worker.outcomes == {"completed": 1, "failed": 5, "dead": 1}
    assert await redis_store.counts() == {"queued": 0, "held": 0, "parked": 1}
    dead = await redis_store.get("poison")
    assert dead is not None and (dead.phase, dead.failures, dead.seq_id) == ("dead", 6, 0)
    assert dead.run_id is not None and dead.error == repr(ValueError("bad event"))
    (run_id,) = handled
    assert handled[run_id] == logged_seqs(server, run_id)
    # Claims of the poison key, on Redis's clock: the waits double (0.1, 0.2, 0.4, 0.8) up to
    # the cap (1.0). A claim comes no earlier than its wait, and a poll or so after it.
    times = [r.at for r in await redis_store.claim_log() if r.key == "poison"]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    waits = [0.1, 0.2, 0.4, 0.8, 1.0]
    assert len(gaps) == len(waits)
    assert all(gap >= wait for gap, wait in zip(gaps, waits, strict=True)), gaps
    assert all(gap < 2 * wait for gap, wait in zip(gaps[1:], waits[1:], strict=True)), gaps


async def test_inflight_shows_a_dead_key_and_revive_puts_it_back(tmp_path: Path) -> None:
    from letta_async.durable import SQLiteCursorStore
    from letta_async.durable._job import prepare

    path = tmp_path / "c.db"
    agent = "agent-00000000-0000-4000-8000-000000000001"
    async with SQLiteCursorStore(path) as store:
        await store.record(prepare("job-9", agent, [{"role": "user", "content": "x"}], {}))
        await store.ack("job-9", "run-3", 5)
        await store.fail("job-9", "KeyError('x')", max_failures=1)
    where = ["--sqlite", str(path)]
    out = io.StringIO()
    assert await main_async(["inflight", *where], stdout=out) == 0
    assert out.getvalue().startswith("job-9  dead         run-3  after 5  ")
    assert out.getvalue().rstrip().endswith("1 failures, last KeyError('x')")
    out = io.StringIO()
    assert await main_async(["revive", *where, "job-9"], stdout=out) == 0
    assert out.getvalue() == "job-9: back to work\n"
    err = io.StringIO()
    assert await main_async(["revive", *where, "job-9"], stderr=err) == 1
    assert err.getvalue() == (
        "letta-async: error: key 'job-9' is streaming, not dead; only a dead key can be revived\n"
    )
    async with SQLiteCursorStore(path) as store:
        got = await store.get("job-9")
    assert got is not None and (got.phase, got.run_id, got.seq_id, got.failures) == (
        "streaming",
        "run-3",
        5,
        0,
    )


async def test_submit_into_a_conversation_from_the_command_line(
    server: LettaTestServer, redis_store: RedisCursorStore
) -> None:
    agent = server.create_agent()["id"]
    conversation = server.create_conversation(agent)["id"]
    url = f"redis://127.0.0.1:{redis_store.redis.connection_pool.connection_kwargs['port']}/0"
    where = ["--redis", url, "--namespace", redis_store.namespace]
    common = ["--base-url", server.base_url]
    command = [*common, "submit", *where, "job-c", agent, "hi", "--conversation", conversation]
    assert await main_async(command, stdout=io.StringIO()) == 0
    out = io.StringIO()
    worker = [*common, "worker", *where, "--until-empty", "--poll", "0.05"]
    assert await main_async(worker, stdout=out) == 0
    (run_id,) = {json.loads(line)["run_id"] for line in out.getvalue().splitlines()}
    assert server.state.runs[run_id].conversation_id == conversation


async def test_a_rejected_key_says_why_and_the_store_remembers(
    server: LettaTestServer, redis_store: RedisCursorStore
) -> None:
    """The worker's default output names the refusal; ``inflight --ended`` shows it later."""
    missing = "agent-00000000-0000-4000-8000-00000000dead"
    url = f"redis://127.0.0.1:{redis_store.redis.connection_pool.connection_kwargs['port']}/0"
    common = ["--base-url", server.base_url]
    where = ["--redis", url, "--namespace", redis_store.namespace]
    assert await main_async([*common, "submit", *where, "job-r", missing, "hi"]) == 0
    err = io.StringIO()
    worker = [*common, "worker", *where, "--until-empty", "--poll", "0.05"]
    assert await main_async(worker, stdout=io.StringIO(), stderr=err) == 0
    # The reason, in the server's words, at the default level (no -v).
    reason = f"HTTP 404: Agent with ID {missing} not found"
    assert (
        f"letta-async: WARNING: key job-r: the server refused the send to agent {missing}, "
        f"no run started; dropped: {reason}"
    ) in err.getvalue()
    assert "1 rejected (why: letta-async inflight --ended" in err.getvalue()
    assert await redis_store.get("job-r") is None  # the key itself is gone
    out, err = io.StringIO(), io.StringIO()
    assert await main_async(["inflight", *where], stdout=out, stderr=err) == 0
    assert out.getvalue() == ""
    assert "1 key ended without completing; see them with --ended" in err.getvalue()
    out = io.StringIO()
    assert await main_async(["inflight", *where, "--ended"], stdout=out) == 0
    line = out.getvalue()
    assert line.startswith("job-r  rejected  -  after 0  ") and line.endswith(f"{reason}\n")
    out = io.StringIO()
    assert await main_async(["--json", "inflight", *where, "--ended"], stdout=out) == 0
    (record,) = [json.loads(line) for line in out.getvalue().splitlines()]
    assert (record["key"], record["status"], record["agent_id"], record["error"]) == (
        "job-r",
        "rejected",
        missing,
        reason,
    )


async def test_commands_that_read_a_store_never_create_one(
    tmp_path: Path, redis_store: RedisCursorStore
) -> None:
    """A mistyped path or namespace is an error, not an empty store."""
    typo = tmp_path / "typo.db"
    for command in (["inflight"], ["inflight", "--ended"], ["revive", "job-1"]):
        err = io.StringIO()
        assert await main_async([command[0], "--sqlite", str(typo), *command[1:]], stderr=err) == 1
        assert err.getvalue() == (
            f"letta-async: error: no cursor store at {str(typo)!r}: no such file\n"
        )
        assert not typo.exists() and os.listdir(tmp_path) == []
    other = tmp_path / "notes.txt"
    other.write_text("not a database, just text, long enough to fill a header " * 4)
    err = io.StringIO()
    assert await main_async(["inflight", "--sqlite", str(other)], stderr=err) == 1
    assert err.getvalue().startswith(f"letta-async: error: {str(other)!r} is not a cursor store")
    # Another program's SQLite file is refused too, and left as it was.
    foreign = tmp_path / "app.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    before = foreign.read_bytes()
    err = io.StringIO()
    assert await main_async(["inflight", "--sqlite", str(foreign)], stderr=err) == 1
    assert "is not a cursor store (no letta_cursors table)" in err.getvalue()
    assert foreign.read_bytes() == before
    url = f"redis://127.0.0.1:{redis_store.redis.connection_pool.connection_kwargs['port']}/0"
    err = io.StringIO()
    where = ["--redis", url, "--namespace", "never-used-here"]
    assert await main_async(["inflight", *where], stderr=err) == 1
    assert "namespace 'never-used-here' on" in err.getvalue()
    assert "holds nothing and never did" in err.getvalue()
    assert await redis_store.redis.keys("{never-used-here}*") == []


async def test_redis_out_of_reach_is_one_line_and_one_warning(
    server: LettaTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Commands fail in one line; a worker keeps polling but says so once, not per poll."""
    from letta_async.testing import free_port

    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"  # nothing listens there
    for command in (["inflight", "--redis", url], ["submit", "--redis", url, "k", "agent-x", "hi"]):
        err = io.StringIO()
        assert await main_async(command, stderr=err) == 1
        assert err.getvalue().startswith("letta-async: error: Redis: Error ")
        assert err.getvalue().count("\n") == 1

    async def handler(batch: Batch) -> None:
        raise AssertionError("nothing can be claimed")

    async with AsyncLetta(base_url=server.base_url) as client:
        store = RedisCursorStore(url, namespace="unreachable")
        worker = Worker(client, store, handler, poll_interval=0.02)
        with caplog.at_level("DEBUG", logger="letta_async.durable"):
            with anyio.move_on_after(0.5):
                await worker.run()
        await store.aclose()
    failures = [r for r in caplog.records if r.message.startswith("claiming keys failed")]
    assert len(failures) > 3  # it kept trying
    levels = [r.levelname for r in failures]
    assert levels[0] == "WARNING" and levels.count("WARNING") == 1  # at the first failure
    assert f"127.0.0.1:{port}" in failures[0].message  # Redis's own words: where it failed


class LateRenewals(RedisCursorStore):
    """The real store, whose renewals are answered only once ``answer`` is set while ``late``
    (a Redis, or a network, slow to answer): the worker's leases run out meanwhile."""

    def __init__(self, url: str, namespace: str) -> None:
        super().__init__(url, namespace=namespace)
        self.late = False
        self.answer = anyio.Event()
        self.asked_at: list[float] = []

    async def renew(self, leases: Sequence[tuple[str, int]], lease_ttl: float) -> list[bool]:
        self.asked_at.append(time.monotonic())
        if self.late:
            await self.answer.wait()
        return await super().renew(leases, lease_ttl)


async def test_a_worker_that_claims_its_own_lapsed_key_again_keeps_running_and_completes_it(
    server: LettaTestServer, redis_server: RedisServer
) -> None:
    """The worker's renewals go unanswered while a handler runs, so its lease on the key runs
    out in Redis and its own claim loop takes the key over (README: a key whose lease expired
    is claimed again, under a new fence). For a while two of its tasks stream that key: the
    old one finds its fence refused and stops, the new one delivers under the new fence. The
    worker survives both endings, the key completes, and every event the server logged
    reaches the handler."""
    agent = server.create_agent()["id"]
    ttl = 1.2  # renewals a third of it apart: ample on a loaded machine
    store = LateRenewals(redis_server.url, f"reclaim{time.monotonic_ns()}")
    outcomes: list[tuple[str, str]] = []
    seen: dict[int, list[int | None]] = {}
    second_delivery = anyio.Event()
    first_ended = anyio.Event()

    async def on_outcome(outcome: Outcome) -> None:
        outcomes.append((outcome.key, outcome.status))
        first_ended.set()

    async def handler(batch: Batch) -> None:
        fence = batch.fence
        assert fence is not None
        first_of_fence = fence not in seen
        seen.setdefault(fence, []).extend(batch.seq_ids)
        if fence == 1 and first_of_fence:
            store.late = True  # from here on the lease runs out
            with anyio.fail_after(10):
                await second_delivery.wait()  # the same worker claimed the key again
            store.late = False
            store.answer.set()
        elif fence == 2 and first_of_fence:
            second_delivery.set()
            with anyio.fail_after(10):
                await first_ended.wait()  # the old task stopped meanwhile

    async with store, AsyncLetta(base_url=server.base_url) as client:
        prompt = [{"role": "user", "content": "count [tokens=8] [chunkdelay=0.05]"}]
        await submit(store, "k", agent, messages=prompt, stream_tokens=True)
        worker = Worker(
            client,
            store,
            handler,
            lease_ttl=ttl,
            poll_interval=0.02,
            on_outcome=on_outcome,
            max_batch=1,  # the new task still has batches to deliver after the old one ends
        )
        with anyio.fail_after(30):
            await worker.run(until_empty=True)
        log = await store.claim_log()
        counts = await store.counts()
    owners = [(r.fence, r.owner, r.previous_owner) for r in log[:2]]
    assert owners == [(1, worker.worker_id, None), (2, worker.worker_id, worker.worker_id)]
    # Its counters agree with the claim log: every claim, and every take-over among them.
    assert worker.claimed == len(log) > 1
    assert worker.taken_over == sum(r.previous_owner is not None for r in log)
    assert worker.outcomes.get("completed") == 1
    # The old task stops fenced; the new one, whose lease the old one's end must leave in
    # the book (renewed, and checked before each delivery), completes the key: no third claim.
    assert outcomes == [("k", "fenced"), ("k", "completed")]
    assert len(log) == 2
    assert counts == {"queued": 0, "held": 0, "parked": 0}
    (run_id,) = server.state.runs
    delivered: list[int | None] = []
    for fence in sorted(seen):
        delivered += [s for s in seen[fence] if s not in delivered]
    assert sorted(s for s in delivered if s is not None) == [
        s for s in logged_seqs(server, run_id) if s is not None
    ]


async def test_a_key_taken_over_while_its_renewals_went_unanswered_ends_fenced_where_it_was(
    server: LettaTestServer, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker picks up a key another one had started (the store holds its run and
    position). Its renewals go unanswered while its handler runs, so a second worker takes the
    key over; when the answer comes, the first stops that key's work at once (README: a worker
    whose lease was taken over delivers nothing) and reports it ``fenced``, at the run and
    position it had, having acknowledged nothing. The second worker completes the key. The
    hooks, one plain and one async, each see every call, and none logs an error."""
    agent = server.create_agent()["id"]
    namespace = f"taken{time.monotonic_ns()}"
    ttl = 0.6
    seen: list[tuple[int | None, list[int | None]]] = []

    async with (
        RedisCursorStore(redis_server.url, namespace=namespace) as store,
        LateRenewals(redis_server.url, namespace) as late,
        RedisCursorStore(redis_server.url, namespace=namespace) as other,
        AsyncLetta(base_url=server.base_url) as client,
    ):
        prompt = [{"role": "user", "content": "count [tokens=12]"}]
        await submit(store, "k", agent, messages=prompt, stream_tokens=True)

        # A first worker delivers a few batches and stops: the key goes back to the queue.
        started = anyio.Event()

        async def first(batch: Batch) -> None:
            seen.append((batch.fence, batch.seq_ids))
            if len(seen) == 3:
                started.set()

        with anyio.fail_after(20):
            async with anyio.create_task_group() as group:
                group.start_soon(Worker(client, store, first, max_batch=1, poll_interval=0.02).run)
                await started.wait()
                group.cancel_scope.cancel()
        before = await store.get("k")
        assert before is not None and before.run_id is not None and before.seq_id > 0
        assert all(len(seqs) == 1 for _, seqs in seen), "max_batch=1: one event a batch"

        claims: list[Claim] = []
        outcomes: list[Outcome] = []
        finished: list[Batch] = []
        taken = anyio.Event()

        async def on_outcome(outcome: Outcome) -> None:
            await anyio.lowlevel.checkpoint()  # an async hook, awaited
            outcomes.append(outcome)

        async def stuck(batch: Batch) -> None:
            seen.append((batch.fence, batch.seq_ids))
            late.late = True  # renewals go unanswered from here on
            with anyio.fail_after(10):
                await taken.wait()
            late.late = False
            late.answer.set()
            await anyio.sleep(10)  # the answer stops this first
            finished.append(batch)

        async def rest(batch: Batch) -> None:
            seen.append((batch.fence, batch.seq_ids))

        slow = Worker(
            client, late, stuck, limit=1, lease_ttl=ttl, poll_interval=0.02,
            on_claim=claims.append, on_outcome=on_outcome,
        )  # fmt: skip
        second = Worker(client, other, rest, lease_ttl=ttl, poll_interval=0.02)

        with caplog.at_level("ERROR", logger="letta_async.durable"), anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                group.start_soon(lambda: slow.run(until_empty=True))
                while slow.held == 0:
                    await anyio.sleep(0.01)
                group.start_soon(lambda: second.run(until_empty=True))
                while second.claimed == 0:
                    await anyio.sleep(0.01)
                taken.set()
        after = await store.counts()
    assert [c.cursor.key for c in claims] == ["k"]
    assert [(o.key, o.status, o.run_id, o.seq_id) for o in outcomes] == [
        ("k", "fenced", before.run_id, before.seq_id)
    ]
    assert slow.outcomes == {"fenced": 1} and second.outcomes == {"completed": 1}
    assert (slow.claimed, slow.taken_over, second.claimed, second.taken_over) == (1, 0, 1, 1)
    assert finished == [], "the taken-over key's handler was left to run on"
    assert after == {"queued": 0, "held": 0, "parked": 0}
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    fences = [fence for fence, _ in seen]
    assert fences == sorted(fences) and fences[-1] == 3  # nothing from fence 2 after fence 3
    delivered: list[int | None] = []
    for _, seqs in seen:
        delivered += [s for s in seqs if s not in delivered]
    assert delivered == logged_seqs(server, before.run_id)


async def test_a_worker_refuses_settings_that_cannot_work_and_has_the_documented_defaults(
    redis_store: RedisCursorStore,
) -> None:
    """No slot, no lease or no poll interval cannot work, and is refused in words at once;
    the smallest settings that can work are accepted. Unset, the settings are the documented
    ones (``max_retry_delay`` 300 s in the README)."""

    async def handler(batch: Batch) -> None:
        raise AssertionError("nothing is delivered here")

    async with AsyncLetta(base_url="http://127.0.0.1:9") as client:  # nothing is requested
        for bad in ({"limit": 0}, {"buffer": 0}, {"limit": 0, "buffer": 5}):
            with pytest.raises(ValueError) as caught:
                Worker(client, redis_store, handler, **bad)  # type: ignore[arg-type]
            assert str(caught.value) == "limit and buffer must be at least 1"
        for bad_time in ({"lease_ttl": 0}, {"poll_interval": 0}, {"lease_ttl": -1.0}):
            with pytest.raises(ValueError) as caught:
                Worker(client, redis_store, handler, **bad_time)  # type: ignore[arg-type]
            assert str(caught.value) == "lease_ttl and poll_interval must be positive"
        small = Worker(
            client, redis_store, handler, limit=1, buffer=1, lease_ttl=0.5, poll_interval=0.001
        )
        assert (small.limit, small.lease_ttl, small.poll_interval) == (1, 0.5, 0.001)
        plain = Worker(client, redis_store, handler)
    settings = (
        plain.limit, plain.lease_ttl, plain.poll_interval, plain.retry_delay,
        plain.max_retry_delay,
    )  # fmt: skip
    assert settings == (50, 10.0, 0.5, 5.0, 300.0)
    # Its name says where it runs: host, process id, then eight hex digits apart from others.
    host, pid, suffix = plain.worker_id.rsplit(":", 2)
    assert (host, pid) == (socket.gethostname(), str(os.getpid()))
    assert len(suffix) == 8 and int(suffix, 16) >= 0


async def test_a_handler_that_always_fails_kills_its_key_at_the_tenth_failure_by_default(
    server: LettaTestServer, redis_store: RedisCursorStore
) -> None:
    """``max_failures`` unset: the tenth failure in a row on the same batch parks the key as
    dead (the default the README gives), after nine trips back to the queue."""
    agent = server.create_agent()["id"]
    await submit(redis_store, "never", agent, messages=[{"role": "user", "content": "hi"}])

    async def handler(batch: Batch) -> None:
        raise ValueError("the sink is down")

    async with AsyncLetta(base_url=server.base_url) as client:
        worker = Worker(
            client, redis_store, handler, poll_interval=0.01, retry_delay=0.01,
            max_retry_delay=0.01,
        )  # fmt: skip
        with anyio.fail_after(30):
            await worker.run(until_empty=True)
    assert worker.outcomes == {"failed": 9, "dead": 1}
    dead = await redis_store.get("never")
    assert dead is not None and (dead.phase, dead.failures) == ("dead", 10)


async def test_a_worker_runs_until_stopped_and_hands_its_keys_back_at_once(
    server: LettaTestServer, redis_store: RedisCursorStore, redis_server: RedisServer
) -> None:
    """README: a worker runs until cancelled (an empty namespace is no reason to stop); with
    every slot taken it asks Redis for no more keys; stopped cleanly, it hands its keys back
    at once, so another worker claims them straight away instead of after the lease."""
    agent = server.create_agent()["id"]
    entered = anyio.Event()

    async def handler(batch: Batch) -> None:
        entered.set()
        await anyio.sleep(30)  # still busy when the worker is stopped

    async with AsyncLetta(base_url=server.base_url) as client:
        idle = Worker(client, redis_store, handler, poll_interval=0.02)
        with anyio.move_on_after(0.3) as waited:
            await idle.run()
        assert waited.cancelled_caught, "run() returned by itself"

        prompt = [{"role": "user", "content": "count [tokens=6]"}]
        await submit(redis_store, "k", agent, messages=prompt)
        full = Worker(client, redis_store, handler, limit=1, lease_ttl=30, poll_interval=0.02)
        async with aioredis.Redis.from_url(redis_server.url) as admin:
            with anyio.fail_after(20):
                async with anyio.create_task_group() as group:
                    group.start_soon(full.run)
                    await entered.wait()
                    await anyio.sleep(0.1)
                    before = await redis_calls(admin, "evalsha")
                    cpu = time.process_time()
                    await anyio.sleep(0.3)  # fifteen polls
                    assert time.process_time() - cpu < 0.1, "a full worker spins"
                    assert await redis_calls(admin, "evalsha") == before
                    group.cancel_scope.cancel()
    (claim,) = await redis_store.claim("other", 5, 10)
    assert (claim.cursor.key, claim.cursor.fence, claim.previous_owner) == ("k", 2, None)


class TroubledReleases(RedisCursorStore):
    """The real store, whose releases go wrong while ``trouble`` is set: ``"raise"`` (Redis
    answers with an error), ``"hang"`` (it never answers) or ``"slow"`` (it answers late)."""

    def __init__(self, url: str, namespace: str) -> None:
        super().__init__(url, namespace=namespace)
        self.trouble: str | None = None
        self.asked = anyio.Event()

    async def release(self, key: str, fence: int, *, delay: float = 0.0) -> bool:
        self.asked.set()
        if self.trouble == "raise":
            raise ConnectionError("Connection reset by peer")
        if self.trouble == "hang":
            await anyio.sleep_forever()
        if self.trouble == "slow":
            await anyio.sleep(0.3)
        return await super().release(key, fence, delay=delay)


async def _held_then_stopped(
    server: LettaTestServer, store: TroubledReleases, *, fail: bool, retry_delay: float = 30.0
) -> float:
    """A worker takes the store's one key and is stopped once it asks to release it (after
    its handler failed, with ``fail``) or while its handler is busy; the seconds stopping took."""
    agent = server.create_agent()["id"]
    await submit(store, "k", agent, messages=[{"role": "user", "content": "count [tokens=6]"}])
    entered = anyio.Event()

    async def handler(batch: Batch) -> None:
        entered.set()
        if fail:
            raise ValueError("the sink is down")
        await anyio.sleep(30)

    async with AsyncLetta(base_url=server.base_url) as client:
        worker = Worker(
            client, store, handler, lease_ttl=30, poll_interval=0.02, retry_delay=retry_delay
        )
        with anyio.fail_after(20):
            async with anyio.create_task_group() as group:
                group.start_soon(worker.run)
                await (store.asked if fail else entered).wait()
                stopping = time.monotonic()
                group.cancel_scope.cancel()
        return time.monotonic() - stopping


async def test_a_failed_key_goes_back_for_its_retry_delay_even_when_the_worker_stops_meanwhile(
    server: LettaTestServer, redis_server: RedisServer
) -> None:
    """The handler failed and the worker is giving the key back for a later attempt
    (``retry_delay``) when it is stopped: that release still completes, so the key waits its
    delay instead of being handed back for an immediate retry."""
    async with TroubledReleases(redis_server.url, f"slow{time.monotonic_ns()}") as store:
        store.trouble = "slow"
        await _held_then_stopped(server, store, fail=True)
        assert await store.claim("other", 5, 10) == []  # not due for 30 s
        got = await store.get("k")
        assert got is not None and got.failures == 1


async def test_a_release_that_fails_or_never_answers_does_not_stop_the_worker(
    server: LettaTestServer, redis_server: RedisServer
) -> None:
    """Giving a key back is a courtesy (the lease expires anyway): when Redis answers it with
    an error, the worker carries on stopping without raising; when Redis never answers, a
    stopping worker gives up after 2 s rather than hanging."""
    async with TroubledReleases(redis_server.url, f"raise{time.monotonic_ns()}") as store:
        store.trouble = "raise"
        await _held_then_stopped(server, store, fail=False)
    async with TroubledReleases(redis_server.url, f"hang{time.monotonic_ns()}") as store:
        store.trouble = "hang"
        took = await _held_then_stopped(server, store, fail=False)
    assert 2.0 <= took < 2.8


@pytest.mark.parametrize("trouble", ["raise", "hang"])
async def test_a_failed_keys_release_that_fails_or_hangs_leaves_the_key_to_its_lease(
    server: LettaTestServer, redis_server: RedisServer, trouble: str
) -> None:
    """After a handler failure the worker gives the key back for a later attempt; if Redis
    answers that with an error, or does not answer within 5 s, the worker carries on (the
    key's slot is free again) and the key comes back when its lease expires."""
    agent = server.create_agent()["id"]
    failures: list[float] = []
    outcomes: list[tuple[str, float]] = []

    async def handler(batch: Batch) -> None:
        if not failures:
            failures.append(time.monotonic())
            raise ValueError("the sink is down")

    async with (
        TroubledReleases(redis_server.url, f"{trouble}{time.monotonic_ns()}") as store,
        AsyncLetta(base_url=server.base_url) as client,
    ):
        await submit(store, "k", agent, messages=[{"role": "user", "content": "hi"}])
        store.trouble = trouble
        worker = Worker(
            client, store, handler, lease_ttl=1.0, poll_interval=0.02,
            on_outcome=lambda o: outcomes.append((o.status, time.monotonic())),
        )  # fmt: skip
        with anyio.fail_after(30):
            await worker.run(until_empty=True)
    assert [status for status, _ in outcomes] == ["failed", "completed"]
    assert worker.taken_over == 1  # the lease expired; nobody released the key
    if trouble == "hang":
        assert 5.0 <= outcomes[0][1] - failures[0] < 5.8


class Outages(RedisCursorStore):
    """The real store, whose claims fail while ``down`` (Redis out of reach) and whose first
    ``counts`` fails too."""

    def __init__(self, url: str, namespace: str) -> None:
        super().__init__(url, namespace=namespace)
        self.down = True
        self.counted = 0

    async def claim(self, owner: str, count: int, lease_ttl: float) -> list[Claim]:
        if self.down:
            raise ConnectionError("Error 111 connecting to Redis. Connection refused.")
        return await super().claim(owner, count, lease_ttl)

    async def counts(self) -> dict[str, int]:
        self.counted += 1
        if self.counted == 1:
            raise ConnectionError("Connection reset by peer")
        return await super().counts()


async def test_each_outage_of_redis_is_one_warning_and_its_end_another(
    server: LettaTestServer, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Claims fail while Redis is out of reach, twice: each outage is said once, at its first
    failure, and so is its end; the failures in between are debug lines. A failed look at the
    counts at the end is no reason to stop either: the worker looks again."""
    agent = server.create_agent()["id"]
    proceed = anyio.Event()

    async def handler(batch: Batch) -> None:
        await proceed.wait()

    async with (
        Outages(redis_server.url, f"out{time.monotonic_ns()}") as store,
        AsyncLetta(base_url=server.base_url) as client,
    ):
        await submit(store, "k", agent, messages=[{"role": "user", "content": "hi"}])
        worker = Worker(client, store, handler, poll_interval=0.02)
        with caplog.at_level("DEBUG", logger="letta_async.durable"), anyio.fail_after(20):
            async with anyio.create_task_group() as group:
                group.start_soon(lambda: worker.run(until_empty=True))
                await anyio.sleep(0.1)  # the first outage
                store.down = False
                while worker.held == 0:
                    await anyio.sleep(0.01)
                store.down = True
                await anyio.sleep(0.1)  # the second, while the key is worked on
                store.down = False
                proceed.set()
    said = [
        (r.levelname, r.message.split(",")[0].split(" (")[0])
        for r in caplog.records
        if r.message.startswith("claiming keys")
    ]
    warnings = [m for level, m in said if level == "WARNING"]
    assert warnings == ["claiming keys failed", "claiming keys works again"] * 2
    assert [m for level, m in said if level == "DEBUG"], "the failures in between"
    assert worker.outcomes == {"completed": 1} and store.counted >= 2


async def test_a_worker_parks_an_unseen_send_after_its_lookups_grace(
    server: LettaTestServer, redis_store: RedisCursorStore
) -> None:
    """A key whose send may or may not have left (the process died while sending) and whose
    message the server does not hold: the worker looks it up with the lookup it was given,
    waits that lookup's grace (half a second here, not the default ten), then parks the key
    as ``unconfirmed`` without sending anything."""
    agent = server.create_agent()["id"]
    await submit(redis_store, "k", agent, messages=[{"role": "user", "content": "hi"}])
    assert await redis_store.mark_sending("k", time.time())

    async def handler(batch: Batch) -> None:
        raise AssertionError("nothing was sent, nothing can be delivered")

    async with AsyncLetta(base_url=server.base_url) as client:
        worker = Worker(
            client, redis_store, handler, poll_interval=0.02, lookup=OtidLookup(grace=0.5)
        )
        with anyio.fail_after(5):
            await worker.run(until_empty=True)
    assert worker.outcomes == {"unconfirmed": 1}
    parked = await redis_store.get("k")
    assert parked is not None and parked.phase == "unconfirmed"
    assert not server.state.runs


async def test_every_take_over_is_counted(
    server: LettaTestServer, redis_store: RedisCursorStore
) -> None:
    """Three keys left leased by a worker that died: the next worker takes over each of them,
    and its counters say so (three claims, three take-overs), as the claim log does."""
    agent = server.create_agent()["id"]
    for key in ("a", "b", "c"):
        await submit(redis_store, key, agent, messages=[{"role": "user", "content": key}])
    assert len(await redis_store.claim("dead-worker", 3, 0.2)) == 3
    await anyio.sleep(0.3)  # its leases lapse

    async def handler(batch: Batch) -> None:
        pass

    async with AsyncLetta(base_url=server.base_url) as client:
        worker = Worker(client, redis_store, handler, poll_interval=0.05)
        with anyio.fail_after(20):
            await worker.run(until_empty=True)
    log = await redis_store.claim_log()
    assert sum(r.previous_owner == "dead-worker" for r in log) == 3
    assert (worker.claimed, worker.taken_over) == (3, 3)
    assert worker.outcomes == {"completed": 3}


class SlowToReturnFromFinish(RedisCursorStore):
    """The real store, whose ``finish`` takes effect in Redis at once but answers late: for
    that moment Redis holds nothing while the worker's task for the key is still running."""

    async def finish(
        self, key: str, fence: int | None = None, *, ended: Ended | None = None
    ) -> bool:
        done = await super().finish(key, fence, ended=ended)
        await anyio.sleep(0.5)
        return done


async def test_run_until_empty_waits_for_the_keys_it_holds_even_when_redis_is_empty(
    server: LettaTestServer, redis_server: RedisServer
) -> None:
    """``run(until_empty=True)`` ends once the namespace is empty *and* the worker holds
    nothing: a key whose end is written but whose task has not returned yet still gets its
    outcome counted, instead of being cancelled by the worker stopping."""
    agent = server.create_agent()["id"]
    outcomes: list[str] = []
    async with (
        SlowToReturnFromFinish(
            redis_server.url, namespace=f"slowfinish{time.monotonic_ns()}"
        ) as store,
        AsyncLetta(base_url=server.base_url) as client,
    ):
        await submit(store, "k", agent, messages=[{"role": "user", "content": "hi"}])

        async def handler(batch: Batch) -> None:
            pass

        worker = Worker(
            client,
            store,
            handler,
            poll_interval=0.02,
            on_outcome=lambda o: outcomes.append(o.status),
        )
        with anyio.fail_after(20):
            await worker.run(until_empty=True)
        assert await store.counts() == {"queued": 0, "held": 0, "parked": 0}
    assert worker.outcomes == {"completed": 1}
    assert outcomes == ["completed"]


async def test_by_default_a_hundred_batches_are_out_with_handlers_at_once(
    server: LettaTestServer, redis_store: RedisCursorStore
) -> None:
    """``buffer``'s documented default: with 120 keys held and every handler waiting, exactly
    100 batches are in handlers; the others wait for a slot, and all are delivered once the
    handlers return."""
    agent = server.create_agent()["id"]
    for i in range(120):
        await submit(redis_store, f"k{i:03d}", agent, messages=[{"role": "user", "content": "hi"}])
    inside = 0
    peak = 0
    release = anyio.Event()
    handled: set[str] = set()

    async def handler(batch: Batch) -> None:
        nonlocal inside, peak
        inside += 1
        peak = max(peak, inside)
        try:
            await release.wait()
        finally:
            inside -= 1
        handled.add(batch.key)

    async with AsyncLetta(base_url=server.base_url) as client:
        worker = Worker(client, redis_store, handler, limit=200, poll_interval=0.05)
        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                group.start_soon(lambda: worker.run(until_empty=True))
                while inside < 100:
                    await anyio.sleep(0.02)
                await anyio.sleep(0.5)  # time for more to get in, were any allowed
                assert (inside, peak, worker.held) == (100, 100, 120)
                release.set()
    assert worker.outcomes == {"completed": 120}
    assert len(handled) == 120


async def test_an_on_claim_hook_may_take_longer_than_the_key_it_was_told_of(
    server: LettaTestServer, redis_store: RedisCursorStore
) -> None:
    """Hooks may await (write to a database, call a service): a key that is delivered and
    ends while its ``on_claim`` hook is still running is counted as usual, and the worker
    goes on."""
    agent = server.create_agent()["id"]
    await submit(redis_store, "k", agent, messages=[{"role": "user", "content": "hi"}])
    ended = anyio.Event()
    order: list[str] = []

    async def on_claim(claim: Claim) -> None:
        with anyio.fail_after(10):
            await ended.wait()  # the key is delivered and ends meanwhile
        order.append("claim hook done")

    def on_outcome(outcome: Outcome) -> None:
        order.append(outcome.status)
        ended.set()

    async def handler(batch: Batch) -> None:
        pass

    async with AsyncLetta(base_url=server.base_url) as client:
        worker = Worker(
            client,
            redis_store,
            handler,
            poll_interval=0.05,
            on_claim=on_claim,
            on_outcome=on_outcome,
        )
        with anyio.fail_after(20):
            await worker.run(until_empty=True)
    assert order == ["completed", "claim hook done"]
    assert worker.outcomes == {"completed": 1}


class CountedReleases(RedisCursorStore):
    """The real store, counting the keys handed back to the queue."""

    released: list[str]

    async def release(self, key: str, fence: int, *, delay: float = 0.0) -> bool:
        self.released.append(key)
        return await super().release(key, fence, delay=delay)


async def test_only_a_failed_key_goes_back_to_the_queue(
    server: LettaTestServer, redis_server: RedisServer
) -> None:
    """A key whose handler failed is handed back for a later attempt; a key that completed
    has already left the store and costs no further round trip to Redis."""
    agent = server.create_agent()["id"]
    failed_once: set[str] = set()

    async def handler(batch: Batch) -> None:
        if batch.key == "flaky" and "flaky" not in failed_once:
            failed_once.add("flaky")
            raise ValueError("the sink is down")

    async with (
        CountedReleases(redis_server.url, namespace=f"released{time.monotonic_ns()}") as store,
        AsyncLetta(base_url=server.base_url) as client,
    ):
        store.released = []
        for key in ("a", "b", "flaky"):
            await submit(store, key, agent, messages=[{"role": "user", "content": key}])
        worker = Worker(client, store, handler, poll_interval=0.02, retry_delay=0.05)
        with anyio.fail_after(20):
            await worker.run(until_empty=True)
    assert worker.outcomes == {"completed": 3, "failed": 1}
    assert store.released == ["flaky"]
