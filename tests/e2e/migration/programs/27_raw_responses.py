"""Raw and streaming responses: headers and status, then parse into the usual models."""

import asyncio
import json
import uuid

from letta_client import AsyncLetta
from letta_client.types import AgentState

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


async def main() -> None:
    client = AsyncLetta()
    agent = await client.agents.create(
        name=f"raw-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "I show my headers."}],
    )
    try:
        raw = await client.agents.with_raw_response.retrieve(agent.id)
        print("status:", raw.status_code)
        print("content type:", raw.headers.get("content-type"))
        print("method:", raw.method)
        parsed = await raw.parse()
        print("parsed type:", type(parsed).__name__, isinstance(parsed, AgentState))
        print("parsed is the agent:", parsed.id == agent.id)
        body = await raw.json()
        print(
            "raw json is a dict with the name:",
            isinstance(body, dict) and body.get("name") == agent.name,
        )

        raw_list = await client.agents.with_raw_response.list(name=agent.name, limit=5)
        page = await raw_list.parse()
        print("raw list status:", raw_list.status_code, "items:", len(page.items))

        raw_send = await client.agents.messages.with_raw_response.create(
            agent.id, input="Hello raw."
        )
        response = await raw_send.parse()
        print("raw send status:", raw_send.status_code)
        print("raw send messages:", [m.message_type for m in response.messages])

        async with client.agents.with_streaming_response.retrieve(agent.id) as streamed:
            print("streaming response status:", streamed.status_code)
            print("streaming content type:", streamed.headers.get("content-type"))
            text = await streamed.text()
            print("streamed body has the id:", json.loads(text)["id"] == agent.id)

        async with client.blocks.with_streaming_response.list(label="persona", limit=1) as streamed:
            blocks_page = await streamed.parse()
            print("streamed list parsed:", len(blocks_page.items) <= 1)

        async with client.agents.messages.with_streaming_response.create(
            agent.id, input="Stream me raw.", streaming=True
        ) as sse:
            print("sse status:", sse.status_code)
            print("sse content type:", (sse.headers.get("content-type") or "").split(";")[0])
            lines = [line async for line in sse.iter_lines() if line.startswith("data:")]
            kinds = [
                json.loads(line[5:]).get("message_type")
                for line in lines
                if line[5:].strip().startswith("{")
            ]
            print("sse data kinds:", [k for k in kinds if k != "ping"])
    finally:
        await client.agents.delete(agent.id)


asyncio.run(main())
