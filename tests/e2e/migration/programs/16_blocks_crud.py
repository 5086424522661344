"""Standalone memory blocks: create, retrieve, update, list with filters, see agents, delete."""

import asyncio
import uuid

from letta_client import AsyncLetta, NotFoundError
from letta_client.types import BlockResponse

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


def show(block: BlockResponse) -> str:
    return (
        f"label={block.label} value={block.value!r} limit={block.limit} read_only={block.read_only}"
    )


async def main() -> None:
    client = AsyncLetta()
    suffix = uuid.uuid4().hex[:8]
    label = f"policies_{suffix}"
    block = await client.blocks.create(
        label=label,
        value="Refunds within 30 days.",
        limit=4000,
        description="Company policies",
        metadata={"owner": "support"},
    )
    agent = None
    try:
        print("created:", show(block).replace(suffix, "*"))
        print("description:", block.description, "metadata:", block.metadata)

        fetched = await client.blocks.retrieve(block.id)
        print("retrieved:", show(fetched).replace(suffix, "*"))

        updated = await client.blocks.update(block.id, value="Refunds within 60 days.", limit=5000)
        print("updated:", show(updated).replace(suffix, "*"))

        by_label = [b.id async for b in client.blocks.list(label=label)]
        print("listed by label:", by_label == [block.id])
        by_search = [b.id async for b in client.blocks.list(value_search="60 days", label=label)]
        print("listed by value search:", by_search == [block.id])

        agent = await client.agents.create(
            name=f"blocks-{suffix}",
            model=MODEL,
            embedding=EMBEDDING,
            memory_blocks=[{"label": "persona", "value": "I follow the policies."}],
            block_ids=[block.id],
        )
        users = [a.id async for a in client.blocks.agents.list(block.id)]
        print("agents using the block:", users == [agent.id])
        labels = sorted((b.label or "").replace(suffix, "*") for b in agent.memory.blocks)
        print("agent memory labels:", labels)
    finally:
        if agent is not None:
            await client.agents.delete(agent.id)
        await client.blocks.delete(block.id)
    try:
        await client.blocks.retrieve(block.id)
    except NotFoundError as err:
        print("after delete:", type(err).__name__, err.status_code)


asyncio.run(main())
