"""The connection pool: aiohttp's connector, with httpx's cap on idle connections added.

httpx keeps at most ``max_keepalive_connections`` idle connections pooled and closes the rest
when they are released; aiohttp's connector only caps all connections together. Programs
written for the official SDK pass such limits (its own default is 100 connections, 20 idle),
so the cap is added here: a connection released while the cap's worth of idle ones are
already pooled is closed instead of pooled.

aiohttp has no public hook for this. The connector's ``_release(key, protocol, *,
should_close=False)`` has had that shape from aiohttp 3.9 through 3.14; should a later
version change it, the cap is not applied and a ``RuntimeWarning`` says so once, rather than
the pool breaking (idle connections then still close after ``keepalive_timeout``).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping
from typing import Any

import aiohttp
from aiohttp.client_proto import ResponseHandler
from aiohttp.client_reqrep import ConnectionKey

from ._config import Limits

__all__ = ["connector"]


def _release_fits() -> bool:
    """Whether this aiohttp's private release step takes the arguments the cap relies on."""
    release = getattr(aiohttp.TCPConnector, "_release", None)
    if release is None:
        return False
    try:
        parameters = inspect.signature(release).parameters
    except (TypeError, ValueError):
        return False
    flag = parameters.get("should_close")
    return (
        list(parameters)[:3] == ["self", "key", "protocol"]
        and flag is not None
        and flag.kind is inspect.Parameter.KEYWORD_ONLY
    )


_CAN_CAP_IDLE = _release_fits()


class _IdleCappedConnector(aiohttp.TCPConnector):
    """A connector that pools at most ``max_idle`` idle connections, as httpx does."""

    def __init__(self, *, max_idle: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._max_idle = max_idle

    def _idle_count(self) -> int:
        pooled: Mapping[Any, Any] = self._conns
        return sum(len(idle) for idle in pooled.values())

    def _release(
        self, key: ConnectionKey, protocol: ResponseHandler, *, should_close: bool = False
    ) -> None:
        if not should_close and self._idle_count() >= self._max_idle:
            should_close = True
        super()._release(key, protocol, should_close=should_close)


def connector(limits: Limits, ssl: Any) -> aiohttp.TCPConnector:
    """The pool for ``limits``: aiohttp's own, or one that caps idle connections too."""
    settings: dict[str, Any] = {
        "limit": limits.max_connections,
        "limit_per_host": limits.max_connections_per_host,
        "keepalive_timeout": limits.keepalive_timeout,
        "ttl_dns_cache": limits.dns_cache_ttl,
        "use_dns_cache": limits.dns_cache_ttl is not None,
        "ssl": ssl,
    }
    idle = limits.max_keepalive_connections
    if idle is None or (limits.max_connections and idle >= limits.max_connections):
        return aiohttp.TCPConnector(**settings)  # the cap could never be reached
    if not _CAN_CAP_IDLE:
        warnings.warn(
            f"Limits(max_keepalive_connections={idle}) is not applied: this aiohttp "
            f"version ({aiohttp.__version__}) changed the connector step it relies on; idle "
            "connections are still closed after keepalive_timeout",
            RuntimeWarning,
            stacklevel=2,
        )
        return aiohttp.TCPConnector(**settings)
    return _IdleCappedConnector(max_idle=idle, **settings)
