"""Raw responses: ``client.x.with_raw_response.y(...)`` and ``with_streaming_response``.

The official SDK lets a program see the HTTP answer behind any call (status, headers) and
parse it later; these classes give the same handles. A raw response has its body already
read; a streaming one (from ``with_streaming_response``, used as ``async with``) reads it only
when asked, so a large body can be consumed in pieces, and releases the connection on exit.

Resources never build these: the request funnel does, when a wrapper has asked for raw mode
(see :func:`response_mode`). That keeps raw access uniform across every method.
"""

from __future__ import annotations

import contextvars
import datetime
import json as _json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from ._http import URL, Headers, HTTPRequest, HTTPResponse

if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "AsyncAPIResponse",
    "AsyncResponseContextManager",
    "ResponseMode",
    "response_mode",
]

R = TypeVar("R")

ResponseMode = Literal["parsed", "raw", "streaming"]

response_mode: contextvars.ContextVar[ResponseMode] = contextvars.ContextVar(
    "letta_async_response_mode", default="parsed"
)
"""How the request funnel answers: parsed data (the default), a read raw response, or an
unread one. Set only for the duration of one wrapped call."""


class AsyncAPIResponse(Generic[R]):
    """The HTTP answer to one call, with the parsed result one ``await parse()`` away."""

    def __init__(
        self,
        *,
        http_response: HTTPResponse,
        parser: Callable[[bytes], Awaitable[R] | R],
        retries_taken: int = 0,
        live: aiohttp.ClientResponse | None = None,
        body_is_stream: bool = False,
    ) -> None:
        self.http_response = http_response
        self.retries_taken = retries_taken
        self._parser = parser
        self._live = live
        self._body_is_stream = body_is_stream
        """The body is the stream ``parse()`` hands out: parsing must not read it first."""
        self._content: bytes | None = None if live is not None else http_response.content
        self._parsed: Any = _UNPARSED

    # --- what the answer was ---------------------------------------------------------------

    @property
    def headers(self) -> Headers:
        """The response headers; names are case-insensitive."""
        return self.http_response.headers

    @property
    def status_code(self) -> int:
        """The HTTP status, such as 200."""
        return self.http_response.status_code

    @property
    def url(self) -> URL:
        """The URL that answered (``.path``, ``.host``, ``.params``... as httpx's)."""
        return self.http_response.url

    @property
    def http_request(self) -> HTTPRequest:
        """The request as it was sent: method, URL and headers (credential headers left out)."""
        return self.http_response.request

    @property
    def method(self) -> str:
        """The HTTP method of the request, such as ``"GET"``."""
        return self.http_request.method

    @property
    def http_version(self) -> str:
        """The protocol version of the answer, such as ``"HTTP/1.1"``."""
        return self.http_response.http_version

    @property
    def elapsed(self) -> datetime.timedelta:
        """Time from sending the request to reading the answer's headers."""
        return self.http_response.elapsed

    @property
    def is_closed(self) -> bool:
        """Whether the connection is released: always, except for an unread streaming body."""
        return self._live is None or self._live.closed

    # --- the body ---------------------------------------------------------------------------

    async def read(self) -> bytes:
        """The whole body (read once, then kept)."""
        if self._content is None:
            assert self._live is not None
            from ._transport import map_aiohttp_errors

            async with map_aiohttp_errors(self.method, str(self.url)):
                self._content = await self._live.read()
            self._live.release()
        return self._content

    async def text(self) -> str:
        """The whole body as text, decoded as UTF-8 (invalid bytes replaced)."""
        return (await self.read()).decode("utf-8", "replace")

    async def json(self) -> Any:
        """The whole body parsed as JSON, into plain dicts, lists and scalars."""
        return _json.loads(await self.read())

    async def iter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """The body in pieces as they arrive (streaming responses), or at once."""
        if self._content is not None or self._live is None:
            if self._content:
                yield self._content
            return
        from ._transport import map_aiohttp_errors

        async with map_aiohttp_errors(self.method, str(self.url)):
            if chunk_size:
                async for chunk in self._live.content.iter_chunked(chunk_size):
                    yield chunk
            else:
                async for chunk in self._live.content.iter_any():
                    yield chunk

    async def iter_text(self, chunk_size: int | None = None) -> AsyncIterator[str]:
        """The body as text in pieces, decoded as UTF-8 across chunk boundaries."""
        import codecs

        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        async for chunk in self.iter_bytes(chunk_size):
            text = decoder.decode(chunk)
            if text:
                yield text
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail

    async def iter_lines(self) -> AsyncIterator[str]:
        """The body line by line, each without its line end (LF, CRLF or CR)."""
        pending = ""
        async for text in self.iter_text():
            pending += text
            *lines, pending = pending.splitlines(keepends=True) or [""]
            for line in lines:
                yield line.rstrip("\r\n")
            if pending.endswith(("\n", "\r")):
                yield pending.rstrip("\r\n")
                pending = ""
        if pending:
            yield pending

    async def parse(self, *, to: type[Any] | None = None) -> R:
        """The call's result, exactly as the method without ``with_raw_response`` returns it.

        ``to`` decodes the body into another type instead (any type msgspec can decode).
        """
        if to is not None:
            from ._transport import decoder_for

            return decoder_for(to).decode(await self.read())  # type: ignore[no-any-return]
        if self._parsed is _UNPARSED:
            result = self._parser(b"" if self._body_is_stream else await self.read())
            if hasattr(result, "__await__"):
                result = await result
            self._parsed = result
        return self._parsed  # type: ignore[no-any-return]

    async def close(self) -> None:
        """Release the connection (only streaming responses hold one)."""
        if self._live is not None:
            self._live.close()

    def __repr__(self) -> str:
        return f"<AsyncAPIResponse [{self.status_code}] {self.method} {self.url}>"


class _Unparsed:
    pass


_UNPARSED = _Unparsed()


class AsyncResponseContextManager(AbstractAsyncContextManager["AsyncAPIResponse[R]"]):
    """``async with client.x.with_streaming_response.y(...) as response:``; closes on exit."""

    def __init__(self, start: Awaitable[AsyncAPIResponse[R]]) -> None:
        self._start = start
        self._response: AsyncAPIResponse[R] | None = None

    async def __aenter__(self) -> AsyncAPIResponse[R]:
        self._response = await self._start
        return self._response

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._response is not None:
            await self._response.close()
