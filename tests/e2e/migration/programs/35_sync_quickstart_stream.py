"""The official README's synchronous quickstart: create an agent, stream a reply with ``for``."""

import uuid

from letta_client import Letta

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"

client = Letta()
agent = client.agents.create(
    name=f"sync-quickstart-{uuid.uuid4().hex[:8]}",
    model=MODEL,
    embedding=EMBEDDING,
    memory_blocks=[
        {"label": "human", "value": "The user is called Sam and likes sailing."},
        {"label": "persona", "value": "I am a cheerful assistant."},
    ],
)
print("agent created:", agent.name.startswith("sync-quickstart-"))
print("memory labels:", sorted(block.label or "" for block in agent.memory.blocks))
try:
    stream = client.agents.messages.stream(
        agent_id=agent.id,
        messages=[{"role": "user", "content": "Hi there, who are you?"}],
    )
    for chunk in stream:
        if chunk.message_type == "ping":
            continue
        if chunk.message_type == "assistant_message":
            content = chunk.content
            text = content if isinstance(content, str) else "".join(p.text for p in content)
            print("assistant:", text)
        elif chunk.message_type == "stop_reason":
            print("stop reason:", chunk.stop_reason)
        elif chunk.message_type == "usage_statistics":
            print("steps:", chunk.step_count)
        else:
            print("other:", chunk.message_type)

    tokens = 0
    with client.agents.messages.stream(
        agent.id,
        messages=[{"role": "user", "content": "Say that again, token by token."}],
        stream_tokens=True,
    ) as token_stream:
        for chunk in token_stream:
            if chunk.message_type == "assistant_message":
                tokens += 1
    print("token chunks arrived:", tokens > 1)

    response = client.agents.messages.create(agent.id, input="And once more, all at once.")
    print("blocking reply kinds:", [m.message_type for m in response.messages])
    print(
        "blocking stop reason:", response.stop_reason.stop_reason if response.stop_reason else None
    )
finally:
    client.agents.delete(agent.id)
client.close()
print("closed:", client.is_closed())
