"""The page methods' rules, row by row, against the official SDK's (letta-client 1.12.1).

The ``OFFICIAL`` table is read from the official ``pagination.py`` and ``_base_client.py``:
``next_page_info()`` is None on an empty page, ``before=<first id>`` when the page was asked
for with a truthy ``before``, else ``after=<last id>``, and None when that item has no ``id``
attribute; ``has_next_page()`` is a non-empty page that names a next one, and false on a
files page with ``has_more: false``; ``get_next_page()`` merges the cursor into the page's
query; ``iter_pages()`` yields pages until one has no next page. Ordinary listings must follow
it row for row, and so must every listing under ``.official()``. The message-history rules
that differ (because the official one walks Letta's histories wrongly, see the e2e test
``test_paging_official.py``) have their own table.
"""

from __future__ import annotations

from typing import Any

import pytest

from letta_async._pagination import rule_for_path
from letta_async.pagination import AsyncArrayPage, AsyncNextFilesPage, AsyncObjectPage, BasePage

pytestmark = pytest.mark.anyio


class Item:
    def __init__(self, id: str | None) -> None:
        self.id = id


A, B, C = Item("a"), Item("b"), Item("c")

# (items, query of the page, has_more) -> (has_next_page, next_page_info params)
OFFICIAL: list[tuple[list[Any], dict[str, Any], bool | None, bool, dict[str, str] | None]] = [
    ([], {}, None, False, None),
    ([], {"before": "x"}, None, False, None),
    ([A, B, C], {}, None, True, {"after": "c"}),
    ([A, B, C], {"limit": 10}, None, True, {"after": "c"}),  # a short page names one too
    ([A, B, C], {"after": "z"}, None, True, {"after": "c"}),
    ([A, B, C], {"before": "z"}, None, True, {"before": "a"}),
    ([A, B, C], {"before": ""}, None, True, {"after": "c"}),  # an empty before is no before
    ([A, B, C], {"order": "desc"}, None, True, {"after": "c"}),
    ([A, B, C], {"order": "asc", "before": "z"}, None, True, {"before": "a"}),
    ([A, Item(None)], {}, None, False, None),
    ([Item(None), B], {"before": "z"}, None, False, None),
    ([{"id": "d"}], {}, None, False, None),  # no id attribute
    (["tag-1", "tag-2"], {}, None, False, None),
    ([A, B], {}, False, False, {"after": "b"}),  # files: has_more false wins
    ([A, B], {}, True, True, {"after": "b"}),
    ([A, B], {}, None, True, {"after": "b"}),
]


def page_of(cls: type[BasePage[Any]], items: list[Any], has_more: bool | None) -> BasePage[Any]:
    if cls is AsyncNextFilesPage:
        return AsyncNextFilesPage(items, None, has_more)
    return cls(items)  # type: ignore[call-arg]


async def _never(params: dict[str, Any]) -> BasePage[Any]:
    raise AssertionError(f"no fetch expected: {params}")


@pytest.mark.parametrize("rule", ["ordered", "official"])
@pytest.mark.parametrize("cls", [AsyncArrayPage, AsyncObjectPage, AsyncNextFilesPage])
@pytest.mark.parametrize(("items", "query", "has_more", "has_next", "info"), OFFICIAL)
def test_every_page_class_answers_as_the_official_one(
    rule: Any,
    cls: type[BasePage[Any]],
    items: list[Any],
    query: dict[str, Any],
    has_more: bool | None,
    has_next: bool,
    info: dict[str, str] | None,
) -> None:
    if has_more is not None and cls is not AsyncNextFilesPage:
        pytest.skip("has_more is a files page's")
    if rule == "ordered" and items and not hasattr(items[0], "id"):
        pytest.skip("outside .official() a tag pages by its name (see LETTA below)")
    page = page_of(cls, items, has_more)
    page._bind(_never, query, rule)
    got = page.next_page_info()
    assert (got.params if got else None) == info
    assert page.has_next_page() is has_next


# Ours where the official rule walks a Letta history wrongly: (rule, query) -> cursor.
LETTA: list[tuple[str, list[Any], dict[str, Any], dict[str, str] | None, dict[str, str]]] = [
    # agent history, desc (the default): pages oldest to newest, the older page is before first
    ("message_history", [A, B, C], {}, {"after": "c"}, {"before": "a"}),
    ("message_history", [A, B, C], {"order": "asc"}, {"after": "c"}, {"after": "c"}),
    # a conversation: positions, desc pages newest first
    ("conversation", [A, B, C], {}, {"after": "c"}, {"before": "c"}),
    ("conversation", [A, B, C], {"order": "asc"}, {"after": "c"}, {"after": "c"}),
    ("conversation", [A, B, C], {"order": "asc", "before": "z"}, {"before": "a"}, {"after": "c"}),
    # runs: cursors read in time whatever the order
    ("runs", [A, B, C], {"order": "asc"}, {"after": "c"}, {"before": "c"}),
    ("runs", [A, B, C], {}, {"after": "c"}, {"before": "c"}),
    # tags: the name is the cursor (the official walk stops after the first page)
    ("ordered", ["t1", "t2"], {}, None, {"after": "t2"}),
]


@pytest.mark.parametrize(("rule", "items", "query", "official", "ours"), LETTA)
def test_letta_cursor_rules_and_the_official_ones_they_replace(
    rule: Any,
    items: list[Any],
    query: dict[str, Any],
    official: dict[str, str] | None,
    ours: dict[str, str],
) -> None:
    page = AsyncArrayPage(items)
    page._bind(_never, query, rule)
    got = page.next_page_info()
    assert got is not None and got.params == ours
    page._bind(_never, query, "official")
    was = page.next_page_info()
    assert (was.params if was else None) == official


async def test_get_next_page_merges_the_cursor_into_the_query() -> None:
    seen: list[dict[str, Any]] = []

    async def fetch(params: dict[str, Any]) -> BasePage[Any]:
        seen.append(params)
        nxt = AsyncArrayPage([C])
        nxt._bind(fetch, params, "official")
        return nxt

    page = AsyncArrayPage([A, B])
    page._bind(fetch, {"limit": 2, "after": "z", "before": "y", "order": "asc"}, "official")
    await page.get_next_page()
    # before given: the cursor replaces it, and the after bound the caller gave stays.
    assert seen == [{"limit": 2, "after": "z", "before": "a", "order": "asc"}]
    empty = AsyncArrayPage([])
    empty._bind(fetch, {}, "official")
    with pytest.raises(RuntimeError, match="has_next_page"):
        await empty.get_next_page()


@pytest.mark.parametrize("rule", ["ordered", "official"])
async def test_iter_pages_ends_with_the_page_has_next_page_promised(rule: Any) -> None:
    pages = {None: [A, B], "b": [C], "c": []}

    async def fetch(params: dict[str, Any]) -> BasePage[Any]:
        nxt = AsyncArrayPage(pages[params.get("after")])
        nxt._bind(fetch, params, rule)
        return nxt

    first = await fetch({"limit": 2})
    walked = [([i.id for i in p.items], p.has_next_page()) async for p in first.iter_pages()]
    assert walked == [(["a", "b"], True), (["c"], True), ([], False)]


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("/v1/conversations/conv-1/messages", "conversation"),
        ("/v1/conversations/default/messages", "message_history"),
        ("/v1/conversations/agent-1/messages", "message_history"),
    ],
)
def test_an_agent_direct_conversation_pages_as_the_agent_history(path: str, rule: str) -> None:
    # Letta answers "default" (with agent_id) and an agent id from the agent's history.
    assert rule_for_path("conversation", path) == rule
    assert rule_for_path("ordered", path) == "ordered"


async def test_asking_for_a_page_that_is_not_there_says_what_to_check() -> None:
    """The official SDK's words, so code that matches on them keeps working."""
    empty = AsyncArrayPage([])
    empty._bind(_never, {}, "ordered")
    with pytest.raises(RuntimeError) as caught:
        await empty.get_next_page()
    assert str(caught.value) == (
        "No next page expected; please check `.has_next_page()` before calling `.get_next_page()`."
    )


class Message:
    def __init__(self, id: str, message_type: str) -> None:
        self.id = id
        self.message_type = message_type


def scripted(answers: dict[str, list[list[Any]]], rule: Any) -> tuple[Any, list[dict[str, Any]]]:
    """A fetch answering each cursor with its scripted pages in turn (then empty pages)."""
    asked: list[dict[str, Any]] = []

    async def fetch(params: dict[str, Any]) -> BasePage[Any]:
        asked.append(params)
        if len(asked) > 10:
            raise AssertionError(f"the walk does not end: {asked}")
        queue = answers.get(params.get("after", ""), [])
        page = AsyncArrayPage(queue.pop(0) if queue else [])
        page._bind(fetch, params, rule)
        return page

    return fetch, asked


@pytest.mark.parametrize("shape", ["objects", "dicts"])
async def test_an_item_sharing_an_id_with_an_earlier_one_of_another_kind_is_yielded(
    shape: str,
) -> None:
    """One stored message lists as several items with one id (its reasoning and its answer):
    when they fall on two pages, the second is a new item, not a repeat held back."""

    def item(id: str, kind: str) -> Any:
        return Message(id, kind) if shape == "objects" else {"id": id, "message_type": kind}

    pages = {
        "": [[item("m1", "user_message"), item("m2", "reasoning_message")]],
        "m2": [[item("m2", "assistant_message"), item("m3", "user_message")]],
    }
    fetch, _ = scripted(pages, "ordered")
    first = await fetch({})
    walked = [
        (i.id, i.message_type) if shape == "objects" else i["message_type"] async for i in first
    ]
    assert len(walked) == 4


async def test_a_walk_never_asks_twice_for_the_same_page() -> None:
    """A route that answers a cursor with older items again (an agent's tools) cannot make
    ``iter_pages()`` loop: it ends before asking for a page it asked for already."""
    fetch, asked = scripted({"": [[A, B]], "b": [[A, B], [C]]}, "ordered")
    first = await fetch({})
    pages = [[i.id for i in page.items] async for page in first.iter_pages()]
    assert pages == [["a", "b"], ["a", "b"]]
    assert asked == [{}, {"after": "b"}]


async def test_an_official_walk_follows_every_cursor_it_is_given() -> None:
    """As the official SDK's: the cursor a page names is asked for, even one asked before."""
    fetch, asked = scripted({"": [[A, B]], "b": [[A, B], [C]]}, "official")
    first = await fetch({})
    pages = [[i.id for i in page.items] async for page in first.iter_pages()]
    assert pages == [["a", "b"], ["a", "b"], ["c"], []]
    assert asked == [{}, {"after": "b"}, {"after": "b"}, {"after": "c"}]
