"""Quickstart: create an agent with core memory, stream one reply step by step, clean up."""

import asyncio
import uuid

from letta_client import AsyncLetta

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


async def main() -> None:
    client = AsyncLetta()
    agent = await client.agents.create(
        name=f"quickstart-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[
            {"label": "human", "value": "The user is called Sam and likes sailing."},
            {"label": "persona", "value": "I am a cheerful assistant."},
        ],
    )
    print("agent created:", agent.name.startswith("quickstart-"))
    print("memory labels:", sorted(block.label or "" for block in agent.memory.blocks))
    try:
        stream = await client.agents.messages.stream(
            agent_id=agent.id,
            messages=[{"role": "user", "content": "Hi there, who are you?"}],
        )
        async for chunk in stream:
            if chunk.message_type == "ping":
                continue
            if chunk.message_type == "assistant_message":
                content = chunk.content
                text = content if isinstance(content, str) else "".join(p.text for p in content)
                print("assistant:", text)
            elif chunk.message_type == "stop_reason":
                print("stop reason:", chunk.stop_reason)
            elif chunk.message_type == "usage_statistics":
                print("steps:", chunk.step_count)
            else:
                print("other:", chunk.message_type)
    finally:
        await client.agents.delete(agent.id)
    print("done")


asyncio.run(main())
