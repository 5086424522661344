"""Agents, memory blocks, tools and batches against the real Letta 0.16.8 server.

The streaming scenarios live in ``test_scenarios.py``; these check that the resource layer's
requests are what the real server accepts and that its answers decode into the typed structs.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

import letta_async

from .conftest import create_agent

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

SHOUT = '''def shout(text: str) -> str:
    """Say it louder.

    Args:
        text: what to say
    """
    return text.upper()
'''


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[letta_async.AsyncLetta]:
    async with letta_async.AsyncLetta(base_url=base_url) as c:
        yield c


async def test_agent_crud(client: letta_async.AsyncLetta) -> None:
    agent_id = await create_agent(client)
    assert (await client.agents.retrieve(agent_id)).id == agent_id
    renamed = f"e2e-renamed-{uuid.uuid4().hex[:6]}"
    assert (await client.agents.update(agent_id, name=renamed)).name == renamed
    listed = [a.id async for a in client.agents.list(name=renamed)]
    assert listed == [agent_id]
    await client.agents.delete(agent_id)
    with pytest.raises(letta_async.NotFoundError):
        await client.agents.retrieve(agent_id)


async def test_core_memory_blocks(client: letta_async.AsyncLetta) -> None:
    agent_id = await create_agent(client)
    human = await client.agents.blocks.retrieve("human", agent_id=agent_id)
    assert human.value == "The user is an end-to-end test."
    changed = await client.agents.blocks.update("human", agent_id=agent_id, value="changed")
    assert changed.value == "changed"
    notes = await client.blocks.create(label="notes", value="first note")
    try:
        attached = await client.agents.blocks.attach(notes.id, agent_id=agent_id)
        assert "notes" in [b.label for b in attached.blocks]
        detached = await client.agents.blocks.detach(notes.id, agent_id=agent_id)
        assert "notes" not in [b.label for b in detached.blocks]
    finally:
        await client.blocks.delete(notes.id)
        await client.agents.delete(agent_id)


async def test_tools_create_attach_list_detach(client: letta_async.AsyncLetta) -> None:
    agent_id = await create_agent(client)
    tool = await client.tools.create(source_code=SHOUT)
    try:
        assert tool.name == "shout"
        await client.agents.tools.attach(tool.id, agent_id=agent_id)
        names = [t.name async for t in client.agents.tools.list(agent_id)]
        assert names.count("shout") == 1, names
        assert len(names) == len(set(names)), "each tool listed once across pages"
        await client.agents.tools.detach(tool.id, agent_id=agent_id)
        names = [t.name async for t in client.agents.tools.list(agent_id)]
        assert "shout" not in names
    finally:
        await client.tools.delete(tool.id)
        await client.agents.delete(agent_id)


async def test_batches_list_and_typed_refusal(client: letta_async.AsyncLetta) -> None:
    # Listing works on any server; creating needs an LLM provider with a batch API, which the
    # scripted LLM is not, so 0.16.8 answers 500 and the client raises the typed error.
    assert isinstance((await client.batches.list(limit=5)).items, list)
    agent_id = await create_agent(client)
    try:
        with pytest.raises(letta_async.InternalServerError):
            await client.batches.create(
                requests=[{"agent_id": agent_id, "messages": [{"role": "user", "content": "hi"}]}]
            )
    finally:
        await client.agents.delete(agent_id)
