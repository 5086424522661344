"""Leave a background stream early, then pick it up again from the last sequence id seen."""

import asyncio
import uuid

from letta_client import AsyncLetta
from letta_client.types.agents import AssistantMessage

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


def text_of(message: AssistantMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(part.text for part in content)


async def main() -> None:
    client = AsyncLetta()
    agent = await client.agents.create(
        name=f"resume-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "I speak slowly."}],
    )
    try:
        stream = await client.agents.messages.stream(
            agent.id,
            messages=[{"role": "user", "content": "Tell me slowly. [chunkdelay=0.3]"}],
            background=True,
            stream_tokens=True,
        )
        run_id = ""
        last_seq = 0
        first_part = ""
        async for chunk in stream:
            if isinstance(chunk, AssistantMessage):
                run_id = chunk.run_id or ""
                last_seq = chunk.seq_id or 0
                first_part = text_of(chunk)
                break
        await stream.close()
        print("left after the first delta:", first_part)

        rest: list[str] = []
        stop_reason = ""
        resumed = await client.runs.messages.stream(run_id, starting_after=last_seq)
        async for chunk in resumed:
            if isinstance(chunk, AssistantMessage):
                rest.append(text_of(chunk))
            elif chunk.message_type == "stop_reason":
                stop_reason = chunk.stop_reason
        print("resumed part:", "".join(rest))
        print("whole reply:", first_part + "".join(rest))
        print("stop reason after resume:", stop_reason)

        replay: list[str] = []
        again = await client.runs.messages.stream(run_id, starting_after=0)
        async for chunk in again:
            if isinstance(chunk, AssistantMessage):
                replay.append(text_of(chunk))
        print("replay from the start matches:", "".join(replay) == first_part + "".join(rest))
    finally:
        await client.agents.delete(agent.id)


asyncio.run(main())
