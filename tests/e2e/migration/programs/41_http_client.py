"""Client configuration through an httpx client: event hooks, headers, query, timeout, redirects."""

import asyncio

import httpx
from letta_client import AsyncLetta, DefaultAsyncHttpxClient, NotFoundError

seen: list[str] = []


async def on_request(request: httpx.Request) -> None:
    team = request.headers.get("x-team")
    tag = request.url.params.get("tag")
    seen.append(f"request {request.method} {request.url.path} team={team} tag={tag}")


async def on_response(response: httpx.Response) -> None:
    await response.aread()
    body = response.json() if response.content else None
    keys = sorted(body) if isinstance(body, dict) else None
    path = response.request.url.path
    seen.append(f"response {response.status_code} {path} keys={keys}")


async def main() -> None:
    http = DefaultAsyncHttpxClient(
        event_hooks={"request": [on_request], "response": [on_response]},
        headers={"X-Team": "migration"},
        params={"tag": "corpus"},
        timeout=httpx.Timeout(30.0, connect=5.0),
    )
    client = AsyncLetta(http_client=http, max_retries=0)
    print("timeout from the http client:", client.timeout)
    health = await client.health()
    print("health:", health.status)
    try:
        await client.agents.retrieve("agent-00000000-0000-4000-8000-000000000000")
    except NotFoundError as e:
        print("not found:", e.status_code)
    quick = client.with_options(timeout=20.0)
    tags = await quick.get("/v1/tags", cast_to=object)
    print("tags through a redirect:", isinstance(tags, list))
    for line in seen:
        print(line)
    await client.close()


asyncio.run(main())
