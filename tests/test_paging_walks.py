"""Walking listings page by page: Letta's message-history cursors and ordinary ones.

Letta returns the newest ``limit`` messages of a ``desc`` history page oldest-to-newest, so the
next page back is ``before=<first id>``; ``asc`` pages go on with ``after=<last id>``. As in the
official SDK a walk ends on the first page that names no next one (the empty page after the
last), and no item is handed out twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from letta_async import AsyncLetta
from letta_async.testing import LettaTestServer

pytestmark = pytest.mark.anyio


@pytest.fixture
async def server() -> AsyncIterator[LettaTestServer]:
    async with LettaTestServer(keepalive_interval=0.05, shutdown_timeout=0.2) as s:
        yield s


async def _history(server: LettaTestServer, client: AsyncLetta) -> str:
    agent_id = str(server.create_agent(name="pages")["id"])
    for n in range(3):
        await client.agents.messages.create(
            agent_id, messages=[{"role": "user", "content": f"message {n}"}]
        )
    return agent_id


def _history_gets(server: LettaTestServer) -> list[dict[str, str]]:
    return [r.query for r in server.requests_to(r"/messages$", "GET")]


async def test_desc_history_walks_back_with_before(server: LettaTestServer) -> None:
    async with AsyncLetta(base_url=server.base_url) as client:
        agent_id = await _history(server, client)
        everything = [m async for m in client.agents.messages.list(agent_id, limit=100)]
        server.requests.clear()
        paged = [m async for m in client.agents.messages.list(agent_id, limit=2)]
    ids = [m.id for m in paged]
    assert len(ids) == len(set(ids)) == len({m.id for m in everything})
    queries = _history_gets(server)
    assert "before" not in queries[0] and "after" not in queries[0]
    assert all("before" in q and "after" not in q for q in queries[1:])
    # Each page back starts before the oldest item of the page before it.
    first_page = [m.id for m in everything][-2:]
    assert queries[1]["before"] == first_page[0]


async def test_asc_history_walks_forward_with_after(server: LettaTestServer) -> None:
    async with AsyncLetta(base_url=server.base_url) as client:
        agent_id = await _history(server, client)
        server.requests.clear()
        paged = [m async for m in client.agents.messages.list(agent_id, limit=2, order="asc")]
    queries = _history_gets(server)
    assert all("after" in q and "before" not in q for q in queries[1:])
    assert queries[1]["after"] == paged[1].id
    assert len({m.id for m in paged}) == len(paged)


async def test_a_walk_started_with_before_stays_before_it(server: LettaTestServer) -> None:
    """``before=X`` asks for what precedes X, and so does every page after the first: as in
    the official SDK, a page fetched with ``before`` names the next one ``before=<its first
    id>``. Nothing at or after X is ever handed out."""
    async with AsyncLetta(base_url=server.base_url) as client:
        agent_id = await _history(server, client)
        everything = [m.id async for m in client.agents.messages.list(agent_id, order="asc")]
        newest = everything[-1]
        server.requests.clear()
        paged = [
            m.id
            async for m in client.agents.messages.list(
                agent_id, order="asc", before=newest, limit=2
            )
        ]
    assert paged and newest not in paged
    assert set(paged) <= set(everything[:-1])
    queries = _history_gets(server)
    assert queries[0]["before"] == newest
    assert all("before" in q and "after" not in q for q in queries)


async def test_an_ordered_listing_walked_with_before_stays_before_it(
    server: LettaTestServer,
) -> None:
    async with AsyncLetta(base_url=server.base_url) as client:
        created = [str(server.create_agent(name=f"a{n}")["id"]) for n in range(4)]
        server.requests.clear()
        walked = [a.id async for a in client.agents.list(order="asc", before=created[-1], limit=1)]
    assert walked and created[-1] not in walked
    assert set(walked) <= set(created[:-1])
    queries = [r.query for r in server.requests_to(r"/v1/agents/?$", "GET")]
    assert all("before" in q and "after" not in q for q in queries)


async def test_a_walk_ends_on_the_empty_page_after_a_short_one(server: LettaTestServer) -> None:
    async with AsyncLetta(base_url=server.base_url) as client:
        agent_id = await _history(server, client)
        server.requests.clear()
        items = [m async for m in client.agents.messages.list(agent_id, limit=1000)]
    assert items
    # As the official SDK: the page after the last one is asked for, and comes back empty.
    assert len(_history_gets(server)) == 2


def _item(n: int) -> dict[str, Any]:
    return {"id": f"message-{n}", "date": "2026-11-22T02:01:49+00:00", "name": None,
            "message_type": "assistant_message", "otid": None, "sender_id": None,
            "step_id": None, "is_err": None, "seq_id": None, "run_id": None,
            "content": f"text {n}"}  # fmt: skip


async def test_an_item_on_two_pages_is_handed_out_once() -> None:
    """A history page can end with the item the next page starts with (one stored message
    expands into several items): the walk hands each id out once."""
    pages = {
        None: [_item(3), _item(4)],
        "message-3": [_item(2), _item(3)],
        "message-2": [_item(1)],
        "message-1": [],
    }

    async def history(request: web.Request) -> web.Response:
        return web.json_response(pages[request.query.get("before")])

    app = web.Application()
    app.router.add_get("/v1/agents/{agent}/messages", history)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with AsyncLetta(base_url=f"http://127.0.0.1:{port}") as client:
            ids = [m.id async for m in client.agents.messages.list("agent-1", limit=2)]
    finally:
        await runner.cleanup()
    assert sorted(ids) == ["message-1", "message-2", "message-3", "message-4"]


@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_runs_walk_yields_every_run_once(server: LettaTestServer, order: str) -> None:
    # Letta 0.16.8 reads run cursors in time, swapped for asc (the test server mirrors it,
    # checked against a real server by tests/e2e/differential): a walk by after=<last id>
    # would stop after the first page.
    async with AsyncLetta(base_url=server.base_url) as client:
        agent_id = str(server.create_agent(name="runs")["id"])
        for n in range(5):
            await client.agents.messages.create(
                agent_id, messages=[{"role": "user", "content": f"run {n}"}]
            )
        created = [r.id for r in server.state.runs.values()]
        walked = [r.id async for r in client.runs.list(agent_id=agent_id, order=order, limit=2)]
    assert walked == (created[::-1] if order == "desc" else created)


async def three_message_conversation(
    server: LettaTestServer, client: AsyncLetta
) -> tuple[Any, list[str]]:
    """A conversation holding three exchanges, and every message id in it, oldest first."""
    agent_id = str(server.create_agent(name="conv")["id"])
    conversation = await client.conversations.create(agent_id=agent_id)
    for n in range(3):
        await client.conversations.messages.create(
            conversation.id, messages=[{"role": "user", "content": f"m{n}"}], streaming=False
        )
    listing = client.conversations.messages
    whole = [m.id async for m in listing.list(conversation.id, order="asc", limit=1000)]
    return conversation, whole


async def test_a_conversation_walks_back_by_its_last_item(server: LettaTestServer) -> None:
    """A conversation's desc pages are newest first and its cursors positions (as Letta
    0.16.8, compared with the official SDK's walk in tests/e2e/test_paging_official.py): the
    page after a desc page is ``before=<last id>``. The official ``after=<last id>`` asks for
    the newer messages again, so its walk repeats them; ``.official()`` reproduces that."""
    async with AsyncLetta(base_url=server.base_url) as client:
        conversation, whole = await three_message_conversation(server, client)
        listing = client.conversations.messages
        server.requests.clear()
        walked = [m.id async for m in listing.list(conversation.id, limit=2)]
        queries = [r.query for r in server.requests_to(r"/messages$", "GET")]
        official = [
            [m.id for m in page.items]
            async for page in (await listing.list(conversation.id).official()).iter_pages()
        ]
    assert walked == whole[::-1]
    assert all("before" in q for q in queries[1:]) and queries[1]["before"] == walked[1]
    # The official walk: every message, then all but the oldest, ... then an empty page.
    newest_first = whole[::-1]
    assert official == [newest_first[: len(whole) - n] for n in range(len(whole) + 1)]


@pytest.mark.parametrize("order", [None, "asc", "desc"])
async def test_a_runs_messages_walk_every_page(server: LettaTestServer, order: str | None) -> None:
    """A run's messages are ``asc`` by default and paged by position like a conversation's
    (Letta 0.16.8, compared in tests/e2e/test_paging_official.py): the walk goes on past the
    first page whatever the order."""
    async with AsyncLetta(base_url=server.base_url) as client:
        agent_id = str(server.create_agent(name="run")["id"])
        sent = await client.agents.messages.create(
            agent_id, messages=[{"role": "user", "content": "hi"}]
        )
        run_id = next(m.run_id for m in sent.messages if m.run_id)
        listing = client.runs.messages
        whole = [m.id async for m in listing.list(run_id, order="asc", limit=1000)]
        kwargs = {"order": order} if order else {}
        walked = [m.id async for m in listing.list(run_id, limit=1, **kwargs)]  # type: ignore[arg-type]
    assert len(whole) >= 2
    assert walked == (whole[::-1] if order == "desc" else whole)


async def test_an_official_walk_yields_every_item_of_every_page_even_again(
    server: LettaTestServer,
) -> None:
    """``async for`` over ``.official()`` is the official SDK's walk item for item: on a desc
    conversation, whose official pages hold the newer messages again, every repeat comes out
    (the README's 15 messages coming out 120 times), where the default walk holds them back."""
    async with AsyncLetta(base_url=server.base_url) as client:
        conversation, whole = await three_message_conversation(server, client)
        listing = client.conversations.messages
        official = [m.id async for m in listing.list(conversation.id).official()]
        default = [m.id async for m in listing.list(conversation.id)]
    newest_first = whole[::-1]
    assert official == [i for n in range(len(whole)) for i in newest_first[: len(whole) - n]]
    assert default == newest_first
