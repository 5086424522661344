"""Sync pages: ``for`` walks every page, ``.items`` and ``get_next_page()`` step by hand."""

import uuid

from letta_client import Letta
from letta_client.pagination import SyncArrayPage
from letta_client.types import AgentState

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


def main() -> None:
    tag = f"sync-pages-{uuid.uuid4().hex[:8]}"
    with Letta() as client:
        created = [
            client.agents.create(
                name=f"{tag}-{i}",
                model=MODEL,
                embedding=EMBEDDING,
                tags=[tag],
                include_base_tools=False,
            )
            for i in range(5)
        ]
        try:
            page: SyncArrayPage[AgentState] = client.agents.list(tags=[tag], limit=2, order="asc")
            print("first page:", [a.name for a in page.items])
            print("has next page:", page.has_next_page())
            second = page.get_next_page()
            print("second page:", [a.name for a in second.items])
            walked = [a.name for a in client.agents.list(tags=[tag], limit=2, order="asc")]
            print("walked:", walked)
            sizes = [
                len(p.items)
                for p in client.agents.list(tags=[tag], limit=2, order="asc").iter_pages()
            ]
            print("page sizes:", sizes)

            agent = created[0]
            for word in ["one", "two", "three"]:
                client.agents.messages.create(agent.id, input=f"message {word}")
            history = [
                m.message_type for m in client.agents.messages.list(agent.id, limit=2, order="asc")
            ]
            print("history kinds (asc walk):", history)
            users = [
                m.content
                for m in client.agents.messages.list(
                    agent.id, order="asc", limit=1, include_return_message_types=["user_message"]
                )
                if m.message_type == "user_message"
            ]
            print("user messages:", users)
        finally:
            for agent in created:
                client.agents.delete(agent.id)


main()
