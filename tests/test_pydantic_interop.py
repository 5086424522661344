"""The msgspec models where pydantic models go, with values from real captures.

A user's pydantic model with one of ours as a field, a ``TypeAdapter`` over a message union,
FastAPI's ``response_model`` and its OpenAPI document: each validates the captured JSON, dumps
it back to the same JSON, and describes it with a JSON schema naming the captured fields.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pydantic
import pytest
from fastapi import FastAPI

import letta_async
from letta_async._models import to_plain
from letta_async.types import AgentState, LettaResponse, LlmConfig
from letta_async.types.agents import AssistantMessage, Message
from tests.replay import fixture_bytes
from tests.test_model_methods import same

pytestmark = pytest.mark.anyio

RAW_AGENT = fixture_bytes("agent_create.json")
AGENT_JSON = json.loads(RAW_AGENT)
RESPONSE_JSON = json.loads(fixture_bytes("nonstream_response_memgpt_v2.json"))


class Saved(pydantic.BaseModel):
    """What a user's program keeps: our models inside its own pydantic model."""

    note: str
    agent: AgentState
    messages: list[Message]
    reply: AssistantMessage | None = None


def saved() -> Saved:
    return Saved.model_validate(
        {"note": "kept", "agent": AGENT_JSON, "messages": RESPONSE_JSON["messages"]}
    )


def test_a_pydantic_model_holds_ours_and_round_trips() -> None:
    kept = saved()
    assert isinstance(kept.agent, AgentState)
    assert kept.agent == AgentState.model_validate(AGENT_JSON)
    assert [m.message_type for m in kept.messages] == [
        m["message_type"] for m in RESPONSE_JSON["messages"]
    ]
    wire = kept.model_dump(mode="json", by_alias=True)
    assert same(wire["agent"], AGENT_JSON) and same(wire["messages"], RESPONSE_JSON["messages"])
    # Attribute names without by_alias, as pydantic dumps the official models; both validate back.
    plain = kept.model_dump(mode="json")
    assert "api_model_endpoint_type" in plain["agent"]["llm_config"]
    assert Saved.model_validate(plain) == kept
    assert Saved.model_validate_json(kept.model_dump_json()) == kept
    assert Saved.model_validate_json(kept.model_dump_json(by_alias=True)) == kept
    python = kept.model_dump()
    assert python["agent"]["created_at"] == kept.agent.created_at
    # An instance passes as it is, and a wrong value is pydantic's ValidationError.
    again = Saved(note="x", agent=kept.agent, messages=kept.messages)
    assert again.agent is kept.agent
    with pytest.raises(pydantic.ValidationError):
        Saved.model_validate({"note": "x", "agent": {"id": 1}, "messages": []})


def test_type_adapter_over_a_message_union_and_a_response() -> None:
    adapter = pydantic.TypeAdapter(list[Message])
    messages = adapter.validate_json(json.dumps(RESPONSE_JSON["messages"]))
    assert [type(m).__name__ for m in messages] == ["ReasoningMessage", "AssistantMessage"]
    assert same(json.loads(adapter.dump_json(messages, by_alias=True)), RESPONSE_JSON["messages"])
    response = pydantic.TypeAdapter(LettaResponse).validate_python(RESPONSE_JSON)
    assert response == LettaResponse.model_validate(RESPONSE_JSON)


def captured_types() -> list[tuple[str, Any]]:
    from letta_async.types import Conversation, Step
    from letta_async.types.agents import Run
    from letta_async.types.runs import UsageRetrieveResponse

    return [
        ("agent_create.json", AgentState),
        ("agent_create_memgpt_v2.json", AgentState),
        ("nonstream_response.json", LettaResponse),
        ("nonstream_tool_response.json", LettaResponse),
        ("nonstream_response_memgpt_v2.json", LettaResponse),
        ("messages_list_desc_page1.json", list[Message]),
        ("messages_list_asc_page2.json", list[Message]),
        ("run_messages.json", list[Message]),
        ("run_retrieve.json", Run),
        ("runs_list.json", list[Run]),
        ("run_steps.json", list[Step]),
        ("run_usage.json", UsageRetrieveResponse),
        ("conversation_create.json", Conversation),
    ]


@pytest.mark.parametrize(("capture", "kind"), captured_types(), ids=lambda v: str(v)[:30])
def test_every_capture_round_trips_through_a_type_adapter(capture: str, kind: Any) -> None:
    raw = fixture_bytes(capture)
    adapter = pydantic.TypeAdapter(kind)
    value = adapter.validate_json(raw)
    # Pydantic validates as msgspec decodes, and dumps as the models' own model_dump does
    # (test_model_methods.py compares those dumps with the captures).
    assert value == msgspec.json.decode(raw, type=kind)
    assert json.loads(adapter.dump_json(value, by_alias=True)) == to_plain(
        value, mode="json", by_alias=True
    )
    assert adapter.validate_json(adapter.dump_json(value)) == value
    assert adapter.validate_python(adapter.dump_python(value)) == value
    schema = adapter.json_schema()
    assert schema, capture


def test_json_schemas_name_the_captured_fields() -> None:
    own = AgentState.model_json_schema()
    assert set(AGENT_JSON) <= set(own["properties"])
    assert "model_endpoint_type" in own["$defs"]["LlmConfig"]["properties"]
    components = AgentState.model_json_schema(ref_template="#/components/schemas/{model}")
    refs = [part.split('"')[0] for part in json.dumps(components).split('"$ref": "')[1:]]
    assert refs and all(r.startswith("#/components/schemas/") for r in refs)
    by_attr = AgentState.model_json_schema(by_alias=False)
    assert set(by_attr["properties"]) == set(AgentState.model_fields)
    schema = Saved.model_json_schema()
    agent = schema["properties"]["agent"]
    target = schema["$defs"][agent["$ref"].rsplit("/", 1)[-1]] if "$ref" in agent else agent
    assert set(AGENT_JSON) <= set(target["properties"])
    text = json.dumps(schema)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "#/$defs/')[1:]}:
        assert ref in schema["$defs"], ref


async def asgi_get(app: Any, path: str) -> tuple[int, bytes]:
    """One GET through an ASGI app, without a server or an HTTP client library."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "headers": [], "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 80)}  # fmt: skip
    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


async def test_fastapi_serves_ours_as_a_response_model() -> None:
    app = FastAPI()
    agent = AgentState.model_validate_json(RAW_AGENT)

    @app.get("/agent", response_model=AgentState)
    async def get_agent() -> Any:
        return agent

    @app.get("/saved", response_model=Saved)
    async def get_saved() -> Any:
        return saved()

    status, body = await asgi_get(app, "/agent")
    assert status == 200 and same(json.loads(body), AGENT_JSON)
    status, body = await asgi_get(app, "/saved")
    assert status == 200 and same(json.loads(body)["agent"], AGENT_JSON)
    openapi = app.openapi()
    assert set(AGENT_JSON) <= set(openapi["components"]["schemas"]["AgentState"]["properties"])


def test_the_pydantic_style_helpers() -> None:
    agent = AgentState.model_validate(AGENT_JSON)
    assert AgentState.model_construct(**AGENT_JSON) == agent
    assert agent.model_copy(update={"name": "copy"}).name == "copy"
    assert set(AgentState.model_fields) == set(agent.model_dump())
    # The one difference: ours are not pydantic.BaseModel instances; this covers both.
    assert not isinstance(agent, pydantic.BaseModel)
    assert isinstance(agent, (pydantic.BaseModel, letta_async.BaseModel))


# Read from letta-client 1.12.1: ``Model.model_fields[name]`` -> (annotation, alias, required).
OFFICIAL_FIELDS: list[tuple[type[Any], str, Any, str | None, bool]] = [
    (AgentState, "name", str, None, True),
    (LlmConfig, "api_model_endpoint_type", None, "model_endpoint_type", True),
    (LlmConfig, "context_window", int, None, True),
    (AssistantMessage, "otid", str | None, None, False),
]


@pytest.mark.parametrize(("model", "name", "annotation", "alias", "required"), OFFICIAL_FIELDS)
def test_model_fields_read_as_pydantic_field_infos(
    model: Any, name: str, annotation: Any, alias: str | None, required: bool
) -> None:
    field = model.model_fields[name]
    if annotation is not None:
        assert field.annotation == annotation
    assert (field.alias, field.is_required()) == (alias, required)


def test_the_core_does_not_import_pydantic() -> None:
    import subprocess
    import sys

    code = (
        "import sys, letta_async, letta_async.types, letta_async.types.agents;"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core')]"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_a_custom_schema_generator_is_refused_not_ignored() -> None:
    from letta_async.types import AgentState

    with pytest.raises(TypeError, match="schema_generator"):
        AgentState.model_json_schema(schema_generator=object)
    # Both modes describe the one shape a model decodes and encodes.
    assert AgentState.model_json_schema(mode="serialization") == AgentState.model_json_schema()
