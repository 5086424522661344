"""A streamed turn in which the agent calls a tool, reads its result and then answers."""

import asyncio
import json
import uuid

from letta_client import AsyncLetta
from letta_client.types import ToolReturnMessage
from letta_client.types.agents import AssistantMessage, ToolCallMessage

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


async def main() -> None:
    client = AsyncLetta()
    agent = await client.agents.create(
        name=f"toolcall-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "I look things up before answering."}],
    )
    try:
        stream = await client.agents.messages.stream(
            agent.id,
            messages=[{"role": "user", "content": "What did we talk about? [tool]"}],
        )
        async for chunk in stream:
            if isinstance(chunk, ToolCallMessage):
                call = chunk.tool_call
                arguments = json.loads(call.arguments or "{}")
                print("tool call:", call.name, "with", sorted(arguments))
            elif isinstance(chunk, ToolReturnMessage):
                print("tool return status:", chunk.status)
                print("tool return is text:", isinstance(chunk.tool_return, str))
            elif isinstance(chunk, AssistantMessage):
                print("assistant:", chunk.content)
            elif chunk.message_type == "stop_reason":
                print("stop reason:", chunk.stop_reason)
            elif chunk.message_type == "usage_statistics":
                print("steps:", chunk.step_count)
    finally:
        await client.agents.delete(agent.id)


asyncio.run(main())
