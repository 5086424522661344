"""Fault injection: make the next matching requests fail the way networks and servers do.

A :class:`Fault` names which requests it applies to (method, path pattern, how many times) and
what goes wrong. Faults wait in the server's :class:`FaultQueue`; each incoming request takes the
first fault that matches it and still has uses left. One fault applies per request.

The transport faults (``cut``, ``stall``, ``slow_loris``) act on the bytes as they are written,
after the server has decided what to send, so the run behind a cut stream carries on exactly as it
would when a real proxy drops a connection. That is the point: a client's resume and retry logic
must cope with the server-side run still being alive.

Frames are counted per response and include pings. For a JSON response the whole body counts as
one frame.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["CutPoint", "Fault", "FaultQueue"]

CutPoint = Literal[
    "before_headers",
    "after_headers",
    "after_frames",
    "mid_frame",
    "after_stop_reason",
    "before_done",
]
"""Where a connection is cut.

``before_headers``
    The connection closes without any response (the client sees a disconnect before a status).
``after_headers``
    Status line and headers go out, then the connection is aborted.
``after_frames``
    ``frames`` complete frames go out, then the connection is aborted.
``mid_frame``
    ``frames - 1`` complete frames and the first half of frame number ``frames`` (1-based) go
    out, then the connection is aborted: the client is left with half a line.
``after_stop_reason``
    The stream is cut right after its ``stop_reason`` event (before usage and ``[DONE]``).
``before_done``
    Everything but the final ``data: [DONE]`` goes out, then the connection is aborted.
"""


@dataclass(eq=False)
class Fault:
    """One misbehaviour, applied to the next ``times`` requests that match.

    Matching: ``method`` (case-insensitive, ``None`` = any) and ``path`` (a regular expression
    searched in the request path, ``None`` = any). ``times=None`` keeps the fault until it is
    removed. ``times`` counts down as requests use the fault; :attr:`hits` counts up.

    Effects, combinable, in the order they happen:

    * ``delay``: seconds to wait before anything is sent (or the handler runs).
    * ``status``: answer with this status instead of running the handler. The body is ``body``
      (``str``/``bytes`` sent as is, anything else JSON-encoded), or ``{"detail": "<reason>"}``.
      ``content_type`` defaults to ``application/json``. ``retry_after`` becomes a
      ``Retry-After`` header and ``retry_after_ms`` a ``retry-after-ms`` header.
    * ``body`` without ``status``: the handler's JSON body is replaced (e.g. HTML or empty) and
      its status kept. Streams have no JSON body to replace, so this does not apply to them.
    * ``headers``: extra response headers.
    * ``cut`` (+ ``frames``): abort the TCP connection at that point (see :data:`CutPoint`).
      ``reset=True`` makes the close a RST instead of a FIN.
    * ``stall``: after ``frames`` frames, send nothing at all (no pings) for this many seconds.
    * ``slow_loris``: write the response one byte at a time, this many seconds apart.
    * ``error_event``: after ``frames`` frames, send ``event: error`` with an ``internal_error``
      payload and end the response (no ``[DONE]``).
    """

    method: str | None = None
    path: str | None = None
    times: int | None = 1
    delay: float = 0.0
    status: int | None = None
    body: Any = None
    content_type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    retry_after: float | str | None = None
    retry_after_ms: int | None = None
    cut: CutPoint | None = None
    frames: int = 0
    reset: bool = False
    stall: float = 0.0
    slow_loris: float | None = None
    error_event: bool = False
    hits: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.times is not None and self.times < 1:
            raise ValueError("times must be >= 1 or None")
        if self.cut == "mid_frame" and self.frames < 1:
            raise ValueError("cut='mid_frame' needs frames >= 1 (1-based frame number)")
        if self.frames < 0:
            raise ValueError("frames must be >= 0")
        self._pattern = re.compile(self.path) if self.path is not None else None

    def matches(self, method: str, path: str) -> bool:
        """Whether a request with this method and path is one this fault targets."""
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self._pattern is None or self._pattern.search(path) is not None

    @property
    def exhausted(self) -> bool:
        """Whether the fault has hit its ``times`` requests (never, when ``times`` is None)."""
        return self.times is not None and self.hits >= self.times

    def response_headers(self) -> dict[str, str]:
        """Headers this fault adds to whatever response goes out."""
        out = dict(self.headers)
        if self.retry_after is not None:
            value = self.retry_after
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            out["Retry-After"] = str(value)
        if self.retry_after_ms is not None:
            out["retry-after-ms"] = str(self.retry_after_ms)
        return out

    @property
    def transport_only(self) -> bool:
        """True when the handler still runs and only the bytes on the wire are disturbed."""
        return self.status is None

    # --- shorthands for the common cases ------------------------------------------------

    @classmethod
    def http_status(
        cls,
        status: int,
        *,
        times: int | None = 1,
        method: str | None = None,
        path: str | None = None,
        retry_after: float | str | None = None,
        retry_after_ms: int | None = None,
        body: Any = None,
    ) -> Fault:
        """Answer ``status`` (with optional retry hints) instead of serving the request."""
        return cls(
            method=method,
            path=path,
            times=times,
            status=status,
            retry_after=retry_after,
            retry_after_ms=retry_after_ms,
            body=body,
        )

    @classmethod
    def html(
        cls,
        status: int = 502,
        *,
        times: int | None = 1,
        method: str | None = None,
        path: str | None = None,
    ) -> Fault:
        """An HTML error page, as a reverse proxy sends when the upstream is down."""
        page = (
            f"<html><head><title>{status} Bad Gateway</title></head><body>"
            f"<center><h1>{status} Bad Gateway</h1></center><hr><center>nginx</center>"
            "</body></html>\n"
        )
        return cls(
            method=method,
            path=path,
            times=times,
            status=status,
            body=page,
            content_type="text/html",
        )

    @classmethod
    def cut_after(
        cls,
        frames: int,
        *,
        times: int | None = 1,
        method: str | None = None,
        path: str | None = None,
        reset: bool = False,
    ) -> Fault:
        """Abort the connection after ``frames`` complete frames."""
        return cls(
            method=method,
            path=path,
            times=times,
            cut="after_frames",
            frames=frames,
            reset=reset,
        )


class FaultQueue:
    """The server's pending faults, in the order they were added.

    Safe to fill from the test's thread or task while the server runs; the server consumes
    faults on its own loop.
    """

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault | None = None, /, **kwargs: Any) -> Fault:
        """Queue ``fault`` (or ``Fault(**kwargs)``) and return it, so a test can read ``hits``."""
        if fault is None:
            fault = Fault(**kwargs)
        elif kwargs:
            raise TypeError("pass either a Fault or keyword arguments, not both")
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        """Take one fault out of the queue; a fault no longer queued is ignored."""
        with self._lock:
            if fault in self._faults:
                self._faults.remove(fault)

    def clear(self) -> None:
        """Drop every queued fault: the next requests are answered normally."""
        with self._lock:
            self._faults.clear()

    @property
    def pending(self) -> list[Fault]:
        """A copy of the faults still waiting for requests."""
        with self._lock:
            return list(self._faults)

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)

    def take(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first fault matching this request, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.hits += 1
                    if fault.exhausted:
                        self._faults.remove(fault)
                    return fault
        return None
