"""Archival memory shared through an archive: create, add passages, search, attach, delete."""

import asyncio
import uuid

from letta_client import AsyncLetta
from letta_client.types import Archive

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"

FACTS = [
    "The office opens at nine.",
    "Parking is free on weekends.",
    "The cafeteria serves soup on Fridays.",
]


def show(archive: Archive, suffix: str) -> str:
    return f"name={archive.name.replace(suffix, '*')} description={archive.description!r}"


async def main() -> None:
    client = AsyncLetta()
    suffix = uuid.uuid4().hex[:8]
    archive = await client.archives.create(
        name=f"handbook-{suffix}", description="Employee handbook", embedding=EMBEDDING
    )
    agent = None
    try:
        print("created:", show(archive, suffix))
        print(
            "embedding model:",
            archive.embedding_config.embedding_model if archive.embedding_config else None,
        )
        for fact in FACTS:
            passage = await client.archives.passages.create(
                archive.id, text=fact, tags=["handbook"], metadata={"source": "hr"}
            )
            print("stored:", passage.text, "in this archive:", passage.archive_id == archive.id)

        listed = [a async for a in client.archives.list(name=f"handbook-{suffix}")]
        print("listed by name:", [show(a, suffix) for a in listed])
        fetched = await client.archives.retrieve(archive.id)
        print("retrieved:", show(fetched, suffix))
        updated = await client.archives.update(archive.id, description="Handbook, 2nd edition")
        print("updated:", show(updated, suffix))

        hits = await client.passages.search(archive_id=archive.id, query="soup", limit=10)
        print("search hits:", sorted(hit.passage.text for hit in hits))

        agent = await client.agents.create(
            name=f"archivist-{suffix}",
            model=MODEL,
            embedding=EMBEDDING,
            memory_blocks=[{"label": "persona", "value": "I know the handbook."}],
        )
        await client.agents.archives.attach(archive.id, agent_id=agent.id)
        attached = [a.id async for a in client.archives.list(agent_id=agent.id)]
        print("archive attached to agent:", attached == [archive.id])
        await client.agents.archives.detach(archive.id, agent_id=agent.id)
        attached = [a.id async for a in client.archives.list(agent_id=agent.id)]
        print("after detach:", attached)
    finally:
        if agent is not None:
            await client.agents.delete(agent.id)
        await client.archives.delete(archive.id)
    left = [a async for a in client.archives.list(name=f"handbook-{suffix}")]
    print("after delete:", len(left))


asyncio.run(main())
