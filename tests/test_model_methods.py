"""The pydantic-style calls programs make on models, on structs decoded from real captures.

Expected values are the captures' own JSON. Datetimes come back in RFC 3339 with ``Z`` where
the server wrote ``+00:00`` (as pydantic writes them too), so they compare as instants.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from letta_async import AsyncLetta
from letta_async.types import AgentState, AssistantMessage, LettaResponse
from tests.replay import ReplayServer, fixture_bytes, json_answer, sse_answer

pytestmark = pytest.mark.anyio

RAW_AGENT = fixture_bytes("agent_create.json")
AGENT_JSON = json.loads(RAW_AGENT)
AGENT = AGENT_JSON["id"]
RAW_RESPONSE = fixture_bytes("nonstream_response.json")


def same(got: Any, want: Any) -> bool:
    """Equal JSON, with timestamps compared as instants."""
    if isinstance(got, dict) and isinstance(want, dict):
        return got.keys() == want.keys() and all(same(got[k], want[k]) for k in want)
    if isinstance(got, list) and isinstance(want, list):
        return len(got) == len(want) and all(same(g, w) for g, w in zip(got, want, strict=True))
    if isinstance(got, str) and isinstance(want, str) and got != want:
        try:
            return instant(got) == instant(want)
        except ValueError:
            return False
    return bool(got == want)


def instant(text: str) -> datetime:
    """An ISO 8601 time; Python 3.10's ``fromisoformat`` does not read the ``Z`` suffix."""
    return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)


@pytest.fixture
async def client(replay: ReplayServer) -> AsyncIterator[AsyncLetta]:
    replay.on("GET", f"/v1/agents/{AGENT}", always=json_answer(RAW_AGENT))
    replay.on("POST", f"/v1/agents/{AGENT}/messages", always=json_answer(RAW_RESPONSE))
    async with AsyncLetta(replay.base_url, max_retries=0) as c:
        yield c


async def test_dumps_of_a_decoded_agent_give_back_the_capture(client: AsyncLetta) -> None:
    agent = await client.agents.retrieve(AGENT)
    assert same(agent.model_dump(mode="json", by_alias=True), AGENT_JSON)
    assert same(agent.to_dict(mode="json", use_api_names=True), AGENT_JSON)
    assert same(json.loads(agent.model_dump_json(by_alias=True)), AGENT_JSON)
    # Attribute names by default: a field the server calls model_endpoint_type is
    # api_model_endpoint_type in Python, as in the official models.
    llm = agent.model_dump(mode="json")["llm_config"]
    assert llm["api_model_endpoint_type"] == AGENT_JSON["llm_config"]["model_endpoint_type"]
    assert "model_endpoint_type" not in llm
    assert same(json.loads(agent.to_json()), AGENT_JSON)
    assert agent.to_json().startswith('{\n  "'), "to_json indents by two, as officially"
    python = agent.model_dump()
    assert python["id"] == AGENT and isinstance(python["created_at"], datetime)
    assert agent.model_dump(include={"id", "name"}) == {"id": AGENT, "name": AGENT_JSON["name"]}
    assert "tools" not in agent.model_dump(exclude={"tools"})
    dropped = agent.model_dump(exclude_none=True, by_alias=True)
    assert all(value is not None for value in dropped.values())
    assert {k for k, v in AGENT_JSON.items() if v is not None} <= set(dropped)


async def test_model_validate_round_trips(client: AsyncLetta) -> None:
    agent = await client.agents.retrieve(AGENT)
    # Wire names in, wire names out (the official models cannot take attribute names back).
    assert AgentState.model_validate(agent.to_dict(mode="json")) == agent
    assert AgentState.model_validate(agent.model_dump(by_alias=True)) == agent
    assert AgentState.model_validate(AGENT_JSON) == agent
    assert AgentState.model_validate_json(RAW_AGENT) == agent
    assert "name" in agent.model_fields_set and "id" in AgentState.model_fields
    renamed = agent.model_copy(update={"name": "copy"})
    assert (renamed.name, agent.name) == ("copy", AGENT_JSON["name"])


async def test_a_response_with_message_unions_dumps_each_message_by_its_kind(
    client: AsyncLetta,
) -> None:
    response = await client.agents.messages.create(AGENT, input="hi")
    assert isinstance(response, LettaResponse)
    want = json.loads(RAW_RESPONSE)
    assert same(response.model_dump(mode="json", by_alias=True), want)
    assert same(json.loads(response.to_json()), want)
    assert LettaResponse.model_validate(want) == response
    first = response.messages[0]
    assert first.model_dump()["message_type"] == want["messages"][0]["message_type"]


async def test_stream_frames_dump_to_the_frames_that_were_sent(replay: ReplayServer) -> None:
    body = fixture_bytes("stream_steps.sse")
    sent = [
        json.loads(line[len("data: ") :])
        for line in body.decode().splitlines()
        if line.startswith("data: {")
    ]
    replay.on("POST", f"/v1/agents/{AGENT}/messages/stream", sse_answer(body))
    async with AsyncLetta(replay.base_url, max_retries=0) as client:
        stream = await client.agents.messages.stream(
            AGENT, messages=[{"role": "user", "content": "hi"}]
        )
        events = [event async for event in stream]
    assert len(events) == len(sent)
    for event, frame in zip(events, sent, strict=True):
        assert same(event.to_dict(mode="json"), frame), frame["message_type"]
    assistant = next(e for e in events if isinstance(e, AssistantMessage))
    assert AssistantMessage.model_validate(assistant.model_dump()) == assistant
