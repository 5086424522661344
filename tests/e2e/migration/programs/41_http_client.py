"""Client configuration through an httpx client: event hooks, headers, query, timeout, limits,
redirects, and a per-call idempotency key."""

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
        # The official SDK's own default pool: fewer idle connections kept than allowed.
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
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
    tags = await quick.get("/v1/tags", cast_to=object, options={"idempotency_key": "tags-1"})
    print("tags through a redirect:", isinstance(tags, list))
    for line in seen:
        print(line)
    await client.close()

    # A burst wider than the idle cap: connections beyond it are closed, not kept.
    pool = httpx.Limits(max_connections=10, max_keepalive_connections=2, keepalive_expiry=5.0)
    async with AsyncLetta(http_client=DefaultAsyncHttpxClient(limits=pool)) as burst:
        for round_ in (1, 2):
            answers = await asyncio.gather(*(burst.health() for _ in range(25)))
            print(f"burst {round_}:", sorted({answer.status for answer in answers}))


asyncio.run(main())
