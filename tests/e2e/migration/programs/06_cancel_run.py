"""Cancel a slow background run through the agent's cancel endpoint and watch it stop."""

import asyncio
import uuid

from letta_client import AsyncLetta
from letta_client.types.agents import Run

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


async def wait_until_settled(client: AsyncLetta, run_id: str) -> Run:
    run = await client.runs.retrieve(run_id)
    for _ in range(100):
        if run.status not in ("created", "running"):
            break
        await asyncio.sleep(0.1)
        run = await client.runs.retrieve(run_id)
    return run


async def main() -> None:
    client = AsyncLetta()
    agent = await client.agents.create(
        name=f"cancel-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "I ramble on."}],
    )
    try:
        stream = await client.agents.messages.stream(
            agent.id,
            messages=[{"role": "user", "content": "Take your time. [chunkdelay=1]"}],
            background=True,
            stream_tokens=True,
        )
        run_id = None
        async for chunk in stream:
            if chunk.message_type == "assistant_message":
                run_id = chunk.run_id
                break
        await stream.close()
        assert run_id is not None
        print("got a run id before cancelling:", run_id.startswith("run-"))

        cancelled = await client.agents.messages.cancel(agent.id, run_ids=[run_id])
        print("cancel answer:", sorted(str(value) for value in cancelled.values()))
        print("cancel answer names the run:", run_id in cancelled)

        run = await wait_until_settled(client, run_id)
        print("run status:", run.status)
        print("run stop reason:", run.stop_reason)

        tail: list[str] = []
        replay = await client.runs.messages.stream(run_id, starting_after=0)
        async for chunk in replay:
            if chunk.message_type == "stop_reason":
                tail.append(chunk.stop_reason)
        print("replay ends with:", tail)
    finally:
        await client.agents.delete(agent.id)


asyncio.run(main())
