"""Conversations: several threads on one agent; sending to one streams by default."""

import asyncio
import uuid

from letta_client import AsyncLetta, AsyncStream
from letta_client.types import Conversation

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


def describe(conversation: Conversation, agent_id: str) -> str:
    return f"summary={conversation.summary!r} same agent={conversation.agent_id == agent_id}"


async def main() -> None:
    client = AsyncLetta()
    agent = await client.agents.create(
        name=f"threads-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "I juggle several chats."}],
    )
    try:
        work = await client.conversations.create(agent_id=agent.id, summary="work chat")
        home = await client.conversations.create(agent_id=agent.id, summary="home chat")
        print("work:", describe(work, agent.id))
        print("home:", describe(home, agent.id))

        stream = await client.conversations.messages.create(
            work.id, messages=[{"role": "user", "content": "Any meetings today?"}]
        )
        print("send returns a stream:", isinstance(stream, AsyncStream))
        async for event in stream:
            if event.message_type == "assistant_message":
                print("work reply:", event.content)
            elif event.message_type == "stop_reason":
                print("work stop:", event.stop_reason)

        tokens = await client.conversations.messages.create(
            home.id, input="What's for dinner? [tool]", stream_tokens=True
        )
        kinds: list[str] = []
        text = ""
        async for event in tokens:
            kind = event.message_type or "unknown"
            if kind != "ping" and (not kinds or kinds[-1] != kind):
                kinds.append(kind)
            if event.message_type == "assistant_message" and isinstance(event.content, str):
                text += event.content
        print("home event kinds:", kinds)
        print("home reply:", text)

        work_history = [
            m.message_type async for m in client.conversations.messages.list(work.id, order="asc")
        ]
        home_history = [
            m.message_type async for m in client.conversations.messages.list(home.id, order="asc")
        ]
        print("work history:", work_history)
        print("home history:", home_history)
        newest = await client.conversations.messages.list(work.id, limit=1)
        print("newest in work:", [m.message_type for m in newest.items])

        listed = await client.conversations.list(agent_id=agent.id)
        print("conversations listed:", sorted(c.summary or "" for c in listed))
        fetched = await client.conversations.retrieve(work.id)
        print("retrieved:", describe(fetched, agent.id))
        renamed = await client.conversations.update(work.id, summary="office chat")
        print("renamed:", describe(renamed, agent.id))
        agent_history = [
            m.message_type async for m in client.agents.messages.list(agent.id, order="asc")
        ]
        print("agent-wide history:", agent_history)
        await client.conversations.delete(home.id)
        listed = await client.conversations.list(agent_id=agent.id)
        print("after delete:", sorted(c.summary or "" for c in listed))
    finally:
        await client.agents.delete(agent.id)


asyncio.run(main())
