"""A loopback aiohttp server that answers with captured bytes, exactly, or breaks on cue.

Tests register one scripted answer per route (or a queue of answers, consumed in order), and
read back every request the client made, to count retries and inspect headers and bodies.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

FIXTURES = Path(__file__).parent / "fixtures"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def plain(value: Any) -> Any:
    """A decoded answer as JSON data with the wire names, leaving out fields that are None.

    Typed results compare with the JSON a test served this way: what the server sent (and
    no field it left out) must come back.
    """
    from letta_async._models import to_plain

    return to_plain(value, mode="json", by_alias=True, exclude_none=True)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    raw_path: str = ""
    raw_query: str = ""
    """The query string as sent (repeated keys and their order kept)."""
    raw_headers: tuple[tuple[bytes, bytes], ...] = ()
    """The header lines as sent: names in their case, in their order, repeats kept."""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class ReplayServer:
    routes: dict[tuple[str, str], deque[Handler]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    sticky: dict[tuple[str, str], Handler] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    base_url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def on(self, method: str, path: str, *handlers: Handler, always: Handler | None = None) -> None:
        """Answer the next requests to ``method path`` with ``handlers``, then ``always``."""
        self.routes[(method, path)].extend(handlers)
        if always is not None:
            self.sticky[(method, path)] = always

    def open_connections(self) -> int:
        """Connections the server holds open right now (pooled idle ones included)."""
        assert self._runner is not None and self._runner.server is not None
        return len(self._runner.server.connections)

    def seen(self, method: str, path: str) -> list[Seen]:
        return [r for r in self.requests if r.method == method and r.path == path]

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(
            Seen(
                request.method,
                request.path,
                dict(request.query),
                dict(request.headers),
                body,
                request.rel_url.raw_path,
                request.rel_url.raw_query_string,
                request.raw_headers,
            )
        )
        key = (request.method, request.path)
        queue = self.routes.get(key)
        if queue:
            return await queue.popleft()(request)
        if key in self.sticky:
            return await self.sticky[key](request)
        return web.json_response({"detail": f"no scripted answer for {key}"}, status=404)


# --- answers -------------------------------------------------------------------------------


def json_answer(
    payload: bytes | str | Any, status: int = 200, headers: dict[str, str] | None = None
) -> Handler:
    """A JSON (or any) body with a status, byte-exact when given bytes."""
    if isinstance(payload, bytes):
        raw = payload
    elif isinstance(payload, str):
        raw = payload.encode()
    else:
        raw = json.dumps(payload).encode()

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=raw, status=status, headers=headers, content_type="application/json"
        )

    return handler


def raw_answer(body: bytes, status: int = 200, content_type: str = "text/html") -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, status=status, content_type=content_type)

    return handler


def sse_answer(
    body: bytes,
    *,
    chunk: int | None = None,
    delay: float = 0.0,
    cut_at: int | None = None,
    stall_at: int | None = None,
    stall: float = 0.0,
) -> Handler:
    """Stream ``body`` as an event stream.

    ``chunk`` splits the writes, ``delay`` sleeps between writes, ``cut_at`` aborts the TCP
    connection after that many bytes (a real drop, not a clean end), ``stall_at`` goes silent
    for ``stall`` seconds after that many bytes.
    """

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
        await response.prepare(request)
        data = body if cut_at is None else body[:cut_at]
        size = chunk or max(len(data), 1)
        sent = 0
        while sent < len(data):
            end = min(sent + size, len(data))
            if stall_at is not None and sent < stall_at <= end:
                if stall_at > sent:
                    await response.write(data[sent:stall_at])
                    sent = stall_at
                await asyncio.sleep(stall)
                continue
            await response.write(data[sent:end])
            sent = end
            if delay:
                await asyncio.sleep(delay)
        if cut_at is not None:
            await asyncio.sleep(0.01)
            transport = request.transport
            assert transport is not None
            transport.abort()
            return response
        await response.write_eof()
        return response

    return handler


def close_after_headers() -> Handler:
    """Send the stream's headers, then drop the connection."""
    return sse_answer(b"", cut_at=0)
