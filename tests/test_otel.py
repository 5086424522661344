"""OpenTelemetry: the spans, events and metrics the instrumentor promises, read back from the
SDK's in-memory exporters while the client talks to ``letta_async.testing``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
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
    BadRequestError,
    NotFoundError,
    ResumeSettings,
    StreamError,
    Timeout,
    _observe,
)
from letta_async.otel import LettaAsyncInstrumentor
from letta_async.otel._traces import error_type
from letta_async.testing import Fault, LettaTestServer
from letta_async.types import LettaPing
from tests.replay import ReplayServer, fixture_bytes, sse_answer

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


async def test_a_400_answer_is_typed_by_its_status(
    telemetry: Telemetry, server: LettaTestServer, client: AsyncLetta
) -> None:
    """Every 4xx and 5xx answer is typed by its status code (the HTTP conventions'
    ``error.type``), the lowest of them, 400, included."""
    agent = server.create_agent(name="refused")
    server.faults.add(Fault.http_status(400, path=r"^/v1/agents/agent-"))
    with pytest.raises(BadRequestError):
        await client.agents.retrieve(agent["id"])
    span = telemetry.only("GET /v1/agents/{agent_id}")
    attrs = dict(span.attributes or {})
    assert attrs["error.type"] == "400"
    assert attrs["http.response.status_code"] == 400
    assert span.status.status_code is StatusCode.ERROR
    (point,) = telemetry.points("http.client.request.duration")
    assert point.attributes["error.type"] == "400"


async def test_a_calls_duration_is_the_time_it_took(
    telemetry: Telemetry, server: LettaTestServer, client: AsyncLetta
) -> None:
    """``http.client.request.duration`` records the seconds the call took: at least the
    server's delay, at most the time the caller waited."""
    agent = server.create_agent(name="timed")
    server.faults.add(Fault(path=r"^/v1/agents/agent-", delay=0.2))
    started = time.perf_counter()
    await client.agents.retrieve(agent["id"])
    waited = time.perf_counter() - started
    (point,) = telemetry.points("http.client.request.duration")
    assert point.count == 1
    assert 0.2 <= point.sum <= waited


async def test_a_call_answered_at_once_has_no_resend_count(
    telemetry: Telemetry, client: AsyncLetta
) -> None:
    """The HTTP conventions set ``http.request.resend_count`` only on a request that was sent
    again: a call answered at its first attempt has none."""
    await client.agents.list()
    attrs = dict(telemetry.only("GET /v1/agents/").attributes or {})
    assert "http.request.resend_count" not in attrs
    assert attrs["http.response.status_code"] == 200


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
    # Its metrics do not count it as an agent invocation either.
    followed = [
        p
        for name in ("letta.stream.active", "letta.stream.events", "letta.stream.duration")
        for p in telemetry.points(name)
        if p.attributes["url.template"] == "/v1/runs/{run_id}/stream"
    ]
    assert len(followed) == 3
    assert all("gen_ai.operation.name" not in p.attributes for p in followed)


async def test_stream_metrics_carry_the_streams_attributes(
    telemetry: Telemetry, server: LettaTestServer, client: AsyncLetta
) -> None:
    """Each stream instrument's points carry the attributes the README's table lists: the
    method, route template, server and operation; the stop reason and the outcome on the
    duration and the events; the token type on the usage."""
    agent = server.create_agent(name="measured")
    server.faults.add(Fault.cut_after(3, path=r"/messages/stream$"))
    stream = client.agents.messages.stream(
        agent["id"], messages=say("hi [tokens=20]"), stream_tokens=True, background=True
    )
    await stream.until_done()
    assert stream.resumes == 1
    base = {
        "http.request.method": "POST",
        "url.template": "/v1/agents/{agent_id}/messages/stream",
        "server.address": "127.0.0.1",
        "server.port": server.port,
        "gen_ai.operation.name": "invoke_agent",
    }
    for name in (
        "letta.stream.active",
        "letta.stream.resumes",
        "gen_ai.client.operation.time_to_first_chunk",
    ):
        (point,) = telemetry.points(name)
        assert dict(point.attributes) == base, name
    ended = {**base, "letta.stream.stop_reason": "end_turn", "http.response.status_code": 200}
    for name in ("letta.stream.events", "letta.stream.duration"):
        (point,) = telemetry.points(name)
        assert dict(point.attributes) == ended, name
    usage = sorted(
        (dict(p.attributes) for p in telemetry.points("gen_ai.client.token.usage")),
        key=lambda attributes: str(attributes["gen_ai.token.type"]),
    )
    assert usage == [
        {**base, "gen_ai.token.type": "input"},
        {**base, "gen_ai.token.type": "output"},
    ]


async def test_every_resume_is_counted(
    telemetry: Telemetry, server: LettaTestServer, client: AsyncLetta
) -> None:
    """A stream cut twice resumes twice: two ``letta.resume`` events, two on the span's
    count and on the resumes counter."""
    agent = server.create_agent(name="cut twice")
    server.faults.add(Fault.cut_after(3, path=r"/messages/stream$"))
    server.faults.add(Fault.cut_after(3, path=r"^/v1/runs/.+/stream$"))
    stream = client.agents.messages.stream(
        agent["id"], messages=say("hi [tokens=20]"), stream_tokens=True, background=True
    )
    await stream.until_done()
    assert stream.resumes == 2
    span = telemetry.only("POST /v1/agents/{agent_id}/messages/stream")
    assert dict(span.attributes or {})["letta.stream.resumes"] == 2
    assert len([e for e in span.events if e.name == "letta.resume"]) == 2
    assert sum(p.value for p in telemetry.points("letta.stream.resumes")) == 2


async def test_time_to_first_chunk_does_not_count_keep_alive_pings(
    telemetry: Telemetry, server: LettaTestServer, client: AsyncLetta
) -> None:
    """``gen_ai.response.time_to_first_chunk`` is the wait for the first event that is not a
    keep-alive ping: the pings sent while the agent thinks are no answer yet."""
    agent = server.create_agent(name="thinks")
    stream = client.agents.messages.stream(agent["id"], messages=say("hi [delay=0.4]"))
    events = await stream.until_done()
    assert isinstance(events[0], LettaPing)
    span = telemetry.only("POST /v1/agents/{agent_id}/messages/stream")
    waited = dict(span.attributes or {})["gen_ai.response.time_to_first_chunk"]
    assert isinstance(waited, float)
    assert 0.4 <= waited <= span_seconds(span)
    (point,) = telemetry.points("gen_ai.client.operation.time_to_first_chunk")
    assert point.sum == waited


async def test_a_streams_duration_is_its_whole_life(
    telemetry: Telemetry, server: LettaTestServer, client: AsyncLetta
) -> None:
    """``letta.stream.duration`` records the seconds from opening the stream to its end: at
    least the agent's delay, at most the time the caller spent on it."""
    agent = server.create_agent(name="slow reply")
    started = time.perf_counter()
    await client.agents.messages.stream(agent["id"], messages=say("hi [delay=0.3]")).until_done()
    waited = time.perf_counter() - started
    (point,) = telemetry.points("letta.stream.duration")
    assert point.count == 1
    assert 0.3 <= point.sum <= waited


async def test_every_usage_counter_the_server_reports_is_on_the_span(
    telemetry: Telemetry, server: LettaTestServer, client: AsyncLetta
) -> None:
    """The optional usage counters (cache, reasoning, context window) go on the span whenever
    the server reports them, zeros included."""
    agent = server.create_agent(name="usage")
    stream = client.agents.messages.stream(agent["id"], messages=say("hi"))
    await stream.until_done()
    usage = stream.usage
    assert usage is not None
    reported = {
        "gen_ai.usage.cache_read.input_tokens": usage.cached_input_tokens,
        "gen_ai.usage.cache_creation.input_tokens": usage.cache_write_tokens,
        "gen_ai.usage.reasoning.output_tokens": usage.reasoning_tokens,
        "letta.usage.context_tokens": usage.context_tokens,
        "letta.usage.step_count": usage.step_count,
    }
    assert None not in reported.values()
    attrs = dict(telemetry.only("POST /v1/agents/{agent_id}/messages/stream").attributes or {})
    assert {name: attrs.get(name) for name in reported} == reported


async def test_a_conversation_stream_names_its_conversation(
    telemetry: Telemetry, server: LettaTestServer, client: AsyncLetta
) -> None:
    """A message sent in a conversation is an agent invocation of the ``letta`` provider in
    that conversation (the GenAI conventions' names)."""
    agent = server.create_agent(name="talks")
    conversation = await client.conversations.create(agent_id=agent["id"])
    stream = await client.conversations.messages.create(conversation.id, messages=say("hi"))
    await stream.until_done()
    span = telemetry.only("POST /v1/conversations/{conversation_id}/messages")
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.conversation.id"] == conversation.id
    assert attrs["gen_ai.operation.name"] == "invoke_agent"
    assert attrs["gen_ai.provider.name"] == "letta"


async def test_events_count_what_the_loop_took_not_what_was_read_ahead(
    telemetry: Telemetry, server: LettaTestServer, client: AsyncLetta
) -> None:
    """``letta.stream.events`` counts the events handed to the loop: a loop that leaves after
    one event does not count those already read from the network behind it."""
    agent = server.create_agent(name="read ahead")
    stream = client.agents.messages.stream(
        agent["id"], messages=say("hi [tokens=30]"), stream_tokens=True
    )
    async with stream:
        await anyio.sleep(0.3)  # the whole reply reaches the socket meanwhile
        async for _event in stream:
            break
    span = telemetry.only("POST /v1/agents/{agent_id}/messages/stream")
    assert dict(span.attributes or {})["letta.stream.events"] == 1
    assert sum(p.value for p in telemetry.points("letta.stream.events")) == 1


async def test_events_that_arrive_while_cancelling_are_not_counted_as_taken(
    telemetry: Telemetry, server: LettaTestServer, client: AsyncLetta
) -> None:
    """``cancel()`` keeps the events that arrive while it waits for the confirmation for the
    caller to take later; the stream's span, ended by the cancel, counts none of them."""
    agent = server.create_agent(name="cancelled")
    stream = client.agents.messages.stream(
        agent["id"], messages=say("hi [tokens=200] [chunkdelay=0.01]"), stream_tokens=True
    )
    async with stream:
        await anyio.sleep(0.2)  # frames wait in the socket before cancel() reads them
        await stream.cancel()
        left = [event async for event in stream]
    assert stream.stop_reason == "cancelled"
    assert len(left) > 1
    span = telemetry.only("POST /v1/agents/{agent_id}/messages/stream")
    assert dict(span.attributes or {})["letta.stream.events"] == 0


async def test_a_raw_stream_is_named_by_its_method_and_carries_its_span(
    telemetry: Telemetry, server: LettaTestServer, client: AsyncLetta
) -> None:
    """A stream opened by its path (``client.post(..., stream=True)``) has no known route:
    its span is named by its method alone, as a raw call's; it still names the server and
    the URL, and its connection carries the span's context."""
    agent = server.create_agent(name="raw stream")
    path = f"/v1/agents/{agent['id']}/messages/stream"
    stream = await client.post(path, cast_to=object, body={"messages": say("hi")}, stream=True)
    events = await stream.until_done()
    span = telemetry.only("POST")
    assert span.kind is SpanKind.CLIENT
    attrs = dict(span.attributes or {})
    assert attrs["http.request.method"] == "POST"
    assert "url.template" not in attrs
    assert attrs["server.address"] == "127.0.0.1"
    assert attrs["server.port"] == server.port
    assert attrs["url.full"] == f"{server.base_url}{path}"
    assert attrs["http.response.status_code"] == 200
    assert attrs["letta.stream.events"] == len(events)
    (request,) = server.requests_to(r"/messages/stream$", "POST")
    assert parent_ids(request.headers["traceparent"])[1] == span.context.span_id


async def test_a_raw_get_stream_is_named_get(telemetry: Telemetry, replay: ReplayServer) -> None:
    """``client.get(..., stream=True)`` sends a GET, and its span says so."""
    replay.on("GET", "/v1/events", sse_answer(fixture_bytes("stream_steps.sse")))
    async with AsyncLetta(replay.base_url, max_retries=0) as client:
        stream = await client.get("/v1/events", cast_to=object, stream=True)
        await stream.until_done()
    span = telemetry.only("GET")
    attrs = dict(span.attributes or {})
    assert attrs["http.request.method"] == "GET"
    assert attrs["url.full"] == f"{replay.base_url}/v1/events"
    (request,) = replay.seen("GET", "/v1/events")
    assert parent_ids(request.headers["traceparent"])[1] == span.context.span_id


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
