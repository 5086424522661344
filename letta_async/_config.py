"""Client settings that more than one module reads: timeouts, retry policy, pool and limits.

Kept apart from the client so the transport and the stream state machine can take them
without importing the client (data flows one way: client -> transport -> stream).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import yarl

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CONNECTION_LIMITS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "ENVIRONMENTS",
    "Limits",
    "RetryPolicy",
    "Timeout",
    "resolve_base_url",
]

DEFAULT_BASE_URL = "http://localhost:8283"
_MISSING: Any = object()


@dataclass(frozen=True)
class Timeout:
    """Deadlines in seconds; ``None`` switches one off.

    The defaults are the official SDK's: 5 s to connect, 60 s for any single read. Like an
    httpx timeout, a read deadline bounds the silence between two pieces of the answer, not
    the whole call, so a stream that keeps sending (Letta pings while a tool runs) lives on.
    Two overall deadlines can be added: ``request`` for a whole non-streaming call and
    ``stream_total`` for a whole stream, resumes included.
    """

    connect: float | None = 5.0
    """Establishing the TCP (and TLS) connection; time queued for a pool slot is not counted."""
    read: float | None = 60.0
    """Longest wait for the next bytes of a non-streaming answer (the headers included)."""
    request: float | None = None
    """Optional deadline for a whole non-streaming call: send, wait, read the body."""
    stream_idle: float | None = 60.0
    """Longest silence tolerated inside a stream before it counts as broken."""
    stream_total: float | None = None
    """Optional deadline for a whole stream, resumes included."""

    @classmethod
    def coerce(cls, value: Any) -> Timeout:
        """Accept what the official SDK accepts as ``timeout``.

        A number ``t`` means what it means to httpx: every connect and every read may take
        up to ``t`` seconds. An object with httpx-style ``connect``/``read`` attributes is
        read the same way. ``None`` switches every deadline off.
        """
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(connect=None, read=None, request=None, stream_idle=None)
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value)
            return cls(connect=seconds, read=seconds, stream_idle=seconds)
        read = getattr(value, "read", _MISSING)
        connect = getattr(value, "connect", _MISSING)
        if read is not _MISSING and connect is not _MISSING:
            return cls(connect=connect, read=read, stream_idle=read)
        raise TypeError(f"timeout must be a number, None or a Timeout, got {value!r}")


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


DEFAULT_TIMEOUT = Timeout()
"""5 s to connect, 60 s for any one read: the official SDK's defaults."""
DEFAULT_MAX_RETRIES = 2
"""Retries after a failed attempt, as in the official SDK: three attempts in all."""
DEFAULT_CONNECTION_LIMITS = Limits()
"""The pool and size limits a client gets without ``limits=``."""

ENVIRONMENTS: dict[str, str] = {
    "cloud": "https://api.letta.com",
    "local": DEFAULT_BASE_URL,
}
"""The official SDK's named deployments, for ``AsyncLetta(environment=...)``."""


def resolve_base_url(base_url: str | None, environment: str | None = None) -> yarl.URL:
    """Where the client talks to, chosen the way the official SDK chooses it.

    An explicit ``base_url`` wins; then ``environment``; then ``$LETTA_BASE_URL``; then
    Letta Cloud. Only absolute http(s) URLs without credentials, query or fragment are
    accepted. A trailing ``/v1`` is dropped: every route already starts with it, and keeping
    it would send requests to ``/v1/v1/...`` and get a 404 that names nothing useful.
    """
    env_url = os.environ.get("LETTA_BASE_URL")
    if base_url is not None:
        raw = str(base_url)
    elif environment is not None:
        if env_url:
            raise ValueError(
                "Ambiguous URL: both $LETTA_BASE_URL and environment= are set; pass "
                "base_url=None with environment=, or drop one of them"
            )
        if environment not in ENVIRONMENTS:
            raise ValueError(
                f"unknown environment {environment!r}; expected one of {sorted(ENVIRONMENTS)}"
            )
        raw = ENVIRONMENTS[environment]
    else:
        raw = env_url or ENVIRONMENTS["cloud"]
    if any(ch.isspace() or ch == "\x00" for ch in raw):
        raise ValueError(f"base_url must not contain whitespace or NUL, got {raw!r}")
    url = yarl.URL(raw.rstrip("/"))
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"base_url must be an absolute http:// or https:// URL, got {raw!r}")
    if url.query_string or url.fragment:
        raise ValueError("base_url must not carry a query string or fragment")
    if url.user or url.password:
        raise ValueError("base_url must not embed credentials; pass api_key instead")
    if url.path.rstrip("/").endswith("/v1"):
        url = url.with_path(url.path.rstrip("/")[: -len("/v1")])
    return url
