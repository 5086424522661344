"""List endpoints: ``await`` one page, or ``async for`` every item across pages.

The shapes are the official SDK's. Calling a list method returns an :class:`AsyncPaginator`
without any I/O. ``await paginator`` fetches the first page, a page object whose items are
in the order the server sent them (``page.items``, or ``page.files`` for file listings), with
``has_next_page()``, ``next_page_info()`` and ``get_next_page()``. ``async for item in
paginator`` walks every page.

The page methods answer as the official SDK's do: ``next_page_info()`` names the page after
this one, ``has_next_page()`` is true for a non-empty page that names one (and false once a
files page says ``has_more: false``), ``get_next_page()`` fetches it with the cursor merged into
this page's query, and ``iter_pages()`` yields every page up to and including the first that
names no next one (often an empty page). For most listings the cursor is the official one:
``before=<first id>`` when this page was asked for with ``before``, else ``after=<last id>``.

Where Letta's cursors make that rule wrong, the cursor follows the server, so a walk neither
stops early nor repeats:

* agent and batch message histories come newest-first by default (``order=desc``), yet
  each desc page holds the newest ``limit`` messages *oldest to newest*; the page before it is
  therefore ``before=<first id>`` (the official ``after=<last id>`` finds nothing, so its walk
  ends after one page);
* a conversation's history is truly newest-first and its cursors are positions in the
  conversation whatever the order, so the next desc page is ``before=<last id>`` and the
  next asc page ``after=<last id>`` (the official ``after=<last id>`` on a desc page asks
  for the newer messages again, so its walk repeats them: 15 messages come out 120 times);
  the agent-direct forms (``"default"`` with ``agent_id``, or an agent id) are agent histories;
  a run's messages page the same way, but ``asc`` by default;
* run listings read their cursors in time whatever the order (and swapped for ``asc``), so
  the page after a page of runs is ``before=<last id>`` in both orders;
* some routes (an agent's tools) answer ``after=<id>`` with items from before the cursor, so
  ``async for`` does not yield an item an earlier page already yielded, and a page with
  nothing new ends the walk.

:meth:`AsyncPaginator.official` gives the official SDK's cursors everywhere, for a program
that must page exactly as it did with ``letta-client``.
"""

from __future__ import annotations

import re
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

CursorRule = Literal[
    "ordered", "message_history", "conversation", "run_messages", "runs", "official"
]
"""``ordered``: the official rule, the next page is ``before=<first id>`` after a page asked
for with ``before``, else ``after=<last id>``.
``message_history``: desc pages come oldest-to-newest, the next one is ``before=<first id>``.
``conversation``: a conversation's positions, the next page is ``before=<last id>`` for
``desc`` and ``after=<last id>`` for ``asc`` (agent-direct paths are ``message_history``).
``run_messages``: a run's messages, cursors as ``conversation`` but ``asc`` by default.
``runs``: pages come in the requested order, the next one is ``before=<last id>`` in both
orders (Letta reads run cursors in time for ``desc``, where ``after`` means newer, and swapped
for ``asc``, where ``before`` means newer).
``official``: the official SDK's rule on every listing, its ``async for`` included (no
item is held back, whatever it repeats)."""

_AGENT_DIRECT = re.compile(r"/conversations/(default|agent-[^/]*)/")


def rule_for_path(rule: CursorRule, path: str) -> CursorRule:
    """The rule a listing at ``path`` pages by: a conversation given as ``default`` or as an
    agent id lists that agent's history, whose pages are agent-history pages."""
    if rule == "conversation" and _AGENT_DIRECT.search(path):
        return "message_history"
    return rule


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

    def next_page_info(self) -> PageInfo | None:
        """The cursor of the next page, or None when this page names none (no items, or the
        item the cursor comes from has no id)."""
        items = self._get_page_items()
        if not items:
            return None
        order = self._params.get("order", "asc" if self._rule == "run_messages" else "desc")
        if self._rule == "runs":
            key, item = "before", items[-1]
        elif self._rule in ("conversation", "run_messages"):
            key, item = ("before" if order == "desc" else "after"), items[-1]
        elif self._params.get("before") or (self._rule == "message_history" and order == "desc"):
            key, item = "before", items[0]
        else:
            key, item = "after", items[-1]
        if self._rule == "official":
            # Only an item with an ``id`` attribute names a cursor there: a page of tag
            # names, or of plain dicts, ends the official walk after its first page.
            value = getattr(item, "id", None)
            cursor = value if isinstance(value, str) else None
        else:
            cursor = item_id(item)
        return None if cursor is None else PageInfo(params={key: cursor})

    def has_next_page(self) -> bool:
        """True when this page has items and names a next page (which may turn out empty)."""
        return bool(self._get_page_items()) and self.next_page_info() is not None

    async def get_next_page(self: PageT) -> PageT:
        """Fetch the page after this one, its cursor merged into this page's query (a
        ``before`` or ``after`` bound given at the start stays); check
        :meth:`has_next_page` first."""
        info = self.next_page_info()
        if info is None:
            raise RuntimeError(
                "No next page expected; please check `.has_next_page()` before calling "
                "`.get_next_page()`."
            )
        return await self._fetch({**self._params, **info.params})  # type: ignore[return-value]

    def _walk_goes_on(self, asked: set[str]) -> bool:
        """Whether a walk asks for the page after this one (``asked`` is updated).

        It stops at the first page that names no next page; outside the ``official`` rule
        also before asking for a page it asked for already, so a route that answers a cursor
        with older items cannot loop. Shared by the async and the sync walks.
        """
        info = self.next_page_info()
        if not self.has_next_page() or info is None:
            return False
        if self._rule != "official":
            key = _query_key({**self._params, **info.params})
            if key in asked:
                return False
            asked.add(key)
        return True

    def _fresh_items(self, earlier: set[tuple[str, object]]) -> list[T] | None:
        """This page's items no earlier page yielded (``earlier`` is updated); None ends the
        walk: a page of items seen already means the route answered a cursor twice."""
        items = self._get_page_items()
        fresh = [item for item in items if _key(item) not in earlier]
        if not fresh and items:
            return None
        earlier.update(_key(item) for item in fresh if item_id(item) is not None)
        return fresh

    async def iter_pages(self: PageT) -> AsyncIterator[PageT]:
        """This page and every page after it, up to the first that names no next page.

        Outside the ``official`` rule the walk also ends before asking for a page it asked
        for already, so a route that answers a cursor with older items cannot loop.
        """
        page = self
        asked = {_query_key(self._params)}
        while True:
            yield page
            if not page._walk_goes_on(asked):
                return
            page = await page.get_next_page()

    async def __aiter__(self) -> AsyncIterator[T]:
        """Every item of this page and the pages after it; outside the ``official`` rule, an
        item an earlier page yielded is not yielded again."""
        if self._rule == "official":
            async for page in self.iter_pages():
                for item in page._get_page_items():
                    yield item
            return
        earlier: set[tuple[str, object]] = set()
        async for page in self.iter_pages():
            fresh = page._fresh_items(earlier)
            if fresh is None:
                return
            for item in fresh:
                yield item


def _query_key(params: dict[str, Any]) -> str:
    return repr(sorted((k, repr(v)) for k, v in params.items()))


def _key(item: Any) -> tuple[str, object]:
    """What makes an item the same item on another page: its id and its kind (one stored
    message comes out as several items with one id, a reasoning and an assistant message)."""
    kind = getattr(item, "message_type", None)
    if kind is None and isinstance(item, dict):
        kind = item.get("message_type")
    return (item_id(item) or "", kind)


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
        binds: bool = False,
    ) -> None:
        """``binds``: ``load`` ties each page it returns to itself with ``rule``, so an
        awaited listing can hand out ``load``'s page as it is (see :meth:`__await__`)."""
        self._load = load
        self._params = {k: v for k, v in params.items() if v is not None}
        self._rule = rule
        self._binds = binds

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
        # Straight to the fetch: one coroutine fewer per awaited listing; none at all when
        # the loader ties its pages to itself already, as a resource's listing does.
        if self._binds:
            return self._load(dict(self._params)).__await__()
        return self._fetch(dict(self._params)).__await__()  # type: ignore[return-value]

    async def __aiter__(self) -> AsyncIterator[T]:
        page = await self._first_page()
        async for item in page:
            yield item

    def official(self) -> AsyncPaginator[T, PageT]:
        """The same listing paged exactly as ``letta-client`` pages it.

        Every page names ``after=<last id>`` (``before=<first id>`` when asked for with
        ``before``) and ``async for`` yields every item of every page. On Letta's message
        histories that walk is wrong (a desc agent history stops after its first page, a
        desc conversation repeats its newer messages on every page); use it only where a
        program must see what it saw with the official SDK.
        """
        return AsyncPaginator(self._load, self._params, rule="official")

    def __repr__(self) -> str:
        return f"<AsyncPaginator params={self._params!r}>"
