"""A loopback TCP relay in front of the Letta server that a test can cut on demand.

The resume scenarios need a *real* client-side disconnect in the middle of a run, without
reaching into the client: the client talks to this relay as if it were the server, and the
test calls :meth:`CuttingProxy.sever` at the moment it chooses. Every open connection is then
reset (RST, not a polite FIN), exactly what a dropped network path looks like to aiohttp.
New connections still go through, so the client's reconnect reaches the server.
"""

from __future__ import annotations

import asyncio
import contextlib

from letta_async.testing import bind_free_port

__all__ = ["CuttingProxy"]


class CuttingProxy:
    """Relay ``127.0.0.1:<port>`` to ``target``; ``sever()`` resets every open connection."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.connections = 0
        """How many client connections were accepted so far."""
        self.severed = 0
        """How many connections ``sever`` reset."""
        self.coalesce = 0.0
        """Seconds to hold server bytes before passing them on, so that several SSE frames
        reach the client in one read (the real server writes them one at a time)."""
        self.most_frames_per_write = 0
        """The most SSE ``data:`` lines passed to the client in one write (approximate: a
        frame split across writes is not counted)."""

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, sock=bind_free_port())

    async def close(self) -> None:
        """Stop listening and close every open connection; wait for the relay tasks."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.sever(count=False)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def sever(self, *, count: bool = True) -> int:
        """Reset every open connection now; returns how many there were."""
        pairs = list(self._pairs)
        for client_side, server_side in pairs:
            client_side.transport.abort()
            server_side.transport.abort()
        self._pairs.clear()
        if count:
            self.severed += len(pairs)
        return len(pairs)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            self._tasks.discard(task)
            return
        pair = (writer, up_writer)
        self._pairs.add(pair)
        try:
            # Either direction ending (EOF, reset, sever) ends the whole relay: HTTP here
            # never relies on half-closed connections.
            pumps = [
                asyncio.ensure_future(self._pump(reader, up_writer, downstream=False)),
                asyncio.ensure_future(self._pump(up_reader, writer, downstream=True)),
            ]
            _, pending = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            for pump in pending:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            self._pairs.discard(pair)
            for side in pair:
                side.close()
                with contextlib.suppress(Exception):
                    await side.wait_closed()
            self._tasks.discard(task)

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, downstream: bool
    ) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await source.read(65536):
                if downstream and self.coalesce > 0:
                    data += await self._gather_more(source)
                if downstream:
                    frames = data.count(b"\ndata: ") + data.startswith(b"data: ")
                    self.most_frames_per_write = max(self.most_frames_per_write, frames)
                sink.write(data)
                await sink.drain()

    async def _gather_more(self, source: asyncio.StreamReader) -> bytes:
        """Hold the response for ``coalesce`` seconds and take whatever else arrived."""
        await asyncio.sleep(self.coalesce)
        extra = b""
        while True:
            try:
                # A cancelled StreamReader.read loses no data: it takes bytes only when
                # they are there.
                more = await asyncio.wait_for(source.read(65536), 0.005)
            except asyncio.TimeoutError:
                return extra
            if not more:
                return extra
            extra += more
