"""Page objects of list methods: ``await`` gives the first page, the page names the next one.

The history pages are captures of a real Letta 0.16.8 server (``messages_list_*.json``): a
``desc`` page holds the newest messages oldest to newest, so the page before it is
``before=<first id>``. Everything expected here is read from those captures.
"""

from __future__ import annotations

import gc
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from letta_async import AsyncLetta
from letta_async.pagination import AsyncArrayPage, AsyncNextFilesPage
from letta_async.types.agents import Message
from tests.replay import ReplayServer, fixture_bytes, json_answer, plain

pytestmark = pytest.mark.anyio

AGENT = "agent-b05cfaca-a5c5-4c77-9066-a0c1994b3f13"
MESSAGES = f"/v1/agents/{AGENT}/messages"
FILES = f"/v1/agents/{AGENT}/files"


def capture(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(fixture_bytes(name))
    return data


DESC1 = capture("messages_list_desc_page1.json")
DESC2 = capture("messages_list_desc_page2.json")
ASC1 = capture("messages_list_asc_page1.json")
ASC2 = capture("messages_list_asc_page2.json")


def ids(items: list[Any]) -> list[str]:
    return [item["id"] if isinstance(item, dict) else item.id for item in items]


@pytest.fixture
async def client(replay: ReplayServer) -> AsyncIterator[AsyncLetta]:
    async with AsyncLetta(replay.base_url, max_retries=0) as c:
        yield c


async def test_awaiting_a_listing_gives_its_first_page_in_server_order(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("GET", MESSAGES, json_answer(DESC1))
    page = await client.agents.messages.list(AGENT, limit=4)
    assert isinstance(page, AsyncArrayPage)
    assert ids(page.items) == ids(DESC1)
    assert [m.message_type for m in page.items] == [m["message_type"] for m in DESC1]
    assert len(replay.seen("GET", MESSAGES)) == 1, "one request for one page"


async def test_a_fetched_page_leaves_nothing_for_the_garbage_collector(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    """A listing polled in a loop frees each page and paginator when it is dropped; objects
    caught in reference cycles would pile up until a collection and make every call pay."""
    replay.on("GET", MESSAGES, json_answer(DESC1), json_answer(DESC1), json_answer(DESC1))
    await client.agents.messages.list(AGENT, limit=4)  # first use: decoders, lazy imports
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # keep what a collection finds, to see whose it is
    try:
        page = await client.agents.messages.list(AGENT, limit=4)
        assert page.has_next_page()
        raw = await client.agents.messages.with_raw_response.list(AGENT, limit=4)
        assert ids((await raw.parse()).items) == ids(DESC1)
        del page, raw
        gc.collect()
        # Only the client's own objects count: the test server answering in the same loop
        # may leave cycles of its own (a connection's handler and its task), which are not
        # what a caller of the client pays for.
        ours = [repr(obj)[:120] for obj in gc.garbage if _belongs_to_the_client(obj)]
        assert ours == []
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def _belongs_to_the_client(obj: object) -> bool:
    """Whether ``obj`` was made by letta_async: an instance of one of its classes, or a
    function, coroutine or frame of its code."""
    code = getattr(obj, "f_code", None) or getattr(obj, "cr_code", None)
    code = code or getattr(obj, "__code__", None)
    if code is not None:
        return "letta_async" in code.co_filename
    return type(obj).__module__.startswith("letta_async")


async def test_a_desc_history_page_names_the_page_before_its_first_item(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("GET", MESSAGES, json_answer(DESC1), json_answer(DESC2))
    page = await client.agents.messages.list(AGENT, limit=4)
    assert page.has_next_page()
    info = page.next_page_info()
    assert info is not None and info.params == {"before": DESC1[0]["id"]}
    older = await page.get_next_page()
    assert ids(older.items) == ids(DESC2)
    assert [r.query for r in replay.seen("GET", MESSAGES)] == [
        {"limit": "4"},
        {"limit": "4", "before": DESC1[0]["id"]},
    ]


async def test_an_asc_page_names_the_page_after_its_last_item(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("GET", MESSAGES, json_answer(ASC1), json_answer(ASC2))
    page = await client.agents.messages.list(AGENT, limit=4, order="asc")
    info = page.next_page_info()
    assert info is not None and info.params == {"after": ASC1[-1]["id"]}
    newer = await page.get_next_page()
    assert ids(newer.items) == ids(ASC2)
    assert replay.seen("GET", MESSAGES)[1].query == {
        "limit": "4",
        "order": "asc",
        "after": ASC1[-1]["id"],
    }


async def test_iter_pages_walks_until_a_page_names_no_next(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("GET", MESSAGES, json_answer(DESC1), json_answer(DESC2), json_answer([]))
    first = await client.agents.messages.list(AGENT, limit=4)
    pages = [ids(page.items) async for page in first.iter_pages()]
    assert pages == [ids(DESC1), ids(DESC2), []]
    assert [r.query.get("before") for r in replay.seen("GET", MESSAGES)] == [
        None,
        DESC1[0]["id"],
        DESC2[0]["id"],
    ]


async def test_async_for_walks_back_through_the_history_once_each(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    # The older page repeats the oldest message of the first one (a server may answer a
    # cursor inclusively): it is handed out once.
    older = [DESC1[0], *DESC2]
    replay.on("GET", MESSAGES, json_answer(DESC1), json_answer(older), json_answer([]))
    walked = [m async for m in client.agents.messages.list(AGENT, limit=4)]
    assert all(isinstance(m, Message.__args__) for m in walked)  # type: ignore[attr-defined]
    assert ids(walked) == ids(DESC1) + ids(DESC2)
    assert len(set(ids(walked))) == len(walked)


async def test_a_short_page_does_not_end_the_walk(replay: ReplayServer, client: AsyncLetta) -> None:
    """As in the official SDK, only a page that names no next page ends a walk: a page can be
    short with more to come (Letta takes ``limit`` stored messages, then filters them by
    ``include_return_message_types``), so the walk asks on until a page comes back empty."""
    # The capture: limit=5 with assistant messages only gave 2 items of a longer history.
    only = capture("messages_list_types.json")
    replay.on("GET", MESSAGES, json_answer(only[1:]), json_answer(only[:1]), json_answer([]))
    walked = [
        m.id
        async for m in client.agents.messages.list(
            AGENT, limit=5, include_return_message_types=["assistant_message"]
        )
    ]
    assert walked == ids(only[1:]) + ids(only[:1])
    queries = [r.query for r in replay.seen("GET", MESSAGES)]
    assert [q.get("before") for q in queries] == [None, only[1]["id"], only[0]["id"]]


def attachment(n: int) -> dict[str, Any]:
    return {
        "id": f"file_agent-{n}",
        "file_id": f"file-{n}",
        "file_name": f"notes-{n}.txt",
        "folder_id": "source-1",
        "folder_name": "docs",
        "is_open": False,
    }


async def test_agent_files_come_in_next_files_pages(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on(
        "GET",
        FILES,
        json_answer(
            {"files": [attachment(0), attachment(1)], "next_cursor": "c1", "has_more": True}
        ),
        json_answer({"files": [attachment(2)], "next_cursor": None, "has_more": False}),
    )
    page = await client.agents.files.list(AGENT, limit=2)
    assert isinstance(page, AsyncNextFilesPage)
    assert [f.file_name for f in page.files] == ["notes-0.txt", "notes-1.txt"]
    assert (page.next_cursor, page.has_more) == ("c1", True)
    assert page.has_next_page()
    last = await page.get_next_page()
    assert [f.id for f in last.files] == ["file_agent-2"]
    assert last.has_more is False and not last.has_next_page()
    assert [r.query for r in replay.seen("GET", FILES)] == [
        {"limit": "2"},
        {"limit": "2", "after": "file_agent-1"},
    ]


async def test_batch_messages_come_in_object_pages(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    route = "/v1/messages/batches/batch-1/messages"
    first = [{"id": "message-1", "role": "user"}, {"id": "message-2", "role": "assistant"}]
    replay.on(
        "GET",
        route,
        json_answer({"messages": first}),
        json_answer({"messages": first}),
        json_answer({"messages": []}),
    )
    page = await client.batches.messages.list("batch-1", limit=2)
    assert [plain(m) for m in page.messages] == first
    walked = [plain(m) async for m in client.batches.messages.list("batch-1", limit=2)]
    assert walked == first
    # Histories walk back from the first item, desc being the default order.
    assert replay.seen("GET", route)[-1].query == {"limit": "2", "before": "message-1"}


async def test_a_reasoning_and_its_assistant_message_both_come_out(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    # A memgpt_v2 reply stores one message that lists as two items with one id.
    pair = json.loads(fixture_bytes("nonstream_response_memgpt_v2.json"))["messages"]
    assert pair[0]["id"] == pair[1]["id"]
    replay.on("GET", MESSAGES, json_answer(pair), json_answer([]))
    walked = [m.message_type async for m in client.agents.messages.list(AGENT, limit=2)]
    assert walked == ["reasoning_message", "assistant_message"]
