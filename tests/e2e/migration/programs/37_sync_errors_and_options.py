"""Errors, per-call options, copies and raw responses of the sync client."""

import json
import uuid

import letta_client
from letta_client import Letta
from letta_client.types import AgentState

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"

client = Letta(max_retries=1, timeout=30.0)
try:
    client.agents.retrieve("agent-00000000-0000-4000-8000-000000000000")
except letta_client.NotFoundError as exc:
    print("not found:", exc.status_code, type(exc).__name__)
    print("is an APIStatusError:", isinstance(exc, letta_client.APIStatusError))

try:
    client.blocks.create(label="x", value="y", extra_body={"limit": "many"})
except letta_client.UnprocessableEntityError as exc:
    print("rejected:", type(exc).__name__, exc.status_code)

try:
    client.agents.retrieve("")
except ValueError as exc:
    print("empty id:", exc)

quick = client.with_options(max_retries=0, timeout=10.0)
print("copy settings:", quick.max_retries, quick.timeout)
agent = quick.agents.create(
    name=f"sync-options-{uuid.uuid4().hex[:8]}",
    model=MODEL,
    embedding=EMBEDDING,
    memory_blocks=[{"label": "persona", "value": "I answer raw."}],
    extra_headers={"X-Trace": "sync-options"},
)
try:
    raw = client.agents.with_raw_response.retrieve(agent.id)
    print("raw status:", raw.status_code, raw.method)
    print("raw content type:", raw.headers.get("content-type"))
    parsed = raw.parse()
    print("parsed:", type(parsed).__name__, isinstance(parsed, AgentState), parsed.id == agent.id)
    with client.agents.with_streaming_response.retrieve(agent.id) as streamed:
        body = json.loads(streamed.text())
        print("streamed json has the name:", body["name"] == agent.name)
    listed = client.agents.with_raw_response.list(name=agent.name, limit=5).parse()
    print("raw list items:", len(listed.items))
    fetched = client.get(f"/v1/agents/{agent.id}", cast_to=AgentState)
    print("client.get:", fetched.id == agent.id)
    print("health:", client.health().status)
finally:
    client.agents.delete(agent.id)
    client.close()
