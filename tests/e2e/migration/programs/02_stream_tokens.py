"""Token streaming: assistant deltas arrive piece by piece and join into the full reply."""

import asyncio
import uuid

import letta_client

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


async def main() -> None:
    client = letta_client.AsyncLetta()
    agent = await client.agents.create(
        name=f"tokens-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "I answer in one sentence."}],
    )
    pieces: list[str] = []
    message_ids: set[str] = set()
    kinds: list[str] = []
    try:
        stream = await client.agents.messages.stream(
            agent.id,
            messages=[{"role": "user", "content": "Say hello, token by token."}],
            stream_tokens=True,
        )
        async for chunk in stream:
            kind = chunk.message_type or "unknown"
            if kind == "ping":
                continue
            if not kinds or kinds[-1] != kind:
                kinds.append(kind)
            if chunk.message_type == "assistant_message":
                message_ids.add(chunk.id)
                if isinstance(chunk.content, str):
                    pieces.append(chunk.content)
    finally:
        await client.agents.delete(agent.id)
    print("event kinds in order:", kinds)
    print("more than one delta:", len(pieces) > 1)
    print("all deltas share one message id:", len(message_ids) == 1)
    print("joined:", "".join(pieces))


asyncio.run(main())
