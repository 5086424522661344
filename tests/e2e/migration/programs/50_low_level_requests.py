"""The client's own HTTP verbs for routes without a method: PATCH, PUT and a custom listing."""

import asyncio
import uuid
from typing import Any

from letta_client import AsyncLetta
from letta_client.pagination import AsyncArrayPage
from letta_client.types import AgentState, Tool

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"

SOURCE = '''def count_words_{suffix}(text: str) -> int:
    """Count the words in a text.

    Args:
        text: The text.

    Returns:
        How many words it has.
    """
    return len(text.split())
'''


async def main() -> None:
    client = AsyncLetta()
    suffix = uuid.uuid4().hex[:8]
    headers = client.platform_headers()
    print(
        "platform headers:",
        isinstance(headers, dict),
        all(isinstance(v, str) for v in headers.values()),
    )

    agent = await client.agents.create(
        name=f"low-level-{suffix}", model=MODEL, embedding=EMBEDDING, tags=["low-level"]
    )
    tool: Tool | None = None
    try:
        patched = await client.patch(
            f"/v1/agents/{agent.id}",
            cast_to=AgentState,
            body={"description": "patched by hand", "tags": ["low-level", "patched"]},
        )
        print("patched:", type(patched).__name__, patched.description, sorted(patched.tags or []))
        raw = await client.patch(
            f"/v1/agents/{agent.id}", cast_to=dict[str, Any], body={"metadata": {"step": 2}}
        )
        print("patched as a dict:", raw["metadata"], raw["description"])

        tool = await client.put(
            "/v1/tools/", cast_to=Tool, body={"source_code": SOURCE.format(suffix=suffix)}
        )
        print("put:", type(tool).__name__, (tool.name or "").replace(suffix, "*"), tool.tool_type)
        again = await client.put(
            "/v1/tools/",
            cast_to=Tool,
            body={"source_code": SOURCE.format(suffix=suffix), "description": "Word count."},
        )
        print("put again, same tool:", again.id == tool.id, again.description)

        pages = client.get_api_list(
            "/v1/agents/",
            model=AgentState,
            page=AsyncArrayPage[AgentState],
            options={"params": {"name": f"low-level-{suffix}", "limit": 5}},
        )
        found = [a async for a in pages]
        print("listed:", [(type(a).__name__, a.name.replace(suffix, "*")) for a in found])
        first = await client.get_api_list(
            "/v1/tools/",
            model=Tool,
            page=AsyncArrayPage[Tool],
            options={"params": {"name": f"count_words_{suffix}"}},
        )
        print(
            "first page:", isinstance(first, AsyncArrayPage), [t.id == tool.id for t in first.items]
        )
    finally:
        if tool is not None and tool.id is not None:
            await client.tools.delete(tool.id)
        await client.agents.delete(agent.id)


asyncio.run(main())
