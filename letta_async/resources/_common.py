"""Helpers shared by the resource modules that cover the rest of the API.

Three jobs. :func:`endpoint` records, on each method, which HTTP operation it calls, so a test
can compare the client against the server's OpenAPI document without a hand-kept table.
:func:`json_body` and :func:`query_params` turn keyword arguments into a request body or query
string the same way everywhere (unset arguments are left out, so server defaults apply). And
:class:`ApiResource` adds the calls every resource repeats: one typed request and one cursor
paginator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal, TypeVar, overload

import msgspec

from .._decode import shared_decoder
from .._pagination import AsyncPaginator, CursorRule
from .._transport import PreparedRequest
from ..types import StreamEvent
from ._base import Resource

__all__ = [
    "AgentInclude",
    "ApiResource",
    "KeyedPaginator",
    "NextCursorPaginator",
    "endpoint",
    "endpoints_of",
    "json_body",
    "query_params",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

ENDPOINT_ATTRIBUTE = "__letta_endpoints__"

AgentInclude = Literal[
    "agent.blocks",
    "agent.identities",
    "agent.managed_group",
    "agent.pending_approval",
    "agent.secrets",
    "agent.sources",
    "agent.tags",
    "agent.tools",
]
"""Relationships an agent listing can be asked to fill in (``include=[...]``)."""


def endpoint(method: str, route: str) -> Callable[[F], F]:
    """Mark a resource method as the client's way to call ``method route``.

    ``route`` is the path template exactly as the OpenAPI document spells it
    (``/v1/blocks/{block_id}``). Stack the decorator when one method can call two operations.
    The function itself is returned unchanged, so signatures and types stay intact.
    """

    def mark(fn: F) -> F:
        marks = (*getattr(fn, ENDPOINT_ATTRIBUTE, ()), (method.upper(), route))
        setattr(fn, ENDPOINT_ATTRIBUTE, marks)
        return fn

    return mark


def endpoints_of(fn: Any) -> tuple[tuple[str, str], ...]:
    """The operations :func:`endpoint` recorded on ``fn`` (empty when none)."""
    marks: tuple[tuple[str, str], ...] = getattr(fn, ENDPOINT_ATTRIBUTE, ())
    return marks


def _plain(value: Any) -> Any:
    """Sequences become lists (msgspec and the query encoder both want lists)."""
    if isinstance(value, str | bytes | Mapping | msgspec.Struct):
        return value
    if isinstance(value, Sequence):
        return list(value)
    return value


def json_body(**fields: Any) -> dict[str, Any]:
    """A JSON body from keyword arguments: ``None`` means "not set" and is left out."""
    return {key: _plain(value) for key, value in fields.items() if value is not None}


def _query_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence):
        return [_query_value(v) for v in value]
    return value


def query_params(**params: Any) -> dict[str, Any]:
    """Query parameters from keyword arguments: unset ones left out, dates in ISO 8601."""
    return {key: _query_value(value) for key, value in params.items() if value is not None}


class KeyedPaginator(AsyncPaginator[T]):
    """A cursor paginator whose cursor is not the item's ``id``.

    ``GET /v1/tags/`` returns bare strings, and the next page starts ``after`` the last tag
    itself; ``cursor`` says how to read the cursor from an item.
    """

    def __init__(
        self,
        fetch: Callable[[dict[str, Any]], Awaitable[list[T]]],
        params: dict[str, Any],
        *,
        cursor: Callable[[T], str | None],
        default_order: Literal["asc", "desc"] = "desc",
    ) -> None:
        super().__init__(fetch, params, default_order=default_order)
        self._cursor = cursor

    async def pages(self) -> AsyncIterator[list[T]]:
        """Every page in turn, following ``after=<cursor of the last item>``."""
        params = dict(self._params)
        limit = params.get("limit")
        while True:
            page = await self._fetch(dict(params))
            if not page:
                return
            cursor = self._cursor(page[-1])
            params.pop("before", None)
            params["after"] = cursor
            yield page
            if cursor is None or (isinstance(limit, int) and len(page) < limit):
                return


class NextCursorPaginator(AsyncPaginator[T]):
    """Pages whose response names the next page (``next_cursor`` and ``has_more``).

    ``fetch_page`` returns ``(items, next_cursor, has_more)``; the cursor goes back to the
    server as the ``cursor_param`` query parameter.
    """

    def __init__(
        self,
        fetch_page: Callable[[dict[str, Any]], Awaitable[tuple[list[T], str | None, bool]]],
        params: dict[str, Any],
        *,
        cursor_param: str = "cursor",
    ) -> None:
        async def first(page_params: dict[str, Any]) -> list[T]:
            items, _, _ = await fetch_page(page_params)
            return items

        super().__init__(first, params)
        self._fetch_page = fetch_page
        self._cursor_param = cursor_param

    async def pages(self) -> AsyncIterator[list[T]]:
        """Every page in turn, following the server's ``next_cursor``."""
        params = dict(self._params)
        while True:
            items, cursor, has_more = await self._fetch_page(dict(params))
            if items:
                yield items
            if not (has_more and cursor and items):
                return
            params[self._cursor_param] = cursor


class ApiResource(Resource):
    """A resource with typed one-shot calls and cursor pagination."""

    @overload
    async def _request(
        self,
        method: str,
        route: str,
        cast_to: type[T],
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> T: ...

    @overload
    async def _request(
        self,
        method: str,
        route: str,
        cast_to: Any,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Any: ...

    async def _request(
        self,
        method: str,
        route: str,
        cast_to: Any,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Any:
        """One call decoded into ``cast_to``; ``extra_body`` keys are merged into the body."""
        return await self._call(
            method, route, cast_to, params=params, body=json, extra_body=extra_body
        )

    def _paginate(
        self,
        route: str,
        item: type[T],
        params: Mapping[str, Any],
        *,
        default_order: Literal["asc", "desc"] = "desc",
    ) -> AsyncPaginator[T]:
        """Pages of ``GET route`` decoded as ``list[item]``, cursor ``after=<last id>``."""
        list_type: Any = list[item]  # type: ignore[valid-type]

        async def fetch(page_params: dict[str, Any]) -> list[T]:
            result: list[T] = await self._call("GET", route, list_type, params=page_params)
            return result

        return AsyncPaginator(fetch, dict(params), default_order=default_order)

    def _single_page(
        self, route: str, item: type[T], params: Mapping[str, Any] | None = None
    ) -> AsyncPaginator[T]:
        """A route that returns everything at once, behind the same paginator interface.

        ``await`` it for the list or ``async for`` over it, like every other listing; it is
        fetched once, since the route has no cursor to follow.
        """
        list_type: Any = list[item]  # type: ignore[valid-type]

        async def fetch(page_params: dict[str, Any]) -> list[T]:
            result: list[T] = await self._call("GET", route, list_type, params=page_params)
            return result

        return KeyedPaginator(fetch, dict(params or {}), cursor=_no_cursor)

    def _message_pages(
        self,
        route: str,
        params: Mapping[str, Any],
        *,
        rule: CursorRule = "ordered",
        default_order: Literal["asc", "desc"] = "desc",
    ) -> AsyncPaginator[StreamEvent]:
        """Pages of Letta messages, read with the tolerant history decoder.

        Unknown message types arrive as :class:`UnknownMessage` instead of failing the page,
        exactly as in agent histories.
        """

        async def fetch(page_params: dict[str, Any]) -> list[StreamEvent]:
            request = PreparedRequest("GET", route, params=page_params)
            raw = await self._transport.request_bytes(request)
            return shared_decoder().decode_list(raw)

        return AsyncPaginator(fetch, dict(params), rule=rule, default_order=default_order)

    async def _messages(self, method: str, route: str) -> list[StreamEvent]:
        """One call whose answer is a JSON array of Letta messages."""
        raw = await self._transport.request_bytes(PreparedRequest(method, route))
        return shared_decoder().decode_list(raw)


def _no_cursor(item: Any) -> None:
    return None
