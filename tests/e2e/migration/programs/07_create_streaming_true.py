"""The README way: ``messages.create(streaming=True)`` returns a stream for ``async with``."""

import asyncio
import uuid

from letta_client import AsyncLetta, AsyncStream
from letta_client.types.agents import LettaStreamingResponse

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


async def collect(stream: AsyncStream[LettaStreamingResponse]) -> list[str]:
    kinds: list[str] = []
    async with stream:
        async for message in stream:
            if message.message_type != "ping":
                kinds.append(message.message_type or "unknown")
    return kinds


async def main() -> None:
    client = AsyncLetta()
    agent = await client.agents.create(
        name=f"create-stream-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "I stream by default."}],
    )
    try:
        stream = await client.agents.messages.create(
            agent_id=agent.id,
            messages=[{"role": "user", "content": "Stream this please."}],
            streaming=True,
        )
        print("got a stream:", isinstance(stream, AsyncStream))
        print("kinds:", await collect(stream))

        tokens = await client.agents.messages.create(
            agent_id=agent.id,
            input="And now token by token.",
            streaming=True,
            stream_tokens=True,
        )
        text = ""
        async with tokens:
            async for message in tokens:
                if message.message_type == "assistant_message" and isinstance(message.content, str):
                    text += message.content
        print("token reply:", text)

        early = await client.agents.messages.create(
            agent_id=agent.id,
            input="I will only read the first event.",
            streaming=True,
        )
        async with early:
            async for message in early:
                if message.message_type != "ping":
                    print("first event:", message.message_type)
                    break
        print("left the stream early without an error")
    finally:
        await client.agents.delete(agent.id)


asyncio.run(main())
