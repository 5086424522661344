"""``http_client=DefaultAsyncHttpxClient(...)``: the official SDK's httpx settings, on aiohttp.

Programs written for the official SDK configure its HTTP layer by handing it an httpx client.
This client speaks aiohttp, so the stand-ins here take the same keyword arguments and turn
each one into what aiohttp does with it: proxies (given, or from ``$HTTPS_PROXY`` and friends
when ``trust_env``), TLS verification and client certificates, timeouts, pool limits (the
idle cap included, see :mod:`letta_async._pool`), default
headers and query parameters, redirects and event hooks. An argument with no aiohttp
counterpart (a custom transport, mounts, ``auth``, cookies, HTTP/2) is refused when the
stand-in is built, naming it, rather than accepted and then ignored.
"""

from __future__ import annotations

import base64
import os
import ssl
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yarl

from ._config import Limits

__all__ = ["DefaultAioHttpClient", "DefaultAsyncHttpxClient", "EventHooks", "ProxySetting"]

EventHook = Callable[[Any], Awaitable[None] | None]
"""An httpx event hook: called with the request (or the response), awaited if async."""

_GIVEN_NOTHING: Any = object()


@dataclass(frozen=True)
class ProxySetting:
    """Where requests go through: the proxy URL without credentials, and the headers for the
    proxy (its login as ``Proxy-Authorization`` among them)."""

    url: yarl.URL
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EventHooks:
    """httpx's ``event_hooks``: called with each request before it is sent and each response."""

    request: tuple[EventHook, ...] = ()
    response: tuple[EventHook, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.request or self.response)


@dataclass(frozen=True)
class HttpSettings:
    """What an ``http_client`` stand-in asks for, in the terms the transport uses."""

    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, object] = field(default_factory=dict)
    timeout: Any = _GIVEN_NOTHING
    limits: Limits | None = None
    ssl: ssl.SSLContext | bool | None = None
    proxy: ProxySetting | None = None
    trust_env: bool = True
    follow_redirects: bool = True
    max_redirects: int | None = None
    hooks: EventHooks = EventHooks()

    @property
    def timeout_given(self) -> bool:
        """Whether ``timeout=`` was passed (the official SDK then uses it as the default)."""
        return self.timeout is not _GIVEN_NOTHING


class DefaultAioHttpClient:
    """Stands in for the official SDK's httpx client; takes ``httpx.AsyncClient``'s arguments.

    ``AsyncLetta(http_client=DefaultAsyncHttpxClient(proxy=..., timeout=..., limits=...,
    verify=..., cert=..., headers=..., params=..., event_hooks=..., trust_env=...,
    follow_redirects=..., max_redirects=...))`` applies each of them to this client's
    aiohttp session; the README's migration section has the table. ``auth``, ``cookies``,
    ``mounts``, ``transport``, ``base_url``, HTTP/2 and a ``default_encoding`` other than
    UTF-8 have no aiohttp counterpart here and raise ``TypeError`` naming the argument.
    """

    def __init__(
        self,
        *,
        auth: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        cookies: Any = None,
        verify: ssl.SSLContext | str | bool = True,
        cert: str | tuple[str, str] | tuple[str, str, str] | None = None,
        http1: bool = True,
        http2: bool = False,
        proxy: Any = None,
        mounts: Any = None,
        timeout: Any = _GIVEN_NOTHING,
        follow_redirects: bool = True,
        limits: Any = None,
        max_redirects: int = 20,
        event_hooks: Mapping[str, list[EventHook]] | None = None,
        base_url: Any = "",
        transport: Any = None,
        trust_env: bool = True,
        default_encoding: Any = "utf-8",
    ) -> None:
        refused = {
            "transport": (transport is not None, "a custom httpx transport"),
            "mounts": (mounts is not None, "httpx mounts (per-URL transports)"),
            "auth": (auth is not None, "httpx auth (the client sends api_key as a Bearer token)"),
            "cookies": (cookies is not None, "cookies"),
            "http2": (bool(http2), "HTTP/2 (aiohttp speaks HTTP/1.1)"),
            "http1": (not http1, "turning HTTP/1.1 off"),
            "base_url": (bool(str(base_url)), "base_url here (pass it to AsyncLetta)"),
            "default_encoding": (
                default_encoding != "utf-8",
                "a default_encoding (bodies without a charset are read as UTF-8)",
            ),
        }
        for name, (given, what) in refused.items():
            if given:
                raise TypeError(
                    f"{type(self).__name__}({name}=...): {what} cannot be honoured by this "
                    "aiohttp-based client; leave it out"
                )
        if max_redirects < 0:
            raise ValueError("max_redirects must not be negative")
        self._closed = False
        self.settings = HttpSettings(
            headers={str(k): str(v) for k, v in (headers or {}).items()},
            params=dict(params or {}),
            timeout=timeout,
            limits=None if limits is None else _limits(limits),
            ssl=_ssl(verify, cert),
            proxy=None if proxy is None else _proxy(proxy),
            trust_env=bool(trust_env),
            follow_redirects=bool(follow_redirects),
            max_redirects=max_redirects,
            hooks=_hooks(event_hooks),
        )
        """The arguments, as the client applies them."""

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`aclose` has run (the client owns no connections of its own)."""
        return self._closed

    async def aclose(self) -> None:
        """Nothing to release: the pool belongs to the ``AsyncLetta`` client."""
        self._closed = True


class DefaultAsyncHttpxClient(DefaultAioHttpClient):
    """The official SDK's ``DefaultAsyncHttpxClient``: the same as :class:`DefaultAioHttpClient`."""


def _limits(value: Any) -> Limits:
    """An ``httpx.Limits``-shaped object as this client's pool limits."""
    if isinstance(value, Limits):
        return value
    try:
        most = value.max_connections
        idle = value.max_keepalive_connections
        expiry = value.keepalive_expiry
    except AttributeError:
        raise TypeError(
            "limits must be an httpx.Limits-shaped object (max_connections, "
            f"max_keepalive_connections, keepalive_expiry), got {value!r}"
        ) from None
    return Limits(
        max_connections=0 if most is None else int(most),
        keepalive_timeout=None if expiry is None else float(expiry),
        max_keepalive_connections=None if idle is None else int(idle),
    )


def _ssl(verify: Any, cert: Any) -> ssl.SSLContext | bool | None:
    """httpx's ``verify`` and ``cert`` as aiohttp's ``ssl=``; ``None`` leaves the default."""
    if cert is None:
        if verify is True:
            return None
        if verify is False:
            return False
    if isinstance(verify, ssl.SSLContext):
        context = verify
    elif isinstance(verify, str | os.PathLike):
        where = os.fspath(verify)
        if os.path.isdir(where):
            context = ssl.create_default_context(capath=where)
        else:
            context = ssl.create_default_context(cafile=where)
    elif verify is True:
        context = ssl.create_default_context()
    elif verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        raise TypeError(f"verify must be a bool, a CA bundle path or an SSLContext, got {verify!r}")
    if cert is not None:
        if isinstance(cert, str | os.PathLike):
            context.load_cert_chain(os.fspath(cert))
        elif isinstance(cert, tuple) and len(cert) in (2, 3):
            context.load_cert_chain(*cert)
        else:
            raise TypeError("cert must be a path or a (certfile, keyfile[, password]) tuple")
    return context


def _proxy(value: Any) -> ProxySetting:
    """A proxy URL (``str``, URL) or an ``httpx.Proxy``-shaped object as aiohttp's proxy."""
    headers: Mapping[str, str] | None = None
    login: tuple[str, str] | None = None
    if isinstance(value, str | yarl.URL):
        raw = str(value)
    elif hasattr(value, "url"):
        raw = str(value.url)
        auth = getattr(value, "auth", None)
        if auth is not None:
            login = (str(auth[0]), str(auth[1]))
        given = getattr(value, "headers", None)
        headers = {str(k): str(v) for k, v in given.items()} if given else None
    else:
        raw = str(value)  # this package's URL, or anything that prints as one
    return proxy_setting(raw, login, headers)


def proxy_setting(
    raw: str, login: tuple[str, str] | None = None, headers: Mapping[str, str] | None = None
) -> ProxySetting:
    """One proxy URL checked and split into the URL aiohttp dials and its credentials."""
    url = yarl.URL(raw)
    if url.scheme not in ("http", "https") or not url.host:
        raise TypeError(
            f"proxy {url.with_password(None) if url.password else url!s} cannot be used: "
            "aiohttp supports http:// and https:// proxies only"
        )
    if url.user is not None and login is None:
        login = (url.user, url.password or "")
    sent = dict(headers or {})
    if login is not None:
        token = base64.b64encode(f"{login[0]}:{login[1]}".encode()).decode("ascii")
        sent["Proxy-Authorization"] = f"Basic {token}"
    return ProxySetting(url.with_user(None), sent)


def env_proxy(target: yarl.URL) -> ProxySetting | None:
    """The proxy ``$HTTP_PROXY``/``$HTTPS_PROXY``/``$ALL_PROXY`` name for ``target``, as
    httpx picks it with ``trust_env`` (``$NO_PROXY`` respected), or ``None``.

    The client talks to one origin, so this is asked once per client, not per request.
    """
    found = urllib.request.getproxies_environment()
    host = target.host or ""
    bypass = getattr(urllib.request, "proxy_bypass_environment")  # noqa: B009 - not in typeshed
    if found.get("no") and bypass(host, found):
        return None
    raw = found.get(target.scheme) or found.get("all")
    if not raw:
        return None
    if "://" not in raw:
        raw = "http://" + raw
    return proxy_setting(raw)


def _hooks(given: Mapping[str, list[EventHook]] | None) -> EventHooks:
    if not given:
        return EventHooks()
    unknown = set(given) - {"request", "response"}
    if unknown:
        raise TypeError(f"event_hooks takes 'request' and 'response' only, not {sorted(unknown)}")
    return EventHooks(tuple(given.get("request", ())), tuple(given.get("response", ())))
