"""Custom tools from Python source: create, upsert, update, retrieve, list and delete."""

import asyncio
import uuid

from letta_client import AsyncLetta
from letta_client.types import Tool

TEMPLATE = '''def {name}(text: str, times: int = 1) -> str:
    """{summary}

    Args:
        text: The words to repeat.
        times: How many times to repeat them.

    Returns:
        The repeated words.
    """
    return " ".join([text] * times)
'''


def describe(tool: Tool, suffix: str) -> str:
    schema = tool.json_schema or {}
    params = schema.get("parameters")
    props = sorted(params.get("properties", {})) if isinstance(params, dict) else []
    name = (tool.name or "").replace(suffix, "*")
    return f"name={name} type={tool.tool_type} description={tool.description!r} params={props}"


async def main() -> None:
    client = AsyncLetta()
    suffix = uuid.uuid4().hex[:8]
    name = f"echo_words_{suffix}"
    tool = await client.tools.create(
        source_code=TEMPLATE.format(name=name, summary="Repeat some words."),
        tags=["text", "demo"],
    )
    try:
        print("created:", describe(tool, suffix))
        print("tags:", sorted(tool.tags or []))
        print("source type:", tool.source_type)

        same = await client.tools.upsert(
            source_code=TEMPLATE.format(name=name, summary="Repeat some words, loudly."),
        )
        print("upsert kept the id:", same.id == tool.id)
        print("after upsert:", describe(same, suffix))

        changed = await client.tools.update(
            tool.id, description="Echo words back.", return_char_limit=500
        )
        print("after update:", describe(changed, suffix), "limit:", changed.return_char_limit)

        again = await client.tools.retrieve(tool.id)
        print("retrieve sees update:", again.description == "Echo words back.")

        listed = [t async for t in client.tools.list(name=name)]
        print("listed by name:", [describe(t, suffix) for t in listed])
        searched = [t.id async for t in client.tools.list(search=suffix)]
        print("found by search:", tool.id in searched)
        builtin = [t.name async for t in client.tools.list(name="conversation_search")]
        print("built-in tool listed:", builtin)
    finally:
        await client.tools.delete(tool.id)
    remaining = [t async for t in client.tools.list(name=name)]
    print("after delete:", len(remaining))


asyncio.run(main())
