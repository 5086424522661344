"""Folders of files: create, upload, list, attach to an agent, open and close files, delete."""

import asyncio
import uuid

from letta_client import AsyncLetta, NotFoundError
from letta_client.types import Folder

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"

NOTES = b"Quarterly notes.\nThe launch moved to March.\nBudget approved.\n"


def show(folder: Folder, suffix: str) -> str:
    return (
        f"name={folder.name.replace(suffix, '*')} description={folder.description!r} "
        f"instructions={folder.instructions!r} metadata={folder.metadata}"
    )


async def main() -> None:
    client = AsyncLetta()
    suffix = uuid.uuid4().hex[:8]
    folder = await client.folders.create(
        name=f"notes-{suffix}",
        description="Meeting notes",
        embedding=EMBEDDING,
        instructions="Search these notes first.",
        metadata={"team": "platform"},
    )
    agent = None
    try:
        print("created:", show(folder, suffix))
        fetched = await client.folders.retrieve(folder.id)
        print("retrieved:", show(fetched, suffix))
        updated = await client.folders.update(folder.id, description="Notes, 2026")
        print("updated:", show(updated, suffix))
        listed = [f async for f in client.folders.list(name=f"notes-{suffix}")]
        print("listed by name:", [show(f, suffix) for f in listed])

        uploaded = await client.folders.files.upload(
            folder.id, file=("q3-notes.txt", NOTES, "text/plain")
        )
        print(
            "uploaded:",
            str(uploaded.file_name).replace(suffix, "*"),
            "in this folder:",
            uploaded.source_id == folder.id,
        )
        # The server parses and embeds the file after answering; wait until it is done.
        one = await client.folders.files.retrieve(uploaded.id, folder_id=folder.id)
        while one.processing_status not in ("completed", "error"):
            await asyncio.sleep(0.2)
            one = await client.folders.files.retrieve(uploaded.id, folder_id=folder.id)
        print("processed:", one.processing_status, one.file_name, one.file_type, one.file_size)
        files = [f async for f in client.folders.files.list(folder.id)]
        print("files:", [f.file_name for f in files])

        agent = await client.agents.create(
            name=f"reader-{suffix}",
            model=MODEL,
            embedding=EMBEDDING,
            memory_blocks=[{"label": "persona", "value": "I read notes."}],
        )
        await client.agents.folders.attach(folder.id, agent_id=agent.id)
        attached = [f.name.replace(suffix, "*") async for f in client.agents.folders.list(agent.id)]
        print("agent folders:", attached)
        print("folder agents:", await client.folders.agents.list(folder.id) == [agent.id])

        agent_files = [f async for f in client.agents.files.list(agent.id)]
        print("agent files:", [(f.file_name.replace(suffix, "*"), f.is_open) for f in agent_files])
        answer = await client.agents.files.close(uploaded.id, agent_id=agent.id)
        print("closed:", sorted(answer) if isinstance(answer, dict) else answer)
        closed = [f async for f in client.agents.files.list(agent.id, is_open=True)]
        print("open after close:", len(closed))
        evicted = await client.agents.files.open(uploaded.id, agent_id=agent.id)
        print("opened, evicted:", evicted)
        closed_names = await client.agents.files.close_all(agent.id)
        print("closed all:", [name.replace(suffix, "*") for name in closed_names])

        await client.agents.folders.detach(folder.id, agent_id=agent.id)
        print(
            "agent folders after detach:", [f async for f in client.agents.folders.list(agent.id)]
        )

        await client.folders.files.delete(uploaded.id, folder_id=folder.id)
        print("files after delete:", [f async for f in client.folders.files.list(folder.id)])
    finally:
        if agent is not None:
            await client.agents.delete(agent.id)
        await client.folders.delete(folder.id)
    try:
        await client.folders.retrieve(folder.id)
    except NotFoundError as e:
        print("after delete:", type(e).__name__, e.status_code)


asyncio.run(main())
