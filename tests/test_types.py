"""The structs of letta_async.types: tags, wire shapes, request bodies and struct options."""

from __future__ import annotations

import gc
import inspect
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, get_args

import msgspec
import pytest

from letta_async import types as lt
from letta_async.types import (
    ApprovalCreate,
    ApprovalRequestMessage,
    ApprovalResponseMessage,
    ApprovalReturn,
    AssistantMessage,
    Base64Image,
    CancelAgentRunRequest,
    EventMessage,
    EventMessageShortTag,
    ImageContent,
    LettaErrorMessage,
    LettaImage,
    LettaMessage,
    LettaMessageContentUnion,
    LettaMessageUnion,
    LettaPing,
    LettaRequest,
    LettaStopReason,
    LettaStreamingResponse,
    LettaUsageStatistics,
    MessageCreate,
    ReasoningContent,
    ReasoningMessage,
    RetrieveStreamRequest,
    Run,
    StreamEvent,
    SummarizedReasoningContent,
    SummaryMessage,
    SummaryMessageShortTag,
    TextContent,
    ToolCall,
    ToolCallContent,
    ToolCallDelta,
    ToolCallMessage,
    ToolReturn,
    ToolReturnCreate,
    ToolReturnMessage,
    UnknownMessage,
    UrlImage,
    UserMessage,
)

FIXTURES = Path(__file__).parent / "fixtures"
DATE = "2026-11-22T02:00:59+00:00"
ENVELOPE = f'"id":"message-1","date":"{DATE}"'

event_decoder = msgspec.json.Decoder(LettaStreamingResponse)


def frame(tag: str, body: str = "") -> bytes:
    """A stream frame of the given kind; ``body`` is extra JSON members without braces."""
    members = [f'"message_type":"{tag}"', ENVELOPE]
    if body:
        members.append(body)
    return ("{" + ",".join(members) + "}").encode()


# --- tags ---------------------------------------------------------------------------------------

FRAME_CLASSES: list[type[Any]] = list(get_args(LettaStreamingResponse))
ALIASES: dict[type[Any], str] = {
    SummaryMessageShortTag: "summary_message",
    EventMessageShortTag: "event_message",
}


@pytest.mark.parametrize("cls", FRAME_CLASSES, ids=lambda c: c.__name__)
def test_every_frame_class_exposes_its_tag(cls: type[Any]) -> None:
    tag = cls.__struct_config__.tag
    assert cls.__struct_config__.tag_field == "message_type"
    assert cls.message_type == ALIASES.get(cls, tag)


def test_the_tag_is_readable_on_instances() -> None:
    stop = event_decoder.decode(b'{"message_type":"stop_reason","stop_reason":"end_turn"}')
    usage = event_decoder.decode(b'{"message_type":"usage_statistics"}')
    assistant = event_decoder.decode(frame("assistant_message", '"content":"hi"'))
    assert stop.message_type == "stop_reason"
    assert usage.message_type == "usage_statistics"
    assert assistant.message_type == "assistant_message"


def test_the_union_names_each_kind_once() -> None:
    names = {c.__name__ for c in FRAME_CLASSES}
    assert names >= {
        "SystemMessage",
        "UserMessage",
        "ReasoningMessage",
        "HiddenReasoningMessage",
        "ToolCallMessage",
        "ToolReturnMessage",
        "AssistantMessage",
        "ApprovalRequestMessage",
        "ApprovalResponseMessage",
        "SummaryMessage",
        "EventMessage",
        "LettaPing",
        "LettaErrorMessage",
        "LettaStopReason",
        "LettaUsageStatistics",
    }
    assert set(get_args(StreamEvent)) == set(FRAME_CLASSES) | {UnknownMessage}
    assert all(issubclass(c, LettaMessage) for c in get_args(LettaMessageUnion))
    assert not issubclass(LettaPing, LettaMessage)


@pytest.mark.parametrize(
    ("tag", "cls", "main"),
    [
        ("summary_message", SummaryMessage, SummaryMessage),
        ("summary", SummaryMessageShortTag, SummaryMessage),
    ],
)
def test_both_summary_tags_decode(tag: str, cls: type[Any], main: type[Any]) -> None:
    stats = (
        '"compaction_stats":{"trigger":"context_window_exceeded","context_window":8000,'
        '"messages_count_before":40,"messages_count_after":6,"context_tokens_before":7900}'
    )
    message = event_decoder.decode(frame(tag, f'"summary":"we talked",{stats}'))
    assert type(message) is cls
    assert isinstance(message, main)
    assert message.message_type == "summary_message"
    assert message.summary == "we talked"
    assert message.compaction_stats is not None
    assert message.compaction_stats.messages_count_after == 6
    assert message.compaction_stats.context_tokens_after is None


@pytest.mark.parametrize(
    ("tag", "cls"), [("event_message", EventMessage), ("event", EventMessageShortTag)]
)
def test_both_event_tags_decode(tag: str, cls: type[Any]) -> None:
    body = '"event_type":"compaction","event_data":{"phase":"start","n":[1]}'
    message = event_decoder.decode(frame(tag, body))
    assert type(message) is cls
    assert isinstance(message, EventMessage)
    assert message.message_type == "event_message"
    assert message.event_data == {"phase": "start", "n": [1]}


def test_match_picks_the_kind_and_binds_fields_by_name() -> None:
    def describe(event: StreamEvent) -> str:
        match event:
            case AssistantMessage(content=str() as text):
                return f"say {text}"
            case ToolCallMessage(tool_calls=[ToolCall(name=name), *_]):
                return f"call {name}"
            case ToolCallMessage(tool_calls=ToolCallDelta(arguments=str() as part)):
                return f"args {part}"
            case SummaryMessage(summary=summary):
                return f"summary {summary}"
            case LettaStopReason(stop_reason="end_turn"):
                return "done"
            case LettaStopReason(stop_reason=reason):
                return f"stopped {reason}"
            case UnknownMessage(message_type=tag):
                return f"unknown {tag}"
            case _:
                return "other"

    call = '"tool_calls":[{"name":"f","arguments":"{}","tool_call_id":"c1"}]'
    delta = '"tool_calls":{"arguments":"{\\"q","tool_call_id":"c1"}'
    assert describe(event_decoder.decode(frame("assistant_message", '"content":"hi"'))) == "say hi"
    assert describe(event_decoder.decode(frame("tool_call_message", call))) == "call f"
    assert describe(event_decoder.decode(frame("tool_call_message", delta))) == 'args {"q'
    assert describe(event_decoder.decode(frame("summary", '"summary":"s"'))) == "summary s"
    assert describe(LettaStopReason(stop_reason="end_turn")) == "done"
    assert describe(LettaStopReason(stop_reason="cancelled")) == "stopped cancelled"
    unknown = UnknownMessage(message_type="x", raw="{}", data={})
    assert describe(unknown) == "unknown x"
    assert describe(LettaPing(id="p", date=datetime.now(timezone.utc))) == "other"


def test_fields_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        LettaStopReason("end_turn")  # type: ignore[call-arg]
    assert LettaStopReason(stop_reason="end_turn").stop_reason == "end_turn"


# --- tool calls ---------------------------------------------------------------------------------


def test_tool_calls_as_a_list_in_step_events() -> None:
    whole = (
        '{"name":"conversation_search","arguments":"{\\"query\\": \\"hi\\"}","tool_call_id":"c3"}'
    )
    message = event_decoder.decode(
        frame("tool_call_message", f'"tool_call":{whole},"tool_calls":[{whole}]')
    )
    assert isinstance(message, ToolCallMessage)
    assert message.tool_calls == [
        ToolCall(name="conversation_search", arguments='{"query": "hi"}', tool_call_id="c3")
    ]
    # A complete deprecated tool_call is a ToolCall, as the official SDK decodes it.
    assert message.tool_call == ToolCall(
        name="conversation_search", arguments='{"query": "hi"}', tool_call_id="c3"
    )


def test_tool_calls_as_one_partial_object_in_token_deltas() -> None:
    first = '{"name":"conversation_search","tool_call_id":"c7"}'
    message = event_decoder.decode(
        frame("tool_call_message", f'"tool_call":{first},"tool_calls":{first}')
    )
    assert isinstance(message, ToolCallMessage)
    assert message.tool_calls == ToolCallDelta(name="conversation_search", tool_call_id="c7")
    assert isinstance(message.tool_calls, ToolCallDelta) and message.tool_calls.arguments is None


def test_token_deltas_join_into_the_whole_call() -> None:
    frames = (FIXTURES / "stream_tokens_tool.sse").read_text().split("\n\n")
    parts: list[str] = []
    for block in frames:
        if '"tool_call_message"' in block:
            message = event_decoder.decode(block.removeprefix("data: ").encode())
            assert isinstance(message, ToolCallMessage)
            assert isinstance(message.tool_calls, ToolCallDelta)
            parts.append(message.tool_calls.arguments or "")
    assert json.loads("".join(parts)) == {"query": "hi"}


def test_tool_calls_and_tool_call_may_be_absent() -> None:
    message = event_decoder.decode(frame("approval_request_message"))
    assert isinstance(message, ApprovalRequestMessage)
    assert message.tool_call is None and message.tool_calls is None


def test_a_delta_encodes_without_the_fields_it_did_not_carry() -> None:
    assert msgspec.json.encode(ToolCallDelta(arguments='i"}')) == b'{"arguments":"i\\"}"}'


def test_tool_returns_keep_their_items_and_content_parts() -> None:
    returns = (
        '"tool_call_id":"c1","status":"success","tool_return":"ok",'
        '"tool_returns":[{"type":"tool","tool_return":"ok","status":"success","tool_call_id":"c1",'
        '"stdout":["line"]},{"type":"tool","status":"error","tool_call_id":"c2","tool_return":'
        '[{"type":"text","text":"bad"},{"type":"image","source":{"type":"url","url":"http://x/i.png"}}]}]'
    )
    message = event_decoder.decode(frame("tool_return_message", returns))
    assert isinstance(message, ToolReturnMessage)
    assert message.tool_returns is not None
    first, second = message.tool_returns
    assert first == ToolReturn(
        tool_return="ok", status="success", tool_call_id="c1", stdout=["line"]
    )
    assert second.status == "error"
    assert second.tool_return == [
        TextContent(text="bad"),
        ImageContent(source=UrlImage(url="http://x/i.png")),
    ]


def test_approval_responses_hold_both_kinds_of_item() -> None:
    body = (
        '"approvals":[{"type":"approval","tool_call_id":"c1","approve":false,"reason":"no"},'
        '{"type":"tool","tool_call_id":"c2","status":"success","tool_return":"ran it"}]'
    )
    message = event_decoder.decode(frame("approval_response_message", body))
    assert isinstance(message, ApprovalResponseMessage)
    assert message.approvals == [
        ApprovalReturn(tool_call_id="c1", approve=False, reason="no"),
        ToolReturn(tool_call_id="c2", status="success", tool_return="ran it"),
    ]


# --- content ------------------------------------------------------------------------------------


def test_user_content_parts_decode_with_every_image_source() -> None:
    content = (
        '"content":[{"type":"text","text":"look"},'
        '{"type":"image","source":{"type":"url","url":"https://e/x.png"}},'
        '{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBO"}},'
        '{"type":"image","source":{"type":"letta","file_id":"file-1","detail":"low"}}]'
    )
    message = event_decoder.decode(frame("user_message", content))
    assert isinstance(message, UserMessage)
    assert message.content == [
        TextContent(text="look"),
        ImageContent(source=UrlImage(url="https://e/x.png")),
        ImageContent(source=Base64Image(media_type="image/png", data="iVBO")),
        ImageContent(source=LettaImage(file_id="file-1", detail="low")),
    ]


def test_assistant_content_may_be_a_string_or_text_parts() -> None:
    plain = event_decoder.decode(frame("assistant_message", '"content":"hi"'))
    parts = event_decoder.decode(
        frame("assistant_message", '"content":[{"type":"text","text":"hi","signature":"s"}]')
    )
    assert isinstance(plain, AssistantMessage) and plain.content == "hi"
    assert isinstance(parts, AssistantMessage)
    assert parts.content == [TextContent(text="hi", signature="s")]


def test_every_content_part_kind_round_trips() -> None:
    parts: list[dict[str, Any]] = [
        {"type": "text", "text": "t"},
        {"type": "image", "source": {"type": "url", "url": "u"}},
        {"type": "tool_call", "id": "c", "name": "f", "input": {"q": [1, {"a": None}]}},
        {"type": "tool_return", "tool_call_id": "c", "content": "r", "is_error": False},
        {"type": "reasoning", "is_native": True, "reasoning": "hmm", "signature": "sig"},
        {"type": "redacted_reasoning", "data": "opaque"},
        {"type": "omitted_reasoning"},
        {"type": "summarized_reasoning", "id": "r1", "summary": [{"index": 0, "text": "s"}]},
    ]
    decoded = msgspec.convert(parts, list[LettaMessageContentUnion])
    assert [p.type for p in decoded] == [p["type"] for p in parts]
    assert isinstance(decoded[2], ToolCallContent) and decoded[2].input == {"q": [1, {"a": None}]}
    assert isinstance(decoded[4], ReasoningContent) and decoded[4].is_native
    assert isinstance(decoded[7], SummarizedReasoningContent)
    assert decoded[7].summary[0].text == "s"
    assert json.loads(msgspec.json.encode(decoded)) == parts


def test_reasoning_source_defaults_as_on_the_server() -> None:
    message = event_decoder.decode(frame("reasoning_message", '"reasoning":"hmm"'))
    assert isinstance(message, ReasoningMessage)
    assert message.source == "non_reasoner_model"
    assert message.signature is None


# --- dates, defaults, unknown fields ------------------------------------------------------------


def test_dates_decode_to_aware_datetimes() -> None:
    ping = event_decoder.decode(frame("ping"))
    assert isinstance(ping, LettaPing)
    assert ping.date == datetime(2026, 11, 22, 2, 0, 59, tzinfo=timezone.utc)


def test_optional_fields_default_to_none_and_counters_to_zero() -> None:
    ping = event_decoder.decode(frame("ping"))
    assert isinstance(ping, LettaPing)
    assert (ping.name, ping.otid, ping.seq_id, ping.run_id, ping.is_err) == (None,) * 5
    usage = event_decoder.decode(b'{"message_type":"usage_statistics"}')
    assert isinstance(usage, LettaUsageStatistics)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens, usage.step_count) == (
        0,
        0,
        0,
        0,
    )
    assert usage.run_ids is None and usage.context_tokens is None


def test_error_frames_need_only_a_type_and_a_message() -> None:
    error = event_decoder.decode(b'{"message_type":"error_message","error_type":"x","message":"m"}')
    assert error == LettaErrorMessage(error_type="x", message="m")


def test_run_timestamps_keep_the_offset_the_server_wrote_or_its_absence() -> None:
    raw = json.loads((FIXTURES / "run_retrieve.json").read_bytes())
    run = msgspec.json.decode((FIXTURES / "run_retrieve.json").read_bytes(), type=Run)
    assert run.created_at is not None and run.completed_at is not None
    assert raw["created_at"].endswith("Z") and run.created_at.tzinfo is not None
    assert run.completed_at.isoformat() == raw["completed_at"]  # naive, as sent
    assert run.completed_at.replace(tzinfo=timezone.utc) > run.created_at
    assert run.request_config is not None and run.request_config.use_assistant_message is True
    assert run.metadata == {"run_type": "send_message_async", "lettuce": None}
    assert run.is_terminal


def test_a_created_run_is_not_terminal() -> None:
    run = msgspec.json.decode((FIXTURES / "async_run.json").read_bytes(), type=Run)
    assert run.status == "created" and not run.is_terminal
    assert run.completed_at is None and run.background is True


# --- request bodies -----------------------------------------------------------------------------


def _captured_requests() -> list[tuple[str, str, dict[str, Any]]]:
    captures = json.loads((FIXTURES / "_captures.json").read_text())
    found = []
    for name, capture in captures.items():
        request = capture["request"]
        if request["method"] == "POST" and isinstance(request["body"], dict):
            found.append((name, request["path"], request["body"]))
    return found


def _as_struct(route: str, body: dict[str, Any]) -> msgspec.Struct | None:
    if route.endswith("/messages/cancel"):
        return CancelAgentRunRequest(**body)
    if route.startswith("/v1/runs/") and route.endswith("/stream"):
        return RetrieveStreamRequest(**body)
    if route.endswith(("/messages", "/messages/async", "/messages/stream")):
        rest = {k: v for k, v in body.items() if k != "messages"}
        messages = [MessageCreate(**m) for m in body["messages"]] if "messages" in body else None
        return LettaRequest(messages=messages, **rest)  # type: ignore[arg-type]
    return None


def test_request_structs_encode_to_the_captured_bodies() -> None:
    checked = 0
    for name, route, body in _captured_requests():
        struct = _as_struct(route, body)
        if struct is None:
            continue
        encoded = msgspec.json.encode(struct)
        # Same members in the same order as the body the server accepted.
        assert json.dumps(json.loads(encoded)) == json.dumps(body), name
        checked += 1
    assert checked >= 40


def test_an_empty_request_is_an_empty_object() -> None:
    assert msgspec.json.encode(LettaRequest()) == b"{}"
    assert msgspec.json.encode(RetrieveStreamRequest()) == b"{}"
    assert msgspec.json.encode(CancelAgentRunRequest()) == b"{}"


def test_a_message_with_parts_and_an_otid_encodes() -> None:
    message = MessageCreate(
        role="user",
        content=[
            TextContent(text="what is this?"),
            ImageContent(source=UrlImage(url="https://e/x.png")),
        ],
        otid="otid-1",
    )
    assert json.loads(msgspec.json.encode(message)) == {
        "role": "user",
        "content": [
            {"type": "text", "text": "what is this?"},
            {"type": "image", "source": {"type": "url", "url": "https://e/x.png"}},
        ],
        "otid": "otid-1",
    }


def test_approval_and_tool_return_items_carry_their_type() -> None:
    approval = ApprovalCreate(
        approvals=[
            ApprovalReturn(tool_call_id="c1", approve=True),
            ToolReturn(tool_call_id="c2", status="success", tool_return="42"),
        ]
    )
    assert json.loads(msgspec.json.encode(approval)) == {
        "type": "approval",
        "approvals": [
            {"type": "approval", "tool_call_id": "c1", "approve": True},
            {"type": "tool", "tool_return": "42", "status": "success", "tool_call_id": "c2"},
        ],
    }
    returns = ToolReturnCreate(
        tool_returns=[
            ToolReturn(tool_call_id="c3", status="error", tool_return="boom", stderr=["x"])
        ],
        otid="o",
    )
    assert json.loads(msgspec.json.encode(returns)) == {
        "type": "tool_return",
        "tool_returns": [
            {
                "type": "tool",
                "tool_return": "boom",
                "status": "error",
                "tool_call_id": "c3",
                "stderr": ["x"],
            }
        ],
        "otid": "o",
    }


def test_request_items_take_an_otid_like_the_resources_expect() -> None:
    for cls in (MessageCreate, ApprovalCreate, ToolReturnCreate):
        assert "otid" in cls.__struct_fields__


def test_a_full_streaming_request_keeps_the_servers_member_order() -> None:
    request = LettaRequest(
        messages=[MessageCreate(role="user", content="hi")],
        max_steps=3,
        include_return_message_types=["assistant_message"],
        streaming=True,
        stream_tokens=True,
        include_pings=False,
        background=True,
    )
    assert list(json.loads(msgspec.json.encode(request))) == [
        "messages",
        "max_steps",
        "include_return_message_types",
        "streaming",
        "stream_tokens",
        "include_pings",
        "background",
    ]


# --- struct options -----------------------------------------------------------------------------


def test_every_public_struct_is_keyword_only() -> None:
    exported = (getattr(lt, name) for name in lt.__all__)
    structs = [
        obj
        for obj in exported
        if isinstance(obj, type)
        and issubclass(obj, msgspec.Struct)
        and obj.__module__.startswith("letta_async.types.")
    ]
    assert len(structs) > 50
    for cls in structs:
        kinds = {p.kind for p in inspect.signature(cls).parameters.values()}
        assert kinds <= {inspect.Parameter.KEYWORD_ONLY}, cls


def test_structs_that_can_hold_arbitrary_json_stay_gc_tracked() -> None:
    # gc=False is only safe where no field can refer back to the struct; free-form dicts can.
    event = event_decoder.decode(
        frame("event_message", '"event_type":"compaction","event_data":{"a":{}}')
    )
    call = msgspec.convert(
        {"type": "tool_call", "id": "c", "name": "f", "input": {"a": {}}}, ToolCallContent
    )
    run = msgspec.json.decode((FIXTURES / "run_retrieve.json").read_bytes(), type=Run)
    unknown = UnknownMessage(message_type=None, raw="{}", data={"a": {}})
    for obj in (event, call, run, unknown):
        assert gc.is_tracked(obj), type(obj)
    plain = event_decoder.decode(frame("assistant_message", '"content":"hi"'))
    assert not gc.is_tracked(plain)
