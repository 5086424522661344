"""A background run read with ``for``, then replayed from a sequence number."""

import uuid

from letta_client import Letta

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"

client = Letta()
agent = client.agents.create(
    name=f"sync-background-{uuid.uuid4().hex[:8]}",
    model=MODEL,
    embedding=EMBEDDING,
    memory_blocks=[{"label": "persona", "value": "I keep working when you look away."}],
)
try:
    stream = client.agents.messages.create(
        agent.id,
        messages=[{"role": "user", "content": "Please work on this in the background."}],
        streaming=True,
        background=True,
    )
    run_ids: set[str] = set()
    seq_ids: list[int] = []
    kinds: list[str] = []
    for chunk in stream:
        if chunk.message_type == "ping":
            continue
        kinds.append(chunk.message_type or "unknown")
        if chunk.message_type == "assistant_message":
            if chunk.run_id is not None:
                run_ids.add(chunk.run_id)
            if chunk.seq_id is not None:
                seq_ids.append(chunk.seq_id)
    print("kinds:", kinds)
    print("one run id:", len(run_ids) == 1)
    run_id = run_ids.pop()
    replay = client.runs.messages.stream(run_id, starting_after=0)
    replayed = [c.message_type for c in replay if c.message_type != "ping"]
    print("replay kinds:", replayed)
    first = seq_ids[0]
    later = client.runs.messages.stream(run_id, starting_after=first)
    after = [c.seq_id for c in later if c.message_type == "assistant_message"]
    print("replay after the first message skips it:", first not in after)
    run = client.runs.retrieve(run_id)
    print("run status:", run.status, "background:", run.background)
finally:
    client.agents.delete(agent.id)
client.close()
