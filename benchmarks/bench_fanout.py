"""Fan-out: 1,000 concurrent agent streams from one process, as an orchestrator runs them.

One process opens ``--streams`` streams at once (an anyio task group, one task per stream,
one shared client) against the loopback server, each streaming ``--events`` events of the
``corpus.py`` token stream, and reads them all to the end. Reported per contestant:

- total events/s: all events of all streams over the wall time from the first request to
  the last event;
- time to first event (TTFE), p50 and p99: from the common start to the moment each stream
  decoded its first event. It exposes queueing: a client whose pool holds fewer connections
  than there are streams makes the rest wait for a whole stream to finish;
- peak RSS of the process (VmHWM) and RSS per open stream ((peak - RSS before the fan-out)
  / streams);
- that every event arrived (the counts are checked, not assumed).

Contestants: the raw floor (aiohttp + msgspec, see ``consumers.py``); letta-async through
its own ``fan_out`` helper (all events merged into one bounded buffer, the way the package
offers to run many streams); letta-async with one plain task per stream; and the official
SDK with one task per stream and its default client.

Each run of each contestant is a fresh child process (this script with ``--child``), so peak
RSS belongs to that contestant alone and no pool, cache or heap carries over between runs.
Runs alternate between the contestants (A B C A B C ...); medians are reported.

Usage: ``python benchmarks/bench_fanout.py [--reps N] [--streams N] [--events N]
[--only floor,ours-fan_out,ours,official] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from consumers import MESSAGES
from harness import (
    ServerProcess,
    machine_info,
    median,
    percentile,
    raise_nofile_limit,
    read_peak_rss,
    read_rss,
    spread,
    write_json,
)

DEFAULT_STREAMS = 1000
DEFAULT_EVENTS = 200
DEFAULT_WRITE = "64k"
CHILD_TIMEOUT = 240.0
ORDER = ("floor", "ours-fan_out", "ours", "official")
LABELS = {
    "floor": "raw floor",
    "ours-fan_out": "letta-async fan_out",
    "ours": "letta-async",
    "official": "letta-client",
}
CONSUMER_OF = {"floor": "floor", "ours-fan_out": "ours", "ours": "ours", "official": "official"}


# --- the child: one contestant, one fan-out ------------------------------------------------


async def task_group_run(
    consumer: Any, agent_id: str, streams: int, start: float, record: Recorder
) -> None:
    """One task per stream in an anyio task group: what an orchestrator writes by hand."""
    import anyio

    async def one(index: int) -> None:
        def on_first() -> None:
            record.first[index] = time.perf_counter() - start

        try:
            record.counts[index] = await consumer(agent_id, on_first)
        except Exception as exc:  # a failed stream is reported, not fatal
            record.errors.append(f"{type(exc).__name__}: {exc}")

    async with anyio.create_task_group() as group:
        for index in range(streams):
            group.start_soon(one, index)


async def helper_run(
    consumer: Any, agent_id: str, streams: int, start: float, record: Recorder
) -> None:
    """letta-async's own ``fan_out``: every event passes through its one bounded buffer.

    ``limit`` is raised to the number of streams (its default of 50 is a politeness cap for
    real servers, and would make this a queueing test); ``buffer`` keeps its default.
    """
    from letta_async import fan_out as letta_fan_out

    client = consumer.client
    requests = {
        index: partial(
            client.agents.messages.stream, agent_id, messages=MESSAGES, stream_tokens=True
        )
        for index in range(streams)
    }
    counts, first = record.counts, record.first
    async with letta_fan_out(requests, limit=streams) as events:
        async for index, event in events:
            if isinstance(event, Exception):
                record.errors.append(f"{type(event).__name__}: {event}")
                continue
            if counts[index] == 0:
                first[index] = time.perf_counter() - start
            counts[index] += 1


class Recorder:
    """Per-stream event counts, first-event times and errors of one fan-out."""

    def __init__(self, streams: int) -> None:
        self.counts = [0] * streams
        self.first = [float("nan")] * streams
        self.errors: list[str] = []


async def fan_out(
    contestant: str, base_url: str, streams: int, events: int, write: str
) -> dict[str, Any]:
    import anyio
    from consumers import CONSUMERS

    consumer = CONSUMERS[CONSUMER_OF[contestant]](base_url)
    await consumer.open()
    agent_id = f"agent-ev{events}-{write}"
    run = helper_run if contestant == "ours-fan_out" else task_group_run
    try:
        # Warm-up: lazy imports, decoder construction and the first connection happen here,
        # outside the measurement and before the baseline RSS is read.
        if await consumer(agent_id) != events:
            raise SystemExit(f"{contestant}: warm-up stream incomplete")
        gc.collect()
        baseline = read_rss()
        record = Recorder(streams)
        start = time.perf_counter()
        with anyio.fail_after(CHILD_TIMEOUT - 30):
            await run(consumer, agent_id, streams, start, record)
        elapsed = time.perf_counter() - start
    finally:
        await consumer.close()
    peak = read_peak_rss()
    counts, errors = record.counts, record.errors
    received = sum(counts)
    ttfe = [t for t in record.first if t == t]  # NaN for streams that never got an event
    return {
        "contestant": contestant,
        "streams": streams,
        "events_per_stream": events,
        "received": received,
        "expected": streams * events,
        "complete_streams": sum(1 for c in counts if c == events),
        "errors": len(errors),
        "first_errors": sorted(set(errors))[:3],
        "seconds": elapsed,
        "events_per_s": received / elapsed,
        "ttfe_p50": percentile(ttfe, 0.50),
        "ttfe_p99": percentile(ttfe, 0.99),
        "ttfe_max": max(ttfe) if ttfe else float("nan"),
        "baseline_rss": baseline,
        "peak_rss": peak,
        "rss_per_stream": (peak - baseline) / streams,
    }


def has_fan_out_helper() -> bool:
    """``letta_async.fan_out`` is measured when the installed package has it."""
    import letta_async

    return hasattr(letta_async, "fan_out")


def child_main(args: argparse.Namespace) -> int:
    raise_nofile_limit(args.streams * 2 + 256)
    result = asyncio.run(fan_out(args.child, args.base_url, args.streams, args.events, args.write))
    print("RESULT " + json.dumps(result), flush=True)
    return 0


# --- the parent: server, alternation, summary ------------------------------------------------


def run_child(
    contestant: str, base_url: str, streams: int, events: int, write: str
) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--child",
        contestant,
        "--base-url",
        base_url,
        "--streams",
        str(streams),
        "--events",
        str(events),
        "--write",
        write,
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=CHILD_TIMEOUT, check=False
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    raise SystemExit(f"{contestant} child failed ({done.returncode}):\n{done.stderr[-3000:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="runs per contestant")
    parser.add_argument("--streams", type=int, default=DEFAULT_STREAMS)
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="events per stream")
    parser.add_argument("--write", default=DEFAULT_WRITE, help="frame, or N KiB writes: 64k")
    parser.add_argument("--only", default=",".join(ORDER), help="comma-separated contestants")
    parser.add_argument("--official-reps", type=int, help="runs of letta-client (default: --reps)")
    parser.add_argument("--json", help="write the results here ('-' for stdout)")
    parser.add_argument("--child", choices=ORDER, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child_main(args)

    from consumers import official_version

    contestants = [name for name in ORDER if name in args.only.split(",")]
    if "official" in contestants and official_version() is None:
        contestants.remove("official")
    if "ours-fan_out" in contestants and not has_fan_out_helper():
        contestants.remove("ours-fan_out")
    official_reps = args.reps if args.official_reps is None else args.official_reps
    raise_nofile_limit(args.streams * 2 + 256)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in contestants}
    print(
        f"fan-out: {args.streams:,} concurrent streams x {args.events} events, {args.write} "
        f"writes; {args.reps} alternating runs, each a fresh process"
    )
    with ServerProcess("--warm", f"agent-ev{args.events}-{args.write}") as server:
        for rep in range(max(args.reps, official_reps)):
            for name in contestants:
                if rep >= (official_reps if name == "official" else args.reps):
                    continue
                result = run_child(name, server.base_url, args.streams, args.events, args.write)
                runs[name].append(result)
                print(
                    f"  {LABELS[name]:20} {result['seconds']:7.2f} s "
                    f"{result['events_per_s']:9,.0f} events/s  TTFE p50 "
                    f"{result['ttfe_p50']:6.3f} s p99 {result['ttfe_p99']:6.3f} s  peak RSS "
                    f"{result['peak_rss'] / 1e6:6.1f} MB  {result['rss_per_stream'] / 1024:6.1f} "
                    f"KiB/stream  {result['received']:,}/{result['expected']:,} events"
                    + (f"  {result['errors']} errors" if result["errors"] else "")
                )
    summary: dict[str, Any] = {}
    for name, results in runs.items():
        keys = ("seconds", "events_per_s", "ttfe_p50", "ttfe_p99", "peak_rss", "rss_per_stream")
        summary[name] = {key: median([r[key] for r in results]) for key in keys}
        summary[name]["spread_seconds"] = spread([r["seconds"] for r in results])
        summary[name]["all_events"] = all(r["received"] == r["expected"] for r in results)
        summary[name]["errors"] = sum(r["errors"] for r in results)
        summary[name]["runs"] = results
    print("medians:")
    for name, s in summary.items():
        print(
            f"  {LABELS[name]:20} {s['seconds']:7.2f} s {s['events_per_s']:9,.0f} events/s  "
            f"TTFE p50 {s['ttfe_p50']:.3f} s p99 {s['ttfe_p99']:.3f} s  peak RSS "
            f"{s['peak_rss'] / 1e6:.1f} MB  all events: {s['all_events']}"
        )
    write_json(
        args.json,
        {
            "machine": machine_info(),
            "streams": args.streams,
            "events_per_stream": args.events,
            "write": args.write,
            "contestants": summary,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
