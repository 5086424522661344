"""Client settings that more than one module reads: timeouts, retry policy, pool and limits.

Kept apart from the client so the transport and the stream state machine can take them
without importing the client (data flows one way: client -> transport -> stream).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Protocol

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
    "TimeoutLike",
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
    pool: float | None = None
    """Longest wait for a free connection when the pool is full (``None``: no limit)."""
    write: float | None = None
    """Accepted from httpx-style timeouts; aiohttp has no deadline for writing a request
    alone, so a stalled upload is ended by ``request`` (or ``stream_total``) when set."""

    @classmethod
    def coerce(cls, value: Any) -> Timeout:
        """Accept what the official SDK accepts as ``timeout``.

        A number ``t`` means what it means to httpx: every connect, read and wait for a pool
        slot may take up to ``t`` seconds. An object with httpx-style ``connect``, ``read``,
        ``write`` and ``pool`` attributes (``TimeoutLike``, such as ``httpx.Timeout``)
        is read the same way. ``None`` switches every deadline off.
        """
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(connect=None, read=None, request=None, stream_idle=None)
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value)
            return cls(
                connect=seconds, read=seconds, stream_idle=seconds, pool=seconds, write=seconds
            )
        parts = {name: getattr(value, name, _MISSING) for name in _HTTPX_PARTS}
        if all(part is not _MISSING for part in parts.values()):
            for name, part in parts.items():
                if part is not None and (
                    isinstance(part, bool) or not isinstance(part, int | float) or part < 0
                ):
                    raise TypeError(f"timeout.{name} must be a number of seconds or None")
            read = parts["read"]
            return cls(
                connect=parts["connect"],
                read=read,
                stream_idle=read,
                pool=parts["pool"],
                write=parts["write"],
            )
        raise TypeError(
            "timeout must be a number, None, a Timeout or an object with connect, read, "
            f"write and pool attributes (such as httpx.Timeout), got {value!r}"
        )


_HTTPX_PARTS = ("connect", "read", "write", "pool")


class TimeoutLike(Protocol):
    """An ``httpx.Timeout``-shaped object: the four httpx deadlines, in seconds or ``None``.

    ``AsyncLetta(timeout=httpx.Timeout(60.0, connect=5.0))`` type-checks and is honoured:
    ``connect`` bounds establishing a connection, ``read`` each wait for the answer and each
    silence inside a stream, ``pool`` the wait for a free connection; see
    ``Timeout.write`` for ``write``.
    """

    @property
    def connect(self) -> float | None:
        """Seconds to establish a connection, or None for no limit."""

    @property
    def read(self) -> float | None:
        """Seconds for each wait on the server, or None for no limit."""

    @property
    def write(self) -> float | None:
        """Seconds to send a request; aiohttp has no separate write deadline (see ``Timeout``)."""

    @property
    def pool(self) -> float | None:
        """Seconds to wait for a free pooled connection, or None for no limit."""


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
    keepalive_timeout: float | None = 15.0
    """Seconds an idle pooled connection is kept; ``None`` keeps it until the server closes it."""
    dns_cache_ttl: int | None = 300
    max_response_size: int = 64 * 1024 * 1024
    """Largest non-streaming body read into memory."""
    max_event_size: int = 16 * 1024 * 1024
    """Largest single server-sent event (its data) accepted from a stream."""
    max_line_length: int = 16 * 1024 * 1024
    """Longest single line inside a stream."""
    max_keepalive_connections: int | None = None
    """Most idle connections kept pooled; one released beyond them is closed (httpx's
    ``max_keepalive_connections``). ``None``: idle ones are capped only by ``max_connections``
    and closed after ``keepalive_timeout``."""

    def __post_init__(self) -> None:
        if self.max_keepalive_connections is not None and self.max_keepalive_connections < 0:
            raise ValueError("max_keepalive_connections must not be negative")


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


def resolve_base_url(base_url: object = _MISSING, environment: object = _MISSING) -> yarl.URL:
    """Where the client talks to, chosen exactly as the official SDK chooses it.

    ``base_url`` and ``environment`` are the constructor's arguments, or ``_MISSING`` when
    not passed (``base_url=None`` is *passed*, and matters). In order:

    1. a ``base_url`` that is not ``None`` wins;
    2. else an ``environment``: ``$LETTA_BASE_URL`` set (and not empty) at the same time is
       ambiguous, unless ``base_url=None`` was passed to say "ignore it";
    3. else ``$LETTA_BASE_URL``;
    4. else Letta Cloud.

    Where the official SDK then builds a client on an empty URL (``base_url=""``, or an
    empty ``$LETTA_BASE_URL`` in step 3), whose every request fails, this raises
    ``ValueError`` at once. Only absolute http(s) URLs without credentials, query or fragment
    are accepted. A trailing ``/v1`` is dropped: every route already starts with it, and
    keeping it would send requests to ``/v1/v1/...`` and get a 404 that names nothing useful.
    """
    env_url = os.environ.get("LETTA_BASE_URL")
    if base_url is not _MISSING and base_url is not None:
        raw = str(base_url)
    elif environment is not _MISSING:
        if env_url and base_url is _MISSING:
            raise ValueError(
                "Ambiguous URL; The `LETTA_BASE_URL` env var and the `environment` argument "
                "are given. If you want to use the environment, you must pass base_url=None"
            )
        if not isinstance(environment, str) or environment not in ENVIRONMENTS:
            raise ValueError(f"Unknown environment: {environment}")
        raw = ENVIRONMENTS[environment]
    elif env_url is not None:
        if not env_url:
            raise ValueError(
                "$LETTA_BASE_URL is set but empty; set it to the server's URL, unset it, or "
                "pass base_url= or environment="
            )
        raw = env_url
    else:
        raw = ENVIRONMENTS["cloud"]
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
