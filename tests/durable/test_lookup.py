"""Finding the run a send started by its otid, as the README promises for a key left in
``sending``: "looked up by otid in the agent's (or the conversation's) newest messages
(``OtidLookup``: 200 items, retried for 10 s after the send); found: that run is resumed".

Which run holds which otid is read from the test server's own message records, never from
the client.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator

import anyio
import pytest

from letta_async import AsyncLetta
from letta_async.durable import OtidLookup
from letta_async.testing import LettaTestServer, RecordedRequest
from tests.replay import ReplayServer, fixture_bytes, json_answer

from .test_delivery import conversation_runs_for, runs_for

pytestmark = pytest.mark.anyio


@pytest.fixture
async def server() -> AsyncIterator[LettaTestServer]:
    async with LettaTestServer() as s:
        yield s


@pytest.fixture
async def client(server: LettaTestServer) -> AsyncIterator[AsyncLetta]:
    async with AsyncLetta(base_url=server.base_url) as c:
        yield c


async def send(client: AsyncLetta, agent: str, text: str) -> str:
    otid = f"otid-{uuid.uuid4()}"
    await client.agents.messages.create(
        agent, messages=[{"role": "user", "content": text, "otid": otid}]
    )
    return otid


async def test_the_run_found_is_the_one_our_otid_started_not_a_newer_one(
    server: LettaTestServer, client: AsyncLetta
) -> None:
    agent = server.create_agent()["id"]
    ours = await send(client, agent, "hi")
    others = [await send(client, agent, f"later {n}") for n in range(3)]
    (expected,) = runs_for(server, ours)
    newer = {run for otid in others for run in runs_for(server, otid)}
    assert expected not in newer and len(newer) == 3
    with anyio.fail_after(10):
        assert await OtidLookup().once(client, agent, [ours]) == expected
        assert await OtidLookup().find(client, agent, [ours], sent_at=time.time()) == expected


async def test_a_message_older_than_the_depth_is_not_looked_at(
    server: LettaTestServer, client: AsyncLetta
) -> None:
    agent = server.create_agent()["id"]
    ours = await send(client, agent, "hi")
    for n in range(3):
        await send(client, agent, f"later {n}")
    (expected,) = runs_for(server, ours)
    with anyio.fail_after(10):
        assert await OtidLookup(depth=2, page=1).once(client, agent, [ours]) is None
        assert await OtidLookup(depth=200, page=1).once(client, agent, [ours]) == expected


async def test_an_otid_nobody_sent_is_looked_for_until_the_grace_after_the_send(
    server: LettaTestServer, client: AsyncLetta
) -> None:
    agent = server.create_agent()["id"]
    await send(client, agent, "hi")
    lookup = OtidLookup(grace=1.0)
    started = time.monotonic()
    with anyio.fail_after(10):
        assert await lookup.find(client, agent, ["otid-nobody"], sent_at=time.time()) is None
    assert 0.9 <= time.monotonic() - started < 8
    # A send long past its grace gets one look, not another grace period.
    started = time.monotonic()
    with anyio.fail_after(10):
        assert await lookup.find(client, agent, ["otid-nobody"], sent_at=time.time() - 60) is None
    assert time.monotonic() - started < 0.9


def first_pages(server: LettaTestServer) -> list[RecordedRequest]:
    """The first request of each look (a look that goes on asks for older pages too)."""
    return [r for r in server.requests_to("/messages$", "GET") if "before" not in r.query]


async def send_in(client: AsyncLetta, conversation: str, text: str) -> str:
    otid = f"otid-{uuid.uuid4()}"
    stream = await client.conversations.messages.create(
        conversation, messages=[{"role": "user", "content": text, "otid": otid}]
    )
    async with stream:
        async for _ in stream:
            pass
    return otid


async def test_a_conversation_send_is_looked_for_in_that_conversation_only(
    server: LettaTestServer, client: AsyncLetta
) -> None:
    """The conversation's own history is read (newest first, pages of ``page``): a send made
    to the agent outside it is not taken for the conversation's."""
    agent = server.create_agent()["id"]
    conversation = server.create_conversation(agent)["id"]
    ours = await send_in(client, conversation, "hi")
    outside = await send(client, agent, "elsewhere")
    (expected,) = conversation_runs_for(server, conversation, ours)
    lookup = OtidLookup(page=7)
    with anyio.fail_after(10):
        assert await lookup.once(client, agent, [ours], conversation) == expected
        assert await lookup.find(client, agent, [ours], time.time(), conversation) == expected
        assert await lookup.once(client, agent, [outside], conversation) is None
        assert await lookup.once(client, agent, [outside]) == runs_for(server, outside)[0]
    assert [(r.path, r.query) for r in first_pages(server)] == [
        *[(f"/v1/conversations/{conversation}/messages", {"limit": "7", "order": "desc"})] * 3,
        (f"/v1/agents/{agent}/messages", {"limit": "7", "order": "desc"}),
    ]


async def test_an_agent_history_is_asked_for_newest_first_in_pages_of_50() -> None:
    """The default lookup reads the newest messages first, 50 to a request; it says so on the
    wire rather than leaning on the server's defaults."""
    async with LettaTestServer() as server, AsyncLetta(base_url=server.base_url) as client:
        agent = server.create_agent()["id"]
        ours = await send(client, agent, "hi")
        with anyio.fail_after(10):
            assert await OtidLookup().once(client, agent, [ours]) == runs_for(server, ours)[0]
        (look,) = server.requests_to("/messages$", "GET")
        assert (look.path, look.query) == (
            f"/v1/agents/{agent}/messages",
            {"limit": "50", "order": "desc"},
        )


async def test_depth_counts_the_items_looked_at_newest_first(
    server: LettaTestServer, client: AsyncLetta
) -> None:
    """Pages of one message read the history strictly newest first; each later send adds two
    items (its user message and the reply), so ours is item ``2 * later + 2``."""
    agent = server.create_agent()["id"]
    ours = await send(client, agent, "hi")
    for n in range(2):
        await send(client, agent, f"later {n}")
    (expected,) = runs_for(server, ours)
    with anyio.fail_after(10):
        assert await OtidLookup(depth=6, page=1).once(client, agent, [ours]) == expected
        assert await OtidLookup(depth=5, page=1).once(client, agent, [ours]) is None


async def test_the_default_depth_is_200_items(server: LettaTestServer, client: AsyncLetta) -> None:
    """As the README says: a send is looked for among the newest 200 items, not one more."""
    agent = server.create_agent()["id"]
    ours = await send(client, agent, "hi")
    # One send of 198 messages, then its reply: ours is the 201st item from the newest
    # (198 + the reply to them + the reply to ours before it).
    fillers = [{"role": "user", "content": f"{n}"} for n in range(198)]
    await client.agents.messages.create(agent, messages=fillers)
    (expected,) = runs_for(server, ours)
    with anyio.fail_after(30):
        assert await OtidLookup(page=1).once(client, agent, [ours]) is None
        assert await OtidLookup(depth=201, page=1).once(client, agent, [ours]) == expected


async def test_a_send_of_unknown_time_is_looked_for_during_the_grace_from_now(
    server: LettaTestServer, client: AsyncLetta
) -> None:
    agent = server.create_agent()["id"]
    await send(client, agent, "hi")
    started = time.monotonic()
    with anyio.fail_after(10):
        assert await OtidLookup(grace=0.6).find(client, agent, ["otid-nobody"], None) is None
    assert 0.5 <= time.monotonic() - started < 5


async def test_lookups_back_off_to_every_two_seconds_until_ten_after_the_send(
    server: LettaTestServer, client: AsyncLetta
) -> None:
    """The default grace is ten seconds after the send (the README); within it the history is
    read again after 0.25 s, then after twice the pause each time, up to every 2 s: a send
    that lands a moment late is found quickly, one that never lands costs a few requests."""
    agent = server.create_agent()["id"]
    await send(client, agent, "hi")
    with anyio.fail_after(20):
        found = await OtidLookup().find(client, agent, ["otid-nobody"], time.time() - 3.25)
    assert found is None
    at = [r.at for r in first_pages(server)]
    gaps = [later - earlier for earlier, later in itertools.pairwise(at)]
    # Looks at 0, 0.25, 0.75, 1.75, 3.75, 5.75 and the last one at the deadline, 6.75.
    assert len(gaps) == 6, gaps
    for gap, pause in zip(gaps[:5], [0.25, 0.5, 1.0, 2.0, 2.0], strict=True):
        assert pause - 0.01 <= gap < pause + 0.2, gaps
    assert 0.5 <= gaps[-1] < 1.2, gaps


async def test_a_message_of_a_kind_this_client_does_not_know_is_looked_past(
    replay: ReplayServer,
) -> None:
    """A newer server's message kinds come back as ``UnknownMessage`` items, which carry no
    otid of ours: the lookup reads on past them to the send's message (a captured page)."""
    captured = json.loads(fixture_bytes("messages_list_desc_page1.json"))
    ours = next(item for item in captured if item["message_type"] == "user_message")
    newer_kind = {
        "id": "message-00000000-0000-4000-8000-0000000000aa",
        "date": ours["date"],
        "message_type": "plan_message",
        "otid": "not-an-attribute-of-an-unknown-message",
        "run_id": "run-never-read",
    }
    agent = "agent-00000000-0000-4000-8000-000000000001"
    replay.on("GET", f"/v1/agents/{agent}/messages", always=json_answer([newer_kind, *captured]))
    async with AsyncLetta(base_url=replay.base_url, max_retries=0) as client:
        with anyio.fail_after(10):
            found = await OtidLookup().once(client, agent, [ours["otid"]])
            unseen = await OtidLookup().once(client, agent, [newer_kind["otid"]])
    assert found == ours["run_id"]
    assert unseen is None
