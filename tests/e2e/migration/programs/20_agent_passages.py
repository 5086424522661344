"""An agent's own archival memory: insert passages, list them, search them, delete one."""

import asyncio
import uuid

from letta_client import AsyncLetta

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


async def main() -> None:
    client = AsyncLetta()
    agent = await client.agents.create(
        name=f"notes-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "I keep notes."}],
    )
    try:
        created_ids: list[str] = []
        for text, tags in [
            ("Robin's birthday is in May.", ["personal"]),
            ("The quarterly report is due Friday.", ["work"]),
            ("Buy oat milk.", ["personal", "shopping"]),
        ]:
            inserted = await client.agents.passages.create(agent.id, text=text, tags=tags)
            print("insert returned", len(inserted), "passage(s):", [p.text for p in inserted])
            created_ids.extend(p.id for p in inserted if p.id is not None)

        passages = await client.agents.passages.list(agent.id)
        print("listed:", sorted(p.text for p in passages))
        oldest_first = await client.agents.passages.list(agent.id, ascending=True, limit=2)
        print("two oldest:", [p.text for p in oldest_first])
        matching = await client.agents.passages.list(agent.id, search="report")
        print("text filter:", [p.text for p in matching])

        found = await client.agents.passages.search(agent.id, query="milk", top_k=5)
        print("search count:", found.count)
        print("search results:", sorted(r.content for r in found.results))
        tagged = await client.agents.passages.search(
            agent.id, query="anything", tags=["personal"], tag_match_mode="any"
        )
        print("tagged results:", sorted(r.content for r in tagged.results))

        await client.agents.passages.delete(created_ids[0], agent_id=agent.id)
        remaining = await client.agents.passages.list(agent.id)
        print("after delete:", sorted(p.text for p in remaining))
    finally:
        await client.agents.delete(agent.id)


asyncio.run(main())
