"""An agent's core memory: list, read and edit blocks by label; attach and detach shared ones."""

import asyncio
import uuid

from letta_client import AsyncLetta

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


async def main() -> None:
    client = AsyncLetta()
    suffix = uuid.uuid4().hex[:8]
    agent = await client.agents.create(
        name=f"memory-{suffix}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[
            {"label": "human", "value": "Name: Robin. Likes tea."},
            {"label": "persona", "value": "I am a barista bot.", "limit": 3000},
        ],
    )
    shared = await client.blocks.create(label="menu", value="Tea, coffee, cocoa.")
    try:
        labels = sorted([b.label or "" async for b in client.agents.blocks.list(agent.id)])
        print("labels:", labels)

        human = await client.agents.blocks.retrieve("human", agent_id=agent.id)
        print("human block:", human.value)

        edited = await client.agents.blocks.update(
            "human", agent_id=agent.id, value="Name: Robin. Likes green tea."
        )
        print("edited:", edited.value)
        persona = await client.agents.blocks.retrieve("persona", agent_id=agent.id)
        print("persona limit:", persona.limit)

        state = await client.agents.blocks.attach(shared.id, agent_id=agent.id)
        print("after attach:", sorted(b.label or "" for b in state.memory.blocks))
        menu = await client.agents.blocks.retrieve("menu", agent_id=agent.id)
        print("shared block through the agent:", menu.value, menu.id == shared.id)

        await client.agents.blocks.update("menu", agent_id=agent.id, value="Tea only.")
        print("shared block changed globally:", (await client.blocks.retrieve(shared.id)).value)

        state = await client.agents.blocks.detach(shared.id, agent_id=agent.id)
        print("after detach:", sorted(b.label or "" for b in state.memory.blocks))

        reply = await client.agents.messages.create(agent.id, input="What do I like?")
        print("agent still answers:", [m.message_type for m in reply.messages])
        plain = await client.agents.retrieve(agent.id)
        print("blocks in a plain retrieve:", len(plain.memory.blocks))
        refreshed = await client.agents.retrieve(agent.id, include=["agent.blocks"])
        values = {b.label: b.value for b in refreshed.memory.blocks}
        print("memory after a turn:", values.get("human"))
    finally:
        await client.agents.delete(agent.id)
        await client.blocks.delete(shared.id)


asyncio.run(main())
