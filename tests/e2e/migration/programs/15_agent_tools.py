"""Give an agent a custom tool at creation, attach and detach another, list what it has."""

import asyncio
import uuid

from letta_client import AsyncLetta

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"

SOURCE = '''def {name}(city: str) -> str:
    """Report the weather for a city.

    Args:
        city: Where to look.

    Returns:
        A short forecast.
    """
    return "sunny in " + city
'''


async def main() -> None:
    client = AsyncLetta()
    suffix = uuid.uuid4().hex[:8]
    weather = await client.tools.create(source_code=SOURCE.format(name=f"weather_{suffix}"))
    forecast = await client.tools.create(source_code=SOURCE.format(name=f"forecast_{suffix}"))

    def names(items: list[str | None]) -> list[str]:
        return sorted((n or "").replace(suffix, "*") for n in items)

    agent = await client.agents.create(
        name=f"tools-{suffix}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "I check the weather."}],
        tool_ids=[weather.id],
    )
    try:
        print("at creation:", names([t.name for t in agent.tools]))
        attached = await client.agents.tools.attach(forecast.id, agent_id=agent.id)
        print("attach answered with a state:", attached is not None)
        # One generous page: beyond the first page this route's cursor is not reliable.
        page = await client.agents.tools.list(agent.id, limit=50)
        print("after attach:", names([t.name for t in page.items]))

        small = await client.agents.tools.list(agent.id, limit=2, order="asc")
        print("small page size:", len(small.items), "more:", small.has_next_page())

        await client.agents.tools.detach(weather.id, agent_id=agent.id)
        state = await client.agents.retrieve(agent.id, include=["agent.tools"])
        print("after detach:", names([t.name for t in state.tools]))

        updated = await client.agents.update(agent.id, tool_ids=[weather.id, forecast.id])
        print("after update with tool_ids:", names([t.name for t in updated.tools]))
    finally:
        await client.agents.delete(agent.id)
        await client.tools.delete(weather.id)
        await client.tools.delete(forecast.id)
    print("cleaned up")


asyncio.run(main())
