"""A 500 from the server, then more calls on the same client: the client must keep working.

Letta 0.16.8 answers an unhandled exception with a 500 and closes the connection behind it
(uvicorn sends no ``Connection: close`` first). Reading an MCP tool of a server that cannot
be reached is such an exception. The next request may go out on that closed connection and
fail before the server reads it; with its default retries the official client sends it again
on a new connection, so the calls that follow, a POST among them, succeed; this client does
not put a connection that carried a 5xx back in its pool, so the POST goes out on a new one.
"""

import asyncio
import uuid

from letta_client import AsyncLetta, InternalServerError


async def main() -> None:
    client = AsyncLetta()
    # No retries for the call that fails on purpose: one 500 is enough.
    no_retry = client.with_options(max_retries=0)
    suffix = uuid.uuid4().hex[:8]
    server = await client.mcp_servers.create(
        server_name=f"unreachable-{suffix}",
        config={"mcp_server_type": "streamable_http", "server_url": "https://mcp.example.invalid/"},
    )
    assert server.id is not None
    try:
        for attempt in (1, 2):
            try:
                await no_retry.mcp_servers.tools.retrieve("tool-x", mcp_server_id=server.id)
            except InternalServerError as e:
                print(f"attempt {attempt}:", type(e).__name__, e.status_code, e.body)
            archive = await client.archives.create(name=f"after-500-{suffix}-{attempt}")
            print("next POST works:", archive.name.replace(suffix, "*"))
            await client.archives.delete(archive.id)
            print("next GET works:", len(await client.mcp_servers.tools.list(server.id)))
    finally:
        await client.mcp_servers.delete(server.id)


asyncio.run(main())
