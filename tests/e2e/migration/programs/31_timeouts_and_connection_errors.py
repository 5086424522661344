"""Slow and unreachable servers: APITimeoutError, APIConnectionError, retries turned off."""

import asyncio
import uuid

import letta_client

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


async def wait_for_idle(client: letta_client.AsyncLetta, agent_id: str) -> None:
    for _ in range(100):
        active = [r async for r in client.runs.list(agent_id=agent_id, active=True)]
        if not active:
            return
        await asyncio.sleep(0.2)


async def main() -> None:
    client = letta_client.AsyncLetta()
    agent = await client.agents.create(
        name=f"slow-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "I take my time."}],
    )
    try:
        try:
            await client.with_options(max_retries=0).agents.messages.create(
                agent.id, input="Think hard. [delay=3]", timeout=1.0
            )
            print("no timeout?")
        except letta_client.APITimeoutError as err:
            print("timed out:", type(err).__name__)
            print(
                "timeout is a connection error:", isinstance(err, letta_client.APIConnectionError)
            )
            print("timeout is an APIError:", isinstance(err, letta_client.APIError))
        await wait_for_idle(client, agent.id)

        patient = await client.agents.messages.create(
            agent.id, input="Think briefly. [delay=1]", timeout=30.0
        )
        print("with a long timeout:", [m.message_type for m in patient.messages])
    finally:
        await client.agents.delete(agent.id)

    nowhere = letta_client.AsyncLetta(base_url="http://127.0.0.1:9", max_retries=0, timeout=5.0)
    try:
        await nowhere.health()
    except letta_client.APIConnectionError as err:
        print("unreachable:", type(err).__name__)
        print("not a status error:", not isinstance(err, letta_client.APIStatusError))
    finally:
        await nowhere.close()


asyncio.run(main())
