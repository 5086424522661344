"""422s from the server's validation: bad ids in the path, bad query and body values."""

import asyncio

from letta_client import APIStatusError, AsyncLetta, BadRequestError, UnprocessableEntityError


def fields(err: APIStatusError) -> list[str]:
    body = err.body
    return sorted(body) if isinstance(body, dict) else []


async def main() -> None:
    client = AsyncLetta()
    try:
        await client.agents.retrieve("not-an-agent-id")
    except UnprocessableEntityError as err:
        print("bad path id:", type(err).__name__, err.status_code, fields(err))
        detail = err.body.get("detail") if isinstance(err.body, dict) else None
        print("detail names the parameter:", "agent_id" in str(detail))

    try:
        await client.agents.list(extra_query={"limit": "lots"})
    except UnprocessableEntityError as err:
        print("bad query value:", type(err).__name__, err.status_code)

    try:
        await client.blocks.create(label="x", value="y", extra_body={"limit": "many"})
    except UnprocessableEntityError as err:
        print("bad body value:", type(err).__name__, err.status_code)

    try:
        await client.tools.retrieve("tool-42")
    except (BadRequestError, UnprocessableEntityError) as err:
        print("short tool id:", type(err).__name__, err.status_code)

    try:
        stream = await client.agents.messages.stream("agent-nope", input="hi")
        async for _ in stream:
            pass
    except UnprocessableEntityError as err:
        print("stream with a bad id:", type(err).__name__, err.status_code)


asyncio.run(main())
