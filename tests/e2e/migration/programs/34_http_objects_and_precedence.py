"""httpx objects on errors, raw responses and streams; error texts; choosing the server."""

import asyncio
import os
import uuid
from urllib.parse import urlsplit

import httpx
from letta_client import (
    APIConnectionError,
    AsyncLetta,
    NotFoundError,
    UnprocessableEntityError,
)

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"
MISSING = "agent-00000000-0000-4000-8000-000000000000"


async def main() -> None:
    server = os.environ["LETTA_BASE_URL"]
    client = AsyncLetta(timeout=httpx.Timeout(60.0, connect=5.0))

    try:
        await client.agents.retrieve(MISSING, extra_query={"include": "agent.tags"})
    except NotFoundError as err:
        url = err.request.url
        print("request:", err.request.method, url.path, url.scheme)
        print(
            "host and port:",
            url.host == urlsplit(server).hostname,
            url.port == urlsplit(server).port,
        )
        print("params:", dict(url.params), url.params.get("include"))
        print("url equals its text:", url == str(url), str(url).endswith("?include=agent.tags"))
        print("raw path:", url.raw_path.decode().startswith("/v1/agents/"))
        print("response:", err.response.status_code, err.response.reason_phrase)
        print("response url path:", err.response.url.path)
        print("response.request is request:", err.response.request.url == err.request.url)
        print("content type:", err.response.headers["content-type"])
        print("message:", err.message)
        print("body:", err.body)
        print("json:", err.response.json() == err.body)

    try:
        await client.agents.retrieve("not-an-id")
    except UnprocessableEntityError as err:
        print("422 message starts:", err.message[:40])
        print("422 body keys:", sorted(err.body) if isinstance(err.body, dict) else err.body)
        print("422 path:", err.request.url.path)

    for bad in ("", None):
        try:
            await client.agents.retrieve(bad)  # type: ignore[arg-type]
        except ValueError as err:
            print("empty id:", err)

    raw = await client.agents.with_raw_response.list(limit=1, name="no such agent")
    print("raw:", raw.http_request.method, raw.http_request.url.path, raw.url.params["limit"])
    print("raw name param:", raw.http_request.url.params.get("name"))
    print(
        "raw status:", raw.http_response.status_code, raw.status_code, raw.http_response.is_success
    )
    print("raw content type:", raw.headers["content-type"])

    agent = await client.agents.create(
        name=f"shapes-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "I answer briefly."}],
    )
    try:
        stream = await client.agents.messages.create(agent.id, input="hello", streaming=True)
        kinds = [chunk.message_type async for chunk in stream if chunk.message_type != "ping"]
        print("stream kinds:", kinds)
        print("stream response:", stream.response.status_code, stream.response.request.method)
        print("stream path:", stream.response.request.url.path == f"/v1/agents/{agent.id}/messages")
        print("stream content type:", stream.response.headers["content-type"].split(";")[0])
    finally:
        await client.agents.delete(agent.id)
        await client.close()

    nowhere = AsyncLetta(base_url="http://127.0.0.1:9", max_retries=0, timeout=5.0)
    try:
        await nowhere.agents.list(limit=2)
    except APIConnectionError as err:
        print("connection error:", type(err).__name__, repr(err.message))
        print("connection error request:", err.request.method, err.request.url.path)
        print("connection error params:", err.request.url.params.get("limit"))
        print("cause chained:", err.__cause__ is not None, "body:", err.body)
    finally:
        await nowhere.close()

    local = AsyncLetta(environment="local", base_url=None)
    print("environment with base_url=None:", local.base_url.host, local.base_url.port)
    await local.close()
    try:
        AsyncLetta(environment="local")
    except ValueError as err:
        print("ambiguous:", err)
    explicit = AsyncLetta(base_url=server, environment="cloud")
    print("base_url wins:", explicit.base_url.host == urlsplit(server).hostname)
    await explicit.close()


asyncio.run(main())
