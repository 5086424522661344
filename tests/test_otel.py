"""OpenTelemetry: the spans, events and metrics the instrumentor promises, read back from the
SDK's in-memory exporters while the client talks to ``letta_async.testing``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

import anyio
import pytest
import yarl

pytest.importorskip("opentelemetry.sdk")

from opentelemetry import propagate
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from letta_async import (
    APITimeoutError,
    AsyncLetta,
    NotFoundError,
    ResumeSettings,
    StreamError,
    Timeout,
    _observe,
)
from letta_async.otel import LettaAsyncInstrumentor
from letta_async.otel._traces import error_type
from letta_async.testing import Fault, LettaTestServer

pytestmark = pytest.mark.anyio


class Telemetry:
    """The spans and metrics the instrumented client produced."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def only(self, name: str) -> ReadableSpan:
        found = [s for s in self.finished() if s.name == name]
        assert len(found) == 1, [s.name for s in self.finished()]
        return found[0]

    def points(self, metric: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        found: list[Any] = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for item in scope.metrics:
                    if item.name == metric:
                        found.extend(item.data.data_points)
        return found


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    seen = Telemetry()
    instrumentor = LettaAsyncInstrumentor()
    instrumentor.instrument(
        tracer_provider=seen.tracer_provider, meter_provider=seen.meter_provider
    )
    try:
        yield seen
    finally:
        instrumentor.uninstrument()
        seen.tracer_provider.shutdown()
        seen.meter_provider.shutdown()


@pytest.fixture
async def server() -> AsyncIterator[LettaTestServer]:
    async with LettaTestServer(keepalive_interval=0.05) as s:
        yield s


@pytest.fixture
async def client(server: LettaTestServer) -> AsyncIterator[AsyncLetta]:
    settings = ResumeSettings(initial_delay=0.01, max_delay=0.05)
    async with AsyncLetta(
        server.base_url,
        api_key="sk-otel",
        timeout=Timeout(stream_idle=2, request=5),
        resume=settings,
    ) as c:
        yield c


MISSING = "agent-123e4567-e89b-42d3-8456-426614174000"


def say(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def parent_ids(header: str) -> tuple[int, int]:
    """(trace id, span id) of a W3C ``traceparent`` header."""
    _version, trace_id, span_id, _flags = header.split("-")
    return int(trace_id, 16), int(span_id, 16)


# --- API calls ----------------------------------------------------------------------------------


async def test_api_call_span_follows_http_client_conventions(
    telemetry: Telemetry, server: LettaTestServer, client: AsyncLetta
) -> None:
    agent = server.create_agent(name="traced")
    await client.agents.retrieve(agent["id"])
    span = telemetry.only("GET /v1/agents/{agent_id}")
    assert span.kind is SpanKind.CLIENT
    attrs = dict(span.attributes or {})
    assert attrs["http.request.method"] == "GET"
    assert attrs["url.template"] == "/v1/agents/{agent_id}"
    assert attrs["http.response.status_code"] == 200
    assert attrs["server.address"] == "127.0.0.1"
    assert attrs["server.port"] == server.port
    assert attrs["url.full"] == f"{server.base_url}/v1/agents/{agent['id']}"
    assert "error.type" not in attrs
    assert span.status.status_code is StatusCode.UNSET
    (point,) = telemetry.points("http.client.request.duration")
    assert point.count == 1
    assert dict(point.attributes) == {
        "http.request.method": "GET",
        "url.template": "/v1/agents/{agent_id}",
        "http.response.status_code": 200,
        "server.address": "127.0.0.1",
        "server.port": server.port,
    }


async def test_traceparent_reaches_the_server_and_joins_the_callers_trace(
    telemetry: Telemetry, server: LettaTestServer, client: AsyncLetta
) -> None:
    tracer = telemetry.tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("outer") as outer:
        page = await client.agents.list(limit=5)
    assert page.items == []
    span = telemetry.only("GET /v1/agents/")
    assert span.parent is not None and span.parent.span_id == outer.get_span_context().span_id
    (request,) = server.requests_to(r"^/v1/agents/$", "GET")
    trace_id, span_id = parent_ids(request.headers["traceparent"])
    assert (trace_id, span_id) == (span.context.trace_id, span.context.span_id)
    assert span.attributes is not None and span.attributes["url.full"].endswith("?limit=5")


async def test_error_status_and_type_are_recorded(telemetry: Telemetry, client: AsyncLetta) -> None:
    with pytest.raises(NotFoundError):
        await client.agents.retrieve(MISSING)
    span = telemetry.only("GET /v1/agents/{agent_id}")
    assert span.status.status_code is StatusCode.ERROR
    attrs = dict(span.attributes or {})
    assert attrs["http.response.status_code"] == 404
    assert attrs["error.type"] == "404"
    assert [e.name for e in span.events] == ["exception"]
    (point,) = telemetry.points("http.client.request.duration")
    assert point.attributes["error.type"] == "404"


async def test_a_failed_call_records_its_exception_and_says_what_it_was(
    telemetry: Telemetry, client: AsyncLetta
) -> None:
    """The span's ``exception`` event and its status description name the error the caller
    got, so that a trace viewer shows why the call failed without the logs."""
    with pytest.raises(NotFoundError) as raised:
        await client.agents.retrieve(MISSING)
    span = telemetry.only("GET /v1/agents/{agent_id}")
    (event,) = span.events
    attrs = dict(event.attributes or {})
    assert attrs["exception.type"].rsplit(".", 1)[-1] == "NotFoundError"  # type: ignore[union-attr]
    assert attrs["exception.message"] == str(raised.value)
    assert span.status.description == f"NotFoundError: {raised.value}"


async def test_a_call_the_caller_stopped_waiting_for_is_not_an_error(
    telemetry: Telemetry, server: LettaTestServer, client: AsyncLetta
) -> None:
    """A call cancelled by its caller (a deadline, a task group) did not fail: its span
    carries no error, no exception event and no ``error.type``."""
    agent = server.create_agent(name="slow")
    server.faults.add(Fault(path=r"/v1/agents/agent-", delay=5.0))
    with anyio.move_on_after(0.3) as scope:
        await client.agents.retrieve(agent["id"])
    assert scope.cancelled_caught
    span = telemetry.only("GET /v1/agents/{agent_id}")
    assert span.status.status_code is StatusCode.UNSET
    assert span.events == () or list(span.events) == []
    assert "error.type" not in dict(span.attributes or {})


async def test_a_query_that_needs_quoting_is_in_the_url_as_sent(
    telemetry: Telemetry, server: LettaTestServer, client: AsyncLetta
) -> None:
    """``url.full`` holds the query string the server received, also when its values had to
    be quoted (spaces, ``&``, non-ASCII)."""
    name = "two words & één"
    await client.agents.list(name=name, limit=3)
    span = telemetry.only("GET /v1/agents/")
    full = yarl.URL(dict(span.attributes or {})["url.full"])  # type: ignore[arg-type]
    (request,) = server.requests_to(r"^/v1/agents/$", "GET")
    assert request.query["name"] == name
    assert dict(full.query) == request.query
    assert f"{full.scheme}://{full.host}:{full.port}{full.path}" == f"{server.base_url}/v1/agents/"


async def test_connection_failure_is_typed_by_class(telemetry: Telemetry) -> None:
    async with LettaTestServer() as gone:
        url = gone.base_url
    async with AsyncLetta(url, max_retries=0) as client:
        with pytest.raises(Exception, match="Connection failed"):
            await client.agents.list()
    span = telemetry.only("GET /v1/agents/")
    attrs = dict(span.attributes or {})
    assert attrs["error.type"] == "letta_async.APIConnectionError"
    assert "http.response.status_code" not in attrs


async def test_retries_are_span_events_on_one_span(
    telemetry: Telemetry, server: LettaTestServer, client: AsyncLetta
) -> None:
    agent = server.create_agent(name="flaky")
    server.faults.add(Fault.http_status(503, times=2, path=r"/v1/agents/", retry_after=0))
    await client.agents.retrieve(agent["id"])
    span = telemetry.only("GET /v1/agents/{agent_id}")
    retries = [e for e in span.events if e.name == "letta.retry"]
    assert [e.attributes["letta.retry.attempt"] for e in retries] == [1, 2]  # type: ignore[index]
    assert all(e.attributes["http.response.status_code"] == 503 for e in retries)  # type: ignore[index]
    assert all(e.attributes["error.type"] == "503" for e in retries)  # type: ignore[index]
    attrs = dict(span.attributes or {})
    assert attrs["http.request.resend_count"] == 2
    assert attrs["http.response.status_code"] == 200
    assert span.status.status_code is StatusCode.UNSET
    # Every attempt carried the same span's context.
    sent = server.requests_to(r"^/v1/agents/agent-", "GET")
    assert len(sent) == 3
    assert {parent_ids(r.headers["traceparent"])[1] for r in sent} == {span.context.span_id}


async def test_no_span_carries_the_api_key(telemetry: Telemetry, server: LettaTestServer) -> None:
    key = "sk-otel-secret-key"
    async with AsyncLetta(server.base_url, api_key=key) as client:
        await client.agents.list()
        with pytest.raises(NotFoundError):
            await client.agents.retrieve(MISSING)
    dumped = "".join(span.to_json() for span in telemetry.finished())
    assert len(telemetry.finished()) == 2
    assert key not in dumped and "Authorization" not in dumped


async def test_a_raw_path_is_named_by_its_method_alone(
    telemetry: Telemetry, server: LettaTestServer, client: AsyncLetta
) -> None:
    agent = server.create_agent(name="raw")
    await client.get(f"/v1/agents/{agent['id']}", cast_to=object)
    span = telemetry.only("GET")
    assert span.attributes is not None and "url.template" not in span.attributes


async def test_suppressed_instrumentation_records_nothing(
    telemetry: Telemetry, server: LettaTestServer, client: AsyncLetta
) -> None:
    with suppress_instrumentation():
        await client.agents.list()
    assert telemetry.finished() == []
    (request,) = server.requests_to(r"^/v1/agents/$", "GET")
    assert "traceparent" not in request.headers


# --- streams ------------------------------------------------------------------------------------


async def test_a_resumed_stream_is_one_span_with_everything_on_it(
    telemetry: Telemetry, server: LettaTestServer, client: AsyncLetta
) -> None:
    agent = server.create_agent(name="bg")
    server.faults.add(Fault.cut_after(3, path=r"/messages/stream$"))
    stream = client.agents.messages.stream(
        agent["id"], messages=say("hi [tokens=20]"), stream_tokens=True, background=True
    )
    events = [event async for event in stream]
    assert stream.resumes == 1
    span = telemetry.only("POST /v1/agents/{agent_id}/messages/stream")
    assert span.kind is SpanKind.CLIENT
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.operation.name"] == "invoke_agent"
    assert attrs["gen_ai.agent.id"] == agent["id"]
    assert attrs["letta.run.id"] == stream.run_id
    assert attrs["letta.stream.stop_reason"] == "end_turn"
    assert attrs["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert attrs["letta.stream.events"] == len(events)
    assert attrs["letta.stream.resumes"] == 1
    assert attrs["letta.stream.background"] is True
    assert attrs["letta.stream.completed"] is True
    # The HTTP attributes are the opening request's (README), not the last resume's.
    assert attrs["url.full"] == f"{server.base_url}/v1/agents/{agent['id']}/messages/stream"
    assert stream.usage is not None
    assert attrs["gen_ai.usage.input_tokens"] == stream.usage.prompt_tokens
    assert attrs["gen_ai.usage.output_tokens"] == stream.usage.completion_tokens
    assert attrs["letta.usage.total_tokens"] == stream.usage.total_tokens
    assert 0 < attrs["gen_ai.response.time_to_first_chunk"] < span_seconds(span)  # type: ignore[operator]
    (resume,) = [e for e in span.events if e.name == "letta.resume"]
    assert resume.attributes is not None
    assert resume.attributes["letta.run.id"] == stream.run_id
    assert resume.attributes["letta.resume.attempt"] == 1
    # The first connection and the resume both carried the stream's span.
    opened = server.requests_to(r"/messages/stream$", "POST")
    resumed = server.requests_to(r"^/v1/runs/.+/stream$", "POST")
    assert len(opened) == 1 and len(resumed) == 1
    # The event gives where the resume started, as the request asked the server.
    starting_after = resumed[0].json["starting_after"]
    assert resume.attributes["letta.resume.starting_after"] == starting_after
    for request in (*opened, *resumed):
        assert parent_ids(request.headers["traceparent"])[1] == span.context.span_id
    # Metrics.
    assert sum(p.value for p in telemetry.points("letta.stream.resumes")) == 1
    assert sum(p.value for p in telemetry.points("letta.stream.events")) == len(events)
    assert [p.value for p in telemetry.points("letta.stream.active")] == [0]
    (first,) = telemetry.points("gen_ai.client.operation.time_to_first_chunk")
    assert first.count == 1
    tokens = {
        p.attributes["gen_ai.token.type"]: p.sum
        for p in telemetry.points("gen_ai.client.token.usage")
    }
    assert tokens == {"input": stream.usage.prompt_tokens, "output": stream.usage.completion_tokens}
    (duration,) = telemetry.points("letta.stream.duration")
    assert duration.attributes["letta.stream.stop_reason"] == "end_turn"


def span_seconds(span: ReadableSpan) -> float:
    assert span.start_time is not None and span.end_time is not None
    return (span.end_time - span.start_time) / 1e9


async def test_active_streams_count_up_while_open(
    telemetry: Telemetry, server: LettaTestServer, client: AsyncLetta
) -> None:
    agent = server.create_agent(name="open")
    stream = client.agents.messages.stream(agent["id"], messages=say("hi [tokens=50]"))
    async with stream:
        async for _event in stream:
            assert [p.value for p in telemetry.points("letta.stream.active")] == [1]
            break
    assert [p.value for p in telemetry.points("letta.stream.active")] == [0]
    span = telemetry.only("POST /v1/agents/{agent_id}/messages/stream")
    assert span.attributes is not None
    assert span.attributes["letta.stream.completed"] is False
    assert span.attributes["letta.stream.events"] == 1
    assert span.status.status_code is StatusCode.UNSET


async def test_an_error_inside_a_stream_is_recorded(
    telemetry: Telemetry, server: LettaTestServer, client: AsyncLetta
) -> None:
    agent = server.create_agent(name="fails")
    with pytest.raises(StreamError):
        await client.agents.messages.stream(agent["id"], messages=say("hi [error500]")).until_done()
    span = telemetry.only("POST /v1/agents/{agent_id}/messages/stream")
    assert span.status.status_code is StatusCode.ERROR
    attrs = dict(span.attributes or {})
    assert attrs["error.type"] == "letta_async.StreamError"
    assert attrs["http.response.status_code"] == 200
    assert attrs["letta.stream.stop_reason"] == "llm_api_error"


async def test_a_stream_refused_at_open_is_recorded_with_its_status(
    telemetry: Telemetry, client: AsyncLetta
) -> None:
    with pytest.raises(NotFoundError):
        await client.agents.messages.stream(MISSING, messages=say("hi"))
    span = telemetry.only("POST /v1/agents/{agent_id}/messages/stream")
    attrs = dict(span.attributes or {})
    assert attrs["error.type"] == "404"
    assert attrs["http.response.status_code"] == 404
    assert [p.value for p in telemetry.points("letta.stream.active")] == [0]


async def test_following_a_run_is_a_stream_span_without_an_agent_invocation(
    telemetry: Telemetry, server: LettaTestServer, client: AsyncLetta
) -> None:
    agent = server.create_agent(name="follow")
    first = client.agents.messages.stream(agent["id"], messages=say("hi"), background=True)
    await first.until_done()
    assert first.run_id is not None
    replay = await client.runs.stream(first.run_id, starting_after=0).until_done()
    span = telemetry.only("POST /v1/runs/{run_id}/stream")
    attrs = dict(span.attributes or {})
    assert "gen_ai.operation.name" not in attrs
    assert attrs["letta.run.id"] == first.run_id
    assert attrs["letta.stream.events"] == len(replay)


# --- switching off ------------------------------------------------------------------------------


async def test_uninstrument_restores_everything(
    server: LettaTestServer, client: AsyncLetta
) -> None:
    seen = Telemetry()
    instrumentor = LettaAsyncInstrumentor()
    instrumentor.instrument(
        tracer_provider=seen.tracer_provider, meter_provider=seen.meter_provider
    )
    assert _observe.observer is not None
    await client.agents.list()
    instrumentor.uninstrument()
    assert _observe.observer is None
    seen.spans.clear()
    agent = server.create_agent(name="quiet")
    await client.agents.retrieve(agent["id"])
    await client.agents.messages.stream(agent["id"], messages=say("hi")).until_done()
    assert seen.finished() == []
    later = [r for r in server.requests if r.path != "/v1/agents/"]
    assert later and all("traceparent" not in r.headers for r in later)
    seen.tracer_provider.shutdown()
    seen.meter_provider.shutdown()


def test_the_instrumentor_is_an_auto_instrumentation_entry_point() -> None:
    from importlib.metadata import entry_points

    (entry,) = [
        e for e in entry_points(group="opentelemetry_instrumentor") if e.name == "letta_async"
    ]
    assert entry.load() is LettaAsyncInstrumentor


def test_the_client_never_imports_opentelemetry() -> None:
    program = textwrap.dedent(
        """
        import asyncio, sys
        from letta_async import AsyncLetta
        from letta_async.testing import LettaTestServer

        async def main():
            async with LettaTestServer() as server:
                agent = server.create_agent(name="plain")
                async with AsyncLetta(server.base_url) as client:
                    await client.agents.retrieve(agent["id"])
                    await client.agents.messages.stream(
                        agent["id"], messages=[{"role": "user", "content": "hi"}]
                    ).until_done()

        asyncio.run(main())
        loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
        print(loaded)
        assert not loaded
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


class _BrokenPropagator:
    """A propagator that fails, as a misconfigured one might."""

    fields: ClassVar[set[str]] = set()

    def inject(self, carrier: Any, context: Any = None, setter: Any = None) -> None:
        raise RuntimeError("propagator broke")

    def extract(self, carrier: Any, context: Any = None, getter: Any = None) -> Any:
        raise RuntimeError("propagator broke")


async def test_a_tracing_failure_never_breaks_the_call(
    telemetry: Telemetry, client: AsyncLetta, caplog: pytest.LogCaptureFixture
) -> None:
    saved = propagate.get_global_textmap()
    propagate.set_global_textmap(_BrokenPropagator())  # type: ignore[arg-type]
    try:
        page = await client.agents.list()
    finally:
        propagate.set_global_textmap(saved)
    assert page.items == []
    assert "tracing failed" in caplog.text
    assert telemetry.only("GET /v1/agents/").attributes is not None


def test_error_type_names_classes_as_they_are_imported() -> None:
    assert error_type(ValueError("x")) == "ValueError"
    assert error_type(APITimeoutError("slow")) == "letta_async.APITimeoutError"
