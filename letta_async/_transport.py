"""The HTTP edge: one pooled aiohttp session, retries, timeouts, and error mapping.

Everything aiohttp can raise is translated here, once, into the package's exception tree;
resources and the stream state machine above never see an aiohttp exception. Nothing in this
module formats the API key into text: it lives only in the header mapping handed to aiohttp.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import functools
import inspect
import io
import logging
import random
import re
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import aiohttp
import msgspec
import yarl
from multidict import CIMultiDict

from ._config import Limits, RetryPolicy, Timeout
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    RefusedRedirectError,
    ResponseTooLargeError,
    status_error_class,
    status_error_message,
)
from ._hooks import Hooks
from ._http import HTTPRequest, HTTPResponse
from ._http_client import EventHook, EventHooks, ProxySetting, env_proxy
from ._lazy import LazyModule
from ._observe import CallTrace
from ._pool import connector as pool_connector
from ._retry import Locator, RequestKind, Verdict, annotate, decide, kind_of, verdict
from ._version import __version__

if TYPE_CHECKING:
    import anyio
else:  # anyio costs start-up time and is needed only to wait (retries, resumes, closing)
    anyio = LazyModule("anyio")

__all__ = ["PreparedRequest", "Transport", "map_aiohttp_errors"]

logger = logging.getLogger("letta_async")

T = TypeVar("T")

CLIENT_HEADER = f"letta-async/{__version__}"
"""Sent as ``X-Letta-Client`` on every request, so a server's logs can tell this client.

No User-Agent is sent by default: Letta 0.16 shapes several answers (streams at all, what
an agent read includes, what an attach returns) by whether the caller counts as a v1 SDK,
and a request without a User-Agent counts as one, which gives exactly the answers the
official SDK gets. ``default_headers={"User-Agent": ...}`` still sets one."""
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 5
_MAX_ERROR_BODY = 1024 * 1024
_SKIP_USER_AGENT = ("User-Agent",)
_PLAIN = re.compile(r"[A-Za-z0-9_.~-]+").fullmatch
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_json_encoder = msgspec.json.Encoder()
# aiohttp's own timeout for establishing a connection (3.10+); older versions cannot tell.
_CONNECT_TIMEOUT: Any = getattr(aiohttp, "ConnectionTimeoutError", ())
_json_any = msgspec.json.Decoder()
_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


def decoder_for(cast_to: Any) -> msgspec.json.Decoder[Any]:
    """One reusable decoder per target type: building them is the expensive part."""
    decoder = _decoders.get(cast_to)
    if decoder is None:
        decoder = _decoders[cast_to] = msgspec.json.Decoder(cast_to)
    return decoder


def encode_json(value: Any) -> bytes:
    """Request bodies: dicts, lists and msgspec structs alike, in one C call."""
    return _json_encoder.encode(value)


def check_header_value(name: str, value: str) -> str:
    """Refuse a header that could split or forge others; return the value.

    CR/LF/NUL in a value would end the header early. A name must be an RFC 9110 token: a
    line break in it would do the same, and a colon or a space would make part of the name
    read as a value (``{"X-A: b": "c"}`` goes out as header ``X-A`` with value ``b: c``).
    """
    if not _TOKEN.fullmatch(name):
        raise ValueError(f"header name {name!r} is not a valid HTTP token")
    if any(ch in value for ch in "\r\n\x00"):
        raise ValueError(f"header {name!r} contains a line break or NUL")
    return value


@dataclass(slots=True)
class PreparedRequest:
    """One HTTP call as the resources describe it, before any network I/O.

    Slotted: one is built per call, and a slotted instance is built and read faster.
    """

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    stream: bool = False
    omit_user_agent: bool = False
    """Send no User-Agent at all (see the SDK-gate note in the client docs)."""
    drop_headers: frozenset[str] = frozenset()
    """Lower-cased names of client headers this call leaves out (``extra_headers`` omits)."""
    timeout: Timeout | None = None
    """This call's deadlines, when they differ from the client's."""
    max_retries: int | None = None
    """This call's retry budget, when it differs from the client's."""
    follow_redirects: bool | None = None
    """This call's choice to follow redirects, when it differs from the client's."""
    kind: RequestKind | None = None
    """What sending this twice would do (see :mod:`._retry`); ``None``: as its method says."""
    locate: Locator | None = None
    """For a message send: asks the server about the run a failed attempt may have started."""
    trace: CallTrace | None = None
    """The trace this request reports its attempts to, when tracing is on (see ``_observe``)."""
    url: yarl.URL | None = None
    """The full URL, when the caller has already joined ``path`` onto the base URL."""

    @property
    def retry_kind(self) -> RequestKind:
        return self.kind or kind_of(self.method)


def _mapped_error(
    exc: BaseException, method: str, url: str, describe: Callable[[], HTTPRequest] | None
) -> BaseException | None:
    """The package's exception for an aiohttp or socket failure; None for anything else."""
    if isinstance(exc, APIError):
        return None
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        error: APIConnectionError = APITimeoutError(
            f"timed out during {method} {url}",
            describe() if describe is not None else None,
            method=method,
            url=url,
        )
        error.connect_failed = isinstance(exc, _CONNECT_TIMEOUT)
        return error
    if isinstance(exc, aiohttp.ClientPayloadError):
        return APIConnectionError(
            f"response body broken off during {method} {url}: {exc.__class__.__name__}",
            describe() if describe is not None else None,
            method=method,
            url=url,
        )
    if isinstance(exc, aiohttp.ClientError | OSError):
        error = APIConnectionError(
            f"connection failed during {method} {url}: {exc.__class__.__name__}: {exc}",
            describe() if describe is not None else None,
            method=method,
            url=url,
        )
        # Refused, unresolvable, TLS handshake failed: no request left this machine.
        error.connect_failed = isinstance(exc, aiohttp.ClientConnectorError)
        return error
    return None


@asynccontextmanager
async def map_aiohttp_errors(
    method: str, url: str, describe: Callable[[], HTTPRequest] | None = None
) -> AsyncIterator[None]:
    """Translate transport failures into :class:`APIConnectionError` and friends.

    Their ``message`` is the official SDK's (``"Connection error."``, ``"Request timed
    out."``), the aiohttp exception is chained as the cause, and the precise reason goes into
    ``detail``. ``describe``, when given, builds ``error.request`` (headers and body as sent).
    The request path does the same with a bare ``try``/``except`` and :func:`_mapped_error`,
    which costs nothing until something fails.
    """
    try:
        yield
    except Exception as exc:
        error = _mapped_error(exc, method, url, describe)
        if error is None:
            raise
        raise error from exc


def _pool_wait(timeout: Timeout) -> float | None:
    """aiohttp's ``connect`` deadline: a free pool slot (``pool``) plus connecting."""
    if timeout.pool is None:
        return None
    return timeout.pool + (timeout.connect or 0.0)


def _clean_params(params: Mapping[str, Any] | None) -> list[tuple[str, str]] | None:
    """Drop ``None`` values, expand lists to repeated keys, render bools as the server wants."""
    if not params:
        return None
    out: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None:
            continue
        kind = type(value)
        if kind is str or kind is int:  # cursors, ids, limits: nearly every value
            out.append((key, value if kind is str else str(value)))
            continue
        values: Iterable[Any] = value if isinstance(value, list | tuple) else (value,)
        for item in values:
            if isinstance(item, bool):
                out.append((key, "true" if item else "false"))
            elif isinstance(item, date):  # datetimes too: ISO 8601, as the official SDK sends
                out.append((key, item.isoformat()))
            else:
                out.append((key, str(item)))
    return out


def _plain_query(params: list[tuple[str, str]]) -> str | None:
    """The query string aiohttp would make of ``params``, when it would quote nothing in it.

    Every character of every pair is one that quoting leaves alone (as with cursors, limits
    and orders); None when one is not, and aiohttp's general quoting is needed.
    """
    parts = []
    for key, value in params:
        if not (_PLAIN(key) and _PLAIN(value)):
            return None
        parts.append(f"{key}={value}")
    return "&".join(parts)


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(float(millis) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


class _NoAgentRequest(aiohttp.ClientRequest):
    """aiohttp's request, without the User-Agent it adds when the caller sets none.

    The session's ``skip_auto_headers=("User-Agent",)`` says the same, but costs every
    request a sorted copy of the names to skip and a merged copy of its headers to look
    them up in; removing the one header aiohttp added is cheaper. Whatever else aiohttp adds
    on its own, it still adds, whatever its version.
    """

    def update_auto_headers(self, skip_auto_headers: Any) -> None:
        chosen = "User-Agent" in self.headers
        super().update_auto_headers(skip_auto_headers)
        if not chosen:
            self.headers.popall("User-Agent", None)


class Transport:
    """Owns the aiohttp session and turns :class:`PreparedRequest` into checked responses."""

    def __init__(
        self,
        *,
        base_url: yarl.URL,
        headers: Mapping[str, str],
        timeout: Timeout,
        retry: RetryPolicy,
        limits: Limits,
        session: aiohttp.ClientSession | None,
        ssl: Any,
        trace_configs: list[aiohttp.TraceConfig] | None,
        hooks: Hooks,
        default_params: Mapping[str, Any] | None = None,
        parent: Transport | None = None,
        proxy: ProxySetting | None = None,
        trust_env: bool = True,
        follow_redirects: bool = True,
        max_redirects: int = _MAX_REDIRECTS,
        event_hooks: EventHooks | None = None,
    ) -> None:
        self.base_url = base_url
        self.default_params = dict(default_params or {})
        self._headers = {name: check_header_value(name, v) for name, v in headers.items()}
        self.timeout = timeout
        self.retry = retry
        self.limits = limits
        self._session = session
        self._owns_session = session is None and parent is None
        self._parent = parent if session is None else None
        self._ssl = ssl
        self._trace_configs = trace_configs
        self.hooks = hooks
        # httpx with trust_env reads the proxy variables once, when the client is built; the
        # client talks to one origin, so one lookup serves every request.
        self.proxy = proxy if proxy is not None else env_proxy(base_url) if trust_env else None
        # A plain-http request goes to the proxy itself, so the proxy's headers ride on it;
        # an https one tunnels (CONNECT), and they go on the tunnel's request instead.
        self._tunnel_headers: Mapping[str, str] | None = None
        if self.proxy is not None and self.proxy.headers:
            if base_url.scheme == "https":
                self._tunnel_headers = self.proxy.headers
            else:
                for name, value in self.proxy.headers.items():
                    self._headers[name] = check_header_value(name, value)
        self.follow_redirects = follow_redirects
        self.max_redirects = max_redirects
        self.event_hooks = event_hooks or EventHooks()
        self._closed = False
        self._unclosed: weakref.finalize[Any, Any] | None = None
        self._session_lock: asyncio.Lock | None = None
        # Per-call work done once: the base URL's text, the headers of each kind of request
        # and the aiohttp deadlines of each timeout (see ``url``, ``_request_headers`` and
        # ``_client_timeout``).
        self._base_text = str(base_url)
        self._header_sets: dict[tuple[bool, bool, bool], CIMultiDict[str]] = {}
        self._timeouts: dict[tuple[Timeout, bool], aiohttp.ClientTimeout] = {}
        self._usual_timeout = timeout
        self._usual_deadlines = (
            self._aiohttp_timeout(timeout, False),
            self._aiohttp_timeout(timeout, True),
        )

    # --- session lifetime ------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    def session_or_none(self) -> aiohttp.ClientSession | None:
        """The session if one exists (tests inspect its connector)."""
        if self._session is None and self._parent is not None:
            return self._parent.session_or_none()
        return self._session

    async def session(self) -> aiohttp.ClientSession:
        """Create the shared session lazily, inside the running loop that will use it."""
        if self._closed:
            raise RuntimeError("this AsyncLetta client is closed")
        session = self._session
        if session is not None:
            return session
        if self._parent is not None:
            # A copy (``client.with_options(...)``) borrows the original's pool.
            return await self._parent.session()
        connector = pool_connector(self.limits, self._ssl)
        session = aiohttp.ClientSession(
            connector=connector,
            trace_configs=self._trace_configs,
            # No automatic User-Agent (see CLIENT_HEADER); one the caller sets still goes out.
            request_class=_NoAgentRequest,
            auto_decompress=True,
        )
        self._session = session
        self._unclosed = weakref.finalize(self, _drop_quietly, session, connector)
        return session

    async def aclose(self) -> None:
        """Close the session if this client created it; a caller's session is left alone."""
        if self._closed:
            return
        self._closed = True
        if self._unclosed is not None:
            self._unclosed.detach()  # closed properly: nothing to do when collected
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()

    # --- one attempt ---------------------------------------------------------------------

    def url(self, path: str) -> yarl.URL:
        """Join a resource path (already quoted) onto the base URL."""
        return yarl.URL(self.url_text(path), encoded=True)

    def url_text(self, path: str) -> str:
        """:meth:`url` as text, for a caller that needs no ``yarl.URL`` of it (yet)."""
        if self.base_url is not self._base_url_seen:
            self._base_url_seen = self.base_url
            self._base_text = str(self.base_url)
        return self._base_text + path

    _base_url_seen: yarl.URL | None = None

    def _send_headers(self, request: PreparedRequest) -> CIMultiDict[str]:
        """The headers of one attempt, as aiohttp takes them without converting them again.

        A request that adds or drops no header of its own (nearly all) gets one of a few
        shared, prepared sets; only a traced attempt gets a copy, since a trace may add its
        context to it.
        """
        if request.headers or request.drop_headers:
            return CIMultiDict(self._request_headers(request))
        key = (request.stream, request.body is not None, request.omit_user_agent)
        headers = self._header_sets.get(key)
        if headers is None:
            headers = self._header_sets[key] = CIMultiDict(self._request_headers(request))
        if request.trace is not None:
            return CIMultiDict(headers)
        return headers

    def _request_headers(self, request: PreparedRequest) -> dict[str, str]:
        headers = dict(self._headers)
        headers.setdefault("X-Letta-Client", CLIENT_HEADER)
        if request.stream:
            headers["Accept"] = "text/event-stream"
        else:
            headers.setdefault("Accept", "application/json")
        if request.body is not None:
            headers["Content-Type"] = "application/json"
        if request.omit_user_agent:
            headers.pop("User-Agent", None)
        if request.drop_headers:
            for name in [n for n in headers if n.lower() in request.drop_headers]:
                del headers[name]
        # The client's own headers were checked once, when it was built; only what this
        # request adds still needs a look.
        for name, value in request.headers.items():
            headers[name] = check_header_value(name, value)
        return headers

    def _client_timeout(self, request: PreparedRequest) -> aiohttp.ClientTimeout:
        t = request.timeout or self.timeout
        if t is self._usual_timeout:
            # The client's own deadlines, as nearly every call has them: no hashing of them.
            return self._usual_deadlines[request.stream]
        key = (t, request.stream)
        found = self._timeouts.get(key)
        if found is None:
            found = self._timeouts[key] = self._aiohttp_timeout(t, request.stream)
        return found

    @staticmethod
    def _aiohttp_timeout(t: Timeout, stream: bool) -> aiohttp.ClientTimeout:
        if stream:
            # Idle-read timeout is aiohttp's sock_read: reset by every chunk, pings included.
            return aiohttp.ClientTimeout(
                total=t.stream_total,
                connect=_pool_wait(t),
                sock_connect=t.connect,
                sock_read=t.stream_idle,
            )
        return aiohttp.ClientTimeout(
            total=t.request, connect=_pool_wait(t), sock_connect=t.connect, sock_read=t.read
        )

    async def send_once(self, request: PreparedRequest) -> aiohttp.ClientResponse:
        """One attempt: send, follow same-origin redirects, raise on 4xx/5xx.

        The returned response is 2xx with its body unread; the caller must release or
        close it.
        """
        session = self._session
        if session is None or self._closed:
            session = await self.session()
        method = request.method
        body = request.body
        headers = self._send_headers(request)
        if request.params or self.default_params:
            params = _clean_params(
                {**self.default_params, **request.params}
                if self.default_params and request.params
                else request.params or self.default_params
            )
        else:
            params = None
        url = request.url
        # The URL is made once, with its query string when that needs no quoting.
        text = self.url_text(request.path) if url is None else None
        if params:
            query = _plain_query(params)
            if query is not None:
                whole = str(url) if text is None else text
                if "?" not in whole:
                    text = whole + "?" + query
                    params = None
        if text is not None:
            url = yarl.URL(text, encoded=True)
        assert url is not None
        timeout = self._client_timeout(request)
        skip = _SKIP_USER_AGENT if request.omit_user_agent else None
        trace = request.trace
        if trace is not None:
            trace.attempt(url, params, headers)
        if self.hooks.on_request:
            await self.hooks.emit_request(method, str(url))
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("request %s %s", method, url)
        proxy = self.proxy
        follow = (
            self.follow_redirects
            if request.follow_redirects is None
            else (request.follow_redirects)
        )
        for _ in range(self.max_redirects + 1):
            if self.event_hooks.request:
                describe = functools.partial(self._sent, method, url, params, request)
                await self._run_hooks(
                    self.event_hooks.request, describe(), method, str(url), describe
                )
            try:
                response = await session.request(
                    method,
                    url,
                    params=params,
                    data=_payload(body),
                    headers=headers,
                    timeout=timeout,
                    allow_redirects=False,
                    skip_auto_headers=skip,
                    proxy=proxy.url if proxy is not None else None,
                    proxy_headers=self._tunnel_headers,
                )
            except Exception as exc:
                describe = functools.partial(self._sent, method, url, params, request)
                error = _mapped_error(exc, method, str(url), describe)
                if error is None:
                    raise
                raise error from exc
            if response.status >= 500:
                _retire_connection(response)
            if trace is not None:
                trace.answered(response.status)
            if response.status in _REDIRECT_STATUSES and follow:
                if self.event_hooks.response:
                    try:
                        await self.answered(response, request, started=time.monotonic())
                    except BaseException:
                        response.release()
                        raise
                target = self._redirect_target(response, url)
                response.release()
                if response.status == 303 or (
                    response.status in (301, 302) and method not in ("GET", "HEAD")
                ):
                    method, body = "GET", None
                url, params = target, None
                continue
            if response.status >= 400 or response.status in _REDIRECT_STATUSES:
                # A redirect not followed is an error, as the official SDK reports one.
                raise await self._status_error(response, method, str(url), request)
            return response
        raise RefusedRedirectError(f"too many redirects for {method} {url}", method=method)

    async def _run_hooks(
        self,
        hooks: tuple[EventHook, ...],
        subject: HTTPRequest | HTTPResponse,
        method: str,
        url: str,
        describe: Callable[[], HTTPRequest],
    ) -> None:
        """httpx's event hooks; one that raises fails the call as it fails the official SDK's
        (``APIConnectionError``, the hook's exception chained)."""
        for hook in hooks:
            try:
                result = hook(subject)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                name = getattr(hook, "__qualname__", repr(hook))
                raise APIConnectionError(
                    f"event hook {name} raised {exc.__class__.__name__}: {exc}",
                    describe(),
                    method=method,
                    url=url,
                ) from exc

    async def answered(
        self,
        response: aiohttp.ClientResponse,
        request: PreparedRequest,
        content: bytes = b"",
        *,
        started: float,
        snapshot: HTTPResponse | None = None,
    ) -> None:
        """Show a response to the ``response`` event hooks, with its body once it is read."""
        if not self.event_hooks.response:
            return
        if snapshot is None:
            snapshot = self._snapshot(response, request, content, started=started)
        url = str(response.url)
        await self._run_hooks(
            self.event_hooks.response,
            snapshot,
            response.method,
            url,
            self._describer(request, url, response.method),
        )

    def _redirect_target(self, response: aiohttp.ClientResponse, url: yarl.URL) -> yarl.URL:
        """Only same-origin redirects are followed: the Authorization header must not leak.

        A target with user info is refused too, although its origin matches: aiohttp would
        send those credentials (or refuse them next to our Authorization header with a bare
        ValueError), and they were chosen by the server, not by the caller.
        """
        location = response.headers.get("Location")
        if not location:
            response.release()
            raise RefusedRedirectError(f"redirect {response.status} without Location", url=str(url))
        try:
            target = url.join(yarl.URL(location))
            origin = target.origin()
        except ValueError:
            response.release()
            raise RefusedRedirectError(
                f"redirect {response.status} to an unparsable Location", url=str(url)
            ) from None
        if origin != url.origin():
            response.release()
            raise RefusedRedirectError(
                f"refusing redirect to another origin ({origin})", url=str(url)
            )
        if target.raw_user is not None or target.raw_password is not None:
            response.release()
            raise RefusedRedirectError(
                "refusing redirect to a URL with credentials in it", url=str(url)
            )
        return target

    def _sent(
        self,
        method: str,
        url: yarl.URL,
        params: list[tuple[str, str]] | None,
        request: PreparedRequest,
    ) -> HTTPRequest:
        """The request of a connection error, with the query string aiohttp added to the URL
        (built only when an error needs it)."""
        full = url.extend_query(params) if params else url
        return self.snapshot_request(method, str(full), request)

    def _describer(
        self, request: PreparedRequest, url: str, method: str | None = None
    ) -> Callable[[], HTTPRequest]:
        """Builds the request snapshot only if an error needs it."""
        return functools.partial(self.snapshot_request, method or request.method, url, request)

    def snapshot_request(self, method: str, url: str, request: PreparedRequest) -> HTTPRequest:
        """What was sent, for errors and raw responses (credentials are left out)."""
        content = request.body if method == request.method and request.body is not None else b""
        return HTTPRequest(method, url, self._request_headers(request), content=content)

    async def _status_error(
        self, response: aiohttp.ClientResponse, method: str, url: str, request: PreparedRequest
    ) -> APIStatusError:
        """Read (a bounded amount of) the error body and build the matching exception."""
        raw = b""
        unread = False
        try:
            async with map_aiohttp_errors(method, url, self._describer(request, url, method)):
                raw = await _read_limited(response, _MAX_ERROR_BODY, method, url)
        except APIError:
            unread = True
        finally:
            response.release()
        text = raw.decode("utf-8", "replace")
        # As the official SDK reads an error body: the JSON it holds, else its text stripped
        # ("" when there is none); None when it could not be read at all.
        body: Any = None if unread else text.strip()
        if body:
            with suppress(msgspec.DecodeError):
                body = _json_any.decode(raw)
        answered = str(response.url)  # with the query string, as it was sent
        snapshot = HTTPResponse(
            response.status,
            headers=response.headers.items(),
            content=raw,
            url=answered,
            reason_phrase=response.reason or "",
            request=self.snapshot_request(method, answered, request),
        )
        if self.event_hooks.response:
            await self.answered(response, request, started=0.0, snapshot=snapshot)
        message = status_error_message(
            response.status,
            body,
            content_type=response.headers.get("Content-Type", ""),
            raw=text,
        )
        cls = status_error_class(response.status)
        return cls(message, response=snapshot, body=body, method=method, url=url)

    # --- retries ---------------------------------------------------------------------------

    def verdict(self, exc: APIError) -> Verdict:
        """:func:`._retry.verdict`, with the policy's extra statuses counted as "unsent"."""
        if isinstance(exc, APIStatusError) and exc.status_code in self.retry.retry_statuses:
            return "unsent"
        return verdict(exc)

    def should_retry(self, exc: APIError, kind: RequestKind = "read") -> bool:
        """Whether ``exc`` may be retried without asking the server (see :mod:`._retry`)."""
        return decide(kind, self.verdict(exc), can_ask=False) == "retry"

    def retry_delay(self, attempt: int, exc: APIError | None) -> float:
        """Server's Retry-After when given (capped), else exponential backoff with jitter."""
        if isinstance(exc, APIStatusError):
            hinted = parse_retry_after({k.lower(): v for k, v in exc.headers.items()})
            if hinted is not None:
                return min(hinted, self.retry.max_retry_after)
        delay = min(self.retry.initial_delay * 2.0**attempt, self.retry.max_delay)
        return float(delay * (1.0 - 0.25 * random.random()))

    async def with_retries(
        self,
        attempt_fn: Callable[[], Awaitable[T]],
        *,
        what: str,
        max_retries: int | None = None,
        kind: RequestKind = "read",
        locate: Locator | None = None,
        trace: CallTrace | None = None,
    ) -> T:
        """Run ``attempt_fn`` until it succeeds, fails for good, or retries run out.

        Whether a failure is tried again follows the send-once rule of :mod:`._retry`: a
        request that may already have been acted on is sent again only when that cannot
        duplicate anything, and a message send asks the server (``locate``) first.
        """
        limit = self.retry.max_retries if max_retries is None else max_retries
        attempt = 0
        first_sent = time.monotonic()
        while True:
            try:
                return await attempt_fn()
            except APIError as exc:
                delay = await self._next_try(exc, attempt, limit, kind, locate, first_sent)
                if delay is None:
                    raise
                attempt += 1
                await self._announce_retry(what, attempt, limit, delay, exc, trace)
                await anyio.sleep(delay)

    async def _next_try(
        self,
        exc: APIError,
        attempt: int,
        limit: int,
        kind: RequestKind,
        locate: Locator | None,
        first_sent: float,
    ) -> float | None:
        """The wait before trying again after ``attempt`` failed with ``exc``; None: give up.

        Giving up, ``exc`` has been annotated with what is known about its effect; the caller
        raises it from its own ``except`` block, so that its traceback stays as it was.
        """
        found = self.verdict(exc)
        choice = decide(kind, found, can_ask=locate is not None)
        if choice == "ask":
            assert locate is not None
            facts = await locate(first_sent)
            if facts.exists is not False or attempt >= limit:
                annotate(exc, kind, facts)
                return None
            choice = "retry"
        elif choice == "raise" and found != "final":
            annotate(exc, kind, None)
        if choice != "retry" or attempt >= limit:
            return None
        return self.retry_delay(attempt, exc)

    async def _announce_retry(
        self,
        what: str,
        attempt: int,
        limit: int,
        delay: float,
        exc: APIError,
        trace: CallTrace | None,
    ) -> None:
        """Log, trace and hook the retry about to be waited for (``attempt`` counts from 1)."""
        logger.debug(
            "retrying %s in %.2fs (attempt %d of %d): %s",
            what,
            delay,
            attempt,
            limit,
            exc.__class__.__name__,
        )
        if trace is not None:
            trace.retry(attempt, delay, exc)
        await self.hooks.emit_retry(what, attempt, delay, exc)

    # --- the two shapes of call ------------------------------------------------------------

    async def _retried(
        self,
        request: PreparedRequest,
        attempt: Callable[[], Awaitable[T]],
        max_retries: int | None = None,
    ) -> T:
        """``attempt`` under the retry rule of ``request``'s kind (see :mod:`._retry`)."""
        return await self.with_retries(
            attempt,
            what=f"{request.method} {request.path}",
            max_retries=request.max_retries if max_retries is None else max_retries,
            kind=request.retry_kind,
            locate=request.locate,
            trace=request.trace,
        )

    async def request_bytes(
        self, request: PreparedRequest, *, max_retries: int | None = None
    ) -> bytes:
        """A non-streaming call's body, retried as the policy says, size-limited.

        The same loop as :meth:`with_retries`, written out here because nearly every call
        comes this way: no closure and no two extra coroutines per call, and the retry
        budget, the description and the clock for ``locate`` are worked out only once an
        attempt has failed (or, for the clock, when there is something to ask).
        """
        attempt = 0
        locate = request.locate
        first_sent = time.monotonic() if locate is not None else 0.0
        while True:
            try:
                started = time.monotonic()
                response = await self.send_once(request)
                try:
                    raw = await _read_limited(
                        response, self.limits.max_response_size, request.method, None
                    )
                except Exception as exc:
                    url = str(response.url)
                    describe = self._describer(request, url)
                    error = _mapped_error(exc, request.method, url, describe)
                    if error is None:
                        raise
                    raise error from exc
                finally:
                    response.release()
                if self.event_hooks.response:
                    await self.answered(response, request, raw, started=started)
                return raw
            except APIError as exc:
                limit = request.max_retries if max_retries is None else max_retries
                if limit is None:
                    limit = self.retry.max_retries
                kind = request.retry_kind
                delay = await self._next_try(exc, attempt, limit, kind, locate, first_sent)
                if delay is None:
                    raise
                attempt += 1
                what = f"{request.method} {request.path}"
                await self._announce_retry(what, attempt, limit, delay, exc, request.trace)
                await anyio.sleep(delay)

    def _snapshot(
        self,
        response: aiohttp.ClientResponse,
        request: PreparedRequest,
        content: bytes = b"",
        *,
        started: float,
    ) -> HTTPResponse:
        url = str(response.url)
        version = response.version
        return HTTPResponse(
            response.status,
            headers=response.headers.items(),
            content=content,
            url=url,
            reason_phrase=response.reason or "",
            request=self.snapshot_request(response.method, url, request),
            http_version=f"HTTP/{version.major}.{version.minor}" if version else "HTTP/1.1",
            elapsed=datetime.timedelta(seconds=time.monotonic() - started),
        )

    async def request_raw(self, request: PreparedRequest) -> tuple[bytes, HTTPResponse]:
        """Like :meth:`request_bytes`, also returning the answer's status and headers."""

        async def attempt() -> tuple[bytes, HTTPResponse]:
            started = time.monotonic()
            response = await self.send_once(request)
            url = str(response.url)
            try:
                async with map_aiohttp_errors(request.method, url, self._describer(request, url)):
                    raw = await _read_limited(
                        response, self.limits.max_response_size, request.method, url
                    )
            finally:
                response.release()
            snapshot = self._snapshot(response, request, raw, started=started)
            if self.event_hooks.response:
                await self.answered(response, request, started=started, snapshot=snapshot)
            return raw, snapshot

        return await self._retried(request, attempt)

    async def open_raw(
        self, request: PreparedRequest
    ) -> tuple[aiohttp.ClientResponse, HTTPResponse]:
        """A 2xx answer with its body unread (the caller releases it), retried until then."""

        async def attempt() -> tuple[aiohttp.ClientResponse, HTTPResponse]:
            started = time.monotonic()
            response = await self.send_once(request)
            snapshot = self._snapshot(response, request, started=started)
            if self.event_hooks.response:
                try:
                    await self.answered(response, request, started=started, snapshot=snapshot)
                except BaseException:
                    response.release()
                    raise
            return response, snapshot

        return await self._retried(request, attempt)

    async def request(
        self, request: PreparedRequest, cast_to: Any, *, max_retries: int | None = None
    ) -> Any:
        """A non-streaming call decoded into ``cast_to`` (``None`` ignores the body)."""
        raw = await self.request_bytes(request, max_retries=max_retries)
        if cast_to is None or (cast_to is Any and not raw.strip()):
            return None
        return decode_body(raw, cast_to, request.method, str(self.url(request.path)))

    async def open_stream(
        self, request: PreparedRequest, *, max_retries: int | None = None
    ) -> aiohttp.ClientResponse:
        """Open an event stream, retrying only before its first byte has been read."""

        async def attempt() -> aiohttp.ClientResponse:
            started = time.monotonic()
            response = await self.send_once(request)
            content_type = response.headers.get("Content-Type", "")
            if "text/event-stream" not in content_type:
                url = str(response.url)
                try:
                    describe = self._describer(request, url)
                    async with map_aiohttp_errors(request.method, url, describe):
                        raw = await _read_limited(response, _MAX_ERROR_BODY, request.method, url)
                finally:
                    response.release()
                raise APIResponseValidationError(
                    f"expected an event stream, got {content_type or 'no content type'}",
                    body=raw,
                    method=request.method,
                    url=url,
                )
            if self.event_hooks.response:
                # The body is the stream itself: the hook sees the status and headers.
                try:
                    await self.answered(response, request, started=started)
                except BaseException:
                    response.close()
                    raise
            return response

        return await self._retried(request, attempt, max_retries)


_LARGE_BODY = 256 * 1024


def _payload(body: bytes | None) -> bytes | io.BytesIO | None:
    """A body as aiohttp should get it: large ones as a file-like object.

    Handed raw bytes over 1 MiB, aiohttp warns (ResourceWarning) that writing them might
    block the event loop; a ``BytesIO`` is written in chunks and sized without copying. A
    new one per attempt, since a retry or a redirect reads it from the start again.
    """
    if body is None or len(body) <= _LARGE_BODY:
        return body
    return io.BytesIO(body)


def decode_body(raw: bytes, cast_to: Any, method: str, url: str) -> Any:
    """Decode a 2xx body, turning schema or syntax failures into a typed error."""
    try:
        return decoder_for(cast_to).decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        shown = raw[:200].decode("utf-8", "replace") if raw else "an empty body"
        raise APIResponseValidationError(
            f"{method} {url}: response does not match the expected type ({exc}); got {shown!r}",
            body=raw,
            method=method,
            url=url,
        ) from exc


async def _read_limited(
    response: aiohttp.ClientResponse, limit: int, method: str, url: str | None
) -> bytes:
    """Read a body into memory without ever holding more than ``limit`` bytes of it.

    ``url`` names the request in an error; None: the response's URL, made into text only then.
    """
    declared = response.content_length
    if declared is not None and declared > limit:
        response.close()
        raise ResponseTooLargeError(
            f"response body of {declared} bytes exceeds the {limit}-byte limit",
            method=method,
            url=str(response.url) if url is None else url,
        )
    content = response.content
    first = await content.readany()
    if not first:
        return b""
    if len(first) > limit:
        _too_large(response, limit, method, url)
    chunk = await content.readany()
    if not chunk:  # the whole body in one piece, as small answers come: no copy
        return first
    buffer = bytearray(first)
    while chunk:
        buffer += chunk
        if len(buffer) > limit:
            _too_large(response, limit, method, url)
        chunk = await content.readany()
    return bytes(buffer)


def _retire_connection(response: aiohttp.ClientResponse) -> None:
    """Keep the connection that carried a server failure out of the pool.

    A server that failed may close the connection right behind its answer without saying so
    (uvicorn after an unhandled exception); pooled, it would take the next request, a POST
    perhaps, into a closed socket. Called as soon as the status is known, before anything
    else can take the connection from the pool.
    """
    if response.connection is not None:
        if response.connection.protocol is not None:
            response.connection.protocol.force_close()  # closed, not pooled, on release
        return
    # The whole answer came with its headers and the connection is back in the pool already.
    protocol = getattr(response, "_protocol", None)
    if protocol is not None:
        protocol.close()


def _drop_quietly(session: aiohttp.ClientSession, connector: aiohttp.BaseConnector) -> None:
    """Release the pool of a client that was never closed, without aiohttp's warnings.

    Programs written for the official SDK often build a client and never close it; httpx
    lets that go silently, while aiohttp would print "Unclosed client session" and
    "Unclosed connector" when the client is collected or the program exits. Called when the
    transport is collected, or at exit (``weakref.finalize``); after ``aclose()`` there is
    nothing left to do.
    """
    if session.closed:
        return
    session.detach()
    # The pooled sockets are closed where they stand; the loop that owned them may be gone.
    with suppress(Exception):
        connector._close()


def _too_large(
    response: aiohttp.ClientResponse, limit: int, method: str, url: str | None
) -> NoReturn:
    response.close()
    raise ResponseTooLargeError(
        f"response body exceeds the {limit}-byte limit",
        method=method,
        url=str(response.url) if url is None else url,
    )
