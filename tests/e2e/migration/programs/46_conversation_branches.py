"""Conversations beyond chat: replay a background turn, fork, recompile, compact, cancel."""

import asyncio
import uuid

from letta_client import APIStatusError, AsyncLetta
from letta_client.types import Conversation

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


def describe(conversation: Conversation, agent_id: str) -> str:
    return f"summary={conversation.summary!r} same agent={conversation.agent_id == agent_id}"


async def main() -> None:
    client = AsyncLetta()
    agent = await client.agents.create(
        name=f"branches-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "I keep track of threads."}],
    )
    try:
        chat = await client.conversations.create(agent_id=agent.id, summary="planning")
        stream = await client.conversations.messages.create(
            chat.id, input="Plan the week.", background=True
        )
        run_id = None
        sent: list[str] = []
        async for event in stream:
            if event.message_type == "ping":
                continue
            if run_id is None and event.message_type == "assistant_message":
                run_id = event.run_id
            sent.append(event.message_type or "unknown")
        print("background turn:", sent)

        # A finished run is replayed by its id (without one, only an active run is found).
        try:
            await client.conversations.messages.stream(chat.id)
        except APIStatusError as e:
            print("replay without a run id:", type(e).__name__, e.status_code)
        replay = await client.conversations.messages.stream(
            chat.id, run_id=run_id, starting_after=0
        )
        replayed = [e.message_type async for e in replay if e.message_type != "ping"]
        print("replayed the same turn:", replayed == sent)
        for text in ("Monday is busy.", "Tuesday is free."):
            async for _ in await client.conversations.messages.create(chat.id, input=text):
                pass

        fork = await client.conversations.fork(chat.id)
        print("fork:", describe(fork, agent.id), "new id:", fork.id != chat.id)
        # One large page each, oldest first.
        page = await client.conversations.messages.list(chat.id, limit=100, order="asc")
        mine = [m.message_type for m in page.items]
        page = await client.conversations.messages.list(fork.id, limit=100, order="asc")
        theirs = [m.message_type for m in page.items]
        print("fork has the same history:", mine == theirs, len(theirs))

        prompt = await client.conversations.recompile(chat.id, dry_run=True)
        print("recompiled prompt:", type(prompt).__name__, "I keep track of threads." in prompt)
        compacted = await client.conversations.messages.compact(
            fork.id, compaction_settings={"mode": "all", "model": MODEL}
        )
        print(
            "compacted fork:",
            compacted.num_messages_after < compacted.num_messages_before,
            bool(compacted.summary),
        )
        try:
            cancelled = await client.conversations.cancel(chat.id)
            print("cancel with nothing running:", sorted(set(map(str, cancelled.values()))))
        except APIStatusError as e:
            print("cancel with nothing running:", type(e).__name__, e.status_code)
        listed = await client.conversations.list(agent_id=agent.id)
        print("conversations:", sorted(c.summary or "" for c in listed))
        for conversation in listed:
            await client.conversations.delete(conversation.id)
    finally:
        await client.agents.delete(agent.id)


asyncio.run(main())
