"""Non-streaming request rate: small JSON calls over a kept-alive connection pool.

Most calls an application makes besides streaming are small: look up a run, list a page,
create something. This benchmark measures how many calls a client completes per second
against the loopback server, once one after the other and once with ``--concurrency`` calls
in flight, for three workloads:

- ``run``: ``GET /v1/runs/{run_id}`` (about 650 bytes of JSON, decoded into a typed run);
- ``page``: ``GET /v1/agents/{agent_id}/messages?limit=20``, a page of 20 messages (about
  9 KB) decoded into message structs;
- ``post``: ``POST /v1/blocks/`` with a JSON body, the created block decoded.

The contestants:

- **raw floor**: an aiohttp session, ``GET`` or ``POST``, ``read()``, one ``msgspec`` decode
  into the type letta-async returns. No retries, no error mapping, no hooks.
- **letta-async**: ``client.runs.retrieve(run_id)``,
  ``await client.agents.messages.list(agent_id, limit=20)``, ``client.blocks.create(...)``.
- **letta-client**: the official SDK's same calls with its default transport (httpx; a pool
  of 100 connections of which 20 are kept alive).

Every contestant keeps one client for all its runs, warms up first, and the runs alternate
(A B C A B C ...); the median rate is reported, with the client process's CPU time per call
beside it (on a loaded machine the wall-clock rate also measures the wait for the server
process to be scheduled; the CPU time is what the client itself spends).

Usage: ``python benchmarks/bench_requests.py [--reps N] [--sequential N] [--concurrent N]
[--concurrency N] [--workloads run,page,post] [--no-official] [--json PATH]``.
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


AGENT_ID = "agent-b05cfaca-a5c5-4c77-9066-a0c1994b3f13"
PAGE_SIZE = 20
BLOCK = {"label": "human", "value": "The user is a tester."}


class Floor:
    """aiohttp, read the body, one msgspec decode: the least a client can do.

    Each workload decodes into the type letta-async hands out for it (a ``Run``, the list of
    message structs a history page holds, a ``BlockResponse``); the POST body is encoded by
    msgspec once per call, as any client must.
    """

    def __init__(self, base_url: str) -> None:
        import msgspec

        from letta_async.types import BlockResponse, LettaStreamingResponse, Run

        self.base_url = base_url
        self.run_url = f"{base_url}/v1/runs/{RUN_ID}"
        self.page_url = f"{base_url}/v1/agents/{AGENT_ID}/messages?limit={PAGE_SIZE}"
        self.block_url = f"{base_url}/v1/blocks/"
        self.decode_run = msgspec.json.Decoder(Run).decode
        self.decode_page = msgspec.json.Decoder(list[LettaStreamingResponse]).decode
        self.decode_block = msgspec.json.Decoder(BlockResponse).decode
        self.encode = msgspec.json.Encoder().encode
        self.session: Any = None

    async def open(self) -> None:
        import aiohttp

        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def close(self) -> None:
        await self.session.close()

    async def retrieve_run(self, run_id: str) -> Any:
        async with self.session.get(self.run_url) as response:
            response.raise_for_status()
            return self.decode_run(await response.read())

    async def list_messages(self, agent_id: str) -> Any:
        async with self.session.get(self.page_url) as response:
            response.raise_for_status()
            return self.decode_page(await response.read())

    async def create_block(self) -> Any:
        headers = {"Content-Type": "application/json"}
        body = self.encode(BLOCK)
        async with self.session.post(self.block_url, data=body, headers=headers) as response:
            response.raise_for_status()
            return self.decode_block(await response.read())


WORKLOADS: dict[str, tuple[str, Callable[[Any], Call]]] = {
    "run": ("GET /v1/runs/{id}", lambda c: lambda: c.retrieve_run(RUN_ID)),
    "page": (
        f"GET /v1/agents/{{id}}/messages ({PAGE_SIZE} messages)",
        lambda c: lambda: c.list_messages(AGENT_ID),
    ),
    "post": ("POST /v1/blocks/ (JSON body)", lambda c: lambda: c.create_block()),
}


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
    base_url: str,
    reps: int,
    counts: dict[str, int],
    concurrency: int,
    official: bool,
    workloads: list[str],
) -> dict[str, dict[str, Any]]:
    clients: dict[str, Any] = {"raw floor": Floor(base_url), "letta-async": Ours(base_url)}
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
        for workload, shape, run in (
            (w, shape, run) for w in workloads for shape, run in shapes.items()
        ):
            what, make_call = WORKLOADS[workload]
            calls = {name: make_call(c) for name, c in clients.items()}
            for call in calls.values():  # warm-up: connections, decoders, lazy imports
                await asyncio.wait_for(run(call), RUN_TIMEOUT)
            times: dict[str, list[float]] = {name: [] for name in calls}
            cpu: dict[str, list[float]] = {name: [] for name in calls}
            for _ in range(reps):
                for name, call in calls.items():
                    gc.collect()
                    start, start_cpu = time.perf_counter(), time.process_time()
                    await asyncio.wait_for(run(call), RUN_TIMEOUT)
                    times[name].append(time.perf_counter() - start)
                    cpu[name].append(time.process_time() - start_cpu)
            total = counts[shape]
            label = "one at a time" if shape == "sequential" else f"{concurrency} in flight"
            print(f"{what}, {total:,} calls {label} (median of {reps}):")
            key = shape if workload == "run" else f"{workload} {shape}"
            out[key] = {}
            for name, values in times.items():
                rates = [total / t for t in values]
                out[key][name] = summary(rates)
                cpu_us = [c / total * 1e6 for c in cpu[name]]
                out[key][name]["cpu_us_per_call"] = summary(cpu_us)
                print(
                    f"  {name:14} {median(rates):9,.0f} calls/s "
                    f"{median(values) / total * 1e6:7.0f} us/call spread {spread(values):5.0%} "
                    f"(client CPU {median(cpu_us):5.0f} us/call)"
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
    parser.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help=f"comma-separated, from {', '.join(WORKLOADS)}",
    )
    parser.add_argument("--json", help="write the results here ('-' for stdout)")
    args = parser.parse_args()
    version = None if args.no_official else official_version()
    counts = {"sequential": args.sequential, "concurrent": args.concurrent}
    workloads = [w for w in args.workloads.split(",") if w]
    unknown = sorted(set(workloads) - set(WORKLOADS))
    if unknown:
        parser.error(f"unknown workloads: {', '.join(unknown)}")
    with ServerProcess() as server:
        results = asyncio.run(
            measure(
                server.base_url,
                args.reps,
                counts,
                args.concurrency,
                version is not None,
                workloads,
            )
        )
    write_json(
        args.json,
        {
            "machine": machine_info(),
            "counts": counts,
            "concurrency": args.concurrency,
            "workloads": workloads,
            "official_version": version,
            "rates": results,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
