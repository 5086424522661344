"""OpenTelemetry overhead: the same stream and the same calls, traced and not.

``letta_async.otel`` promises that tracing costs nothing per event: a stream reports to its
span once per network read, never per event, and a client that is not instrumented pays one
``is None`` check per hook. This benchmark measures what instrumentation on costs, with the
SDK doing real work (a ``TracerProvider`` with a batch processor whose exporter drops the
spans, and a ``MeterProvider`` with an in-memory reader):

- **stream**: the 20,000-event corpus over loopback (``loopback_server.py``), one frame per
  write and 64 KiB writes, read to the end with ``client.agents.messages.stream``, traced and
  not, alternating; the difference of the medians divided by the events is the cost per event
  (the span and its metrics spread over a stream's events);
- **requests**: ``client.runs.retrieve`` one at a time, traced and not: the cost per API call
  (a span, the context in the headers, a histogram point);
- **hooks**: the same work without any network, timed call by call: a stream trace's hook for
  one network read, a stream's span and metrics from start to finish, an API call's span.
  Loopback timings move with whatever else the machine does; these do not, and they bound
  the cost per event: (hook per read x reads per event) + (per stream / events per stream).

The instrumentor is switched on and off between runs of the same client, so both sides share
the connection pool and everything else.

Usage: ``python benchmarks/bench_otel.py [--reps N] [--calls N] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from consumers import Ours
from corpus import DEFAULT_EVENTS
from harness import ServerProcess, machine_info, median, spread, summary, write_json

RUN_ID = "run-937c36dc-91e4-4b37-b5a9-5804b8441c77"
RUN_TIMEOUT = 120.0
WRITE_MODES = {"frame": "one frame per write", "64k": "64 KiB writes"}


class Tracing:
    """The SDK set up as a service would, and the instrumentor switched on and off."""

    def __init__(self) -> None:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )

        from letta_async.otel import LettaAsyncInstrumentor

        class Dropping(SpanExporter):  # type: ignore[misc]
            """Export nothing: the cost measured is the client's and the SDK's, not I/O."""

            def export(self, spans: Sequence[Any]) -> SpanExportResult:
                return SpanExportResult.SUCCESS

        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(BatchSpanProcessor(Dropping()))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.instrumentor = LettaAsyncInstrumentor()

    def on(self) -> None:
        self.instrumentor.instrument(
            tracer_provider=self.tracer_provider, meter_provider=self.meter_provider
        )

    def off(self) -> None:
        self.instrumentor.uninstrument()

    def close(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


async def timed(run: Callable[[], Awaitable[int]]) -> tuple[float, int]:
    gc.collect()
    start = time.perf_counter()
    count = await asyncio.wait_for(run(), RUN_TIMEOUT)
    return time.perf_counter() - start, count


async def traced_and_not(
    run: Callable[[], Awaitable[int]], tracing: Tracing, reps: int
) -> dict[str, list[float]]:
    """Warm both up, then alternate off, on, off, on ... ``reps`` times each."""
    times: dict[str, list[float]] = {"off": [], "on": []}
    for rep in range(reps + 1):
        for side in ("off", "on"):
            if side == "on":
                tracing.on()
            try:
                elapsed, _count = await timed(run)
            finally:
                if side == "on":
                    tracing.off()
            if rep:
                times[side].append(elapsed)
    return times


def per_call_us(action: Callable[[], None], count: int) -> float:
    """Median over five batches of the microseconds one ``action()`` takes."""
    batches = []
    for _ in range(5):
        gc.collect()
        start = time.perf_counter()
        for _ in range(count):
            action()
        batches.append((time.perf_counter() - start) / count * 1e6)
    return median(batches)


def hook_costs(client: Any, tracing: Tracing) -> dict[str, float]:
    """What each hook costs with instrumentation on, timed without any I/O."""
    from collections import deque

    from letta_async import _observe
    from letta_async._observe import StreamOrigin
    from letta_async._stream import MessageStream
    from letta_async._urls import path
    from letta_async.types import LettaStopReason

    transport = client.client._transport
    route = path("/v1/agents/{agent_id}/messages/stream", "agent-1")
    origin = StreamOrigin("POST", route, agent_id="agent-1", sends=True)
    url = transport.url(path("/v1/runs/{run_id}", "run-1"))
    tracing.on()
    try:
        observer = _observe.observer
        assert observer is not None
        stream = MessageStream(transport, opener=None, background=False)  # type: ignore[arg-type]
        trace = observer.stream(stream, origin)
        assert trace is not None
        queue: deque[Any] = deque([LettaStopReason(stop_reason="end_turn")])

        def read() -> None:
            trace.received(queue, 0)

        def whole_stream() -> None:
            one = observer.stream(stream, origin)
            assert one is not None
            one.received(queue, 0)
            one.finish(stream, None)

        def call() -> None:
            one = observer.call("GET", "/v1/runs/{run_id}", url)
            assert one is not None
            one.attempt(url, None, {})
            one.answered(200)
            one.end(None)

        return {
            "read": per_call_us(read, 20000),
            "stream": per_call_us(whole_stream, 2000),
            "call": per_call_us(call, 2000),
        }
    finally:
        trace.finish(stream, None)
        tracing.off()


async def measure(base_url: str, events: int, reps: int, calls: int) -> dict[str, Any]:
    tracing = Tracing()
    client = Ours(base_url)
    await client.open()
    out: dict[str, Any] = {"streams": {}, "events": events, "calls": calls}
    try:
        for mode, label in WRITE_MODES.items():
            agent_id = f"agent-ev{events}-{mode}"

            async def stream(agent: str = agent_id) -> int:
                count: int = await client(agent)
                if count != events:
                    raise SystemExit(f"received {count} events, expected {events}")
                return count

            times = await traced_and_not(stream, tracing, reps)
            out["streams"][mode] = {side: summary(values) for side, values in times.items()}
            print_line(label, times, events, "event")

        async def requests() -> int:
            for _ in range(calls):
                await client.retrieve_run(RUN_ID)
            return calls

        times = await traced_and_not(requests, tracing, reps)
        out["requests"] = {side: summary(values) for side, values in times.items()}
        print_line(f"{calls} runs.retrieve calls", times, calls, "call")
        out["hooks"] = hooks = hook_costs(client, tracing)
        print(
            f"hooks, instrumentation on: {hooks['read']:.2f} us per network read, "
            f"{hooks['stream']:.1f} us per stream (span and metrics), "
            f"{hooks['call']:.1f} us per API call"
        )
    finally:
        await client.close()
        tracing.close()
    return out


def print_line(label: str, times: dict[str, list[float]], count: int, unit: str) -> None:
    off, on = median(times["off"]), median(times["on"])
    print(
        f"{label}: off {off * 1e3:8.1f} ms  on {on * 1e3:8.1f} ms  "
        f"({on / off - 1:+.1%}, {(on - off) / count * 1e6:+.2f} us per {unit}; "
        f"spread {spread(times['off']):.0%} / {spread(times['on']):.0%})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=9, help="timed runs per side")
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="corpus size")
    parser.add_argument("--calls", type=int, default=500, help="API calls per request run")
    parser.add_argument("--json", help="write the results here ('-' for stdout)")
    args = parser.parse_args()
    warm = [f"agent-ev{args.events}-{mode}" for mode in WRITE_MODES]
    results: dict[str, Any] = {"machine": machine_info()}
    with ServerProcess("--warm", *warm) as server:
        results.update(asyncio.run(measure(server.base_url, args.events, args.reps, args.calls)))
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
