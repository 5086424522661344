"""Fire and forget with ``create_async``, poll the run, then read what it produced."""

import asyncio
import uuid

from letta_client import AsyncLetta
from letta_client.types.agents import Run

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"
TERMINAL = {"completed", "failed", "cancelled"}


async def poll(client: AsyncLetta, run: Run) -> Run:
    for _ in range(100):
        if run.status in TERMINAL:
            return run
        await asyncio.sleep(0.2)
        run = await client.runs.retrieve(run.id)
    raise TimeoutError("run did not finish")


async def main() -> None:
    client = AsyncLetta()
    agent = await client.agents.create(
        name=f"async-run-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "I work asynchronously."}],
    )
    try:
        run = await client.agents.messages.create_async(
            agent.id,
            messages=[{"role": "user", "content": "Handle this when you can. [delay=1]"}],
        )
        print("initial status is not terminal:", run.status not in TERMINAL)
        print("run agent matches:", run.agent_id == agent.id)
        finished = await poll(client, run)
        print("final status:", finished.status)
        print("stop reason:", finished.stop_reason)
        print("has completion time:", finished.completed_at is not None)

        produced = [m.message_type async for m in client.runs.messages.list(run.id, order="asc")]
        print("messages produced by the run:", produced)

        second = await client.agents.messages.create_async(agent.id, input="Another one. [tool]")
        second = await poll(client, second)
        print("second run status:", second.status)
        produced = [m.message_type async for m in client.runs.messages.list(second.id, order="asc")]
        print("second run messages:", produced)

        listed = [r.id async for r in client.runs.list(agent_id=agent.id)]
        print("both runs listed:", {run.id, second.id} <= set(listed))
    finally:
        await client.agents.delete(agent.id)


asyncio.run(main())
