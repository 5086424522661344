"""MCP server records, tool search and batches of archival passages.

The MCP server here points at a host that does not resolve, so everything that needs the
server itself fails; what the program checks is that those failures arrive as the same
exception classes and status codes, and that the records themselves round-trip.
"""

import asyncio
import uuid

from letta_client import APIStatusError, AsyncLetta
from letta_client.types import McpServerCreateResponse, StreamableHTTPMcpServer

EMBEDDING = "openai/text-embedding-3-small"


def show(server: McpServerCreateResponse, suffix: str) -> str:
    url = server.server_url if isinstance(server, StreamableHTTPMcpServer) else None
    return f"{type(server).__name__} name={server.server_name.replace(suffix, '*')} url={url}"


async def main() -> None:
    client = AsyncLetta()
    no_retry = client.with_options(max_retries=0)
    suffix = uuid.uuid4().hex[:8]
    server = await client.mcp_servers.create(
        server_name=f"tools-{suffix}",
        config={"mcp_server_type": "streamable_http", "server_url": "https://mcp.example.invalid/"},
    )
    try:
        print("created:", show(server, suffix))
        assert server.id is not None
        listed = [s for s in await client.mcp_servers.list() if s.id == server.id]
        print("listed:", [show(s, suffix) for s in listed])
        print("retrieved:", show(await client.mcp_servers.retrieve(server.id), suffix))
        updated = await client.mcp_servers.update(
            server.id,
            config={
                "mcp_server_type": "streamable_http",
                "server_url": "https://mcp.example.invalid/v2",
            },
        )
        print("updated:", show(updated, suffix))
        print("tools:", await client.mcp_servers.tools.list(server.id))
        try:
            await no_retry.mcp_servers.refresh(server.id)
            print("refresh answered")
        except APIStatusError as e:
            print("refresh failed:", type(e).__name__, e.status_code)
        try:
            await no_retry.mcp_servers.tools.run("tool-x", mcp_server_id=server.id, args={})
            print("run tool answered")
        except APIStatusError as e:
            print("run tool failed:", type(e).__name__, e.status_code)
    finally:
        if server.id is not None:
            await client.mcp_servers.delete(server.id)
    left = [s for s in await client.mcp_servers.list() if s.id == server.id]
    print("after delete:", left)

    try:
        found = await client.tools.search(query="memory", limit=3)
        print("tool search:", len(found))
    except APIStatusError as e:
        print("tool search:", type(e).__name__, e.status_code)

    archive = await client.archives.create(name=f"batch-{suffix}", embedding=EMBEDDING)
    try:
        passages = await client.archives.passages.create_many(
            archive.id,
            passages=[
                {"text": "Alpha is first.", "tags": ["greek"]},
                {"text": "Beta is second.", "metadata": {"n": 2}},
            ],
        )
        print("batch stored:", [p.text for p in passages], [p.tags for p in passages])
        first = passages[0].id
        assert first is not None
        await client.archives.passages.delete(first, archive_id=archive.id)
        hits = await client.passages.search(archive_id=archive.id, query="letters", limit=10)
        print("left in the archive:", sorted(h.passage.text for h in hits))
    finally:
        await client.archives.delete(archive.id)


asyncio.run(main())
