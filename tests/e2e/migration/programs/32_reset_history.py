"""Start over: reset an agent's in-context messages; the stored history stays listable."""

import asyncio
import uuid

from letta_client import AsyncLetta

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


async def history(client: AsyncLetta, agent_id: str) -> list[str]:
    page = await client.agents.messages.list(agent_id, order="asc", limit=100)
    return [m.message_type or "unknown" for m in page.items]


async def in_context(client: AsyncLetta, agent_id: str) -> int:
    state = await client.agents.retrieve(agent_id)
    return len(state.message_ids or [])


async def main() -> None:
    client = AsyncLetta()
    agent = await client.agents.create(
        name=f"reset-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "I forget on request."}],
    )
    try:
        await client.agents.messages.create(agent.id, input="Remember this.")
        await client.agents.messages.create(agent.id, input="And this. [tool]")
        print("before reset:", await history(client, agent.id))
        print("in context before reset:", await in_context(client, agent.id))

        state = await client.agents.messages.reset(agent.id)
        print("reset returned the agent:", state is not None and state.id == agent.id)
        print("in context after reset:", await in_context(client, agent.id))
        print("reset answer agrees:", state is not None and len(state.message_ids or []))
        print("stored history after reset:", await history(client, agent.id))

        await client.agents.messages.create(agent.id, input="Fresh start.")
        print("in context after one more turn:", await in_context(client, agent.id))

        await client.agents.messages.reset(agent.id, add_default_initial_messages=True)
        print("in context after reset with defaults:", await in_context(client, agent.id))
    finally:
        await client.agents.delete(agent.id)


asyncio.run(main())
