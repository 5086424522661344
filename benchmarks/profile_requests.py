"""Where a non-streaming call spends its time: cProfile of the ``bench_requests.py`` workloads.

The ratios of ``bench_requests.py`` say how far a call is from its floor; this script says
why. For each workload and shape it runs the calls of one contestant under ``cProfile`` (the
loopback server runs in its own process, so only the client is profiled) and prints the
functions with the most time of their own, plus the letta-async functions with the most time
including what they call. The profiler's clock is the process's CPU time, not the wall
clock: on a shared machine, a moment the process spends descheduled would otherwise be
charged to whatever function it happened to be in. Profiling slows every Python call by a
similar factor, so read the figures as shares, not as microseconds.

Usage: ``python benchmarks/profile_requests.py [--calls N] [--top N] [--contestant ours|floor]
[--workloads run,page,post] [--out PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_requests import WORKLOADS, Floor, concurrent, sequential
from consumers import Ours
from harness import ServerProcess


def _table(stats: pstats.Stats, key: str, top: int, only: str | None) -> str:
    """The ``top`` rows by ``key`` as a Markdown table (per call in microseconds)."""
    rows = []
    entries: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for _cc, _nc, tt, _ct, _callers in entries.values())
    for (filename, line, name), (_cc, ncalls, tottime, cumtime, _callers) in entries.items():
        if only is not None and only not in filename:
            continue
        where = filename.rsplit("site-packages/", 1)[-1].rsplit("/perf/", 1)[-1]
        sort_by = tottime if key == "tottime" else cumtime
        rows.append((sort_by, ncalls, tottime, cumtime, where, line, name))
    rows.sort(reverse=True)
    out = [
        "| function | calls | own s | own % | with callees s |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for _k, ncalls, tottime, cumtime, where, line, name in rows[:top]:
        share = tottime / total if total else 0.0
        out.append(
            f"| `{name}` ({where}:{line}) | {ncalls} | {tottime:.3f} | {share:.1%} "
            f"| {cumtime:.3f} |"
        )
    return "\n".join(out)


def _summary(stats: pstats.Stats, calls: int) -> str:
    """Profiled CPU per call, and how much of it, in how many function calls, is the client's."""
    entries: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = own = 0.0
    ours_calls = 0
    for (filename, _line, _name), (_cc, ncalls, tottime, _ct, _callers) in entries.items():
        total += tottime
        if "letta_async" in filename:
            own += tottime
            ours_calls += ncalls
    return (
        f"Profiled CPU {total / calls * 1e6:,.0f} us per call; letta_async's own code "
        f"{own / total:.1%} of it ({own / calls * 1e6:,.0f} us), in {ours_calls / calls:.0f} "
        "function calls per API call."
    )


async def _profile(
    base_url: str, contestant: str, workload: str, shape: str, calls: int, concurrency: int
) -> pstats.Stats:
    client: Any = Ours(base_url) if contestant == "ours" else Floor(base_url)
    await client.open()
    try:
        call = WORKLOADS[workload][1](client)
        await concurrent(call, 200, concurrency)  # warm-up
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        if shape == "sequential":
            await sequential(call, calls)
        else:
            await concurrent(call, calls, concurrency)
        profiler.disable()
    finally:
        await client.close()
    return pstats.Stats(profiler, stream=io.StringIO())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--contestant", choices=("ours", "floor"), default="ours")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--shapes", default="sequential,concurrent")
    parser.add_argument("--out", help="also write the Markdown here")
    args = parser.parse_args()
    parts = [f"# cProfile of {args.contestant}, {args.calls:,} calls per table\n"]
    with ServerProcess() as server:
        for workload in args.workloads.split(","):
            for shape in args.shapes.split(","):
                stats = asyncio.run(
                    _profile(
                        server.base_url,
                        args.contestant,
                        workload,
                        shape,
                        args.calls,
                        args.concurrency,
                    )
                )
                label = (
                    "one at a time" if shape == "sequential" else f"{args.concurrency} in flight"
                )
                parts.append(f"## {WORKLOADS[workload][0]}, {label}\n")
                parts.append(_summary(stats, args.calls) + "\n")
                parts.append("Own time (every module):\n")
                parts.append(_table(stats, "tottime", args.top, None) + "\n")
                parts.append("letta_async functions, time with callees:\n")
                parts.append(_table(stats, "cumtime", args.top, "letta_async") + "\n")
    text = "\n".join(parts)
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
