"""Walk an agent's message history with ``async for``, small pages, both directions."""

import asyncio
import uuid

from letta_client import AsyncLetta
from letta_client.types.agents import Message

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


def label(message: Message) -> str:
    if message.message_type == "user_message":
        content = message.content
        text = content if isinstance(content, str) else "<parts>"
        return f"user:{text}"
    return message.message_type or "unknown"


async def main() -> None:
    client = AsyncLetta()
    agent = await client.agents.create(
        name=f"history-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "I remember everything."}],
    )
    try:
        for word in ["one", "two", "three", "four"]:
            await client.agents.messages.create(agent.id, input=f"message {word}")

        ascending = [m async for m in client.agents.messages.list(agent.id, limit=2, order="asc")]
        descending = [m async for m in client.agents.messages.list(agent.id, limit=3, order="desc")]
        print("ascending:", [label(m) for m in ascending])
        print("descending:", [label(m) for m in descending])
        print(
            "desc walk equals asc walk reversed:",
            [m.id for m in descending] == [m.id for m in ascending][::-1],
        )
        print("no duplicates:", len({m.id for m in ascending}) == len(ascending))

        newest_first = [m async for m in client.agents.messages.list(agent.id)]
        print(
            "default walk equals desc walk:",
            [m.id for m in newest_first] == [m.id for m in descending],
        )

        user_only = [
            label(m)
            async for m in client.agents.messages.list(
                agent.id, order="asc", limit=1, include_return_message_types=["user_message"]
            )
        ]
        print("user messages only:", user_only)
    finally:
        await client.agents.delete(agent.id)


asyncio.run(main())
