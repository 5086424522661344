"""Blocking sends: ``messages.create`` waits for the whole turn and returns a LettaResponse."""

import asyncio
import uuid

from letta_client import AsyncLetta
from letta_client.types.agents import AssistantMessage, LettaResponse

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


def describe(response: LettaResponse) -> None:
    print("  message types:", [m.message_type for m in response.messages])
    for message in response.messages:
        if isinstance(message, AssistantMessage):
            print("  assistant:", message.content)
    print("  stop reason:", response.stop_reason.stop_reason)
    print("  step count:", response.usage.step_count)


async def main() -> None:
    client = AsyncLetta()
    agent = await client.agents.create(
        name=f"blocking-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[
            {"label": "human", "value": "Name: Alex"},
            {"label": "persona", "value": "I am concise."},
        ],
    )
    try:
        print("plain message:")
        describe(
            await client.agents.messages.create(
                agent.id, messages=[{"role": "user", "content": "Hello!"}]
            )
        )
        print("input shorthand:")
        describe(await client.agents.messages.create(agent.id, input="Hello again!"))
        print("with a tool call:")
        describe(await client.agents.messages.create(agent.id, input="Look it up. [tool]"))
        print("only assistant messages returned:")
        describe(
            await client.agents.messages.create(
                agent.id,
                input="Search once more. [tool]",
                include_return_message_types=["assistant_message"],
            )
        )
    finally:
        await client.agents.delete(agent.id)


asyncio.run(main())
