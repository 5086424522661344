"""Tool calls decode into the classes the official SDK gives, message by message.

``tests/fixtures/official_decoding.json`` was written by ``tools/record_official_decoding.py``
with ``letta-client`` 1.12.1: the class names the official client gives ``tool_call`` and
``tool_calls`` in every captured message that carries them, and in a few hand-made wire
objects. Here the same captures go through this client's decoder, the way a stream, a
listing and a blocking reply read them, and must give the same class names, so that
``isinstance`` and ``match`` on them take the same branches as with the official SDK.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from letta_async._decode import MessageDecoder
from letta_async.types import Run, ToolCall, ToolCallDelta, ToolCallMessage

FIXTURES = Path(__file__).parent / "fixtures"
FACTS = json.loads((FIXTURES / "official_decoding.json").read_text(encoding="utf-8"))
decoder = MessageDecoder()


def shape(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return "list[" + ",".join(sorted({type(item).__name__ for item in value})) + "]"
    return type(value).__name__


def decoded(source: str) -> list[Any]:
    """The messages of one capture, read as this client reads that kind of answer."""
    path = FIXTURES / source
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".sse":
        lines = text.splitlines()
        return [decoder.decode(line.removeprefix("data: ")) for line in lines if line[6:7] == "{"]
    data = json.loads(text)
    if isinstance(data, list):
        return list(decoder.decode_list(text))
    return list(decoder.decode_response(text).messages)


def test_the_facts_come_from_the_official_sdk() -> None:
    assert FACTS["source"] == "letta-client 1.12.1"
    shapes = {(row["tool_call"], row["tool_calls"]) for row in FACTS["captured"]}
    # Both kinds occur in the captures: complete calls (replies, listings, step streams)
    # and fragments (token streams), so the comparison below can tell them apart.
    assert ("ToolCall", "list[ToolCall]") in shapes
    assert ("ToolCallDelta", "ToolCallDelta") in shapes


@pytest.mark.parametrize(
    "source", sorted({row["source"] for row in FACTS["captured"]}), ids=lambda name: name
)
def test_captured_tool_calls_have_the_official_classes(source: str) -> None:
    expected = [row for row in FACTS["captured"] if row["source"] == source]
    messages = decoded(source)
    got = [
        {
            "source": source,
            "index": index,
            "message_type": message.message_type,
            "tool_call": shape(message.tool_call),
            "tool_calls": shape(message.tool_calls),
        }
        for index, message in enumerate(messages)
        if hasattr(message, "tool_calls")
    ]
    assert got == expected


@pytest.mark.parametrize(
    "row", FACTS["hand_made"], ids=lambda row: f"{row['source']}-{row['message_type']}"
)
def test_hand_made_tool_calls_have_the_official_classes(row: dict[str, Any]) -> None:
    message = decoder.decode(json.dumps(row["wire"]))
    assert shape(getattr(message, "tool_call", None)) == row["tool_call"]
    assert shape(getattr(message, "tool_calls", None)) == row["tool_calls"]


def test_a_promoted_call_keeps_its_values_and_its_wire_form() -> None:
    row = next(r for r in FACTS["hand_made"] if r["source"] == "empty_arguments")
    wire = row["wire"]
    message = decoder.decode(json.dumps(wire))
    assert isinstance(message, ToolCallMessage)
    assert message.tool_call == ToolCall(name="f", arguments="", tool_call_id="c1")
    assert msgspec.json.decode(msgspec.json.encode(message))["tool_call"] == wire["tool_call"]


def test_match_takes_the_official_branch_for_a_reply_and_for_a_fragment() -> None:
    def branch(message: Any) -> str:
        match message:
            case ToolCallMessage(tool_call=ToolCall(name=name)):
                return f"call {name}"
            case ToolCallMessage(tool_call=ToolCallDelta(arguments=part)):
                return f"fragment {part}"
            case _:
                return "other"

    reply = [branch(m) for m in decoded("nonstream_tool_response.json")]
    assert "call conversation_search" in reply
    assert not any(b.startswith("fragment") for b in reply)
    tokens = [branch(m) for m in decoded("stream_tokens_tool.sse")]
    assert "call conversation_search" not in tokens
    assert any(b.startswith("fragment") for b in tokens)


def test_value_sets_typed_as_literals_still_take_a_newer_servers_values() -> None:
    # Type checkers see the official Literal; the decoder must still take any string, so a
    # value a newer server adds never makes a frame, a reply or a run undecodable.
    frames = {
        "stop_reason": '{"message_type":"stop_reason","stop_reason":"budget_exhausted"}',
        "reasoning_message": '{"id":"m","date":"2026-01-01T00:00:00Z",'
        '"message_type":"reasoning_message","reasoning":"r","source":"planner"}',
        "hidden_reasoning_message": '{"id":"m","date":"2026-01-01T00:00:00Z",'
        '"message_type":"hidden_reasoning_message","state":"elided"}',
        "event_message": '{"id":"m","date":"2026-01-01T00:00:00Z","message_type":"event_message",'
        '"event_type":"migration","event_data":{}}',
        "tool_return_message": '{"id":"m","date":"2026-01-01T00:00:00Z",'
        '"message_type":"tool_return_message","tool_returns":[{"type":"tool",'
        '"tool_return":"x","status":"timeout","tool_call_id":"c"}]}',
    }
    values = {
        tag: msgspec.json.decode(msgspec.json.encode(decoder.decode(text)))
        for tag, text in frames.items()
    }
    assert values["stop_reason"]["stop_reason"] == "budget_exhausted"
    assert values["reasoning_message"]["source"] == "planner"
    assert values["hidden_reasoning_message"]["state"] == "elided"
    assert values["event_message"]["event_type"] == "migration"
    assert values["tool_return_message"]["tool_returns"][0]["status"] == "timeout"
    run = msgspec.json.decode(
        b'{"id":"run-1","agent_id":"agent-1","status":"paused","stop_reason":"later"}', type=Run
    )
    assert (run.status, run.stop_reason) == ("paused", "later")
