"""Non-streaming request rate: small JSON GETs over a kept-alive connection pool.

Most calls an application makes besides streaming are small: look up a run, list a page,
read an agent. This benchmark measures how many ``GET /v1/runs/{run_id}`` (about 650 bytes
of JSON, decoded into a typed run) a client completes per second against the loopback
server, once one after the other and once with ``--concurrency`` calls in flight:

- **raw floor**: an aiohttp session, ``GET``, ``read()``, one ``msgspec`` decode into
  letta-async's ``Run`` struct. No retries, no error mapping, no hooks.
- **letta-async**: ``client.runs.retrieve(run_id)``.
- **letta-client**: the official SDK's ``client.runs.retrieve(run_id)`` with its default
  transport (httpx; a pool of 100 connections of which 20 are kept alive).

Every contestant keeps one client for all its runs, warms up first, and the runs alternate
(A B C A B C ...); the median rate is reported.

Usage: ``python benchmarks/bench_requests.py [--reps N] [--sequential N] [--concurrent N]
[--concurrency N] [--no-official] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from consumers import Official, Ours, official_version
from harness import ServerProcess, machine_info, median, spread, summary, write_json

RUN_ID = "run-937c36dc-91e4-4b37-b5a9-5804b8441c77"
RUN_TIMEOUT = 120.0

Call = Callable[[], Awaitable[Any]]


class FloorGet:
    """aiohttp GET, read the body, one msgspec decode: the least a client can do."""

    def __init__(self, base_url: str) -> None:
        import msgspec

        from letta_async.types import Run

        self.url = f"{base_url}/v1/runs/{RUN_ID}"
        self.decode = msgspec.json.Decoder(Run).decode
        self.session: Any = None

    async def open(self) -> None:
        import aiohttp

        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def close(self) -> None:
        await self.session.close()

    async def retrieve_run(self, run_id: str) -> Any:
        async with self.session.get(self.url) as response:
            response.raise_for_status()
            return self.decode(await response.read())


async def sequential(call: Call, count: int) -> None:
    for _ in range(count):
        await call()


async def concurrent(call: Call, count: int, concurrency: int) -> None:
    remaining = count

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def measure(
    base_url: str, reps: int, counts: dict[str, int], concurrency: int, official: bool
) -> dict[str, dict[str, Any]]:
    clients: dict[str, Any] = {"raw floor": FloorGet(base_url), "letta-async": Ours(base_url)}
    if official:
        clients["letta-client"] = Official(base_url)
    for client in clients.values():
        await client.open()
    shapes: dict[str, Callable[[Call], Awaitable[None]]] = {
        "sequential": lambda call: sequential(call, counts["sequential"]),
        "concurrent": lambda call: concurrent(call, counts["concurrent"], concurrency),
    }
    out: dict[str, dict[str, Any]] = {}
    try:
        for shape, run in shapes.items():
            calls = {name: (lambda c=c: c.retrieve_run(RUN_ID)) for name, c in clients.items()}
            for call in calls.values():  # warm-up: connections, decoders, lazy imports
                await asyncio.wait_for(run(call), RUN_TIMEOUT)
            times: dict[str, list[float]] = {name: [] for name in calls}
            for _ in range(reps):
                for name, call in calls.items():
                    gc.collect()
                    start = time.perf_counter()
                    await asyncio.wait_for(run(call), RUN_TIMEOUT)
                    times[name].append(time.perf_counter() - start)
            total = counts[shape]
            label = "one at a time" if shape == "sequential" else f"{concurrency} in flight"
            print(f"GET /v1/runs/{{id}}, {total:,} calls {label} (median of {reps}):")
            out[shape] = {}
            for name, values in times.items():
                rates = [total / t for t in values]
                out[shape][name] = summary(rates)
                print(
                    f"  {name:14} {median(rates):9,.0f} calls/s "
                    f"{median(values) / total * 1e6:7.0f} us/call spread {spread(values):5.0%}"
                )
    finally:
        for client in clients.values():
            await client.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="timed runs per contestant")
    parser.add_argument("--sequential", type=int, default=1000, help="calls per sequential run")
    parser.add_argument("--concurrent", type=int, default=2000, help="calls per concurrent run")
    parser.add_argument("--concurrency", type=int, default=50, help="calls in flight")
    parser.add_argument("--no-official", action="store_true", help="skip letta-client")
    parser.add_argument("--json", help="write the results here ('-' for stdout)")
    args = parser.parse_args()
    version = None if args.no_official else official_version()
    counts = {"sequential": args.sequential, "concurrent": args.concurrent}
    with ServerProcess() as server:
        results = asyncio.run(
            measure(server.base_url, args.reps, counts, args.concurrency, version is not None)
        )
    write_json(
        args.json,
        {
            "machine": machine_info(),
            "counts": counts,
            "concurrency": args.concurrency,
            "official_version": version,
            "rates": results,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
