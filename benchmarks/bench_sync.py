"""The sync client: what its loop thread costs, and how it compares with the official one.

``letta_async.Letta`` runs every call of an ``AsyncLetta`` on an event loop in a thread of its
own; the calling thread waits. This measures, in one run against the loopback server (the
same server process and corpus as ``bench_stream.py`` and ``bench_requests.py``):

- **stream**: the 20,000-event token stream, written one SSE frame per write (as Letta does)
  and in 64 KiB writes (where the server's cost is least), read to the end with
  ``for event in client.agents.messages.stream(...)`` (``letta_async.Letta``), with ``async
  for`` over the same call of ``letta_async.AsyncLetta``, and with the official sync client
  ``letta_client.Letta`` (httpx and pydantic);
- **small call**: ``client.runs.retrieve(run_id)`` (650 bytes of JSON into a typed run), one
  call after the other, by the same three.

Each contestant keeps one client for all its runs and warms up first; all three alternate (A
B C A B C ...), so that load from other work on the machine falls on all of them alike, and
medians are reported. The goals: the sync client streams at least 10x as many
events per second as the official sync client, and takes at most 1.3x the time of the async
client for a stream and for a small call.

The small calls run in many short runs (``--call-reps`` of ``--calls`` each) rather than a
few long ones: one call is short enough that a moment of load on the shared machine would
otherwise decide a whole run. The process's CPU time per call (both threads of the sync
client) is reported beside the wall clock.

Usage: ``python benchmarks/bench_sync.py [--reps N] [--calls N] [--call-reps N]
[--no-official] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from consumers import MESSAGES, official_version
from corpus import DEFAULT_EVENTS
from harness import ServerProcess, machine_info, median, spread, summary, write_json

RUN_ID = "run-937c36dc-91e4-4b37-b5a9-5804b8441c77"
WRITE_MODES = {"frame": "one frame per write", "64k": "64 KiB writes"}


class AsyncContestant:
    """letta-async's ``AsyncLetta`` on a loop kept for all runs (``asyncio.Runner``)."""

    def __init__(self, base_url: str) -> None:
        from letta_async import AsyncLetta

        self.runner = asyncio.Runner()
        self.client = AsyncLetta(base_url=base_url, api_key="benchmark")

    def stream(self, agent_id: str) -> int:
        async def read() -> int:
            count = 0
            stream = self.client.agents.messages.stream(
                agent_id, messages=MESSAGES, stream_tokens=True
            )
            async with stream:
                async for _event in stream:
                    count += 1
            return count

        return self.runner.run(read())

    def calls(self, count: int) -> int:
        async def run() -> int:
            for _ in range(count):
                await self.client.runs.retrieve(RUN_ID)
            return count

        return self.runner.run(run())

    def close(self) -> None:
        self.runner.run(self.client.close())
        self.runner.close()


class SyncContestant:
    """letta-async's ``Letta``, as a sync program writes it."""

    def __init__(self, base_url: str) -> None:
        from letta_async import Letta

        self.client = Letta(base_url=base_url, api_key="benchmark")

    def stream(self, agent_id: str) -> int:
        count = 0
        with self.client.agents.messages.stream(
            agent_id, messages=MESSAGES, stream_tokens=True
        ) as stream:
            for _event in stream:
                count += 1
        return count

    def calls(self, count: int) -> int:
        for _ in range(count):
            self.client.runs.retrieve(RUN_ID)
        return count

    def close(self) -> None:
        self.client.close()


class OfficialContestant(SyncContestant):
    """The official ``letta_client.Letta`` with its default transport."""

    def __init__(self, base_url: str) -> None:
        from letta_client import Letta

        warnings.filterwarnings("ignore", message="deprecated", category=DeprecationWarning)
        self.client = Letta(base_url=base_url, api_key="benchmark")  # type: ignore[assignment]


def alternate(
    runs: dict[str, Callable[[], int]],
    reps: int,
    expected: int,
    cpu: dict[str, list[float]] | None = None,
) -> dict[str, Any]:
    """Wall-clock seconds of each run; with ``cpu``, the process's CPU seconds too (every
    thread's: the sync client's loop thread is part of what it costs)."""
    for name, run in runs.items():  # warm-up: connections, decoders, lazy imports
        if run() != expected:
            raise SystemExit(f"{name}: wrong count in the warm-up")
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(reps):
        for name, run in runs.items():
            gc.collect()
            before = os.times()
            start = time.perf_counter()
            if run() != expected:
                raise SystemExit(f"{name}: wrong count")
            times[name].append(time.perf_counter() - start)
            after = os.times()
            if cpu is not None:
                used = after.user - before.user + after.system - before.system
                cpu.setdefault(name, []).append(used)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=7, help="timed runs per contestant")
    parser.add_argument("--calls", type=int, default=300, help="small calls per run")
    parser.add_argument(
        "--call-reps",
        type=int,
        default=21,
        help="timed runs of the small calls per contestant (short runs, many of them: a "
        "median that a moment of load on the shared machine does not move)",
    )
    parser.add_argument("--no-official", action="store_true", help="skip letta-client")
    parser.add_argument("--json", help="write the results here ('-' for stdout)")
    args = parser.parse_args()
    version = None if args.no_official else official_version()
    events = DEFAULT_EVENTS
    agents = {mode: f"agent-ev{events}-{mode}" for mode in WRITE_MODES}
    results: dict[str, Any] = {"machine": machine_info(), "events": events, "calls": args.calls}
    streams: dict[str, dict[str, list[float]]] = {}
    with ServerProcess("--warm", *agents.values()) as server:
        contestants: dict[str, Any] = {
            "letta-async (async)": AsyncContestant(server.base_url),
            "letta-async (sync)": SyncContestant(server.base_url),
        }
        if version is not None:
            contestants["letta-client (sync)"] = OfficialContestant(server.base_url)
        try:
            for mode, agent_id in agents.items():
                streams[mode] = alternate(
                    {
                        name: (lambda c=c, a=agent_id: c.stream(a))
                        for name, c in contestants.items()
                    },
                    args.reps,
                    events,
                )
            call_cpu: dict[str, list[float]] = {}
            calls = alternate(
                {name: (lambda c=c: c.calls(args.calls)) for name, c in contestants.items()},
                args.call_reps,
                args.calls,
                call_cpu,
            )
        finally:
            for contestant in contestants.values():
                contestant.close()
    ratios: dict[str, float] = {}
    for mode, times in streams.items():
        print(f"{events:,}-event stream, {WRITE_MODES[mode]} (median of {args.reps}):")
        for name, values in times.items():
            mid = median(values)
            print(
                f"  {name:20} {mid * 1e3:8.1f} ms {events / mid:10,.0f} events/s "
                f"spread {spread(values):4.0%}"
            )
        mid = {name: median(values) for name, values in times.items()}
        ratios[f"stream_sync_over_async_{mode}"] = (
            mid["letta-async (sync)"] / mid["letta-async (async)"]
        )
        if "letta-client (sync)" in mid:
            ratios[f"stream_sync_vs_official_{mode}"] = (
                mid["letta-client (sync)"] / mid["letta-async (sync)"]
            )
    print(f"runs.retrieve, {args.calls:,} calls one at a time (median of {args.call_reps}):")
    for name, values in calls.items():
        mid_call = median(values)
        print(
            f"  {name:20} {mid_call / args.calls * 1e6:8.0f} us/call spread {spread(values):4.0%}"
            f" (CPU {median(call_cpu[name]) / args.calls * 1e6:6.0f} us/call)"
        )
    call_mid = {name: median(v) for name, v in calls.items()}
    cpu_mid = {name: median(v) for name, v in call_cpu.items()}
    ratios["call_sync_over_async"] = (
        call_mid["letta-async (sync)"] / call_mid["letta-async (async)"]
    )
    ratios["call_sync_over_async_cpu"] = (
        cpu_mid["letta-async (sync)"] / cpu_mid["letta-async (async)"]
    )
    for name, value in ratios.items():
        print(f"  {name}: {value:.2f}")
    results.update(
        {
            "official_version": version,
            "modes": WRITE_MODES,
            "stream": {
                mode: {name: summary(v) for name, v in times.items()}
                for mode, times in streams.items()
            },
            "calls_timing": {name: summary(v) for name, v in calls.items()},
            "calls_cpu": {name: summary(v) for name, v in call_cpu.items()},
            "ratios": ratios,
        }
    )
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
