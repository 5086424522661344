"""Tags across agents: list them, search them, page through them."""

import asyncio
import uuid

from letta_client import AsyncLetta

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


async def main() -> None:
    client = AsyncLetta()
    suffix = uuid.uuid4().hex[:8]
    tag_sets = [["red", "round"], ["red", "square"], ["blue", "round"]]
    agent_ids: list[str] = []
    for i, tags in enumerate(tag_sets):
        agent = await client.agents.create(
            name=f"shape-{i}-{suffix}",
            model=MODEL,
            embedding=EMBEDDING,
            tags=[f"{tag}-{suffix}" for tag in tags],
            memory_blocks=[{"label": "persona", "value": "I have tags."}],
        )
        agent_ids.append(agent.id)

    def plain(tags: list[str]) -> list[str]:
        return [tag.replace(f"-{suffix}", "") for tag in tags]

    try:
        mine = await client.tags.list(query_text=suffix)
        print("tags list type:", type(mine).__name__)
        print("all my tags:", sorted(plain(mine)))
        reds = await client.tags.list(query_text=f"red-{suffix}")
        print("search 'red':", plain(reds))
        ordered = await client.tags.list(query_text=suffix, order="asc", order_by="name")
        print("ascending by name:", plain(ordered))
        backwards = await client.tags.list(query_text=suffix, order="desc", order_by="name")
        print("descending by name:", plain(backwards))
        first_two = await client.tags.list(query_text=suffix, order="asc", limit=2)
        print("first two:", plain(first_two))
        rest = await client.tags.list(query_text=suffix, order="asc", after=first_two[-1])
        print("after the second:", plain(rest))
        round_agents = [
            a.name async for a in client.agents.list(tags=[f"round-{suffix}"], order="asc")
        ]
        print("agents tagged round:", [n.replace(f"-{suffix}", "") for n in round_agents])
    finally:
        for agent_id in agent_ids:
            await client.agents.delete(agent_id)
    print("tags after cleanup:", plain(await client.tags.list(query_text=suffix)))


asyncio.run(main())
