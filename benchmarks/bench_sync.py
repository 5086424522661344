"""The sync client: what its loop thread costs, and how it compares with the official one.

``letta_async.Letta`` runs every call of an ``AsyncLetta`` on an event loop in a thread of its
own; the calling thread waits. This measures, in one run against the loopback server (the
same server process and corpus as ``bench_stream.py`` and ``bench_requests.py``):

- **stream**: the 20,000-event token stream, one SSE frame per write, read to the end with
  ``for event in client.agents.messages.stream(...)`` (``letta_async.Letta``), with ``async
  for`` over the same call of ``letta_async.AsyncLetta``, and with the official sync client
  ``letta_client.Letta`` (httpx and pydantic);
- **small call**: ``client.runs.retrieve(run_id)`` (650 bytes of JSON into a typed run), one
  call after the other, by the same three.

Each contestant keeps one client for all its runs and warms up first; runs alternate (A B C A
B C ...) and medians are reported. The goals: the sync client streams at least 10x as many
events per second as the official sync client, and takes at most 1.3x the time of the async
client for a stream and for a small call.

Usage: ``python benchmarks/bench_sync.py [--reps N] [--calls N] [--no-official] [--json
PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
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


def alternate(runs: dict[str, Callable[[], int]], reps: int, expected: int) -> dict[str, Any]:
    for name, run in runs.items():  # warm-up: connections, decoders, lazy imports
        if run() != expected:
            raise SystemExit(f"{name}: wrong count in the warm-up")
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(reps):
        for name, run in runs.items():
            gc.collect()
            start = time.perf_counter()
            if run() != expected:
                raise SystemExit(f"{name}: wrong count")
            times[name].append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=7, help="timed runs per contestant")
    parser.add_argument("--calls", type=int, default=1000, help="small calls per run")
    parser.add_argument("--official-reps", type=int, default=3, help="timed official streams")
    parser.add_argument("--no-official", action="store_true", help="skip letta-client")
    parser.add_argument("--json", help="write the results here ('-' for stdout)")
    args = parser.parse_args()
    version = None if args.no_official else official_version()
    events = DEFAULT_EVENTS
    agent_id = f"agent-ev{events}-frame"
    results: dict[str, Any] = {"machine": machine_info(), "events": events, "calls": args.calls}
    with ServerProcess("--warm", agent_id) as server:
        contestants: dict[str, Any] = {
            "letta-async (async)": AsyncContestant(server.base_url),
            "letta-async (sync)": SyncContestant(server.base_url),
        }
        try:
            streams = alternate(
                {name: (lambda c=c: c.stream(agent_id)) for name, c in contestants.items()},
                args.reps,
                events,
            )
            calls = alternate(
                {name: (lambda c=c: c.calls(args.calls)) for name, c in contestants.items()},
                args.reps,
                args.calls,
            )
            if version is not None:
                # The official client is an order of magnitude slower: fewer runs of it, so the
                # run stays short; its spread is reported like the others'.
                official = OfficialContestant(server.base_url)
                contestants["letta-client (sync)"] = official
                streams.update(
                    alternate(
                        {"letta-client (sync)": lambda: official.stream(agent_id)},
                        args.official_reps,
                        events,
                    )
                )
                calls.update(
                    alternate(
                        {"letta-client (sync)": lambda: official.calls(args.calls)},
                        args.reps,
                        args.calls,
                    )
                )
        finally:
            for contestant in contestants.values():
                contestant.close()
    print(f"{events:,}-event stream, one frame per write (median):")
    for name, values in streams.items():
        mid = median(values)
        print(
            f"  {name:20} {mid * 1e3:8.1f} ms {events / mid:10,.0f} events/s "
            f"spread {spread(values):4.0%}"
        )
    print(f"runs.retrieve, {args.calls:,} calls one at a time (median):")
    for name, values in calls.items():
        mid = median(values)
        print(f"  {name:20} {mid / args.calls * 1e6:8.0f} us/call spread {spread(values):4.0%}")
    stream_mid = {name: median(v) for name, v in streams.items()}
    call_mid = {name: median(v) for name, v in calls.items()}
    ratios = {
        "stream_sync_over_async": stream_mid["letta-async (sync)"]
        / stream_mid["letta-async (async)"],
        "call_sync_over_async": call_mid["letta-async (sync)"] / call_mid["letta-async (async)"],
    }
    if "letta-client (sync)" in stream_mid:
        ratios["stream_sync_vs_official"] = (
            stream_mid["letta-client (sync)"] / stream_mid["letta-async (sync)"]
        )
    for name, value in ratios.items():
        print(f"  {name}: {value:.2f}")
    results.update(
        {
            "official_version": version,
            "stream": {name: summary(v) for name, v in streams.items()},
            "calls_timing": {name: summary(v) for name, v in calls.items()},
            "ratios": ratios,
        }
    )
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
