"""Which class a tool call is: whole in a reply, the history and a step stream, else fragments."""

import asyncio
import uuid

from letta_client import AsyncLetta, AsyncStream
from letta_client.types.agents import (
    LettaStreamingResponse,
    ToolCall,
    ToolCallDelta,
    ToolCallMessage,
)

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


def kind(message: ToolCallMessage) -> str:
    match message.tool_call:
        case ToolCall(name=name, arguments=arguments):
            return f"whole call {name} {arguments}"
        case ToolCallDelta():
            return "fragment"


def describe(message: ToolCallMessage) -> str:
    listed = isinstance(message.tool_calls, list)
    return f"{kind(message)}, tool_calls is a list: {listed}"


async def streamed(stream: AsyncStream[LettaStreamingResponse]) -> list[str]:
    seen: set[str] = set()
    async with stream:
        async for chunk in stream:
            if isinstance(chunk, ToolCallMessage):
                seen.add(kind(chunk).split(" ", 1)[0])
    return sorted(seen)


async def main() -> None:
    client = AsyncLetta()
    agent = await client.agents.create(
        name=f"tool-classes-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "I look things up before answering."}],
    )
    try:
        reply = await client.agents.messages.create(
            agent.id, messages=[{"role": "user", "content": "Look it up. [tool]"}]
        )
        for message in reply.messages:
            if message.message_type == "tool_call_message":
                print("reply:", describe(message))
                print("reply run id is set:", message.run_id is not None)

        async for item in client.agents.messages.list(agent.id, order="asc"):
            if item.message_type == "tool_call_message":
                print("history:", describe(item))

        steps = await client.agents.messages.create(
            agent.id, messages=[{"role": "user", "content": "Again. [tool]"}], streaming=True
        )
        print("step stream:", await streamed(steps))

        tokens = await client.agents.messages.create(
            agent.id,
            messages=[{"role": "user", "content": "Once more. [tool]"}],
            streaming=True,
            stream_tokens=True,
        )
        print("token stream:", await streamed(tokens))
    finally:
        await client.agents.delete(agent.id)


asyncio.run(main())
