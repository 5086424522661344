"""Client settings that more than one module reads: timeouts, retry policy, pool and limits.

Kept apart from the client so the transport and the stream state machine can take them
without importing the client (data flows one way: client -> transport -> stream).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import yarl

__all__ = ["DEFAULT_BASE_URL", "Limits", "RetryPolicy", "Timeout", "resolve_base_url"]

DEFAULT_BASE_URL = "http://localhost:8283"


@dataclass(frozen=True)
class Timeout:
    """Deadlines in seconds; ``None`` switches one off.

    Streams are different from requests: a healthy Letta stream can sit silent for minutes
    while a tool runs, so streams get an *idle* timeout (reset by every byte, pings included)
    and an optional overall deadline instead of the request deadline.
    """

    connect: float | None = 10.0
    """Establishing the TCP (and TLS) connection; time queued for a pool slot is not counted."""
    request: float | None = 300.0
    """A whole non-streaming call: send, wait, read the body. Agent steps can take minutes."""
    stream_idle: float | None = 120.0
    """Longest silence tolerated inside a stream before it counts as broken."""
    stream_total: float | None = None
    """Optional deadline for a whole stream, resumes included."""

    @classmethod
    def coerce(cls, value: float | Timeout | None) -> Timeout:
        """Accept a bare number as the request deadline, the way httpx users expect."""
        if value is None:
            return cls()
        if isinstance(value, Timeout):
            return value
        return cls(request=float(value))


@dataclass(frozen=True)
class RetryPolicy:
    """Which failures are retried, how often, and how long to wait between tries."""

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    retry_statuses: frozenset[int] = field(default_factory=lambda: frozenset({408, 429}))
    """Statuses retried besides every status >= 500."""
    max_retry_after: float = 60.0
    """Cap on a server's Retry-After, so a bad header cannot park a caller for hours."""


@dataclass(frozen=True)
class Limits:
    """Connection pool and size limits.

    The pool is deliberately large by default: an orchestrator that opens a thousand streams
    should not see nine hundred of them queue behind a pool of a hundred connections.
    """

    max_connections: int = 1000
    max_connections_per_host: int = 0
    """0 means no separate per-host cap (Letta deployments are usually one host)."""
    keepalive_timeout: float = 15.0
    dns_cache_ttl: int | None = 300
    max_response_size: int = 64 * 1024 * 1024
    """Largest non-streaming body read into memory."""
    max_event_size: int = 16 * 1024 * 1024
    """Largest single server-sent event (its data) accepted from a stream."""
    max_line_length: int = 16 * 1024 * 1024
    """Longest single line inside a stream."""


def resolve_base_url(base_url: str | None) -> yarl.URL:
    """Argument, else ``LETTA_BASE_URL``, else the local default; only http(s) is accepted."""
    raw = base_url or os.environ.get("LETTA_BASE_URL") or DEFAULT_BASE_URL
    if any(ch.isspace() or ch == "\x00" for ch in raw):
        raise ValueError(f"base_url must not contain whitespace or NUL, got {raw!r}")
    url = yarl.URL(raw.rstrip("/"))
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"base_url must be an absolute http:// or https:// URL, got {raw!r}")
    if url.query_string or url.fragment:
        raise ValueError("base_url must not carry a query string or fragment")
    if url.user or url.password:
        raise ValueError("base_url must not embed credentials; pass api_key instead")
    return url
