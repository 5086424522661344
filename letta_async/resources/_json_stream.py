"""JsonEventStream: a plain event stream of JSON objects, for the routes that are not agent runs.

``POST /v1/chat/completions`` with ``stream=true`` (OpenAI-style chunks) and the MCP OAuth
connect flow answer with server-sent events too, but they are not Letta message streams: no
run, no ``seq_id``, nothing to resume. This class is the small sibling of
:class:`letta_async.MessageStream` for them: the same SSE decoder and limits, one typed decode
per event, ``[DONE]`` as the end, and the connection released as soon as iteration stops.
A failure reported in the stream (``event: error``, or OpenAI's ``data: {"error": ...}``)
raises :class:`letta_async.StreamError`.
"""

from __future__ import annotations

import contextlib
import types
from collections import deque
from types import TracebackType
from typing import Any, Generic, TypeVar

import aiohttp
import msgspec

from .._errors import APIResponseValidationError, StreamError, StreamTruncatedError
from .._funnel import strip_omitted
from .._resource import APIResource
from .._transport import PreparedRequest, Transport, decoder_for, map_aiohttp_errors
from .._types import RequestOptions
from ..sse import SSEDecoder

__all__ = ["EventStreaming", "JsonEventStream"]

T = TypeVar("T")

_DONE = "[DONE]"


class JsonEventStream(Generic[T]):
    """Async iterator of the events of one SSE response, each ``data`` decoded as ``T``.

    Nothing is sent until the first ``async for`` step or ``async with`` entry. The stream ends
    at ``data: [DONE]`` or when the server closes the response; an ``event: error`` frame raises
    :class:`letta_async.StreamError`. Leave early with ``async with`` (or ``await aclose()``)
    so the connection is released at once.
    """

    def __init__(self, transport: Transport, request: PreparedRequest, item: type[T]) -> None:
        self._transport = transport
        self._request = request
        self._decoder = decoder_for(item)
        limits = transport.limits
        self._sse = SSEDecoder(
            max_event_size=limits.max_event_size, max_line_length=limits.max_line_length
        )
        self._queue: deque[T] = deque()
        self._response: aiohttp.ClientResponse | None = None
        self._started = False
        self._finished = False
        self._failure: BaseException | None = None
        self.completed = False
        """True once the server ended the stream with ``[DONE]``."""

    def __aiter__(self) -> JsonEventStream[T]:
        return self

    async def __anext__(self) -> T:
        while not self._queue:
            if self._failure is not None:
                failure, self._failure = self._failure, None
                raise failure
            if self._finished:
                raise StopAsyncIteration
            await self._advance()
        return self._queue.popleft()

    async def __aenter__(self) -> JsonEventStream[T]:
        if not self._started:
            await self._advance()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection; events already received can still be iterated."""
        self._finished = True
        response, self._response = self._response, None
        if response is not None:
            response.close()

    async def until_done(self) -> list[T]:
        """Read to the end and return every event not consumed yet (raises on a failure)."""
        return [item async for item in self]

    def __del__(self) -> None:
        response = self._response
        if response is not None:
            self._response = None
            with contextlib.suppress(Exception):  # interpreter shutdown
                response.close()

    async def _advance(self) -> None:
        if not self._started:
            self._started = True
            try:
                self._response = await self._transport.open_stream(self._request)
            except BaseException:
                self._finished = True
                raise
            return
        response = self._response
        if response is None:
            self._finished = True
            return
        method, url = self._request.method, str(response.url)
        try:
            async with map_aiohttp_errors(method, url):
                chunk = await response.content.readany()
        except BaseException:
            await self.aclose()
            raise
        if not chunk:
            await self.aclose()
            if self._sse.pending:
                raise StreamTruncatedError(
                    "event stream ended inside an event", method=method, url=url
                )
            return
        try:
            self._consume(chunk, method, url)
        except Exception as exc:
            # Events decoded before the failure are handed out first, then it is raised.
            self._failure = exc
            await self.aclose()

    def _consume(self, chunk: bytes, method: str, url: str) -> None:
        for event in self._sse.feed(chunk):
            data = event.data
            if data == _DONE:
                self.completed = True
                self._finished = True
                return
            if event.event == "error":
                raise StreamError(_error_of(data))
            if not data:
                continue
            try:
                self._queue.append(self._decoder.decode(data))
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                error = _in_band_error(data)
                if error is not None:
                    # OpenAI-style routes report a failure as ``data: {"error": {...}}``.
                    raise StreamError(error) from None
                raise APIResponseValidationError(
                    f"{method} {url}: stream event does not match the expected type ({exc})",
                    body=data.encode(),
                    method=method,
                    url=url,
                ) from exc


def _in_band_error(data: str) -> Any:
    """The error object of a ``{"error": {...}}`` event, else None."""
    try:
        payload = msgspec.json.decode(data)
    except msgspec.DecodeError:
        return None
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        return _error_of(data)
    return None


def _error_of(data: str) -> Any:
    """An object with ``error_type``/``message``/``detail`` for :class:`StreamError`."""
    try:
        payload = msgspec.json.decode(data)
    except msgspec.DecodeError:
        payload = {"message": data}
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        payload = payload["error"]
    if not isinstance(payload, dict):
        payload = {"message": str(payload)}
    return types.SimpleNamespace(
        error_type=payload.get("error_type") or payload.get("type"),
        message=payload.get("message"),
        detail=payload.get("detail"),
        run_id=payload.get("run_id"),
    )


class EventStreaming(APIResource):
    """Routes that answer with server-sent JSON events (``client.mcp_servers.connect``)."""

    def _json_events(
        self,
        route: str,
        *,
        body: Any,
        options: RequestOptions,
        method: str,
    ) -> JsonEventStream[dict[str, object]]:
        sent = strip_omitted(body) if isinstance(body, dict) else body
        request = self._funnel.prepare(
            method, route, body=sent or None, options=options, stream=True
        )
        return JsonEventStream(self._transport, request, dict[str, object])
