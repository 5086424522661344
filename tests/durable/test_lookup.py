"""Finding the run a send started by its otid, as the README promises for a key left in
``sending``: "looked up by otid in the agent's (or the conversation's) newest messages
(``OtidLookup``: 200 items, retried for 10 s after the send); found: that run is resumed".

Which run holds which otid is read from the test server's own message records, never from
the client.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import anyio
import pytest

from letta_async import AsyncLetta
from letta_async.durable import OtidLookup
from letta_async.testing import LettaTestServer

from .test_delivery import runs_for

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
