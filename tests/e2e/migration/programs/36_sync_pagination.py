"""Sync pages: ``for`` walks every page, ``.items`` and ``get_next_page()`` step by hand."""

import uuid

from letta_client import Letta
from letta_client.pagination import SyncArrayPage
from letta_client.types import AgentState

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


def short(agent: AgentState) -> str:
    """The agent's number: its name without the run's random tag."""
    return agent.name.rsplit("-", 1)[1]


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
            print("first page:", [short(a) for a in page.items])
            print("has next page:", page.has_next_page())
            second = page.get_next_page()
            print("second page:", [short(a) for a in second.items])
            walked = [short(a) for a in client.agents.list(tags=[tag], limit=2, order="asc")]
            print("walked:", walked)
            pages = client.agents.list(tags=[tag], limit=2, order="asc").iter_pages()
            # Whether a walk asks for the empty page after a short one is the client's
            # business: the pages with items are the same.
            print("page sizes:", [len(p.items) for p in pages if p.items])

            agent = created[0]
            for word in ["one", "two", "three"]:
                client.agents.messages.create(agent.id, input=f"message {word}")
            history = [
                m.message_type for m in client.agents.messages.list(agent.id, limit=2, order="asc")
            ]
            print("history kinds (asc walk):", history)
            users = [
                m.content
                for m in client.agents.messages.list(agent.id, order="asc", limit=2)
                if m.message_type == "user_message"
            ]
            print("user messages:", users)
        finally:
            for agent in created:
                client.agents.delete(agent.id)


main()
