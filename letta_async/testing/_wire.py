"""Putting bytes on the wire, and taking them off it on purpose.

:class:`SSEResponse` writes one SSE event per HTTP chunk (as uvicorn does) and applies the
transport part of a :class:`~letta_async.testing.Fault`: cuts, stalls, slow-loris writes and
injected error events. :func:`send_json` does the same for a finished JSON response.

A cut really aborts the TCP connection after the bytes meant to go out have left the process,
so the client sees a dropped connection (an incomplete chunked body), never a clean end.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Mapping

from aiohttp import web

from . import _frames as F
from ._faults import Fault

__all__ = ["SSE_HEADERS", "SSEResponse", "StreamClosed", "abort_connection", "send_json"]

SSE_HEADERS: Mapping[str, str] = {
    "Server": "uvicorn",
    "Content-Type": "text/event-stream; charset=utf-8",
    "Vary": "Origin",
}

_FLUSH_TIMEOUT = 2.0
_FLUSH_POLL = 0.002


class StreamClosed(Exception):
    """The response cannot go on: cut by a fault, ended early by one, or the client left."""


async def abort_connection(request: web.BaseRequest, *, reset: bool = False) -> None:
    """Drop the TCP connection under ``request`` once its pending output has been sent."""
    transport = request.transport
    if transport is None or transport.is_closing():
        return
    for _ in range(int(_FLUSH_TIMEOUT / _FLUSH_POLL)):
        if transport.get_write_buffer_size() == 0:
            break
        await asyncio.sleep(_FLUSH_POLL)
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # SO_LINGER with a zero timeout turns close() into a RST.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def _write(resp: web.StreamResponse, data: bytes, slow_loris: float | None) -> None:
    try:
        if slow_loris is None:
            await resp.write(data)
            return
        for i in range(len(data)):
            await resp.write(data[i : i + 1])
            await asyncio.sleep(slow_loris)
    except ConnectionError as exc:
        raise StreamClosed("client went away") from exc


class SSEResponse:
    """A ``text/event-stream`` response that counts frames and obeys a fault."""

    def __init__(
        self, request: web.Request, fault: Fault | None, *, run_id: str | None = None
    ) -> None:
        self.request = request
        self.run_id = run_id
        self.fault = fault
        self.frames_sent = 0
        self.response = web.StreamResponse(status=200, headers=SSE_HEADERS)
        if fault is not None:
            self.response.headers.update(fault.response_headers())
        self._stalled = False
        self._errored = False

    async def open(self) -> None:
        """Send the status line and headers (chunked, no length), then any header-time cut."""
        try:
            await self.response.prepare(self.request)
        except ConnectionError as exc:
            raise StreamClosed("client went away") from exc
        fault = self.fault
        if fault is not None and (
            fault.cut == "after_headers" or (fault.cut == "after_frames" and fault.frames == 0)
        ):
            await self._cut()

    async def _cut(self) -> None:
        assert self.fault is not None
        await abort_connection(self.request, reset=self.fault.reset)
        raise StreamClosed("connection cut by fault")

    async def send(self, data: bytes, kind: str) -> None:
        """Write one event. ``kind`` is ping/message/stop_reason/usage/done/error/cancelled."""
        fault = self.fault
        slow = None
        if fault is not None:
            slow = fault.slow_loris
            position = self.frames_sent
            if fault.stall > 0 and position == fault.frames and not self._stalled:
                self._stalled = True
                await asyncio.sleep(fault.stall)
            if fault.error_event and position == fault.frames and not self._errored:
                self._errored = True
                await _write(self.response, _injected_error(self.run_id), slow)
                await self.close()
                raise StreamClosed("error event injected by fault")
            if fault.cut == "mid_frame" and position == fault.frames - 1:
                await _write(self.response, data[: max(1, len(data) // 2)], slow)
                await self._cut()
            if fault.cut == "before_done" and kind == "done":
                await self._cut()
        await _write(self.response, data, slow)
        self.frames_sent += 1
        if fault is not None:
            if fault.cut == "after_frames" and self.frames_sent == fault.frames:
                await self._cut()
            if fault.cut == "after_stop_reason" and kind == "stop_reason":
                await self._cut()

    async def close(self) -> None:
        """End the chunked body properly (the terminating zero-length chunk)."""
        try:
            await self.response.write_eof()
        except ConnectionError as exc:
            raise StreamClosed("client went away") from exc


def _injected_error(run_id: str | None) -> bytes:
    return F.encode_error_event(
        F.error_message(
            run_id=run_id,
            error_type="internal_error",
            message="An error occurred during agent execution.",
            detail="Injected fault: error event in the middle of the stream",
        )
    )


async def send_json(request: web.Request, resp: web.Response, fault: Fault) -> web.StreamResponse:
    """Send a JSON (or replaced) response by hand so that a transport fault can act on it."""
    body = resp.body if isinstance(resp.body, bytes) else b""
    out = web.StreamResponse(status=resp.status, reason=resp.reason)
    for key, value in resp.headers.items():
        if key.lower() not in ("content-length", "transfer-encoding"):
            out.headers.add(key, value)
    out.content_length = len(body)
    try:
        await out.prepare(request)
    except ConnectionError:
        return out
    try:
        if fault.cut == "after_headers" or (fault.cut == "after_frames" and fault.frames == 0):
            await abort_connection(request, reset=fault.reset)
            return out
        if fault.stall > 0 and fault.frames == 0:
            await asyncio.sleep(fault.stall)
        if fault.cut == "mid_frame":
            await _write(out, body[: len(body) // 2], fault.slow_loris)
            await abort_connection(request, reset=fault.reset)
            return out
        await _write(out, body, fault.slow_loris)
        if fault.cut in ("after_frames", "after_stop_reason", "before_done"):
            await abort_connection(request, reset=fault.reset)
            return out
        await out.write_eof()
    except (StreamClosed, ConnectionError):
        pass
    return out
