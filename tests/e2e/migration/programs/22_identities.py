"""Identities: made through the raw HTTP helpers (no typed resource), attached with the SDK."""

import asyncio
import uuid
from typing import Any

import httpx
from letta_client import AsyncLetta

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


async def main() -> None:
    client = AsyncLetta()
    suffix = uuid.uuid4().hex[:8]
    identity = await client.post(
        "/v1/identities/",
        cast_to=dict[str, Any],
        body={
            "identifier_key": f"customer-{suffix}",
            "name": "Jo Customer",
            "identity_type": "user",
        },
    )
    print("identity fields:", sorted(identity))
    print("identity:", identity["name"], identity["identity_type"])
    identity_id = str(identity["id"])
    agent = await client.agents.create(
        name=f"support-{suffix}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "I help customers."}],
    )
    try:
        attached = await client.agents.identities.attach(identity_id, agent_id=agent.id)
        print("attach returned:", attached)
        state = await client.agents.retrieve(agent.id, include=["agent.identities"])
        print("agent identities:", [i.name for i in state.identities or []])
        serving = [a.id async for a in client.agents.list(identity_id=identity_id)]
        print("agents for the identity:", serving == [agent.id])
        by_key = [a.id async for a in client.agents.list(identifier_keys=[f"customer-{suffix}"])]
        print("agents for the identifier key:", by_key == [agent.id])

        fetched = await client.get(f"/v1/identities/{identity_id}", cast_to=dict[str, Any])
        print("identity agent_ids from GET:", len(fetched.get("agent_ids") or []))

        await client.agents.identities.detach(identity_id, agent_id=agent.id)
        state = await client.agents.retrieve(agent.id, include=["agent.identities"])
        print("after detach:", [i.name for i in state.identities or []])
    finally:
        await client.agents.delete(agent.id)
        response = await client.delete(f"/v1/identities/{identity_id}", cast_to=httpx.Response)
        print("identity delete status:", response.status_code)


asyncio.run(main())
