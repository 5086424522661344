"""A byte-exact HTTP/1.1 server on bare asyncio protocols, for breaking the wire on purpose.

aiohttp's own server is a good server, which is the problem here: it will not send half a
chunk, a chunked body without its terminating chunk, or a body one byte per interval while
the client waits. This one writes exactly what a handler asks for, when it asks, and can
abort the TCP connection after any byte. It is also cheap per request, which is what lets
the cut matrix try every byte offset of a capture in a few seconds.

A handler gets the parsed :class:`Request` and an :class:`Exchange` to write with::

    async def handler(request: Request, ex: Exchange) -> None:
        ex.head(200, {"Content-Type": "text/event-stream"})
        ex.chunk(b"data: hi\\n\\n")
        await ex.cut()  # FIN mid-body: the client sees a broken chunked body

A handler that returns without :meth:`Exchange.finish` or :meth:`Exchange.cut` gets its
connection closed, so a forgotten ending shows up as a connection error, never a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl as ssl_module
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

__all__ = ["Exchange", "Handler", "RawServer", "Request"]

_MAX_HEAD = 64 * 1024
_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass
class Request:
    """One request as it arrived: the raw target is kept, so quoting can be checked."""

    method: str
    target: str
    headers: dict[str, str]
    """Header names lower-cased; a repeated header keeps its last value."""
    body: bytes
    raw_head: bytes
    connection: int
    """Which TCP connection carried it (counts up from 1), to see keep-alive at work."""

    @property
    def raw_path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def path(self) -> str:
        return unquote(self.raw_path)

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(self.target.split("?", 1)[1])) if "?" in self.target else {}

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Exchange:
    """Writes one response, byte for byte as told."""

    def __init__(self, protocol: _Protocol) -> None:
        self._protocol = protocol
        self._chunked = False
        self.finished = False
        self.cut_done = False
        self.sent = 0
        """Body bytes written so far (chunk framing excluded)."""

    @property
    def transport(self) -> asyncio.Transport:
        transport = self._protocol.transport
        assert transport is not None
        return transport

    def head(
        self,
        status: int = 200,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        *,
        length: int | None = None,
    ) -> None:
        """Status line and headers. Without ``length`` the body is chunked."""
        items = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
        lines += [f"{name}: {value}" for name, value in items]
        if length is None:
            self._chunked = True
            lines.append("Transfer-Encoding: chunked")
        else:
            lines.append(f"Content-Length: {length}")
        self._write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def chunk(self, data: bytes, *, declared: int | None = None) -> None:
        """One chunk; ``declared`` announces a longer chunk than is sent (for cuts)."""
        if not data and declared is None:
            return
        size = len(data) if declared is None else declared
        self._write(f"{size:x}\r\n".encode() + data + (b"\r\n" if declared is None else b""))
        self.sent += len(data)

    def raw(self, data: bytes) -> None:
        """Bytes with no framing at all (for Content-Length bodies and broken framing)."""
        self._write(data)
        self.sent += len(data)

    def finish(self) -> None:
        """End the body properly; the connection stays open for the next request."""
        if self._chunked:
            self._write(b"0\r\n\r\n")
        self.finished = True

    async def drain(self) -> None:
        await self._protocol.drain()

    def send(
        self,
        body: bytes,
        status: int = 200,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """A whole, well-formed response with a Content-Length."""
        self.head(status, {"Content-Type": content_type, **(headers or {})}, length=len(body))
        self.raw(body)
        self.finish()

    def json(
        self, payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> None:
        self.send(json.dumps(payload).encode(), status, headers=headers)

    async def cut(self, *, reset: bool = False) -> None:
        """Close the TCP connection once the bytes already written have left the process.

        A plain close is a FIN, which the client sees as a body that ended too early; the
        request was read in full beforehand, so the kernel has no reason to send a RST
        instead. ``reset=True`` asks for the RST on purpose.
        """
        transport = self.transport
        for _ in range(2000):
            if transport.is_closing() or transport.get_write_buffer_size() == 0:
                break
            await asyncio.sleep(0.001)
        if reset:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                import socket
                import struct

                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        self.cut_done = True

    def _write(self, data: bytes) -> None:
        transport = self._protocol.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)


Handler = Callable[[Request, Exchange], Awaitable[None]]


class _Protocol(asyncio.Protocol):
    def __init__(self, server: RawServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.busy = False
        self.number = 0
        self._writable = asyncio.Event()
        self._writable.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server._connections.add(self)
        self.server.connections += 1
        self.number = self.server.connections

    def connection_lost(self, exc: Exception | None) -> None:
        self.server._connections.discard(self)
        self._writable.set()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    async def drain(self) -> None:
        await self._writable.wait()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._next()

    def _next(self) -> None:
        if self.busy or self.transport is None or self.transport.is_closing():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > _MAX_HEAD:
                self.transport.abort()
            return
        head = bytes(self.buffer[:end])
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        request = Request(method, target, headers, body, head, self.number)
        self.server.requests.append(request)
        self.busy = True
        self.server._spawn(self._serve(request))

    async def _serve(self, request: Request) -> None:
        exchange = Exchange(self)
        try:
            await self.server.handler(request, exchange)
        except Exception as exc:
            # Kept for the test to assert on; the client just sees its connection drop.
            self.server.errors.append(exc)
            exchange.finished = False
        finally:
            self.busy = False
            transport = self.transport
            if not exchange.finished and transport is not None and not transport.is_closing():
                transport.abort()
            elif request.headers.get("connection", "").lower() == "close":
                if transport is not None:
                    transport.close()
            else:
                self._next()


@dataclass
class RawServer:
    """Serves ``handler`` on 127.0.0.1 (or ``host``) until :meth:`close`."""

    handler: Handler
    host: str = "127.0.0.1"
    ssl: ssl_module.SSLContext | None = None
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    errors: list[BaseException] = field(default_factory=list)
    """Exceptions raised by the handler (a test should expect none)."""
    _server: asyncio.Server | None = None
    _connections: set[_Protocol] = field(default_factory=set)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> RawServer:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Protocol(self), self.host, 0, backlog=1024, ssl=self.ssl
        )
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def base_url(self) -> str:
        return f"{'https' if self.ssl else 'http'}://{self.host}:{self.port}"

    def seen(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for protocol in list(self._connections):
            if protocol.transport is not None:
                protocol.transport.abort()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        if server is not None:
            await server.wait_closed()

    async def __aenter__(self) -> RawServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
