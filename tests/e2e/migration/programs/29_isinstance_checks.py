"""Dispatching on the typed classes: isinstance on stream events and on listed items."""

import asyncio
import uuid
from collections import Counter

import letta_client
from letta_client import AsyncLetta
from letta_client.types import AgentState, Tool, ToolReturnMessage
from letta_client.types.agents import (
    AssistantMessage,
    SystemMessage,
    ToolCallMessage,
    UserMessage,
)
from letta_client.types.agents.letta_streaming_response import (
    LettaErrorMessage,
    LettaPing,
    LettaStopReason,
    LettaUsageStatistics,
)

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"

CLASSES: list[type[letta_client.BaseModel]] = [
    AssistantMessage,
    ToolCallMessage,
    ToolReturnMessage,
    LettaPing,
    LettaStopReason,
    LettaUsageStatistics,
    LettaErrorMessage,
    UserMessage,
    SystemMessage,
]


def classify(item: object) -> str:
    for cls in CLASSES:
        if isinstance(item, cls):
            return cls.__name__
    return "unknown"


async def main() -> None:
    client = AsyncLetta()
    agent = await client.agents.create(
        name=f"types-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "I am strongly typed."}],
    )
    try:
        print("agent is AgentState:", isinstance(agent, AgentState))
        print("agent is a pydantic-style model:", isinstance(agent, letta_client.BaseModel))

        stream = await client.agents.messages.stream(agent.id, input="Use a tool. [tool]")
        classes = [classify(chunk) async for chunk in stream]
        print("stream classes:", [c for c in classes if c != "LettaPing"])

        history = [classify(m) async for m in client.agents.messages.list(agent.id, order="asc")]
        print("history classes:", history)
        counts = Counter(history)
        print("history counts:", sorted(counts.items()))

        page = await client.agents.tools.list(agent.id, limit=50)
        print("tools are Tool:", all(isinstance(t, Tool) for t in page.items))

        reply = await client.agents.messages.create(agent.id, input="Plain reply.")
        print("reply classes:", [classify(m) for m in reply.messages])
    finally:
        await client.agents.delete(agent.id)


asyncio.run(main())
