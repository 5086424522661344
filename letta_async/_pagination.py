"""List endpoints: ``await`` one page, or ``async for`` every item across pages.

The shapes are the official SDK's. Calling a list method returns an :class:`AsyncPaginator`
without any I/O. ``await paginator`` fetches the first page, a page object whose items are
in the order the server sent them (``page.items``, or ``page.files`` for file listings), with
``has_next_page()``, ``next_page_info()`` and ``get_next_page()``. ``async for item in
paginator`` walks every page.

Where Letta's cursors have quirks, the walk is stricter than a plain "after the last id"
loop, so nothing is skipped or repeated:

* message histories come newest-first by default (``order=desc``), yet each desc page holds
  the newest ``limit`` messages *oldest to newest*; the page before it is therefore
  ``before=<first id>``, not ``after=<last id>`` (which would end the walk after one page);
* some routes (an agent's tools) answer ``after=<id>`` with items from before the cursor, so
  an item an earlier page already yielded is not yielded again, and a page with nothing new
  ends the walk;
* run listings read their cursors in time whatever the order (and swapped for ``asc``), so
  the page after a page of runs is ``before=<last id>`` in both orders;
* a page shorter than ``limit`` is the last one, which saves the final empty request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any, Generic, Literal, TypeVar

__all__ = [
    "AsyncArrayPage",
    "AsyncNextFilesPage",
    "AsyncObjectPage",
    "AsyncPaginator",
    "BasePage",
    "CursorRule",
    "PageInfo",
]

T = TypeVar("T")
PageT = TypeVar("PageT", bound="BasePage[Any]")

CursorRule = Literal["ordered", "message_history", "runs"]
"""``ordered``: pages come in the requested order, the next one is ``after=<last id>``.
``message_history``: desc pages come oldest-to-newest, the next one is ``before=<first id>``.
``runs``: pages come in the requested order, the next one is ``before=<last id>`` in both
orders (Letta reads run cursors in time for ``desc``, where ``after`` means newer, and swapped
for ``asc``, where ``before`` means newer)."""

FetchPage = Callable[[dict[str, Any]], Awaitable["BasePage[Any]"]]


def item_id(item: Any) -> str | None:
    """The cursor value of an item: its ``id`` (tags page by the name itself)."""
    if isinstance(item, str):
        return item
    value = getattr(item, "id", None)
    if value is None and isinstance(item, dict):
        value = item.get("id")
    return value if isinstance(value, str) else None


class PageInfo:
    """The query parameters that fetch the page after this one."""

    __slots__ = ("params",)

    def __init__(self, *, params: dict[str, Any]) -> None:
        self.params = params

    def __repr__(self) -> str:
        return f"PageInfo(params={self.params!r})"


class BasePage(Generic[T]):
    """One page of a listing, and the way to the next one."""

    _fetch: FetchPage
    _params: dict[str, Any]
    _rule: CursorRule

    def _bind(self, fetch: FetchPage, params: dict[str, Any], rule: CursorRule) -> None:
        self._fetch = fetch
        self._params = params
        self._rule = rule

    def _get_page_items(self) -> list[T]:
        raise NotImplementedError

    def _backwards(self) -> bool:
        if self._params.get("before"):
            return True
        return self._rule == "message_history" and self._params.get("order", "desc") == "desc"

    def next_page_info(self) -> PageInfo | None:
        """The cursor of the next page, or None when this page names none."""
        items = self._get_page_items()
        if not items:
            return None
        if self._rule == "runs":
            cursor = item_id(items[-1])
            return None if cursor is None else PageInfo(params={"before": cursor})
        if self._backwards():
            cursor = item_id(items[0])
            return None if cursor is None else PageInfo(params={"before": cursor})
        cursor = item_id(items[-1])
        return None if cursor is None else PageInfo(params={"after": cursor})

    def has_next_page(self) -> bool:
        """True when this page has items and names a next page (which may turn out empty)."""
        return bool(self._get_page_items()) and self.next_page_info() is not None

    async def get_next_page(self: PageT) -> PageT:
        """Fetch the page after this one; check :meth:`has_next_page` first."""
        info = self.next_page_info()
        if info is None:
            raise RuntimeError(
                "there is no next page; check has_next_page() before calling get_next_page()"
            )
        params = dict(self._params)
        params.pop("before", None)
        params.pop("after", None)
        params.update(info.params)
        return await self._fetch(params)  # type: ignore[return-value]

    def _is_last(self) -> bool:
        """A short page ends a walk without asking for the (empty) page after it."""
        limit = self._params.get("limit")
        return isinstance(limit, int) and len(self._get_page_items()) < limit

    def _walk_ends(self) -> bool:
        """Whether a walk over every page stops after this one."""
        return self._is_last() or not self.has_next_page()

    def _unseen(self, seen: set[str]) -> list[T]:
        """This page's items that no earlier page of the walk yielded (``seen`` is updated).

        An empty answer ends the walk: a page with nothing new means the cursor went around.
        """
        fresh: list[T] = []
        for item in self._get_page_items():
            key = item_id(item)
            if key is not None:
                if key in seen:
                    continue
                seen.add(key)
            fresh.append(item)
        return fresh

    async def iter_pages(self: PageT) -> AsyncIterator[PageT]:
        """This page and every page after it."""
        page = self
        while True:
            yield page
            if page._walk_ends():
                return
            page = await page.get_next_page()

    async def __aiter__(self) -> AsyncIterator[T]:
        """Every item of this page and the pages after it, none twice."""
        seen: set[str] = set()
        async for page in self.iter_pages():
            fresh = page._unseen(seen)
            if not fresh:
                return
            for item in fresh:
                yield item


class AsyncArrayPage(BasePage[T]):
    """A page that is a bare JSON array (most Letta listings)."""

    def __init__(self, items: list[T]) -> None:
        self.items = items

    def _get_page_items(self) -> list[T]:
        return self.items

    def __repr__(self) -> str:
        return f"AsyncArrayPage(items=[...{len(self.items)} items])"


class AsyncObjectPage(BasePage[T]):
    """A page wrapped in an object: ``{"messages": [...]}``."""

    def __init__(self, messages: list[T]) -> None:
        self.messages = messages

    def _get_page_items(self) -> list[T]:
        return self.messages

    def __repr__(self) -> str:
        return f"AsyncObjectPage(messages=[...{len(self.messages)} items])"


class AsyncNextFilesPage(BasePage[T]):
    """A page of an agent's files: ``{"files": [...], "next_cursor": ..., "has_more": ...}``."""

    def __init__(
        self, files: list[T], next_cursor: str | None = None, has_more: bool | None = None
    ) -> None:
        self.files = files
        self.next_cursor = next_cursor
        self.has_more = has_more

    def _get_page_items(self) -> list[T]:
        return self.files

    def has_next_page(self) -> bool:
        """False once the server said ``has_more: false``; otherwise as for any page."""
        if self.has_more is False:
            return False
        return super().has_next_page()

    def __repr__(self) -> str:
        return (
            f"AsyncNextFilesPage(files=[...{len(self.files)} items], "
            f"next_cursor={self.next_cursor!r}, has_more={self.has_more!r})"
        )


class AsyncPaginator(Generic[T, PageT]):
    """What a list method returns: awaitable for the first page, async-iterable for all items.

    Nothing is sent until it is awaited or iterated; each ``await`` or ``async for`` starts
    from the first page again.
    """

    def __init__(
        self,
        load: Callable[[dict[str, Any]], Awaitable[PageT]],
        params: dict[str, Any],
        *,
        rule: CursorRule = "ordered",
    ) -> None:
        self._load = load
        self._params = {k: v for k, v in params.items() if v is not None}
        self._rule = rule

    async def _fetch(self, params: dict[str, Any]) -> BasePage[Any]:
        page = await self._load(params)
        if isinstance(page, BasePage):
            self.adopt(page, params)
        return page

    def adopt(self, page: PageT, params: dict[str, Any]) -> PageT:
        """Tie ``page`` (fetched with ``params``) to this listing, so it can fetch the next."""
        page._bind(self._fetch, params, self._rule)
        return page

    async def _first_page(self) -> PageT:
        return await self._fetch(dict(self._params))  # type: ignore[return-value]

    def __await__(self) -> Generator[Any, None, PageT]:
        return self._first_page().__await__()

    async def __aiter__(self) -> AsyncIterator[T]:
        page = await self._first_page()
        async for item in page:
            yield item

    def __repr__(self) -> str:
        return f"<AsyncPaginator params={self._params!r}>"
