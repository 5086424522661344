"""Several agents at once: concurrent streams with asyncio.gather on one shared client."""

import asyncio
import uuid

from letta_client import AsyncLetta
from letta_client.types import AgentState

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


async def make_agent(client: AsyncLetta, role: str, suffix: str) -> AgentState:
    return await client.agents.create(
        name=f"{role}-{suffix}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": f"I am the {role}."}],
        tags=[f"crew-{suffix}"],
    )


async def ask(client: AsyncLetta, agent: AgentState, question: str) -> tuple[str, str, list[str]]:
    stream = await client.agents.messages.stream(agent.id, input=question, stream_tokens=True)
    text = ""
    kinds: list[str] = []
    async for chunk in stream:
        if chunk.message_type == "ping":
            continue
        kind = chunk.message_type or "unknown"
        if not kinds or kinds[-1] != kind:
            kinds.append(kind)
        if chunk.message_type == "assistant_message" and isinstance(chunk.content, str):
            text += chunk.content
    return agent.name.split("-")[0], text, kinds


async def main() -> None:
    client = AsyncLetta()
    suffix = uuid.uuid4().hex[:8]
    roles = ["captain", "navigator", "cook"]
    agents = await asyncio.gather(*(make_agent(client, role, suffix) for role in roles))
    try:
        questions = ["Where to?", "Which way? [tool]", "What's for lunch? [chunkdelay=0.05]"]
        results = await asyncio.gather(
            *(ask(client, agent, q) for agent, q in zip(agents, questions, strict=True))
        )
        for role, text, kinds in sorted(results):
            print(f"{role}: {text} | {kinds}")
        crew = [a.name.split("-")[0] async for a in client.agents.list(tags=[f"crew-{suffix}"])]
        print("crew:", sorted(crew))
        histories = await asyncio.gather(
            *(client.agents.messages.list(agent.id, order="asc", limit=20) for agent in agents)
        )
        for agent, page in sorted(zip(agents, histories, strict=True), key=lambda p: p[0].name):
            print(agent.name.split("-")[0], "history length:", len(page.items))
    finally:
        await asyncio.gather(*(client.agents.delete(agent.id) for agent in agents))


asyncio.run(main())
