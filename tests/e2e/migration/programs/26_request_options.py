"""Per-call and per-client options: extra headers, query and body, timeouts, with_options, copy."""

import asyncio
import uuid

from letta_client import AsyncLetta

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


async def main() -> None:
    client = AsyncLetta(max_retries=1, timeout=45.0, default_headers={"X-Team": "migration"})
    print("client settings:", client.max_retries, client.timeout)
    suffix = uuid.uuid4().hex[:8]
    name = f"options-{suffix}"
    agent = await client.agents.create(
        name=name,
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "I accept extras."}],
        extra_body={"description": "set through extra_body"},
        extra_headers={"X-Request-Source": "corpus"},
        timeout=30.0,
    )
    try:
        print("extra_body reached the server:", agent.description)

        by_extra_query = [a.id async for a in client.agents.list(extra_query={"name": name})]
        print("extra_query filtered the list:", by_extra_query == [agent.id])

        fetched = await client.agents.retrieve(
            agent.id,
            extra_headers={"X-Trace": "abc", "Accept": "application/json"},
            extra_query={"include": "agent.tags"},
            timeout=10,
        )
        print("retrieve with extras:", fetched.name == name)

        quick = client.with_options(max_retries=0, timeout=20.0)
        print("with_options settings:", quick.max_retries, quick.timeout)
        print("original untouched:", client.max_retries, client.timeout)
        reply = await quick.agents.messages.create(agent.id, input="Quick question.")
        print("reply through with_options:", [m.message_type for m in reply.messages])

        scoped = client.copy(default_query={"name": name}, max_retries=3)
        print("copy settings:", scoped.max_retries, scoped.timeout)
        scoped_ids = [a.id async for a in scoped.agents.list()]
        print("copy's default query filtered the list:", scoped_ids == [agent.id])

        headed = client.copy(default_headers={"X-Extra": "1"})
        health = await headed.health()
        print("copy with headers works:", health.status)

        updated = await client.agents.update(
            agent.id, extra_body={"description": "changed through extra_body"}
        )
        print("update with extra_body:", updated.description)

        stream = await client.agents.messages.stream(
            agent.id,
            input="Stream with options.",
            extra_headers={"X-Stream": "yes"},
            timeout=60.0,
        )
        kinds = [c.message_type async for c in stream if c.message_type != "ping"]
        print("stream with options:", kinds)
    finally:
        await client.agents.delete(agent.id)


asyncio.run(main())
