"""Agents from create to delete: retrieve, update, list by name, and 404 afterwards."""

import asyncio
import uuid

from letta_client import AsyncLetta, NotFoundError
from letta_client.types import AgentState

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


def summary(agent: AgentState) -> str:
    blocks = {b.label: b.value for b in agent.memory.blocks}
    return (
        f"description={agent.description!r} tags={sorted(agent.tags)} "
        f"blocks={sorted(blocks.items())} metadata={agent.metadata}"
    )


async def main() -> None:
    client = AsyncLetta()
    suffix = uuid.uuid4().hex[:8]
    name = f"crud-{suffix}"
    created = await client.agents.create(
        name=name,
        model=MODEL,
        embedding=EMBEDDING,
        description="a travel planner",
        tags=["travel", "planner"],
        metadata={"team": "trips", "tier": 2},
        memory_blocks=[
            {"label": "human", "value": "Prefers trains."},
            {"label": "persona", "value": "I plan trips.", "limit": 2000},
        ],
    )
    print("created:", summary(created))
    print("agent type:", created.agent_type)
    print("model handle:", created.model)
    print("embedding handle:", created.embedding)
    print("base tools:", sorted(tool.name or "" for tool in created.tools))

    fetched = await client.agents.retrieve(created.id)
    print("retrieved same agent:", fetched.id == created.id, fetched.name == name)

    renamed = f"crud-renamed-{suffix}"
    updated = await client.agents.update(
        created.id,
        name=renamed,
        description="a rail trip planner",
        tags=["travel", "rail"],
        metadata={"team": "trips", "tier": 3},
    )
    print("updated:", summary(updated))
    print("new name stored:", updated.name == renamed)

    by_name = [a async for a in client.agents.list(name=renamed)]
    print("listed by new name:", len(by_name), by_name[0].id == created.id)
    by_old_name = [a async for a in client.agents.list(name=name)]
    print("listed by old name:", len(by_old_name))

    deleted = await client.agents.delete(created.id)
    print("delete returned a", type(deleted).__name__)
    if isinstance(deleted, dict):
        print("delete answer keys:", sorted(deleted))
    try:
        await client.agents.retrieve(created.id)
    except NotFoundError as err:
        print("after delete:", type(err).__name__, err.status_code)


asyncio.run(main())
