"""Snapshots of an HTTP request and response, shaped like httpx's, for errors and raw responses.

The official SDK hands out httpx objects as ``error.request``, ``error.response``,
``raw.http_request`` and ``stream.response``; programs written for it read ``.url.path``,
``.url.host``, ``.headers.get_list(...)``, ``.raise_for_status()`` and the like. This client
speaks aiohttp, whose response objects are tied to a pooled connection that is released long
before an error reaches the caller, so it hands out these snapshots instead: the same
attributes and methods as ``httpx.URL``, ``httpx.QueryParams``,
``httpx.Headers``, ``httpx.Request`` and ``httpx.Response`` (read-only, body
already read), without depending on httpx. They are safe to keep, print and pickle.

The request snapshot never holds the credential headers: an exception that is logged or
pickled must not carry the API key.
"""

from __future__ import annotations

import codecs
import datetime
import json as _json
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import Any, NoReturn
from urllib.parse import parse_qsl, unquote, urlencode

import yarl

__all__ = ["URL", "HTTPRequest", "HTTPResponse", "HeaderMap", "Headers", "QueryParams"]

_SECRET_HEADERS = frozenset({"authorization", "x-bare-password", "cookie", "proxy-authorization"})
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    413: "Content Too Large",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

QueryValue = str | int | float | bool | None


def _query_text(value: object) -> str:
    """A query value as httpx renders it: booleans lower-case, ``None`` empty."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return str(value)


class QueryParams(Mapping[str, str]):
    """An immutable, multi-valued query string, as ``httpx.QueryParams``.

    ``params["k"]`` and ``get`` give a key's first value, ``get_list`` all of them;
    ``str(params)`` is the encoded query string.
    """

    __slots__ = ("_pairs",)

    def __init__(self, params: Any = None) -> None:
        pairs: list[tuple[str, str]] = []
        if params is None:
            pass
        elif isinstance(params, QueryParams):
            pairs = list(params._pairs)
        elif isinstance(params, str | bytes):
            text = params.decode("ascii") if isinstance(params, bytes) else params
            pairs = parse_qsl(text, keep_blank_values=True)
        elif isinstance(params, Mapping):
            for key, value in params.items():
                values = value if isinstance(value, list | tuple) else [value]
                pairs.extend((str(key), _query_text(item)) for item in values)
        else:
            pairs = [(str(key), _query_text(value)) for key, value in params]
        self._pairs: tuple[tuple[str, str], ...] = tuple(pairs)

    def __getitem__(self, key: str) -> str:
        for name, value in self._pairs:
            if name == key:
                return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for name, _ in self._pairs))

    def __len__(self) -> int:
        return len(dict.fromkeys(name for name, _ in self._pairs))

    def __bool__(self) -> bool:
        return bool(self._pairs)

    def get_list(self, key: str) -> list[str]:
        """Every value of ``key``, in order."""
        return [value for name, value in self._pairs if name == key]

    def multi_items(self) -> list[tuple[str, str]]:
        """Every ``(key, value)`` pair, repeated keys included."""
        return list(self._pairs)

    def set(self, key: str, value: QueryValue) -> QueryParams:
        """A copy with ``key`` set to this one value."""
        kept = [(k, v) for k, v in self._pairs if k != key]
        return QueryParams([*kept, (key, _query_text(value))])

    def add(self, key: str, value: QueryValue) -> QueryParams:
        """A copy with one more value for ``key``."""
        return QueryParams([*self._pairs, (key, _query_text(value))])

    def remove(self, key: str) -> QueryParams:
        """A copy without ``key``."""
        return QueryParams([(k, v) for k, v in self._pairs if k != key])

    def merge(self, params: Any = None) -> QueryParams:
        """A copy with the keys of ``params`` replacing these."""
        other = QueryParams(params)
        kept = [(k, v) for k, v in self._pairs if k not in other]
        return QueryParams([*kept, *other._pairs])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QueryParams | str | Mapping | list | tuple):
            return NotImplemented
        return sorted(self._pairs) == sorted(QueryParams(other)._pairs)

    def __hash__(self) -> int:
        return hash(str(self))

    def __str__(self) -> str:
        return urlencode(self._pairs)

    def __repr__(self) -> str:
        return f"QueryParams({str(self)!r})"


class URL:
    """A URL with the attributes of ``httpx.URL``, built on yarl.

    ``path`` is decoded, ``raw_path`` (bytes) is the encoded path plus query; ``port`` is
    ``None`` when it is the scheme's default; a URL compares equal to its string.
    """

    __slots__ = ("_url",)

    def __init__(self, url: URL | str | yarl.URL = "", *, params: Any = None) -> None:
        parsed: yarl.URL
        if isinstance(url, URL):
            parsed = url._url
        elif isinstance(url, yarl.URL):
            parsed = url
        elif isinstance(url, str):
            parsed = yarl.URL(url)
        else:
            raise TypeError(f"URL takes a str or a URL, got {type(url).__name__}")
        if params is not None:
            parsed = parsed.with_query(str(QueryParams(params)) or None)
        self._url: yarl.URL = parsed

    # --- parts ----------------------------------------------------------------------------

    @property
    def scheme(self) -> str:
        """``http`` or ``https``, lower-cased."""
        return self._url.scheme

    @property
    def raw_scheme(self) -> bytes:
        """The scheme as bytes, as httpx gives it."""
        return self.scheme.encode("ascii")

    @property
    def userinfo(self) -> bytes:
        """The ``user:password`` part as bytes (empty when absent)."""
        user = self._url.raw_user or ""
        password = self._url.raw_password
        return (user if password is None else f"{user}:{password}").encode("ascii")

    @property
    def username(self) -> str:
        """The user name of the URL, decoded (empty when absent)."""
        return unquote(self._url.raw_user or "")

    @property
    def password(self) -> str | None:
        """The password of the URL, decoded (empty when absent)."""
        raw = self._url.raw_password
        return None if raw is None else unquote(raw)

    @property
    def host(self) -> str:
        """The host name, lower-cased, without brackets or port."""
        return self._url.host or ""

    @property
    def raw_host(self) -> bytes:
        """The host as bytes, as httpx gives it."""
        return (self._url.raw_host or "").encode("ascii")

    @property
    def port(self) -> int | None:
        """The explicit port, or None when it is the scheme's default (as in httpx)."""
        port = self._url.explicit_port
        if port is not None and port == _DEFAULT_PORTS.get(self.scheme):
            return None
        return port

    @property
    def netloc(self) -> bytes:
        """Host and port as bytes, as they go into a ``Host`` header."""
        host = self._url.raw_host or ""
        if ":" in host:
            host = f"[{host}]"
        port = self.port
        return (host if port is None else f"{host}:{port}").encode("ascii")

    @property
    def path(self) -> str:
        """The path, decoded (``/v1/agents/``)."""
        return unquote(self._url.raw_path or "/")

    @property
    def query(self) -> bytes:
        """The query string as bytes, without the ``?``."""
        return self._url.raw_query_string.encode("ascii")

    @property
    def params(self) -> QueryParams:
        """The query parameters as a :class:`QueryParams`."""
        return QueryParams(self._url.raw_query_string)

    @property
    def raw_path(self) -> bytes:
        """The path and query as bytes, as sent on the request line."""
        query = self._url.raw_query_string
        path = self._url.raw_path or "/"
        return (f"{path}?{query}" if query else path).encode("ascii")

    @property
    def fragment(self) -> str:
        """The part after ``#``, decoded (empty when absent)."""
        return self._url.fragment

    @property
    def is_absolute_url(self) -> bool:
        """True when the URL has a scheme and a host."""
        return bool(self.scheme and self.host)

    @property
    def is_relative_url(self) -> bool:
        """True when the URL lacks a scheme or a host."""
        return not self.is_absolute_url

    # --- derived URLs ---------------------------------------------------------------------

    def copy_with(self, **changes: Any) -> URL:
        """A copy with some parts replaced (``path=``, ``query=``, ``host=``, ``params=``...)."""
        url = self._url
        for name, value in changes.items():
            if name == "scheme":
                url = url.with_scheme(value)
            elif name == "host":
                url = url.with_host(value)
            elif name == "port":
                url = url.with_port(value)
            elif name == "path":
                query = url.raw_query_string
                url = url.with_path(value)
                url = url.with_query(query) if query else url
            elif name == "raw_path":
                text = value.decode("ascii") if isinstance(value, bytes) else value
                path, _, query = text.partition("?")
                url = url.with_path(path, encoded=True).with_query(query or None)
            elif name == "query":
                text = value.decode("ascii") if isinstance(value, bytes) else value
                url = url.with_query(text or None)
            elif name == "params":
                url = url.with_query(str(QueryParams(value)) or None)
            elif name == "fragment":
                url = url.with_fragment(value)
            elif name == "username":
                url = url.with_user(value)
            elif name == "password":
                url = url.with_password(value)
            else:
                raise TypeError(f"{name!r} is an invalid keyword argument for copy_with()")
        return URL(url)

    def copy_set_param(self, key: str, value: QueryValue = None) -> URL:
        """A new URL with ``key`` set to ``value``, replacing earlier values."""
        return self.copy_with(params=self.params.set(key, value))

    def copy_add_param(self, key: str, value: QueryValue = None) -> URL:
        """A new URL with ``key=value`` added after any values it has."""
        return self.copy_with(params=self.params.add(key, value))

    def copy_remove_param(self, key: str) -> URL:
        """A new URL without the parameter ``key``."""
        return self.copy_with(params=self.params.remove(key))

    def copy_merge_params(self, params: Any) -> URL:
        """A new URL with ``params`` merged into its query."""
        return self.copy_with(params=self.params.merge(params))

    def join(self, url: URL | str) -> URL:
        """Resolve ``url`` against this one, as a browser would."""
        return URL(self._url.join(URL(url)._url))

    # --- comparison and text --------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if isinstance(other, URL | str):
            return str(self) == str(URL(other))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(str(self))

    def __str__(self) -> str:
        return str(self._url)

    def __repr__(self) -> str:
        shown = self._url.with_password("[secure]") if self._url.raw_password else self._url
        return f"URL({str(shown)!r})"


class Headers(Mapping[str, str]):
    """Read-only headers with case-insensitive lookup, as ``httpx.Headers``.

    Keys come out lower-cased. A header that repeats reads as its values joined by ``", "``
    (``headers["vary"]``); :meth:`get_list` gives them one by one.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] | None = None) -> None:
        if items is None:
            pairs: list[tuple[str, str]] = []
        elif isinstance(items, Headers):
            pairs = list(items._items)
        elif isinstance(items, Mapping):
            pairs = list(items.items())
        else:
            pairs = list(items)
        self._items: tuple[tuple[str, str], ...] = tuple((str(k), str(v)) for k, v in pairs)

    def __getitem__(self, key: str) -> str:
        values = self.get_list(key)
        if not values:
            raise KeyError(key)
        return ", ".join(values)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        lowered = key.lower()
        return any(name.lower() == lowered for name, _ in self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name.lower() for name, _ in self._items))

    def __len__(self) -> int:
        return len(dict.fromkeys(name.lower() for name, _ in self._items))

    def get_list(self, key: str, split_commas: bool = False) -> list[str]:
        """Every value of a header that may repeat (``Set-Cookie``, ``Vary``)."""
        lowered = key.lower()
        values = [value for name, value in self._items if name.lower() == lowered]
        if not split_commas:
            return values
        return [part.strip() for value in values for part in value.split(",")]

    get_all = get_list

    def multi_items(self) -> list[tuple[str, str]]:
        """Every ``(name, value)`` pair, names lower-cased, repeats kept."""
        return [(name.lower(), value) for name, value in self._items]

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        """The pairs as received, names in their original case, as bytes."""
        return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in self._items]

    @property
    def encoding(self) -> str:
        """The encoding header values are decoded with (httpx's attribute)."""
        return "utf-8"

    def copy(self) -> Headers:
        """An independent copy, so changing it leaves these headers alone."""
        return Headers(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping | list | tuple):
            return sorted(self.multi_items()) == sorted(Headers(other).multi_items())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.multi_items())))

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


HeaderMap = Headers
"""The earlier name of :class:`Headers`."""


class HTTPRequest:
    """What was sent, as ``httpx.Request``: method, URL, headers (credentials left out)
    and the body."""

    __slots__ = ("content", "extensions", "headers", "method", "url")

    def __init__(
        self,
        method: str,
        url: URL | str,
        headers: Mapping[str, str] | None = None,
        *,
        content: bytes = b"",
    ) -> None:
        self.method = method
        self.url = URL(url)
        self.headers = Headers(
            (k, v) for k, v in (headers or {}).items() if k.lower() not in _SECRET_HEADERS
        )
        self.content = content
        self.extensions: dict[str, Any] = {}

    def read(self) -> bytes:
        """The request body as sent (httpx's ``Request.read``)."""
        return self.content

    async def aread(self) -> bytes:
        """The request body as sent; async form of :meth:`read`."""
        return self.content

    def __repr__(self) -> str:
        return f"<Request({self.method!r}, {str(self.url)!r})>"


class HTTPResponse:
    """What came back, as ``httpx.Response``: status, headers and the body bytes.

    The body has been read already (it is empty for a stream's opening answer, whose body
    is the stream itself), so the reading methods never touch the network.
    """

    __slots__ = (
        "_request",
        "content",
        "elapsed",
        "extensions",
        "headers",
        "history",
        "http_version",
        "reason_phrase",
        "status_code",
        "url",
    )

    def __init__(
        self,
        status_code: int,
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        content: bytes = b"",
        url: URL | str | None = None,
        reason_phrase: str = "",
        request: HTTPRequest | None = None,
        http_version: str = "HTTP/1.1",
        elapsed: datetime.timedelta | None = None,
    ) -> None:
        self.status_code = status_code
        self.headers = headers if isinstance(headers, Headers) else Headers(headers)
        self.content = content
        if url is None:
            url = request.url if request is not None else ""
        self.url = URL(url)
        self.reason_phrase = reason_phrase or _REASONS.get(status_code, "")
        self._request = request
        self.http_version = http_version
        self.elapsed = elapsed if elapsed is not None else datetime.timedelta(0)
        self.history: list[HTTPResponse] = []
        self.extensions: dict[str, Any] = {}

    @property
    def request(self) -> HTTPRequest:
        """The request this answers (``RuntimeError`` when there was none, as in httpx)."""
        if self._request is None:
            raise RuntimeError("The request instance has not been set on this response.")
        return self._request

    @request.setter
    def request(self, value: HTTPRequest) -> None:
        self._request = value

    # --- the body -------------------------------------------------------------------------

    @property
    def charset_encoding(self) -> str | None:
        """The ``charset`` of the Content-Type header, if it names one."""
        for part in self.headers.get("content-type", "").split(";")[1:]:
            name, _, value = part.partition("=")
            if name.strip().lower() == "charset":
                return value.strip().strip("'\"") or None
        return None

    @property
    def encoding(self) -> str:
        """The text encoding: the declared charset when Python knows it, else UTF-8."""
        declared = self.charset_encoding
        if declared:
            try:
                codecs.lookup(declared)
            except LookupError:
                return "utf-8"
            return declared
        return "utf-8"

    @property
    def text(self) -> str:
        """The body decoded (undecodable bytes replaced)."""
        return self.content.decode(self.encoding, "replace")

    def json(self, **kwargs: Any) -> Any:
        """The body parsed as JSON (keyword arguments go to ``json.loads``)."""
        return _json.loads(self.content, **kwargs)

    def read(self) -> bytes:
        """The body already read; httpx code calls this before ``.text``."""
        return self.content

    async def aread(self) -> bytes:
        """The body already read; async form of :meth:`read`."""
        return self.content

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """Synchronous form of :meth:`aiter_bytes`, over the body already read."""
        size = chunk_size or len(self.content) or 1
        for start in range(0, len(self.content), size):
            yield self.content[start : start + size]

    def iter_text(self, chunk_size: int | None = None) -> Iterator[str]:
        """Synchronous form of :meth:`aiter_text`, over the body already read."""
        text = self.text
        size = chunk_size or len(text) or 1
        for start in range(0, len(text), size):
            yield text[start : start + size]

    def iter_lines(self) -> Iterator[str]:
        """Synchronous form of :meth:`aiter_lines`, over the body already read."""
        yield from self.text.splitlines()

    async def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """The body in chunks of ``chunk_size`` bytes (all of it when None)."""
        for chunk in self.iter_bytes(chunk_size):
            yield chunk

    async def aiter_text(self, chunk_size: int | None = None) -> AsyncIterator[str]:
        """The body decoded, in chunks, as httpx's ``aiter_text``."""
        for chunk in self.iter_text(chunk_size):
            yield chunk

    async def aiter_lines(self) -> AsyncIterator[str]:
        """The body decoded and split into lines, as httpx's ``aiter_lines``."""
        for line in self.iter_lines():
            yield line

    @property
    def num_bytes_downloaded(self) -> int:
        """How many body bytes were received."""
        return len(self.content)

    @property
    def is_closed(self) -> bool:
        """Always: a snapshot holds no connection."""
        return True

    @property
    def is_stream_consumed(self) -> bool:
        """True once the body has been read, as httpx reports it."""
        return True

    def close(self) -> None:
        """Nothing to release: a snapshot holds no connection."""

    async def aclose(self) -> None:
        """Nothing to release: a snapshot holds no connection."""

    # --- the status -----------------------------------------------------------------------

    @property
    def is_informational(self) -> bool:
        """True for a 1xx status."""
        return 100 <= self.status_code < 200

    @property
    def is_success(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status_code < 300

    @property
    def is_redirect(self) -> bool:
        """True for a 3xx status."""
        return 300 <= self.status_code < 400

    @property
    def is_client_error(self) -> bool:
        """True for a 4xx status."""
        return 400 <= self.status_code < 500

    @property
    def is_server_error(self) -> bool:
        """True for a 5xx status."""
        return 500 <= self.status_code < 600

    @property
    def is_error(self) -> bool:
        """True for a 4xx or 5xx status."""
        return self.status_code >= 400

    @property
    def has_redirect_location(self) -> bool:
        """True for a redirect status that carries a ``Location`` header."""
        return self.status_code in (301, 302, 303, 307, 308) and "location" in self.headers

    def raise_for_status(self) -> HTTPResponse:
        """``self`` for a 2xx answer; otherwise raise the matching ``APIStatusError``."""
        if not self.is_success:
            _raise_status(self)
        return self

    def __repr__(self) -> str:
        return f"<Response [{self.status_code} {self.reason_phrase}]>".replace(" ]", "]")


def _raise_status(response: HTTPResponse) -> NoReturn:
    from ._errors import status_error_class

    text = response.text.strip()
    try:
        body: object = _json.loads(text)
        message = f"Error code: {response.status_code} - {body}"
    except ValueError:
        body = text
        message = text or f"Error code: {response.status_code}"
    raise status_error_class(response.status_code)(message, response=response, body=body)
