"""Plain snapshots of an HTTP request and response, for errors and raw responses.

The official SDK hands out httpx objects as ``error.request`` and ``error.response``. This
client speaks aiohttp, whose response objects are tied to a pooled connection that is
released long before an error reaches the caller, so errors and raw responses carry these
snapshots instead: the same everyday attributes (``status_code``, ``headers``, ``url``,
``text``, ``json()``), safe to keep and to print.

The request snapshot never holds the credential headers: an exception that is logged or
pickled must not carry the API key.
"""

from __future__ import annotations

import json as _json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

__all__ = ["HTTPRequest", "HTTPResponse", "HeaderMap"]

_SECRET_HEADERS = frozenset({"authorization", "x-bare-password", "cookie", "proxy-authorization"})


class HeaderMap(Mapping[str, str]):
    """Read-only headers with case-insensitive lookup (``headers["content-type"]``).

    Repeated headers keep their first value for ``[]``; :meth:`get_all` gives every value.
    """

    __slots__ = ("_index", "_items")

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs: list[tuple[str, str]] = list(items.items() if isinstance(items, Mapping) else items)
        self._items = pairs
        self._index: dict[str, str] = {}
        for key, value in pairs:
            self._index.setdefault(key.lower(), value)

    def __getitem__(self, key: str) -> str:
        return self._index[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._index

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for key, _ in self._items:
            if key.lower() not in seen:
                seen.add(key.lower())
                yield key

    def __len__(self) -> int:
        return len(self._index)

    def get_all(self, key: str) -> list[str]:
        """Every value of a header that may repeat (``Set-Cookie``, ``Vary``)."""
        lowered = key.lower()
        return [value for name, value in self._items if name.lower() == lowered]

    def __repr__(self) -> str:
        return f"HeaderMap({dict(self.items())!r})"


class HTTPRequest:
    """What was sent: method, full URL and headers (credentials left out)."""

    __slots__ = ("headers", "method", "url")

    def __init__(self, method: str, url: str, headers: Mapping[str, str] | None = None) -> None:
        self.method = method
        self.url = url
        self.headers = HeaderMap(
            (k, v) for k, v in (headers or {}).items() if k.lower() not in _SECRET_HEADERS
        )

    def __repr__(self) -> str:
        return f"<HTTPRequest {self.method} {self.url}>"


class HTTPResponse:
    """What came back: status, headers and (for errors and raw reads) the body bytes."""

    __slots__ = ("content", "headers", "reason_phrase", "request", "status_code", "url")

    def __init__(
        self,
        status_code: int,
        *,
        headers: Mapping[str, str] | Any = (),
        content: bytes = b"",
        url: str = "",
        reason_phrase: str = "",
        request: HTTPRequest | None = None,
    ) -> None:
        self.status_code = status_code
        self.headers = headers if isinstance(headers, HeaderMap) else HeaderMap(headers)
        self.content = content
        self.url = url
        self.reason_phrase = reason_phrase
        self.request = request

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes replaced)."""
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return _json.loads(self.content)

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def is_error(self) -> bool:
        return self.status_code >= 400

    def __repr__(self) -> str:
        return f"<HTTPResponse [{self.status_code} {self.reason_phrase}]>".replace(" ]", "]")
