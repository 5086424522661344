"""Chaos runs for durable streams, shared by the test suite (short) and the benchmarks (long).

Fleet (:func:`run_fleet_chaos`): a real ``redis-server``, the local Letta-compatible server
(in this process, so that its own frame log is the reference), and worker *processes*
started with ``letta-async worker``. Background runs are submitted over a few seconds while
a random worker is SIGKILLed and restarted every couple of seconds, and one worker is
SIGSTOPped past its lease and then continued. Embedded (:func:`run_sqlite_chaos`): the same
with the SQLite store and one process that is killed and restarted in a loop, recovering
everything each time.

In both, the server holds back the first frame of every send for ``send_stall`` seconds (a
slow first token, the run itself goes on), so that kills also land between a send and the
frame that names its run: such keys are in phase ``sending`` and must be found by otid, never
sent again. The report counts the kills that caught one (``kills_in_send``).

At the end every run's deliveries, as the sink recorded them, are judged against the
server's log (``chaos_check``), every submitted message is traced to the runs the server
started for its ``otid`` (more than one would be a blind re-send), and the closing line
gives runs, events, lost, duplicated and take-over times.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import redis.asyncio as aioredis
from anyio.abc import Process

from letta_async.durable import Cursor, RedisCursorStore, SQLiteCursorStore, submit
from letta_async.testing import Fault, LettaTestServer

from .chaos_check import Delivered, Verdict, judge_run, percentile, takeover_times
from .redis_server import RedisServer, free_port

__all__ = ["ChaosReport", "FleetChaos", "SQLiteChaos", "run_fleet_chaos", "run_sqlite_chaos"]

REPO = Path(__file__).resolve().parents[2]


@dataclass
class FleetChaos:
    runs: int = 200
    workers: int = 3
    agents: int = 10
    lease_ttl: float = 2.0
    kill_every: tuple[float, float] = (1.5, 2.5)
    submit_over: float = 8.0
    chaos_for: float = 12.0
    stop_at: float = 4.0
    stops: int = 1
    stop_every: float = 12.0
    tokens: tuple[int, int] = (10, 40)
    chunk_delay: float = 0.1
    send_stall: float = 0.5
    # Room for every run in flight on the surviving workers: take-overs then wait only for
    # the lease, never for a free slot.
    limit: int = 200
    timeout: float = 75.0
    seed: int | None = None


@dataclass
class SQLiteChaos:
    runs: int = 100
    agents: int = 10
    kill_every: tuple[float, float] = (1.0, 2.0)
    tokens: tuple[int, int] = (10, 40)
    chunk_delay: float = 0.1
    # Shorter than the fleet's: a restarted process must still get work done between kills.
    send_stall: float = 0.25
    limit: int = 40
    timeout: float = 60.0
    seed: int | None = None


@dataclass
class ChaosReport:
    name: str
    verdict: Verdict
    jobs: int
    kills: int = 0
    stops: int = 0
    kills_in_send: int = 0
    """Failures that caught the victim with keys between their send and the run's first
    frame (phase ``sending``): each such key must be found by otid, never sent again."""
    takeovers: list[float] = field(default_factory=list)
    stale_refused: int = 0
    fenced: int = 0
    """Keys a worker stopped delivering because another took them over."""
    unconfirmed: int = 0
    blind_resends: int = 0
    unconsumed: int = 0
    stray_runs: int = 0
    seconds: float = 0.0
    claim_lateness: list[float] = field(default_factory=list)
    """For each take-over: seconds from the lease's expiry to the claim (Redis clock)."""
    claims_by: dict[str, int] = field(default_factory=dict)
    """Claims per worker incarnation (how the keys spread over the fleet)."""
    failures: list[str] = field(default_factory=list)
    """The incarnations killed or stopped, in order."""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.verdict.clean
            and not self.blind_resends
            and not self.unconsumed
            and not self.stray_runs
            and not self.problems
        )

    def line(self) -> str:
        v = self.verdict
        takeover = (
            f", takeover p50 {percentile(self.takeovers, 0.5):.2f} s "
            f"p99 {percentile(self.takeovers, 0.99):.2f} s ({len(self.takeovers)} keys)"
            if self.takeovers
            else ""
        )
        return (
            f"{self.name}: {v.runs} runs, {v.events:,} events, lost {v.lost}, duplicated "
            f"{v.duplicated}{takeover}; {self.kills} kills, {self.stops} stops "
            f"({self.kills_in_send} during sends), "
            f"{self.fenced} keys fenced off, "
            f"{v.replayed} replayed events absorbed by their idempotency key, "
            f"{self.stale_refused} stale batches refused by the sink's fence check, "
            f"{self.unconfirmed} unconfirmed sends (server never saw them), "
            f"out of order {v.out_of_order}, blind re-sends {self.blind_resends}, "
            f"{self.seconds:.1f} s"
        )


# --- shared pieces ----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _letta_server(send_stall: float) -> AsyncIterator[LettaTestServer]:
    """The local server on a port below the ephemeral range, retried on a collision; every
    send's first frame is held back ``send_stall`` seconds (the run itself goes on)."""
    for attempt in range(10):
        server = LettaTestServer(port=free_port(), keepalive_interval=0.5)
        try:
            await server.start()
        except OSError:
            await server.close()
            if attempt == 9:
                raise
            continue
        if send_stall > 0:
            server.faults.add(
                Fault(method="POST", path=r"/messages/stream$", stall=send_stall, times=None)
            )
        try:
            yield server
        finally:
            await server.close()
        return


def _prompt(rng: random.Random, config: FleetChaos | SQLiteChaos) -> str:
    tokens = rng.randint(*config.tokens)
    return f"count [tokens={tokens}] [chunkdelay={config.chunk_delay}]"


def _otid_runs(server: LettaTestServer) -> dict[str, list[str]]:
    """Every run the server started, by the otid of the user message that started it."""
    runs: dict[str, list[str]] = defaultdict(list)
    for agent in server.state.agents.values():
        for record in agent.messages:
            for item in record.items:
                if item.get("message_type") == "user_message" and item.get("otid"):
                    runs[item["otid"]].append(str(item.get("run_id")))
    return runs


def _judge(
    report: ChaosReport,
    server: LettaTestServer,
    jobs: list[Cursor],
    deliveries: dict[str, list[Delivered]],
    parked: set[str],
) -> None:
    by_otid = _otid_runs(server)
    ours: set[str] = set()
    for job in jobs:
        runs = sorted({r for otid in job.otids for r in by_otid.get(otid, [])})
        if len(runs) > 1:
            report.blind_resends += 1
            report.problems.append(f"{job.key}: {len(runs)} runs for one send: {runs}")
        if not runs:
            if job.key in parked:
                report.unconfirmed += 1
            else:
                report.unconsumed += 1
                report.problems.append(f"{job.key}: no run and not parked")
            continue
        for run_id in runs:
            ours.add(run_id)
            run = server.state.runs[run_id]
            log = [(frame.seq, frame.kind) for frame in run.frames]
            verdict = judge_run(run_id, log, deliveries.get(run_id, []))
            report.verdict.add(verdict)
    report.stray_runs = len(set(server.state.runs) - ours)
    if report.stray_runs:
        report.problems.append(f"{report.stray_runs} runs on the server belong to no job")
    report.problems.extend(report.verdict.problems[:20])


async def _logged(log: Path, text: str, proc: Process) -> None:
    """Wait until ``text`` is in the child's ``log``, or the child has exited. Under load a
    Python process can take seconds to start: a kill before it did anything tests nothing."""
    while proc.returncode is None and not _says(log, text):
        await anyio.sleep(0.05)


def _says(log: Path, text: str) -> bool:
    return log.exists() and text in log.read_text(errors="replace")


async def _reap(proc: Process, sig: int = signal.SIGTERM) -> None:
    """Stop a child (``sig``, then SIGKILL after 15 s) and release its transport."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        with anyio.move_on_after(15):
            await proc.wait()
        if proc.returncode is None:
            proc.kill()
    await proc.aclose()


async def _spawn(command: list[str], *, env: dict[str, str] | None, log: Path) -> Process:
    with log.open("ab") as err:
        return await anyio.open_process(
            command,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


# --- the fleet on Redis -----------------------------------------------------------------------


def _pid(worker_id: str) -> int:
    """The process id in a worker id (``host:pid:tag``)."""
    try:
        return int(worker_id.split(":")[1])
    except (IndexError, ValueError):
        return -1


async def _holders(store: RedisCursorStore) -> set[int]:
    """Process ids of the workers holding leases now (worker ids are ``host:pid:tag``)."""
    redis = store.redis
    keys = await redis.zrange("{" + store.namespace + "}:leases", 0, -1)
    owners: set[int] = set()
    for key in keys:
        owner = await redis.hget("{" + store.namespace + "}:cursor:" + key.decode(), "owner")
        if owner:
            with contextlib.suppress(ValueError, IndexError):
                owners.add(int(owner.decode().split(":")[1]))
    return owners


async def _sending(store: RedisCursorStore) -> Counter[int]:
    """Per worker process id: the keys it holds that are between their send and their run's
    first frame (phase ``sending``)."""
    redis = store.redis
    held: Counter[int] = Counter()
    for key in await redis.zrange("{" + store.namespace + "}:leases", 0, -1):
        hash_key = "{" + store.namespace + "}:cursor:" + key.decode()
        owner, phase = await redis.hmget(hash_key, ["owner", "phase"])
        if owner and phase == b"sending":
            held[_pid(owner.decode())] += 1
    return held


def _sending_in_file(db: Path) -> int:
    """Keys of the SQLite store between their send and their run's first frame."""
    with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
        (count,) = conn.execute(
            "SELECT COUNT(*) FROM letta_cursors WHERE phase = 'sending'"
        ).fetchone()
    return int(count)


class _Fleet:
    """Worker processes, each start numbered (its incarnation), with their logs."""

    def __init__(self, base_url: str, redis_url: str, config: FleetChaos, logs: Path) -> None:
        self.base_url = base_url
        self.redis_url = redis_url
        self.config = config
        self.logs = logs
        self.procs: dict[int, Process] = {}
        self.incarnation: dict[int, int] = {}
        self.by_pid: dict[int, int] = {}
        """Incarnation of every worker process ever started, by process id."""
        self._count = 0

    async def start(self, slot: int) -> None:
        self._count += 1
        incarnation = self._count
        env = dict(os.environ)
        env.update(
            CHAOS_SINK=self.redis_url,
            CHAOS_INCARNATION=str(incarnation),
            PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
        )
        self.procs[slot] = await _spawn(
            [
                sys.executable,
                "-m",
                "letta_async",
                "worker",
                "--base-url",
                self.base_url,
                "--redis",
                self.redis_url,
                "--namespace",
                "chaos",
                "--handler",
                "tests.durable.chaos_sink:handle",
                "--on-claim",
                "tests.durable.chaos_sink:on_claim",
                "--on-outcome",
                "tests.durable.chaos_sink:on_outcome",
                "--limit",
                str(self.config.limit),
                "--lease-ttl",
                str(self.config.lease_ttl),
                "--poll",
                "0.1",
            ],
            env=env,
            log=self.logs / f"worker-{incarnation}.log",
        )
        self.incarnation[slot] = incarnation
        self.by_pid[self.procs[slot].pid] = incarnation

    async def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGCONT)
        for proc in self.procs.values():
            await _reap(proc)

    async def ready(self, slot: int) -> None:
        """Wait until the worker in ``slot`` is up (it says so in its log) or has died."""
        log = self.logs / f"worker-{self.incarnation[slot]}.log"
        await _logged(log, "on namespace", self.procs[slot])

    def tails(self) -> str:
        out = []
        for path in sorted(self.logs.glob("worker-*.log")):
            lines = path.read_text(errors="replace").splitlines()[-5:]
            if lines:
                out.append(f"--- {path.name}\n" + "\n".join(lines))
        return "\n".join(out)


async def run_fleet_chaos(config: FleetChaos) -> ChaosReport:
    rng = random.Random(config.seed)
    report = ChaosReport("fleet chaos (Redis, 3 worker processes)", Verdict(), config.runs)
    report.name = f"fleet chaos (Redis, {config.workers} worker processes)"
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="letta-chaos-") as tmp, RedisServer() as redis_server:
        async with _letta_server(config.send_stall) as server:
            agents = [server.create_agent(name=f"chaos-{i}")["id"] for i in range(config.agents)]
            store = RedisCursorStore(redis_server.url, namespace="chaos")
            fleet = _Fleet(server.base_url, redis_server.url, config, Path(tmp))
            jobs: list[Cursor] = []
            failures: list[tuple[float, float, str]] = []

            async def failed(slot: int) -> None:
                """Note a failure on both clocks: Redis's (claims) and monotonic (hooks)."""
                now = await store.now()
                failures.append((now, time.monotonic(), str(fleet.incarnation[slot])))

            stopped: set[int] = set()
            try:
                for slot in range(config.workers):
                    await fleet.start(slot)
                with anyio.fail_after(config.timeout):
                    for slot in range(config.workers):
                        await fleet.ready(slot)
                chaos_started = time.monotonic()

                async def submit_all() -> None:
                    pause = config.submit_over / max(config.runs, 1)
                    for i in range(config.runs):
                        jobs.append(
                            await submit(
                                store,
                                f"job-{i:05d}",
                                agents[i % len(agents)],
                                messages=[{"role": "user", "content": _prompt(rng, config)}],
                                stream_tokens=True,
                            )
                        )
                        await anyio.sleep(pause)

                async def victim(candidates: list[int]) -> int:
                    """A random worker among those holding keys right now (any if none do):
                    a failure is only a test of take-over when there is something to take."""
                    holding = await _holders(store)
                    busy = [s for s in candidates if fleet.procs[s].pid in holding]
                    return rng.choice(busy or candidates)

                async def kill_loop() -> None:
                    while time.monotonic() - chaos_started < config.chaos_for:
                        await anyio.sleep(rng.uniform(*config.kill_every))
                        candidates = [s for s in fleet.procs if s not in stopped]
                        slot = await victim(candidates)
                        sending = await _sending(store)
                        if report.kills % 2 == 0:
                            # Every other kill aims at a worker with sends in flight, if any:
                            # the keys a crash during the send leaves must not be sent again.
                            mid_send = [s for s in candidates if sending[fleet.procs[s].pid]]
                            slot = rng.choice(mid_send) if mid_send else slot
                        if slot in stopped:  # stopped while the victim was being chosen
                            continue
                        proc = fleet.procs[slot]
                        await failed(slot)
                        if sending[proc.pid]:
                            report.kills_in_send += 1
                        proc.send_signal(signal.SIGKILL)
                        await proc.wait()
                        await proc.aclose()
                        report.kills += 1
                        await fleet.start(slot)

                async def stop_loop() -> None:
                    """SIGSTOP a worker past its lease, then let it carry on (SIGCONT)."""
                    await anyio.sleep(config.stop_at)
                    for number in range(config.stops):
                        if number:
                            await anyio.sleep(config.stop_every)
                        slot = await victim(list(fleet.procs))
                        stopped.add(slot)
                        proc = fleet.procs[slot]
                        await failed(slot)
                        proc.send_signal(signal.SIGSTOP)
                        report.stops += 1
                        await anyio.sleep(config.lease_ttl + 1.5)
                        with contextlib.suppress(ProcessLookupError):
                            proc.send_signal(signal.SIGCONT)
                        stopped.discard(slot)

                with anyio.fail_after(config.timeout):
                    async with anyio.create_task_group() as group:
                        group.start_soon(submit_all)
                        group.start_soon(kill_loop)
                        group.start_soon(stop_loop)
                    while True:
                        counts = await store.counts()
                        if counts["queued"] == 0 and counts["held"] == 0:
                            break
                        await anyio.sleep(0.2)
            except BaseException:
                report.problems.append("did not finish:\n" + fleet.tails())
                raise
            finally:
                with anyio.CancelScope(shield=True):
                    await fleet.stop_all()
            report.seconds = time.monotonic() - started
            sink = aioredis.Redis.from_url(redis_server.url)
            try:
                deliveries: dict[str, list[Delivered]] = {}
                for run_id in server.state.runs:
                    raw = await sink.lrange(f"chaos:sink:{run_id}", 0, -1)
                    deliveries[run_id] = [Delivered.parse(e) for e in raw]
                report.stale_refused = int(await sink.llen("chaos:stale"))
                log = await store.claim_log(count=1_000_000)
                claims = [
                    (c.key, c.fence, str(fleet.by_pid.get(_pid(c.owner), "?")), c.at) for c in log
                ]
                report.claim_lateness = [
                    c.at - c.expired_at for c in log if c.expired_at is not None
                ]
                outcomes = [
                    e.decode().split("|") for e in await sink.lrange("chaos:outcomes", 0, -1)
                ]
                ends = [(k, inc, float(t)) for k, _status, _run, inc, t in outcomes]
                report.fenced = sum(1 for o in outcomes if o[1] == "fenced")
                parked = {c.key for c in await store.in_flight() if c.phase == "unconfirmed"}
            finally:
                await sink.aclose()
                await store.aclose()
            report.takeovers = takeover_times(claims, ends, failures)
            report.claims_by = dict(Counter(inc for _k, _f, inc, _t in claims))
            report.failures = [inc for _t, _m, inc in failures]
            _judge(report, server, jobs, deliveries, parked)
    return report


# --- one embedded process on SQLite -----------------------------------------------------------


async def run_sqlite_chaos(config: SQLiteChaos) -> ChaosReport:
    rng = random.Random(config.seed)
    report = ChaosReport("embedded chaos (SQLite, 1 process)", Verdict(), config.runs)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="letta-chaos-") as tmp:
        db = Path(tmp) / "cursors.db"
        sink = Path(tmp) / "sink.jsonl"
        async with _letta_server(config.send_stall) as server:
            agents = [server.create_agent(name=f"chaos-{i}")["id"] for i in range(config.agents)]
            jobs: list[Cursor] = []
            async with SQLiteCursorStore(db) as store:
                for i in range(config.runs):
                    jobs.append(
                        await submit(
                            store,
                            f"job-{i:05d}",
                            agents[i % len(agents)],
                            messages=[{"role": "user", "content": _prompt(rng, config)}],
                            stream_tokens=True,
                        )
                    )
            incarnation = 0
            proc: Process | None = None
            log = Path(tmp) / "child.log"
            try:
                with anyio.fail_after(config.timeout):
                    while True:
                        incarnation += 1
                        proc = await _spawn(
                            [
                                sys.executable,
                                "-m",
                                "tests.durable.sqlite_child",
                                str(db),
                                server.base_url,
                                str(sink),
                                str(incarnation),
                                str(config.limit),
                            ],
                            env=None,
                            log=log,
                        )
                        # Killed at a random moment, but never before it has recovered its
                        # keys (and had half a second more): a loaded machine can take longer
                        # than the whole interval to start Python, and a process killed before
                        # it did anything tests nothing.
                        kill_at = anyio.current_time() + rng.uniform(*config.kill_every)
                        await _logged(log, f"incarnation {incarnation} recovered", proc)
                        left = max(kill_at - anyio.current_time(), 0.5)
                        with anyio.move_on_after(left):
                            code = await proc.wait()
                            if code != 0:
                                raise RuntimeError(f"child exited {code}")
                            break
                        if _sending_in_file(db):
                            report.kills_in_send += 1
                        proc.send_signal(signal.SIGKILL)
                        await proc.wait()
                        await proc.aclose()
                        proc = None
                        report.kills += 1
            except BaseException:
                report.problems.append(
                    "did not finish:\n" + "\n".join(log.read_text().splitlines()[-20:])
                )
                raise
            finally:
                if proc is not None:
                    with anyio.CancelScope(shield=True):
                        await _reap(proc, signal.SIGKILL)
            report.seconds = time.monotonic() - started
            deliveries: dict[str, list[Delivered]] = defaultdict(list)
            for line in sink.read_text().splitlines():
                record: dict[str, Any] = json.loads(line)
                for seq, kind in zip(record["seqs"], record["kinds"], strict=True):
                    deliveries[record["run"]].append(
                        Delivered(seq, record["incarnation"], record["batch"], kind)
                    )
            async with SQLiteCursorStore(db) as store:
                left = await store.in_flight()
            parked = {c.key for c in left if c.phase == "unconfirmed"}
            for c in left:
                if c.phase != "unconfirmed":
                    report.problems.append(f"{c.key} still in the store ({c.phase})")
            _judge(report, server, jobs, deliveries, parked)
    return report
