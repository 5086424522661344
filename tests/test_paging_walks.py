"""Walking listings page by page: Letta's message-history cursors and ordinary ones.

Letta returns the newest ``limit`` messages of a ``desc`` history page oldest-to-newest, so the
next page back is ``before=<first id>``; ``asc`` pages go on with ``after=<last id>``. A short
page ends a walk without asking for the empty page after it, and no item is handed out twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

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


async def test_a_short_page_ends_the_walk(server: LettaTestServer) -> None:
    async with AsyncLetta(base_url=server.base_url) as client:
        agent_id = await _history(server, client)
        server.requests.clear()
        items = [m async for m in client.agents.messages.list(agent_id, limit=1000)]
    assert items
    assert len(_history_gets(server)) == 1  # fewer than `limit` items: no second request
