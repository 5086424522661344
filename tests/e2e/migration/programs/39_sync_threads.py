"""One sync client shared by a pool of threads, as a web app's workers share it."""

import uuid
from concurrent.futures import ThreadPoolExecutor

from letta_client import Letta

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"

client = Letta()
agents = [
    client.agents.create(
        name=f"sync-threads-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": f"I am worker {i}."}],
    )
    for i in range(3)
]


def ask(index: int) -> tuple[int, list[str]]:
    agent = agents[index % len(agents)]
    if index % 2:
        reply = client.agents.messages.create(agent.id, input=f"Question {index}?")
        return index, [m.message_type or "unknown" for m in reply.messages]
    stream = client.agents.messages.stream(
        agent.id, messages=[{"role": "user", "content": f"Question {index}?"}]
    )
    return index, [c.message_type or "unknown" for c in stream if c.message_type != "ping"]


try:
    with ThreadPoolExecutor(max_workers=4) as pool:
        for index, kinds in sorted(pool.map(ask, range(6))):
            print(index, kinds)
    names = {a.id: a.name for a in agents}
    with ThreadPoolExecutor(max_workers=3) as pool:
        fetched = list(pool.map(lambda a: client.agents.retrieve(a.id).name, agents))
    print("retrieved in threads:", fetched == [names[a.id] for a in agents])
finally:
    for agent in agents:
        client.agents.delete(agent.id)
client.close()
