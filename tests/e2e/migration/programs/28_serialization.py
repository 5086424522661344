"""Turning responses into dicts and JSON: model_dump, model_dump_json, to_dict, to_json."""

import asyncio
import json
import uuid

from letta_client import AsyncLetta
from letta_client.types import BlockResponse, Tool
from letta_client.types.agents import AssistantMessage

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"

SOURCE = '''def {name}(n: int) -> int:
    """Double a number.

    Args:
        n: The number.

    Returns:
        Twice the number.
    """
    return 2 * n
'''


async def main() -> None:
    client = AsyncLetta()
    suffix = uuid.uuid4().hex[:8]
    block = await client.blocks.create(
        label=f"prefs_{suffix}", value="Dark mode on.", description="UI preferences"
    )
    tool = await client.tools.create(source_code=SOURCE.format(name=f"double_{suffix}"))
    await client.tools.update(tool.id, metadata={"owner": "ui"})
    tool = await client.tools.retrieve(tool.id)
    agent = await client.agents.create(
        name=f"serial-{suffix}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "I serialize."}],
    )
    try:
        dumped = block.model_dump()
        print("model_dump keys:", sorted(dumped))
        print("model_dump value:", dumped["value"], dumped["description"])
        print("exclude_none keys:", sorted(block.model_dump(exclude_none=True)))
        print("include:", block.model_dump(include={"value", "description"}))

        as_json = json.loads(block.model_dump_json())
        print("model_dump_json keys match model_dump:", sorted(as_json) == sorted(dumped))
        print("indented json parses:", json.loads(block.model_dump_json(indent=2))["value"])

        as_dict = block.to_dict()
        print("to_dict keys:", sorted(as_dict))
        print("to_json value:", json.loads(block.to_json())["value"])
        print("to_json indent 2 has newlines:", "\n" in block.to_json(indent=2))

        print("tool model_dump has metadata:", "metadata" in tool.model_dump())
        print("tool to_dict uses the API name:", "metadata_" in tool.to_dict())
        print("tool metadata value:", tool.to_dict().get("metadata_"))
        print("tool dump by alias:", "metadata_" in tool.model_dump(by_alias=True))

        again = BlockResponse.model_validate(as_dict)
        print("round trip equal:", again == block)
        print("round trip tool:", Tool.model_validate(tool.to_dict()).name == tool.name)
        print("fields set include value:", "value" in block.model_fields_set)

        reply = await client.agents.messages.create(agent.id, input="Serialize me.")
        for message in reply.messages:
            if isinstance(message, AssistantMessage):
                data = message.model_dump(mode="json")
                print("message dump type:", data["message_type"], type(data["date"]).__name__)
                print("message to_dict content:", message.to_dict()["content"])
        response_json = json.loads(reply.to_json())
        print("response json keys:", sorted(response_json))
        print("stop reason in json:", response_json["stop_reason"])
        usage = reply.usage.to_dict()
        print("usage step count:", usage.get("step_count"))
    finally:
        await client.agents.delete(agent.id)
        await client.tools.delete(tool.id)
        await client.blocks.delete(block.id)


asyncio.run(main())
