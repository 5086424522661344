"""A loopback HTTP relay that writes down every exchange between a program and the server.

The migration corpus runs its original programs (the official SDK) through it, so every
answer the real server gave them is kept byte for byte and can afterwards be read again by
both SDKs (``test_migration.py``). Bodies pass through chunk by chunk as they arrive, so a
stream reaches the program at the server's pace.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from letta_async.testing import bind_free_port

__all__ = ["Exchange", "RecordingRelay"]

# Headers that belong to one connection, not to the request or the answer.
_HOP_BY_HOP = {
    "host",
    "connection",
    "keep-alive",
    "content-length",
    "transfer-encoding",
    "accept-encoding",
    "content-encoding",
}


@dataclass(frozen=True)
class Exchange:
    """One request and the whole answer the server gave to it."""

    method: str
    target: str
    body: Any
    status: int
    content_type: str
    answer: bytes
    complete: bool
    """False when the program hung up before the answer ended."""


class RecordingRelay:
    """Relay ``url`` to ``target`` in a thread of its own; ``exchanges`` grows as it goes."""

    def __init__(self, target: str) -> None:
        self._target = target.rstrip("/")
        self.exchanges: list[Exchange] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""

    def __enter__(self) -> RecordingRelay:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    def __exit__(self, *exc_info: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    async def _start(self) -> None:
        self._session = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._relay)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        sock = bind_free_port()
        await web.SockSite(self._runner, sock).start()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _relay(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        sent = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        async with self._session.request(
            request.method,
            self._target + request.path_qs,
            data=sent,
            headers=headers,
            allow_redirects=False,
        ) as upstream:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for key, value in upstream.headers.items():
                if key.lower() not in _HOP_BY_HOP:
                    response.headers.add(key, value)
            await response.prepare(request)
            chunks: list[bytes] = []
            complete = False
            try:
                async for chunk in upstream.content.iter_any():
                    chunks.append(chunk)
                    await response.write(chunk)
                complete = True
            finally:
                self.exchanges.append(
                    Exchange(
                        method=request.method,
                        target=request.path_qs,
                        body=_json_or_none(sent, request.content_type),
                        status=upstream.status,
                        content_type=upstream.headers.get("content-type", ""),
                        answer=b"".join(chunks),
                        complete=complete,
                    )
                )
            with contextlib.suppress(ConnectionError):
                await response.write_eof()
            return response


def _json_or_none(sent: bytes, content_type: str) -> Any:
    if not sent or content_type != "application/json":
        return None
    with contextlib.suppress(ValueError):
        return json.loads(sent)
    return None
