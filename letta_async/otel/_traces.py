"""The traces the client reports to: one span per API call, one per stream's whole life.

An API call's span is current while the call runs (so spans a hook or aiohttp's own
instrumentation makes become its children) and its context goes into every attempt's
headers. A stream's span cannot be current across the caller's ``async for`` steps, so it
is passed explicitly: each connection of the stream (the first and every resume) carries it.

Nothing here raises into the client: a failure to record is logged and dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, MutableMapping
from itertools import islice
from typing import TYPE_CHECKING, Any

import yarl
from opentelemetry import context, propagate, trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import SpanKind, StatusCode

from .._errors import APIStatusError
from .._urls import template_of
from ..types import LettaPing
from . import _names as N

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

    from .._observe import StreamOrigin
    from .._stream import MessageStream
    from ._instruments import Instruments

__all__ = ["ApiCall", "OtelObserver", "StreamCall", "error_type"]

logger = logging.getLogger("letta_async.otel")

Attributes = dict[str, "AttributeValue"]


def error_type(error: BaseException) -> str:
    """``error.type`` as the HTTP conventions want it: the status for a 4xx/5xx answer, else
    the exception's class under the name it is imported by (``letta_async.APITimeoutError``)."""
    if isinstance(error, APIStatusError) and error.status_code >= 400:
        return str(error.status_code)
    cls = type(error)
    module = cls.__module__
    if module.startswith("letta_async"):
        return f"letta_async.{cls.__qualname__}"
    if module == "builtins":
        return cls.__qualname__
    return f"{module}.{cls.__qualname__}"


def _cancelled(error: BaseException | None) -> bool:
    """A caller that stopped waiting is not a failed call."""
    return isinstance(error, asyncio.CancelledError | GeneratorExit)


def _safely(what: str, action: Callable[[], None]) -> None:
    try:
        action()
    except Exception:
        logger.exception("letta_async tracing failed to %s", what)


def _server(url: yarl.URL) -> Attributes:
    attributes: Attributes = {}
    if url.host:
        attributes[N.SERVER_ADDRESS] = url.host
    if url.port is not None:
        attributes[N.SERVER_PORT] = url.port
    return attributes


class _Exchange:
    """What an API call and a stream share: a client span, attempts, statuses, retries."""

    def __init__(
        self,
        tracer: trace.Tracer,
        instruments: Instruments,
        method: str,
        template: str | None,
        url: yarl.URL,
        extra: Attributes,
    ) -> None:
        self.instruments = instruments
        self.started = time.perf_counter()
        self.status: int | None = None
        self.resends = 0
        self.url_seen = False
        self.metric_attributes: Attributes = {N.HTTP_REQUEST_METHOD: method, **_server(url)}
        if template is not None:
            self.metric_attributes[N.URL_TEMPLATE] = template
        attributes: Attributes = {**self.metric_attributes, **extra}
        name = method if template is None else f"{method} {template}"
        self.span = tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
        self.context = trace.set_span_in_context(self.span)

    # --- what the transport reports ----------------------------------------------------------

    def attempt(
        self, url: yarl.URL, params: list[tuple[str, str]] | None, headers: MutableMapping[str, str]
    ) -> None:
        """Note the first attempt's URL and put the span's context into ``headers``."""
        try:
            if not self.url_seen:
                self.url_seen = True
                full = url
                if url.raw_user is not None:  # credentials never go into a span
                    full = url.with_user(None)
                if params:
                    full = full.with_query(params)
                self.span.set_attribute(N.URL_FULL, str(full))
            propagate.inject(headers, context=self.context)
        except Exception:
            logger.exception("letta_async tracing failed to describe an attempt")

    def answered(self, status: int) -> None:
        """Keep the latest status: the one the call or stream ends with."""
        self.status = status

    def retry(self, attempt: int, delay: float, error: BaseException) -> None:
        """A ``letta.retry`` span event for the failed attempt about to be sent again."""
        self.resends = attempt
        attributes: Attributes = {
            N.RETRY_ATTEMPT: attempt,
            N.RETRY_DELAY: delay,
            N.ERROR_TYPE: error_type(error),
        }
        if isinstance(error, APIStatusError):
            attributes[N.HTTP_RESPONSE_STATUS_CODE] = error.status_code
        _safely("record a retry", lambda: self.span.add_event(N.EVENT_RETRY, attributes))

    # --- the end -----------------------------------------------------------------------------

    def outcome(self, error: BaseException | None) -> Attributes:
        """Status and error attributes, set on the span (and its status) and returned."""
        attributes: Attributes = {}
        status = self.status
        if isinstance(error, APIStatusError) and error.status_code >= 400:
            status = error.status_code
        if status is not None:
            attributes[N.HTTP_RESPONSE_STATUS_CODE] = status
        span = self.span
        if error is not None and not _cancelled(error):
            attributes[N.ERROR_TYPE] = error_type(error)
            span.record_exception(error)
            span.set_status(StatusCode.ERROR, f"{type(error).__name__}: {error}")
        if self.resends:
            span.set_attribute(N.HTTP_REQUEST_RESEND_COUNT, self.resends)
        span.set_attributes(attributes)
        return attributes


class ApiCall(_Exchange):
    """One non-streaming call; its span is current until the funnel ends it."""

    def __init__(
        self,
        tracer: trace.Tracer,
        instruments: Instruments,
        method: str,
        template: str | None,
        url: yarl.URL,
    ) -> None:
        super().__init__(tracer, instruments, method, template, url, {})
        self.token = context.attach(self.context)

    def end(self, error: BaseException | None) -> None:
        """Record the outcome and the duration, leave the span's context, end the span."""
        try:
            outcome = self.outcome(error)
            self.instruments.request_duration.record(
                time.perf_counter() - self.started, {**self.metric_attributes, **outcome}
            )
        except Exception:
            logger.exception("letta_async tracing failed to end a call")
        finally:
            context.detach(self.token)
            self.span.end()


class StreamCall(_Exchange):
    """A stream from its first connection to its end, across every resume."""

    def __init__(
        self,
        tracer: trace.Tracer,
        instruments: Instruments,
        url: yarl.URL,
        origin: StreamOrigin | None,
        background: bool,
    ) -> None:
        extra: Attributes = {N.LETTA_BACKGROUND: background}
        method, template = "POST", None
        if origin is not None:
            method, template = origin.method, template_of(origin.route)
            if origin.sends:
                extra[N.GEN_AI_OPERATION_NAME] = N.INVOKE_AGENT
                extra[N.GEN_AI_PROVIDER_NAME] = N.PROVIDER
            if origin.agent_id is not None:
                extra[N.GEN_AI_AGENT_ID] = origin.agent_id
            if origin.conversation_id is not None:
                extra[N.GEN_AI_CONVERSATION_ID] = origin.conversation_id
        super().__init__(tracer, instruments, method, template, url, extra)
        if origin is not None and origin.sends:
            self.metric_attributes[N.GEN_AI_OPERATION_NAME] = N.INVOKE_AGENT
        self.received_total = 0
        self.first_chunk: float | None = None
        self.resumes = 0
        instruments.active_streams.add(1, self.metric_attributes)

    def received(self, queue: deque[Any], before: int) -> None:
        """Count a read's events; the first that is not a ping marks the first chunk."""
        self.received_total += len(queue) - before
        if self.first_chunk is None:
            for event in islice(queue, before, None):
                if type(event) is not LettaPing:  # a keep-alive is no answer yet
                    self.first_chunk = time.perf_counter() - self.started
                    break

    def resumed(self, run_id: str, starting_after: int | None, attempt: int) -> None:
        """A ``letta.resume`` span event and one more on the resumes counter."""
        self.resumes += 1
        attributes: Attributes = {N.LETTA_RUN_ID: run_id, N.RESUME_ATTEMPT: attempt}
        if starting_after is not None:
            attributes[N.RESUME_STARTING_AFTER] = starting_after
        _safely("record a resume", lambda: self.span.add_event(N.EVENT_RESUME, attributes))
        _safely(
            "count a resume",
            lambda: self.instruments.resumes.add(1, self.metric_attributes),
        )

    def finish(self, stream: MessageStream, error: BaseException | None) -> None:
        """Describe the ended stream on its span and in the metrics, then end the span."""
        try:
            self._describe(stream, error)
        except Exception:
            logger.exception("letta_async tracing failed to end a stream")
        finally:
            self.span.end()

    def _describe(self, stream: MessageStream, error: BaseException | None) -> None:
        instruments = self.instruments
        base = self.metric_attributes
        instruments.active_streams.add(-1, base)
        delivered = self.received_total - len(stream._queue)
        span = self.span
        attributes: Attributes = {
            N.LETTA_EVENTS: delivered,
            N.LETTA_RESUMES: self.resumes,
            N.LETTA_COMPLETED: stream.completed,
        }
        if stream.run_id is not None:
            attributes[N.LETTA_RUN_ID] = stream.run_id
        metric = dict(base)
        if stream.stop_reason is not None:
            attributes[N.LETTA_STOP_REASON] = stream.stop_reason
            attributes[N.GEN_AI_RESPONSE_FINISH_REASONS] = (stream.stop_reason,)
            metric[N.LETTA_STOP_REASON] = stream.stop_reason
        if self.first_chunk is not None:
            attributes[N.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = self.first_chunk
            instruments.time_to_first_chunk.record(self.first_chunk, base)
        attributes.update(self._usage(stream, base))
        span.set_attributes(attributes)
        metric.update(self.outcome(error))
        instruments.stream_events.add(delivered, metric)
        instruments.stream_duration.record(time.perf_counter() - self.started, metric)

    def _usage(self, stream: MessageStream, base: Attributes) -> Attributes:
        usage = stream.usage
        if usage is None:
            return {}
        attributes: Attributes = {
            N.GEN_AI_USAGE_INPUT_TOKENS: usage.prompt_tokens,
            N.GEN_AI_USAGE_OUTPUT_TOKENS: usage.completion_tokens,
            N.LETTA_TOTAL_TOKENS: usage.total_tokens,
            N.LETTA_STEP_COUNT: usage.step_count,
        }
        optional = (
            (N.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, usage.cached_input_tokens),
            (N.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, usage.cache_write_tokens),
            (N.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, usage.reasoning_tokens),
            (N.LETTA_CONTEXT_TOKENS, usage.context_tokens),
        )
        for name, value in optional:
            if value is not None:
                attributes[name] = value
        record = self.instruments.token_usage.record
        record(usage.prompt_tokens, {**base, N.GEN_AI_TOKEN_TYPE: "input"})
        record(usage.completion_tokens, {**base, N.GEN_AI_TOKEN_TYPE: "output"})
        return attributes


class OtelObserver:
    """The observer :class:`~letta_async.otel.LettaAsyncInstrumentor` installs."""

    def __init__(self, tracer: trace.Tracer, instruments: Instruments) -> None:
        self.tracer = tracer
        self.instruments = instruments

    def call(self, method: str, template: str | None, url: yarl.URL) -> ApiCall | None:
        """A span for one API call, unless instrumentation is suppressed in this context."""
        if not is_instrumentation_enabled():
            return None
        return ApiCall(self.tracer, self.instruments, method, template, url)

    def stream(self, stream: MessageStream, origin: StreamOrigin | None) -> StreamCall | None:
        """A span for a stream's whole life, unless instrumentation is suppressed."""
        if not is_instrumentation_enabled():
            return None
        route = origin.route if origin is not None else ""
        url = stream._transport.url(route)
        return StreamCall(self.tracer, self.instruments, url, origin, stream._background)
