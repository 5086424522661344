"""Offline decode benchmark: the bytes of a Letta token stream to typed messages.

Three pipelines decode the same bytes (``corpus.py``: 20,000 message frames, then ``[DONE]``):

- **letta-async**: :class:`letta_async.sse.SSEDecoder` fed 64 KiB chunks, then one
  ``MessageDecoder.decode`` per event, ``[DONE]`` skipped. This is what the client runs.
- **msgspec floor**: split the whole body on ``b"\\n\\n"``, strip ``data: ``, and one
  ``msgspec.json.Decoder`` call per frame into the same union of structs. No SSE rules, no
  incremental input: a lower bound for any msgspec-based client, not a usable decoder.
- **letta-client 1.12.1** (when importable): the official SDK's own ``Stream`` class over an
  ``httpx.Response`` whose body iterates the same 64 KiB chunks, so its real SSE decoder and
  its pydantic model construction run, exactly as for a live response. Its synchronous
  ``Stream`` is used: the async one adds event-loop overhead, so this is its best case.

Runs alternate between the pipelines (A B C A B C ...) after one warm-up each, and the
median of the repetitions is reported, so a slow moment of the machine hits all of them
alike. A second part measures single large events (1, 4, 8 and 16 MiB) fed in 16 KiB chunks, to
show that the cost per byte does not grow with the size of an event.

Usage: ``python benchmarks/bench_decode.py [--reps N] [--no-official] [--check] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import DEFAULT_EVENTS, build_corpus, build_large_event

from letta_async._decode import MessageDecoder
from letta_async.sse import SSEDecoder
from letta_async.types import LettaStreamingResponse

CHUNK = 64 * 1024
LARGE_CHUNK = 16 * 1024
MiB = 1024 * 1024
LARGE_SIZES = (1 * MiB, 4 * MiB, 8 * MiB, 16 * MiB)
DONE = "[DONE]"
GOAL_VS_OFFICIAL = 15.0
GOAL_VS_FLOOR = 1.5

Runner = Callable[[], int]


def chunked(data: bytes, size: int) -> list[bytes]:
    """Split ahead of time: the socket hands the client ready-made chunks too."""
    return [data[i : i + size] for i in range(0, len(data), size)]


# --- the pipelines ---------------------------------------------------------------------


def ours(chunks: list[bytes], decoder: MessageDecoder) -> int:
    sse = SSEDecoder()
    decode = decoder.decode
    count = 0
    for chunk in chunks:
        for event in sse.feed(chunk):
            if event.data != DONE:
                decode(event.data)
                count += 1
    sse.close()
    return count


def sse_only(chunks: list[bytes]) -> int:
    sse = SSEDecoder()
    count = 0
    for chunk in chunks:
        count += len(sse.feed(chunk))
    sse.close()
    return count


def floor(data: bytes, decoder: msgspec.json.Decoder[Any]) -> int:
    decode = decoder.decode
    count = 0
    for frame in data.split(b"\n\n"):
        if frame:
            payload = frame[6:]
            if payload != b"[DONE]":
                decode(payload)
                count += 1
    return count


def official_runner(chunks: list[bytes]) -> tuple[Runner, str] | None:
    """The official SDK's streaming path over in-memory bytes, or None if not installed."""
    try:
        import httpx
        from letta_client import Letta
        from letta_client._streaming import Stream
        from letta_client.types.agents import LettaStreamingResponse as OfficialResponse
    except ImportError:
        return None
    client = Letta(api_key="benchmark", base_url="http://127.0.0.1:9")
    request = httpx.Request("POST", "http://127.0.0.1:9/v1/agents/agent-x/messages/stream")

    def run() -> int:
        response = httpx.Response(
            200,
            headers={"content-type": "text/event-stream"},
            content=iter(chunks),
            request=request,
        )
        count = 0
        for _ in Stream(cast_to=OfficialResponse, response=response, client=client):
            count += 1
        return count

    return run, metadata.version("letta-client")


# --- checks and timing ----------------------------------------------------------------------


def message_types_ours(chunks: list[bytes], decoder: MessageDecoder) -> list[str]:
    sse = SSEDecoder()
    kinds = []
    for chunk in chunks:
        for event in sse.feed(chunk):
            if event.data != DONE:
                kinds.append(msgspec.json.decode(event.data)["message_type"])
                decoder.decode(event.data)
    return kinds


def message_types_official(chunks: list[bytes]) -> list[str]:
    import httpx
    from letta_client import Letta
    from letta_client._streaming import Stream
    from letta_client.types.agents import LettaStreamingResponse as OfficialResponse

    client = Letta(api_key="benchmark", base_url="http://127.0.0.1:9")
    response = httpx.Response(
        200,
        content=iter(chunks),
        request=httpx.Request("POST", "http://127.0.0.1:9/v1/agents/agent-x/messages/stream"),
    )
    stream = Stream(cast_to=OfficialResponse, response=response, client=client)
    return [str(item.message_type) for item in stream]


def timed(run: Runner) -> tuple[float, int]:
    gc.collect()
    start = time.perf_counter()
    count = run()
    return time.perf_counter() - start, count


def alternate(
    runners: dict[str, Runner], reps: int, agree: tuple[str, ...] = ()
) -> dict[str, list[float]]:
    """Warm each runner up once, then time them in turn ``reps`` times.

    The runners named in ``agree`` must report the same count on the warm-up run.
    """
    counts = {name: run() for name, run in runners.items()}
    if len({counts[name] for name in agree}) > 1:
        raise SystemExit(f"pipelines disagree on the number of messages: {counts}")
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(reps):
        for name, run in runners.items():
            elapsed, _count = timed(run)
            times[name].append(elapsed)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=7, help="timed runs per pipeline")
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="corpus size")
    parser.add_argument("--no-official", action="store_true", help="skip letta-client")
    parser.add_argument("--no-large", action="store_true", help="skip the large events")
    parser.add_argument("--check", action="store_true", help="exit 1 if a goal is missed")
    parser.add_argument("--json", help="also write the results here ('-' for stdout)")
    args = parser.parse_args()

    data = build_corpus(args.events)
    chunks = chunked(data, CHUNK)
    decoder = MessageDecoder()
    floor_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(LettaStreamingResponse)

    runners: dict[str, Runner] = {
        "letta-async": partial(ours, chunks, decoder),
        "msgspec floor": partial(floor, data, floor_decoder),
        "letta-async SSE only": partial(sse_only, chunks),
    }
    official = None if args.no_official else official_runner(chunks)
    versions = f"msgspec {metadata.version('msgspec')}"
    if official is not None:
        run_official, official_version = official
        runners[f"letta-client {official_version}"] = run_official
        versions += f", letta-client {official_version}"
        if message_types_ours(chunks, decoder) != message_types_official(chunks):
            raise SystemExit("letta-async and letta-client decode different message sequences")

    print(f"Python {platform.python_version()} on {platform.machine()}, {versions}")
    print(
        f"corpus: {args.events:,} messages + [DONE], {len(data) / 1e6:.2f} MB, "
        f"{len(data) / (args.events + 1):.0f} bytes/event, {CHUNK // 1024} KiB chunks; "
        f"median of {args.reps} alternating runs after a warm-up"
    )
    print()
    times = alternate(runners, args.reps, agree=tuple(k for k in runners if "SSE" not in k))
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"{'pipeline':34} {'median ms':>10} {'events/s':>12} {'MB/s':>8} {'spread':>8}")
    for name, values in times.items():
        spread = (max(values) - min(values)) / median[name]
        print(
            f"{name:34} {median[name] * 1e3:10.1f} {args.events / median[name]:12,.0f} "
            f"{len(data) / median[name] / 1e6:8.1f} {spread:8.0%}"
        )
    print()

    failed = False
    ours_time = median["letta-async"]
    vs_floor = ours_time / median["msgspec floor"]
    met = vs_floor <= GOAL_VS_FLOOR
    failed |= not met
    print(
        f"letta-async time / msgspec floor time: {vs_floor:.2f}x "
        f"(goal <= {GOAL_VS_FLOOR}x: {'met' if met else 'MISSED'})"
    )
    if official is not None:
        speedup = median[f"letta-client {official[1]}"] / ours_time
        met = speedup >= GOAL_VS_OFFICIAL
        failed |= not met
        print(
            f"letta-async vs letta-client: {speedup:.1f}x faster "
            f"(goal >= {GOAL_VS_OFFICIAL:.0f}x: {'met' if met else 'MISSED'})"
        )
    else:
        print("letta-client not importable: official comparison skipped")

    print()
    results: dict[str, Any] = {
        "events": args.events,
        "bytes": len(data),
        "chunk": CHUNK,
        "reps": args.reps,
        "versions": versions,
        "official": f"letta-client {official[1]}" if official is not None else None,
        "pipelines": {
            name: {"median": median[name], "spread": (max(v) - min(v)) / median[name], "runs": v}
            for name, v in times.items()
        },
    }
    results["by_read_size"] = by_chunk_size(data, args.reps)
    if not args.no_large:
        print()
        results["large"] = large(decoder, data, args.reps)
    if args.json:
        text = json.dumps(results, indent=1)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 1 if args.check and failed else 0


def by_chunk_size(corpus: bytes, reps: int) -> dict[str, float]:
    """The SSE decoder alone as the read size shrinks towards one frame per read."""
    frames = [frame + b"\n\n" for frame in corpus.split(b"\n\n") if frame]
    feeds: dict[str, list[bytes]] = {"one frame per feed": frames}
    for size in (1024, 4096, 16384, 65536):
        feeds[f"{size // 1024} KiB chunks"] = chunked(corpus, size)
    runners: dict[str, Runner] = {name: partial(sse_only, pieces) for name, pieces in feeds.items()}
    times = alternate(runners, reps, agree=tuple(runners))
    print(f"SSE decoder alone by read size (median of {reps}):")
    print(f"{'feeding':34} {'events/s':>12} {'MB/s':>8}")
    out: dict[str, float] = {}
    for name, values in times.items():
        elapsed = statistics.median(values)
        out[name] = elapsed
        print(f"{name:34} {len(frames) / elapsed:12,.0f} {len(corpus) / elapsed / 1e6:8.1f}")
    return out


def large(decoder: MessageDecoder, corpus: bytes, reps: int) -> dict[str, dict[str, float]]:
    """MB/s for single large events against the small-event corpus, both in 16 KiB chunks."""
    small = chunked(corpus, LARGE_CHUNK)
    print(f"large events, {LARGE_CHUNK // 1024} KiB chunks (median of {reps}):")
    print(f"{'stream':34} {'SSE only MB/s':>14} {'SSE + decode MB/s':>18}")
    rows = [("small-event corpus", corpus, small)]
    for size in LARGE_SIZES:
        stream = build_large_event(size)
        rows.append((f"one {size // MiB} MiB event", stream, chunked(stream, LARGE_CHUNK)))
    out: dict[str, dict[str, float]] = {}
    for label, stream, pieces in rows:
        runners: dict[str, Runner] = {
            "sse": partial(sse_only, pieces),
            "full": partial(ours, pieces, decoder),
        }
        times = alternate(runners, reps)
        sse_rate = len(stream) / statistics.median(times["sse"]) / 1e6
        full_rate = len(stream) / statistics.median(times["full"]) / 1e6
        out[label] = {"bytes": len(stream), "sse_mb_s": sse_rate, "full_mb_s": full_rate}
        print(f"{label:34} {sse_rate:14.0f} {full_rate:18.0f}")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
