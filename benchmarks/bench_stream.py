"""Loopback streaming: a whole Letta token stream from a server process to typed events.

The offline benchmark (``bench_decode.py``) shows the cost of decoding; this one adds what a
user really waits for: the request, the HTTP response parsing, the event loop and the socket.
A server in a child process (``loopback_server.py``) streams the ``corpus.py`` stream (20,000
events, 8.1 MB) as a chunked ``text/event-stream`` response, and three consumers in this
process read it to the end:

- **raw floor**: aiohttp, the body read with ``iter_any()``, frames split on ``b"\\n\\n"``,
  one ``msgspec`` decode per frame into the same union of structs. No SSE rules, no error
  handling, no resume bookkeeping: the least work any aiohttp + msgspec client can do.
- **letta-async**: ``AsyncLetta(...).agents.messages.stream(...)``, as a user writes it.
- **letta-client**: the official SDK, ``letta_client.AsyncLetta(...).agents.messages.stream``
  with its default transport (httpx) and models (pydantic), as a user writes it.

A fourth reader, **bytes only**, reads the body and counts frames without decoding anything:
not a client, but the time the server and the socket take, below which nothing can go.

Each runs with the server writing one SSE frame per write (as Letta does when streaming
tokens) and with 64 KiB writes (the cheapest case for the server, so the client's own cost
shows most clearly). Each consumer keeps one client for all its runs, so connections are
reused as in a long-lived application.

A second part streams one assistant message of 1, 4, 8 and 16 MiB in 16 KiB writes through
letta-async and the floor, to show that time grows linearly with the size of an event; one
``msgspec`` decode of the same payload, in memory, is timed alongside as the reference for
what the hardware does with buffers of that size.

Usage: ``python benchmarks/bench_stream.py [--reps N] [--no-official] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))

from consumers import BytesOnly, Floor, Official, Ours, official_version
from corpus import DEFAULT_EVENTS, build_corpus, build_large_event
from harness import ServerProcess, machine_info, median, spread, summary, write_json

from letta_async import Limits
from letta_async.types import LettaStreamingResponse

MiB = 1024 * 1024
BIG_SIZES = (1 * MiB, 4 * MiB, 8 * MiB, 16 * MiB)
RUN_TIMEOUT = 120.0
WRITE_MODES = {"frame": "one frame per write", "64k": "64 KiB writes"}


# --- timing ---------------------------------------------------------------------------------


async def timed(run: Callable[[], Awaitable[int]]) -> tuple[float, int]:
    gc.collect()
    start = time.perf_counter()
    count = await asyncio.wait_for(run(), RUN_TIMEOUT)
    return time.perf_counter() - start, count


async def alternate(
    runners: dict[str, Callable[[], Awaitable[int]]], reps: int, expected: int
) -> dict[str, list[float]]:
    """One warm-up each (checked for the full count), then ``reps`` rounds A B C A B C ..."""
    for name, run in runners.items():
        _, count = await timed(run)
        if count != expected:
            raise SystemExit(f"{name} received {count} events, expected {expected}")
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(reps):
        for name, run in runners.items():
            elapsed, count = await timed(run)
            if count != expected:
                raise SystemExit(f"{name} received {count} events, expected {expected}")
            times[name].append(elapsed)
    return times


async def corpus_part(
    base_url: str, events: int, reps: int, official: bool
) -> dict[str, dict[str, Any]]:
    consumers: dict[str, Any] = {
        "bytes only": BytesOnly(base_url),
        "raw floor": Floor(base_url),
        "letta-async": Ours(base_url),
    }
    if official:
        consumers["letta-client"] = Official(base_url)
    for consumer in consumers.values():
        await consumer.open()
    out: dict[str, dict[str, Any]] = {}
    try:
        for mode, label in WRITE_MODES.items():
            agent_id = f"agent-ev{events}-{mode}"
            runners = {
                name: (lambda c=consumer, a=agent_id: c(a)) for name, consumer in consumers.items()
            }
            times = await alternate(runners, reps, events)
            out[mode] = {name: summary(values) for name, values in times.items()}
            print(f"{label} ({events:,} events, median of {reps}):")
            for name, values in times.items():
                mid = median(values)
                print(
                    f"  {name:14} {mid * 1e3:9.1f} ms {events / mid:11,.0f} events/s "
                    f"spread {spread(values):5.0%}"
                )
    finally:
        for consumer in consumers.values():
            await consumer.close()
    return out


async def decode_alone(stream: bytes) -> int:
    """The reference for big events: one msgspec call on the payload, no I/O, no SSE.

    Its time per byte is not constant either: a 1 MiB payload is decoded from cache, a
    16 MiB one from main memory, and fresh multi-MiB buffers cost page faults. A client is
    linear in the size of an event when its time keeps a constant ratio to this one.
    """
    payload = stream.split(b"\n\n", 1)[0][len(b"data: ") :]
    msgspec.json.decode(payload, type=LettaStreamingResponse)
    return 1


async def big_part(base_url: str, reps: int) -> dict[str, dict[str, Any]]:
    # The 16 MiB case sits exactly at the default event-size limit; leave headroom so the
    # benchmark measures speed, not the limit.
    limits = Limits(max_event_size=32 * MiB, max_line_length=32 * MiB)
    consumers: dict[str, Any] = {
        "raw floor": Floor(base_url),
        "letta-async": Ours(base_url, limits=limits),
    }
    for consumer in consumers.values():
        await consumer.open()
    out: dict[str, dict[str, Any]] = {name: {} for name in [*consumers, "msgspec alone"]}
    try:
        print(f"one big assistant message, 16 KiB writes (median of {reps}):")
        for size in BIG_SIZES:
            agent_id = f"agent-big{size}-16k"
            runners = {
                name: (lambda c=consumer, a=agent_id: c(a)) for name, consumer in consumers.items()
            }
            runners["msgspec alone"] = partial(decode_alone, build_large_event(size))
            times = await alternate(runners, reps, 1)
            for name, values in times.items():
                out[name][str(size)] = summary(values)
            row = "  ".join(
                f"{name} {median(v) * 1e3:7.1f} ms {size / median(v) / 1e6:6.0f} MB/s"
                for name, v in times.items()
            )
            print(f"  {size // MiB:2} MiB: {row}")
    finally:
        for consumer in consumers.values():
            await consumer.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=7, help="timed runs per consumer")
    parser.add_argument("--big-reps", type=int, default=5, help="timed runs per big event")
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="corpus size")
    parser.add_argument("--no-official", action="store_true", help="skip letta-client")
    parser.add_argument("--no-big", action="store_true", help="skip the big events")
    parser.add_argument("--json", help="write the results here ('-' for stdout)")
    args = parser.parse_args()

    version = None if args.no_official else official_version()
    warm = [f"agent-ev{args.events}-{mode}" for mode in WRITE_MODES]
    warm += [f"agent-big{size}-16k" for size in BIG_SIZES]
    results: dict[str, Any] = {
        "machine": machine_info(),
        "events": args.events,
        "bytes": len(build_corpus(args.events)),
    }
    with ServerProcess("--warm", *warm) as server:
        results["corpus"] = asyncio.run(
            corpus_part(server.base_url, args.events, args.reps, version is not None)
        )
        if not args.no_big:
            results["big"] = asyncio.run(big_part(server.base_url, args.big_reps))
    results["official_version"] = version
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
