"""Find agents by tags, name and text, in both orders and in small pages."""

import asyncio
import uuid

import letta_client

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


async def main() -> None:
    client = letta_client.AsyncLetta()
    suffix = uuid.uuid4().hex[:8]
    group = f"fleet-{suffix}"
    names = ["alpha", "bravo", "charlie", "delta"]
    ids: dict[str, str] = {}
    for i, short in enumerate(names):
        agent = await client.agents.create(
            name=f"{short}-{suffix}",
            model=MODEL,
            embedding=EMBEDDING,
            tags=[group, "even" if i % 2 == 0 else "odd"],
            memory_blocks=[{"label": "persona", "value": f"I am {short}."}],
        )
        ids[agent.id] = short
    try:

        def shorts(agents: list[letta_client.types.AgentState]) -> list[str]:
            return [ids.get(a.id, "?") for a in agents]

        asc = [a async for a in client.agents.list(tags=[group], order="asc", limit=3)]
        print("tag, ascending, pages of 3:", shorts(asc))
        desc = [a async for a in client.agents.list(tags=[group], order="desc", limit=3)]
        print("tag, descending, pages of 3:", shorts(desc))
        every = [a async for a in client.agents.list(tags=[group], order="asc")]
        print("tag, one page:", shorts(every))

        both = [
            a
            async for a in client.agents.list(
                tags=[group, "even"], match_all_tags=True, order="asc"
            )
        ]
        print("all of two tags:", shorts(both))
        either = [a async for a in client.agents.list(tags=[group, "odd"], order="asc")]
        print("any of two tags (count):", len([a for a in either if a.id in ids]))

        one = [a async for a in client.agents.list(name=f"charlie-{suffix}")]
        print("by exact name:", shorts(one))
        found = [a async for a in client.agents.list(query_text=f"bravo-{suffix}")]
        print("by text search:", shorts(found))

        first = await client.agents.list(tags=[group], order="asc", limit=2)
        print("first page:", shorts(first.items), "more:", first.has_next_page())
        second = await first.get_next_page()
        print("second page:", shorts(second.items))

        with_tags = await client.agents.list(
            tags=[group], order="asc", limit=1, include=["agent.tags"]
        )
        tags = sorted(tag.replace(suffix, "*") for tag in with_tags.items[0].tags)
        print("tags included:", tags)
    finally:
        for agent_id in ids:
            await client.agents.delete(agent_id)
    left = [a async for a in client.agents.list(tags=[group])]
    print("left after cleanup:", len(left))


asyncio.run(main())
