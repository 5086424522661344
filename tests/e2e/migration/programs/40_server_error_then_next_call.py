"""A 500 from the server, then more calls on the same client: the client must keep working.

Letta 0.16.8 answers an unhandled exception with a 500 and closes the connection behind it
(uvicorn sends no ``Connection: close`` first). Reading an MCP tool of a server that cannot
be reached is such an exception. The calls that follow, a POST among them, must succeed.
"""

# known gap: after a 500 that closed the connection, the next request goes out on the dead
# pooled connection and a POST is not sent again, where the official client opens a new one.

import asyncio
import uuid

from letta_client import AsyncLetta, InternalServerError


async def main() -> None:
    client = AsyncLetta(max_retries=0)
    suffix = uuid.uuid4().hex[:8]
    server = await client.mcp_servers.create(
        server_name=f"unreachable-{suffix}",
        config={"mcp_server_type": "streamable_http", "server_url": "https://mcp.example.invalid/"},
    )
    assert server.id is not None
    try:
        for attempt in (1, 2):
            try:
                await client.mcp_servers.tools.retrieve("tool-x", mcp_server_id=server.id)
            except InternalServerError as e:
                print(f"attempt {attempt}:", type(e).__name__, e.status_code, e.body)
            archive = await client.archives.create(name=f"after-500-{suffix}-{attempt}")
            print("next POST works:", archive.name.replace(suffix, "*"))
            await client.archives.delete(archive.id)
            print("next GET works:", len(await client.mcp_servers.tools.list(server.id)))
    finally:
        await client.mcp_servers.delete(server.id)


asyncio.run(main())
