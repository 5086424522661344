"""A background run: the stream carries run ids and sequence numbers, and the run finishes."""

import asyncio
import uuid

from letta_client import AsyncLetta

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


async def main() -> None:
    client = AsyncLetta()
    agent = await client.agents.create(
        name=f"background-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "I keep working when you look away."}],
    )
    run_ids: set[str] = set()
    seq_ids: list[int] = []
    kinds: list[str] = []
    try:
        stream = await client.agents.messages.stream(
            agent.id,
            messages=[{"role": "user", "content": "Please work on this in the background."}],
            background=True,
            stream_tokens=True,
        )
        async for chunk in stream:
            if chunk.message_type == "ping":
                continue
            kind = chunk.message_type or "unknown"
            if not kinds or kinds[-1] != kind:
                kinds.append(kind)
            if chunk.message_type == "assistant_message":
                if chunk.run_id is not None:
                    run_ids.add(chunk.run_id)
                if chunk.seq_id is not None:
                    seq_ids.append(chunk.seq_id)
        print("kinds:", kinds)
        print("one run id:", len(run_ids) == 1)
        print("sequence numbers increase:", seq_ids == sorted(set(seq_ids)) and len(seq_ids) > 1)
        run = await client.runs.retrieve(run_ids.pop())
        for _ in range(50):
            if run.status not in ("created", "running"):
                break
            await asyncio.sleep(0.2)
            run = await client.runs.retrieve(run.id)
        print("run status:", run.status)
        print("run is background:", run.background)
        print("run stop reason:", run.stop_reason)
        print("run belongs to agent:", run.agent_id == agent.id)
    finally:
        await client.agents.delete(agent.id)


asyncio.run(main())
