"""404s: typed NotFoundError and the APIStatusError attributes people log."""

import asyncio

import letta_client
from letta_client import APIStatusError, AsyncLetta, NotFoundError

MISSING_AGENT = "agent-00000000-0000-4000-8000-000000000000"
MISSING_BLOCK = "block-00000000-0000-4000-8000-000000000000"


async def main() -> None:
    client = AsyncLetta()
    try:
        await client.agents.retrieve(MISSING_AGENT)
    except NotFoundError as err:
        print("caught:", type(err).__name__)
        print("status code:", err.status_code)
        print("response status:", err.response.status_code)
        print("is an APIStatusError:", isinstance(err, APIStatusError))
        print("is an APIError:", isinstance(err, letta_client.APIError))
        print("body is a dict:", isinstance(err.body, dict))
        if isinstance(err.body, dict):
            print("body keys:", sorted(err.body))
            print("detail mentions the id:", MISSING_AGENT in str(err.body.get("detail")))
        print("content type:", err.response.headers.get("content-type"))
        print("request method:", err.request.method)
        print("request url ends with the id:", str(err.request.url).endswith(MISSING_AGENT))
        print("message mentions 404:", "404" in err.message)

    try:
        await client.blocks.retrieve(MISSING_BLOCK)
    except APIStatusError as err:
        print("block:", type(err).__name__, err.status_code)

    try:
        await client.agents.messages.create(MISSING_AGENT, input="hello?")
    except letta_client.NotFoundError as err:
        print("send to a missing agent:", type(err).__name__, err.status_code)

    try:
        stream = await client.agents.messages.stream(MISSING_AGENT, input="hello?")
        async for _ in stream:
            pass
    except NotFoundError as err:
        print("stream to a missing agent:", type(err).__name__, err.status_code)

    for call in ("runs", "conversations"):
        try:
            if call == "runs":
                await client.runs.retrieve("run-00000000-0000-4000-8000-000000000000")
            else:
                await client.conversations.retrieve("conv-00000000-0000-4000-8000-000000000000")
        except letta_client.APIStatusError as err:
            print(f"{call}:", type(err).__name__, err.status_code)


asyncio.run(main())
