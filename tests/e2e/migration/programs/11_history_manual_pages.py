"""Page through history by hand: ``.items``, ``has_next_page()``, ``get_next_page()``, cursors."""

import asyncio
import uuid

from letta_client import AsyncLetta

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


async def main() -> None:
    client = AsyncLetta()
    agent = await client.agents.create(
        name=f"pages-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "I keep a diary."}],
    )
    try:
        for n in range(3):
            await client.agents.messages.create(agent.id, input=f"entry {n}")

        for order in ("asc", "desc"):
            page = await client.agents.messages.list(agent.id, limit=3, order=order)
            sizes = [len(page.items)]
            seen = [m.id for m in page.items]
            while page.has_next_page():
                page = await page.get_next_page()
                sizes.append(len(page.items))
                seen.extend(m.id for m in page.items)
            unique = len(set(seen)) == len(seen)
            print(f"{order}: page sizes {sizes}, {len(seen)} messages, unique {unique}")

        everything = [m async for m in client.agents.messages.list(agent.id, order="asc")]
        middle = everything[3]
        after = await client.agents.messages.list(agent.id, after=middle.id, order="asc")
        before = await client.agents.messages.list(agent.id, before=middle.id, order="asc")
        print("after the 4th:", [m.message_type for m in after.items])
        print("before the 4th:", [m.message_type for m in before.items])
        print(
            "after + middle + before covers all:",
            len(after.items) + 1 + len(before.items) == len(everything),
        )

        first = await client.agents.messages.list(agent.id, limit=2, order="asc")
        info = first.next_page_info()
        print("next page info present:", info is not None)
        print(
            "next cursor is the last item:",
            info is not None and info.params == {"after": first.items[-1].id},
        )
        empty = await client.agents.messages.list(agent.id, after=everything[-1].id, order="asc")
        print("page past the end is empty:", empty.items == [], "has next:", empty.has_next_page())
    finally:
        await client.agents.delete(agent.id)


asyncio.run(main())
