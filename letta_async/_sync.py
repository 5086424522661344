"""What the synchronous client's resources are made of: pages, raw responses, the bridge call.

Every method of a sync resource is generated with the official signature and one line of
body: it hands its arguments to the same method of the async resource, run on the client's
loop thread (:mod:`letta_async._bridge`), and turns what comes back into its sync form. A
paginator becomes its first page (a :class:`SyncArrayPage`, ...), a stream becomes a
:class:`~letta_async.SyncMessageStream` that has sent its request, a raw response an
:class:`APIResponse`. There is no second implementation of any route to drift.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._http import URL, Headers, HTTPRequest, HTTPResponse
from ._pagination import BasePage, PageInfo, _query_key

if TYPE_CHECKING:
    from ._bridge import LoopThread
    from ._response import AsyncAPIResponse
    from ._sync_client import Letta

__all__ = [
    "APIResponse",
    "BaseSyncPage",
    "ResponseContextManager",
    "SyncAPIResource",
    "SyncArrayPage",
    "SyncNextFilesPage",
    "SyncObjectPage",
    "SyncResponseProxy",
    "resolve",
    "to_sync",
]

T = TypeVar("T")
R = TypeVar("R")
SyncPageT = TypeVar("SyncPageT", bound="BaseSyncPage[Any]")


# --- the one conversion ----------------------------------------------------------------------


async def resolve(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call an async-client method on the loop and finish what the sync form does eagerly.

    A paginator is awaited for its first page, a stream is opened (its request sent), an
    awaitable awaited; anything else is returned as it is.
    """
    result = func(*args, **kwargs)
    opened = _OPENED or _opened_types()
    if not isinstance(result, opened):
        if not hasattr(result, "__await__"):
            return result
        result = await result
        if not isinstance(result, opened):
            return result
    if isinstance(result, opened[0]):  # MessageStream
        return await result._open()
    if isinstance(result, opened[1]):  # JsonEventStream
        return await result.__aenter__()
    return await result  # AsyncPaginator: its first page


_OPENED: tuple[type[Any], ...] = ()


def _opened_types() -> tuple[type[Any], ...]:
    """What :func:`resolve` opens or fetches; imported once, on the first call."""
    global _OPENED
    from ._pagination import AsyncPaginator
    from ._stream import MessageStream
    from .resources._json_stream import JsonEventStream

    _OPENED = (MessageStream, JsonEventStream, AsyncPaginator)
    return _OPENED


def to_sync(value: Any, bridge: LoopThread, keep: object = None) -> Any:
    """The sync form of a value the async client returned: pages, streams, raw responses.

    ``keep`` (the client) is referenced by what is made here, so that the loop it runs on
    lives as long as the page or stream does.
    """
    kinds = _KINDS or _sync_kinds()
    if not isinstance(value, kinds):  # a model, a list, None: most calls end here
        return value
    made: Any
    if isinstance(value, BasePage):
        made = _SYNC_PAGES.get(type(value).__name__, SyncArrayPage)(value, bridge)
    elif isinstance(value, kinds[1]):  # MessageStream
        from ._sync_stream import SyncMessageStream

        made = SyncMessageStream(value, bridge)
    elif isinstance(value, kinds[2]):  # JsonEventStream
        from ._sync_stream import SyncJsonEventStream

        made = SyncJsonEventStream(value, bridge)
    else:  # AsyncAPIResponse
        made = APIResponse(value, bridge)
    made._keep = keep
    return made


_KINDS: tuple[type[Any], ...] = ()


def _sync_kinds() -> tuple[type[Any], ...]:
    """What :func:`to_sync` converts; imported once, on the first call."""
    global _KINDS
    from ._response import AsyncAPIResponse
    from ._stream import MessageStream
    from .resources._json_stream import JsonEventStream

    _KINDS = (BasePage, MessageStream, JsonEventStream, AsyncAPIResponse)
    return _KINDS


def call(client: Letta, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``func(*args, **kwargs)`` of the async client, run on the loop, in its sync form."""
    bridge = client._bridge
    return to_sync(bridge.call(resolve, func, *args, **kwargs), bridge, client)


# --- resources ---------------------------------------------------------------------------------


class SyncAPIResource:
    """A namespace of sync methods, each running the same method of an async resource."""

    def __init__(self, client: Letta, target: Any) -> None:
        self._client = client
        self._target = target
        self._bridge = client._bridge

    def _call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return call(self._client, func, *args, **kwargs)

    def _undeprecated(self, name: str) -> Callable[..., Any]:
        """The async method ``name`` without its deprecation warning (the sync method gave
        it at the caller's line)."""
        marked = getattr(type(self._target), name)
        return functools.partial(marked.__wrapped__, self._target)

    @property
    def with_raw_response(self) -> Any:
        """The same methods, each answering with an :class:`APIResponse` (body read).

        ``response = client.agents.with_raw_response.retrieve(agent_id)`` gives the status
        and headers; ``response.parse()`` the ``AgentState``.
        """
        return SyncResponseProxy(self, "raw")

    @property
    def with_streaming_response(self) -> Any:
        """The same methods as ``with`` blocks whose body is read only on demand."""
        return SyncResponseProxy(self, "streaming")


class SyncResponseProxy:
    """Stands in for a sync resource (or client) and wraps each of its methods."""

    __slots__ = ("_mode", "_target")

    def __init__(self, target: Any, mode: str) -> None:
        self._target = target
        self._mode = mode

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if isinstance(value, SyncAPIResource):
            return SyncResponseProxy(value, self._mode)
        if not callable(value) or name.startswith("_"):
            return value
        target = self._target
        if isinstance(target, SyncAPIResource):
            asynchronous, client = target._target, target._client
        else:
            asynchronous, client = target._async, target
        method = getattr(asynchronous, name)
        mode = self._mode

        @functools.wraps(value)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            from ._resource import _as_raw

            def started() -> Any:
                return call(client, _as_raw, lambda: method(*args, **kwargs), mode)

            if mode == "streaming":
                return ResponseContextManager(started)
            return started()

        return wrapped

    def __repr__(self) -> str:
        return f"<{self._mode} responses of {self._target!r}>"


# --- raw responses -----------------------------------------------------------------------------


class APIResponse(Generic[R]):
    """The HTTP answer to one call, with the parsed result one ``parse()`` away."""

    _keep: object = None
    """The client this response came from, kept alive with it."""

    def __init__(self, response: AsyncAPIResponse[Any], bridge: LoopThread) -> None:
        self._response = response
        self._bridge = bridge

    @property
    def http_response(self) -> HTTPResponse:
        """The ``httpx.Response``-shaped answer (status, headers, request)."""
        return self._response.http_response

    @property
    def retries_taken(self) -> int:
        """How many times the request was retried before this answer."""
        return self._response.retries_taken

    @property
    def headers(self) -> Headers:
        """The response headers; names are case-insensitive."""
        return self._response.headers

    @property
    def status_code(self) -> int:
        """The HTTP status code."""
        return self._response.status_code

    @property
    def url(self) -> URL:
        """The URL the request went to."""
        return self._response.url

    @property
    def http_request(self) -> HTTPRequest:
        """The request that was sent."""
        return self._response.http_request

    @property
    def method(self) -> str:
        """The request's HTTP method."""
        return self._response.method

    @property
    def http_version(self) -> str:
        """The HTTP version of the answer."""
        return self._response.http_version

    @property
    def elapsed(self) -> datetime.timedelta:
        """Time from sending the request to reading the answer's headers."""
        return self._response.elapsed

    @property
    def is_closed(self) -> bool:
        """Whether the connection is released."""
        return self._response.is_closed

    def read(self) -> bytes:
        """The whole body (read once, then kept)."""
        body: bytes = self._bridge.call(self._response.read)
        return body

    def text(self) -> str:
        """The whole body as text, decoded as UTF-8."""
        text: str = self._bridge.call(self._response.text)
        return text

    def json(self) -> Any:
        """The whole body parsed as JSON."""
        return self._bridge.call(self._response.json)

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """The body in pieces as they arrive."""
        return self._bridge.iterate(lambda: self._response.iter_bytes(chunk_size))

    def iter_text(self, chunk_size: int | None = None) -> Iterator[str]:
        """The body as text in pieces."""
        return self._bridge.iterate(lambda: self._response.iter_text(chunk_size))

    def iter_lines(self) -> Iterator[str]:
        """The body line by line, each without its line end."""
        return self._bridge.iterate(self._response.iter_lines)

    def parse(self, *, to: type[Any] | None = None) -> R:
        """The call's result, exactly as the method without ``with_raw_response`` returns it."""
        parsed: R = to_sync(
            self._bridge.call(self._response.parse, to=to), self._bridge, self._keep
        )
        return parsed

    def close(self) -> None:
        """Release the connection (only streaming responses hold one)."""
        self._bridge.call(self._response.close)

    def __repr__(self) -> str:
        return f"<APIResponse [{self.status_code}] {self.method} {self.url}>"


class ResponseContextManager(AbstractContextManager["APIResponse[R]"]):
    """``with client.x.with_streaming_response.y(...) as response:``; closes on exit."""

    def __init__(self, start: Callable[[], APIResponse[R]]) -> None:
        self._start = start
        self._response: APIResponse[R] | None = None

    def __enter__(self) -> APIResponse[R]:
        self._response = self._start()
        return self._response

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._response is not None:
            self._response.close()


# --- pages -------------------------------------------------------------------------------------


class BaseSyncPage(Generic[T]):
    """One page of a listing for ``for`` loops: iterating it walks every page after it."""

    _keep: object = None
    """The client this page came from, kept alive with it (its next pages need its loop)."""

    def __init__(self, page: BasePage[T], bridge: LoopThread) -> None:
        self._page = page
        self._bridge = bridge

    def _get_page_items(self) -> list[T]:
        return self._page._get_page_items()

    def next_page_info(self) -> PageInfo | None:
        """The cursor of the next page, or None when this page names none."""
        return self._page.next_page_info()

    def has_next_page(self) -> bool:
        """True when this page has items and names a next page (which may turn out empty)."""
        return self._page.has_next_page()

    def get_next_page(self: SyncPageT) -> SyncPageT:
        """Fetch the page after this one; check :meth:`has_next_page` first."""
        page = type(self)(self._bridge.call(self._page.get_next_page), self._bridge)
        page._keep = self._keep
        return page

    def iter_pages(self: SyncPageT) -> Iterator[SyncPageT]:
        """This page and every page after it, up to the first that names no next page (the
        async page's walk, :meth:`letta_async.pagination.AsyncArrayPage.iter_pages`)."""
        page = self
        asked = {_query_key(self._page._params)}
        while True:
            yield page
            if not page._page._walk_goes_on(asked):
                return
            page = page.get_next_page()

    def __iter__(self) -> Iterator[T]:
        """Every item of this page and the pages after it; outside the ``official`` rule, an
        item an earlier page yielded is not yielded again."""
        if self._page._rule == "official":
            for page in self.iter_pages():
                yield from page._get_page_items()
            return
        earlier: set[tuple[str, object]] = set()
        for page in self.iter_pages():
            fresh = page._page._fresh_items(earlier)
            if fresh is None:
                return
            yield from fresh


class SyncArrayPage(BaseSyncPage[T]):
    """A page that is a bare JSON array (most Letta listings)."""

    @property
    def items(self) -> list[T]:
        """The page's items, in the order the server sent them."""
        return self._page._get_page_items()

    def __repr__(self) -> str:
        return f"SyncArrayPage(items=[...{len(self.items)} items])"


class SyncObjectPage(BaseSyncPage[T]):
    """A page wrapped in an object: ``{"messages": [...]}``."""

    @property
    def messages(self) -> list[T]:
        """The page's items, in the order the server sent them."""
        return self._page._get_page_items()

    def __repr__(self) -> str:
        return f"SyncObjectPage(messages=[...{len(self.messages)} items])"


class SyncNextFilesPage(BaseSyncPage[T]):
    """A page of an agent's files: ``files``, ``next_cursor`` and ``has_more``."""

    @property
    def files(self) -> list[T]:
        """The page's files."""
        return self._page._get_page_items()

    @property
    def next_cursor(self) -> str | None:
        """The server's cursor for the next page."""
        cursor: str | None = getattr(self._page, "next_cursor", None)
        return cursor

    @property
    def has_more(self) -> bool | None:
        """Whether the server says more files follow."""
        more: bool | None = getattr(self._page, "has_more", None)
        return more

    def __repr__(self) -> str:
        return (
            f"SyncNextFilesPage(files=[...{len(self.files)} items], "
            f"next_cursor={self.next_cursor!r}, has_more={self.has_more!r})"
        )


_SYNC_PAGES: dict[str, type[BaseSyncPage[Any]]] = {
    "AsyncArrayPage": SyncArrayPage,
    "AsyncObjectPage": SyncObjectPage,
    "AsyncNextFilesPage": SyncNextFilesPage,
}
