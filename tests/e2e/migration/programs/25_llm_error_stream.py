"""When the model provider fails: errors inside a stream and from a blocking send."""

import asyncio
import uuid

from letta_client import APIError, APIStatusError, AsyncLetta, InternalServerError

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


async def main() -> None:
    client = AsyncLetta()
    agent = await client.agents.create(
        name=f"flaky-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "My model is unreliable."}],
    )
    try:
        seen: list[str] = []
        try:
            stream = await client.agents.messages.stream(
                agent.id, messages=[{"role": "user", "content": "Break please [error500]"}]
            )
            async for chunk in stream:
                if chunk.message_type != "ping":
                    seen.append(chunk.message_type or "unknown")
            print("stream ended without an exception")
        except APIError as err:
            print("stream raised:", type(err).__name__)
            print("is an APIStatusError:", isinstance(err, APIStatusError))
            if isinstance(err, APIStatusError):
                print("status code:", err.status_code)
            body = err.body
            if isinstance(body, dict):
                print("error body keys:", sorted(body))
                print(
                    "error type:", body.get("error_type"), "message type:", body.get("message_type")
                )
        print("events before the error:", seen)

        token_seen: list[str] = []
        try:
            tokens = await client.agents.messages.create(
                agent.id, input="Break again [error500]", streaming=True, stream_tokens=True
            )
            async for chunk in tokens:
                if chunk.message_type != "ping":
                    token_seen.append(chunk.message_type or "unknown")
        except APIError as err:
            print("token stream raised:", type(err).__name__)
        print("token events before the error:", token_seen)

        strict = client.with_options(max_retries=0)
        try:
            await strict.agents.messages.create(agent.id, input="And once more [error500]")
        except InternalServerError as err:
            print("blocking send:", type(err).__name__, err.status_code)
            if isinstance(err.body, dict):
                print("blocking body keys:", sorted(err.body))

        reply = await client.agents.messages.create(agent.id, input="Are you fine now?")
        print("recovered:", [m.message_type for m in reply.messages], reply.stop_reason.stop_reason)
    finally:
        await client.agents.delete(agent.id)


asyncio.run(main())
