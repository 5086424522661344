"""One way to page every Letta list endpoint: ``async for item in client.x.list(...)``.

Letta's list routes share ``before``/``after``/``limit``/``order`` cursors, but not one
ordering rule. Most return a page in the requested order, so the next page is
``after=<last id>``. Message history is the trap: with ``order=desc`` the server takes the
newest ``limit`` messages but returns them oldest to newest, so the next page back is
``before=<first id>``, and the page must be reversed to really iterate newest first. A
paginator is told which rule its endpoint follows; callers just iterate.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any, Generic, Literal, TypeVar

__all__ = ["AsyncPaginator", "CursorRule"]

T = TypeVar("T")

CursorRule = Literal["ordered", "message_history"]
"""``ordered``: pages come in the requested order. ``message_history``: desc pages come
oldest-to-newest (see module docstring)."""

FetchPage = Callable[[dict[str, Any]], Awaitable[list[T]]]


def _item_id(item: Any) -> str | None:
    if isinstance(item, str):
        return item  # lists of bare names (tags) page by the name itself
    value = getattr(item, "id", None)
    if value is None and isinstance(item, dict):
        value = item.get("id")
    return value if isinstance(value, str) else None


class AsyncPaginator(Generic[T]):
    """Iterates items across pages, fetching lazily; also awaitable for the first page.

    ``async for item in paginator`` walks every page. ``await paginator`` (or
    ``await paginator.first_page()``) returns just the first page as a list, in the order the
    iteration would yield it.
    """

    def __init__(
        self,
        fetch: FetchPage[T],
        params: dict[str, Any],
        *,
        rule: CursorRule = "ordered",
        default_order: Literal["asc", "desc"] = "desc",
    ) -> None:
        self._fetch = fetch
        self._params = {k: v for k, v in params.items() if v is not None}
        self._rule = rule
        self._order = self._params.get("order", default_order)

    def _present(self, page: list[T]) -> list[T]:
        if self._rule == "message_history" and self._order == "desc":
            page.reverse()
        return page

    async def first_page(self) -> list[T]:
        """Only the first page, as a list."""
        return self._present(await self._fetch(dict(self._params)))

    def __await__(self) -> Generator[Any, None, list[T]]:
        return self.first_page().__await__()

    async def pages(self) -> AsyncIterator[list[T]]:
        """Every page in turn, each as a list in iteration order.

        Items whose id an earlier page already yielded are left out, and a page with nothing
        new ends the walk: some Letta routes (an agent's tools, for one) answer ``after=<id>``
        with items from before the cursor, and a naive walk would repeat them, or never stop.
        """
        params = dict(self._params)
        limit = params.get("limit")
        seen: set[str] = set()
        while True:
            raw = await self._fetch(dict(params))
            if not raw:
                return
            if self._rule == "message_history" and self._order == "desc":
                cursor = _item_id(raw[0])
                params.pop("after", None)
                params["before"] = cursor
            else:
                cursor = _item_id(raw[-1])
                params.pop("before", None)
                params["after"] = cursor
            page_ids = [_item_id(item) for item in raw]
            fresh = [
                item for item, i in zip(raw, page_ids, strict=True) if i is None or i not in seen
            ]
            if not fresh:
                return
            seen.update(i for i in page_ids if i is not None)
            yield self._present(fresh)
            # A short page is the last one. (A message page can hold more items than
            # `limit`, because one stored message may expand into several, never fewer.)
            if cursor is None or (isinstance(limit, int) and len(raw) < limit):
                return

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page:
                yield item
