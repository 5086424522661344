"""MessageDecoder against every capture from a real server, and against hostile input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from letta_async._decode import DONE_SENTINEL, KNOWN_MESSAGE_TYPES, MessageDecoder
from letta_async._errors import MessageDecodeError
from letta_async.types import (
    ApprovalRequestMessage,
    ApprovalResponseMessage,
    AssistantMessage,
    EventMessage,
    EventMessageShortTag,
    HiddenReasoningMessage,
    LettaErrorMessage,
    LettaPing,
    LettaResponse,
    LettaStopReason,
    LettaUsageStatistics,
    ReasoningMessage,
    Run,
    SummaryMessage,
    SummaryMessageShortTag,
    SystemMessage,
    ToolCallMessage,
    ToolReturnMessage,
    UnknownMessage,
    UsageStatistics,
    UserMessage,
)

FIXTURES = Path(__file__).parent / "fixtures"

# Written out by hand rather than read from the package, so the test checks the mapping.
EXPECTED_CLASS: dict[str, type[Any]] = {
    "system_message": SystemMessage,
    "user_message": UserMessage,
    "reasoning_message": ReasoningMessage,
    "hidden_reasoning_message": HiddenReasoningMessage,
    "tool_call_message": ToolCallMessage,
    "tool_return_message": ToolReturnMessage,
    "assistant_message": AssistantMessage,
    "approval_request_message": ApprovalRequestMessage,
    "approval_response_message": ApprovalResponseMessage,
    "summary_message": SummaryMessage,
    "summary": SummaryMessageShortTag,
    "event_message": EventMessage,
    "event": EventMessageShortTag,
    "ping": LettaPing,
    "error_message": LettaErrorMessage,
    "stop_reason": LettaStopReason,
    "usage_statistics": LettaUsageStatistics,
}

SSE_FILES = sorted(p.name for p in FIXTURES.glob("*.sse"))
MESSAGE_LIST_FILES = [
    "messages_list_asc_page1.json",
    "messages_list_asc_page2.json",
    "messages_list_desc_page1.json",
    "messages_list_desc_page2.json",
    "messages_list_types.json",
    "run_messages.json",
]
RESPONSE_FILES = [
    "nonstream_response.json",
    "nonstream_response_memgpt_v2.json",
    "nonstream_tool_response.json",
]
RUN_FILES = [
    "async_run.json",
    "background_run_after.json",
    "cancel_background_run_after.json",
    "cancel_during_llm_wait_run_after.json",
    "cancel_run_after.json",
    "foreground_disconnect_run_after.json",
    "foreground_disconnect_run_during.json",
    "run_retrieve.json",
]

decoder = MessageDecoder()


def sse_frames(name: str) -> list[tuple[str | None, str]]:
    """(event field, data) of every event in a capture, ``[DONE]`` included.

    Enough of SSE for these files (LF only, one data line per event, no comments); the real
    decoder lives in letta_async.sse and is tested there.
    """
    frames: list[tuple[str | None, str]] = []
    for block in (FIXTURES / name).read_text("utf-8").split("\n\n"):
        event: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: "):
                data.append(line[len("data: ") :])
        if data:
            frames.append((event, "\n".join(data)))
    return frames


def message_frames() -> list[tuple[str, str]]:
    return [
        (name, data) for name in SSE_FILES for _, data in sse_frames(name) if data != DONE_SENTINEL
    ]


# --- every captured frame ----------------------------------------------------------------


def test_captures_are_present() -> None:
    assert len(SSE_FILES) >= 30
    assert len(message_frames()) >= 150


@pytest.mark.parametrize("name", SSE_FILES)
def test_every_frame_of_a_capture_decodes_to_its_class(name: str) -> None:
    frames = sse_frames(name)
    assert frames, f"{name} holds no events"
    for event_field, data in frames:
        if data == DONE_SENTINEL:
            continue
        tag = json.loads(data)["message_type"]
        for payload in (data, data.encode()):
            message = decoder.decode(payload)
            assert not isinstance(message, UnknownMessage), data
            assert type(message) is EXPECTED_CLASS[tag]
            assert message.message_type == tag
        if event_field == "error":
            assert isinstance(message, LettaErrorMessage)


@pytest.mark.parametrize("name", SSE_FILES)
def test_a_frame_survives_an_encode_decode_round_trip(name: str) -> None:
    for _, data in sse_frames(name):
        if data == DONE_SENTINEL:
            continue
        message = decoder.decode(data)
        assert decoder.decode(msgspec.json.encode(message)) == message


def test_the_sentinel_is_not_a_message() -> None:
    assert DONE_SENTINEL == "[DONE]"
    with pytest.raises(MessageDecodeError) as info:
        decoder.decode(DONE_SENTINEL)
    assert info.value.payload == "[DONE]"


def test_frames_carry_what_the_stream_layer_needs() -> None:
    frames = [decoder.decode(d) for _, d in sse_frames("background_stream.sse") if d != "[DONE]"]
    ping = frames[0]
    assert isinstance(ping, LettaPing)
    assert ping.run_id is not None and ping.run_id.startswith("run-")
    assert ping.seq_id == 1
    assert ping.date.utcoffset() is not None
    seq_ids = [getattr(f, "seq_id", None) for f in frames]
    numbered = [s for s in seq_ids if s is not None]
    assert numbered == sorted(numbered)
    assert isinstance(frames[-2], LettaStopReason) and frames[-2].stop_reason == "end_turn"
    usage = frames[-1]
    assert isinstance(usage, LettaUsageStatistics)
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_error_frames_decode_with_their_details() -> None:
    frames = [decoder.decode(d) for _, d in sse_frames("error_midstream.sse")]
    stops = [f.stop_reason for f in frames if isinstance(f, LettaStopReason)]
    assert stops == ["error", "llm_api_error"]
    error = frames[-1]
    assert isinstance(error, LettaErrorMessage)
    assert error.error_type == "internal_error"
    assert error.detail is not None and "Unhandled LLM error" in error.detail
    assert error.seq_id is None


def test_the_cancel_frame_with_spaces_decodes() -> None:
    last = sse_frames("cancel.sse")[-1][1]
    assert ", " in last
    stop = decoder.decode(last)
    assert isinstance(stop, LettaStopReason)
    assert stop.stop_reason == "cancelled"


# --- JSON bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", MESSAGE_LIST_FILES)
def test_message_listings_decode(name: str) -> None:
    raw = (FIXTURES / name).read_bytes()
    items = json.loads(raw)
    messages = decoder.decode_list(raw)
    assert len(messages) == len(items)
    for item, message in zip(items, messages, strict=True):
        assert type(message) is EXPECTED_CLASS[item["message_type"]]
        assert message.id == item["id"]  # type: ignore[union-attr]


@pytest.mark.parametrize("name", RESPONSE_FILES)
def test_non_streaming_replies_decode(name: str) -> None:
    raw = (FIXTURES / name).read_bytes()
    body = json.loads(raw)
    response = decoder.decode_response(raw)
    assert isinstance(response, LettaResponse)
    assert [m.message_type for m in response.messages] == [
        m["message_type"] for m in body["messages"]
    ]
    assert not any(isinstance(m, UnknownMessage) for m in response.messages)
    assert response.stop_reason.stop_reason == body["stop_reason"]["stop_reason"]
    assert response.usage.total_tokens == body["usage"]["total_tokens"]
    assert response.logprobs is None and response.turns is None


@pytest.mark.parametrize("name", RUN_FILES)
def test_runs_decode(name: str) -> None:
    raw = (FIXTURES / name).read_bytes()
    body = json.loads(raw)
    run = msgspec.json.decode(raw, type=Run)
    assert run.id == body["id"]
    assert run.status == body["status"]
    assert run.created_at is not None and run.created_at.utcoffset() is not None


def test_runs_list_decodes() -> None:
    runs = msgspec.json.decode((FIXTURES / "runs_list.json").read_bytes(), type=list[Run])
    assert len(runs) == 3
    assert all(r.is_terminal for r in runs)
    assert runs[0].total_duration_ns == 524189184


def test_run_usage_decodes() -> None:
    usage = msgspec.json.decode((FIXTURES / "run_usage.json").read_bytes(), type=UsageStatistics)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (200, 24, 224)


# --- unknown and malformed payloads ----------------------------------------------------------


def test_an_unknown_tag_is_kept_with_its_payload() -> None:
    payload = '{"message_type":"brand_new_frame","id":"x","answer":42}'
    for given_payload in (payload, payload.encode()):
        event = decoder.decode(given_payload)
        assert isinstance(event, UnknownMessage)
        assert event.message_type == "brand_new_frame"
        assert event.raw == payload
        assert event.data == {"message_type": "brand_new_frame", "id": "x", "answer": 42}


@pytest.mark.parametrize(
    ("payload", "tag"),
    [
        ('{"id":"x","content":"hi"}', None),
        ('{"message_type":null}', None),
        ('{"message_type":7,"content":"hi"}', None),
        ('{"message_type":"Assistant_Message","content":"hi"}', "Assistant_Message"),
        ("{}", None),
    ],
)
def test_a_missing_or_odd_tag_is_unknown_not_guessed(payload: str, tag: str | None) -> None:
    event = decoder.decode(payload)
    assert isinstance(event, UnknownMessage)
    assert event.message_type == tag
    assert event.data == json.loads(payload)


@pytest.mark.parametrize(
    "payload",
    ["", "{", "not json", '{"message_type":"ping",}', "[DONE]", b"\xff\xfe", '{"a":1} trailing'],
)
def test_invalid_json_raises_with_the_payload(payload: str | bytes) -> None:
    with pytest.raises(MessageDecodeError) as info:
        decoder.decode(payload)
    assert info.value.payload == payload
    assert isinstance(info.value, ValueError)


def test_an_unknown_tag_followed_by_garbage_is_invalid_json() -> None:
    # msgspec stops at the unknown tag; the rest must still be checked before calling it JSON.
    payload = '{"message_type":"brand_new_frame", oops'
    with pytest.raises(MessageDecodeError) as info:
        decoder.decode(payload)
    assert info.value.payload == payload


@pytest.mark.parametrize("payload", ["[]", "[1,2]", "42", '"text"', "null", "true"])
def test_json_that_is_not_an_object_raises(payload: str) -> None:
    with pytest.raises(MessageDecodeError) as info:
        decoder.decode(payload)
    assert info.value.payload == payload


@pytest.mark.parametrize(
    "payload",
    [
        '{"message_type":"assistant_message","id":"m","date":"2026-11-22T02:00:59+00:00","content":5}',
        '{"message_type":"assistant_message","id":"m","date":"yesterday","content":"hi"}',
        '{"message_type":"assistant_message","id":"m","date":"2026-11-22T02:00:59+00:00"}',
        '{"message_type":"stop_reason","stop_reason":null}',
        '{"message_type":"usage_statistics","total_tokens":"many"}',
        '{"message_type":"ping","id":"p","date":"2026-11-22T02:00:59+00:00","seq_id":"1"}',
        '{"message_type":"tool_call_message","id":"m","date":"2026-11-22T02:00:59+00:00",'
        '"tool_calls":[{"name":"f"}]}',
        '{"message_type":"user_message","id":"m","date":"2026-11-22T02:00:59+00:00",'
        '"content":[{"type":"video","url":"x"}]}',
        '{"message_type":"summary","id":"m","date":"2026-11-22T02:00:59+00:00"}',
    ],
)
def test_a_known_tag_with_the_wrong_shape_raises(payload: str) -> None:
    with pytest.raises(MessageDecodeError) as info:
        decoder.decode(payload)
    assert info.value.payload == payload
    assert json.loads(payload)["message_type"] in info.value.reason


def test_unknown_fields_are_ignored() -> None:
    event = decoder.decode('{"message_type":"stop_reason","stop_reason":"end_turn","new":[1]}')
    assert event == LettaStopReason(stop_reason="end_turn")


def test_an_unknown_stop_reason_value_still_decodes() -> None:
    event = decoder.decode('{"message_type":"stop_reason","stop_reason":"out_of_cheese"}')
    assert isinstance(event, LettaStopReason)
    assert event.stop_reason == "out_of_cheese"


# --- listings and replies with unknown items -----------------------------------------------


def _listing_with_an_unknown_item() -> tuple[bytes, bytes]:
    items = json.loads((FIXTURES / "messages_list_types.json").read_bytes())
    odd = b'{"message_type": "hologram_message", "id": "h-1", "beam": [1, 2]}'
    parts = [json.dumps(items[0]).encode(), odd, json.dumps(items[1]).encode()]
    return b"[" + b",".join(parts) + b"]", odd


def test_an_unknown_item_does_not_fail_the_page() -> None:
    page, odd = _listing_with_an_unknown_item()
    messages = decoder.decode_list(page)
    assert [type(m) for m in messages] == [AssistantMessage, UnknownMessage, AssistantMessage]
    unknown = messages[1]
    assert isinstance(unknown, UnknownMessage)
    assert unknown.message_type == "hologram_message"
    assert unknown.raw == odd.decode()  # the item's own text, spacing and all
    assert unknown.data["beam"] == [1, 2]


def test_a_malformed_known_item_fails_the_page() -> None:
    page = (
        b'[{"message_type":"assistant_message","id":"m","date":"2026-11-22T02:00:59","content":1}]'
    )
    with pytest.raises(MessageDecodeError, match="assistant_message"):
        decoder.decode_list(page)


@pytest.mark.parametrize("payload", [b"[", b'{"messages":[]}', b"[1]", b"null", b""])
def test_a_listing_that_is_not_an_array_of_objects_raises(payload: bytes) -> None:
    with pytest.raises(MessageDecodeError):
        decoder.decode_list(payload)


def test_an_empty_listing_is_empty() -> None:
    assert decoder.decode_list(b"[]") == []


def test_an_unknown_message_in_a_reply_is_kept_in_place() -> None:
    body = json.loads((FIXTURES / "nonstream_response_memgpt_v2.json").read_bytes())
    body["messages"].insert(1, {"message_type": "hologram_message", "id": "h-1"})
    response = decoder.decode_response(json.dumps(body))
    kinds = [type(m) for m in response.messages]
    assert kinds == [ReasoningMessage, UnknownMessage, AssistantMessage]
    assert response.stop_reason == LettaStopReason(stop_reason="end_turn")
    assert response.usage.total_tokens == 112


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[]",
        b'{"messages":[]}',
        b'{"messages":[],"stop_reason":{"stop_reason":"end_turn"},"usage":[]}',
        b'{"messages":[{"message_type":"hologram"}],"stop_reason":7,"usage":{}}',
        b'{"messages":[{"message_type":"assistant_message"}],'
        b'"stop_reason":{"stop_reason":"end_turn"},"usage":{}}',
    ],
)
def test_a_reply_of_the_wrong_shape_raises(payload: bytes) -> None:
    with pytest.raises(MessageDecodeError):
        decoder.decode_response(payload)


def test_known_message_types_cover_every_class() -> None:
    assert set(EXPECTED_CLASS) == KNOWN_MESSAGE_TYPES


# --- property: any JSON gives a struct, an UnknownMessage or MessageDecodeError --------------

_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)  # no lone surrogates
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
    | st.sampled_from(["2026-11-22T02:00:59+00:00", "end_turn", "success", "text", "url"])
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)
_captured = [json.loads(data) for _, data in message_frames()]
_field_names = sorted({key for frame in _captured for key in frame} | {"type", "source", "summary"})
_tags = st.sampled_from(sorted(KNOWN_MESSAGE_TYPES)) | _text


@st.composite
def _objects(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly real frames with fields dropped, retyped or added; sometimes made from nothing."""
    if draw(st.booleans()):
        obj = dict(draw(st.sampled_from(_captured)))
        for key in draw(st.lists(st.sampled_from(sorted(obj)), max_size=3)):
            obj.pop(key, None)
    else:
        obj = {}
    extra = draw(st.dictionaries(st.sampled_from(_field_names) | _text, _json, max_size=4))
    obj.update(extra)
    choice = draw(st.integers(0, 3))
    if choice == 1:
        obj["message_type"] = draw(_tags)
    elif choice == 2:
        obj.pop("message_type", None)
    return obj


def _outcome(payload: str | bytes) -> Any:
    """The decoded event, or the MessageDecodeError (any other exception propagates)."""
    try:
        return decoder.decode(payload)
    except MessageDecodeError as exc:
        return exc


def _check(payload: str | bytes, value: Any) -> None:
    event = _outcome(payload)
    if isinstance(event, MessageDecodeError):
        assert event.payload == payload
        # Only a malformed known kind, or something other than an object, may raise.
        tag = value.get("message_type") if isinstance(value, dict) else None
        assert not isinstance(value, dict) or tag in KNOWN_MESSAGE_TYPES
        return
    assert isinstance(value, dict)
    tag = value.get("message_type")
    if isinstance(tag, str) and tag in KNOWN_MESSAGE_TYPES:
        assert type(event) is EXPECTED_CLASS[tag]
    else:
        assert isinstance(event, UnknownMessage)
        assert event.message_type == (tag if isinstance(tag, str) else None)
        assert event.data == value
        assert json.loads(event.raw) == value


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_objects())
def test_any_object_decodes_to_a_struct_an_unknown_or_an_error(obj: dict[str, Any]) -> None:
    text = json.dumps(obj)
    _check(text, obj)
    _check(text.encode(), obj)


@settings(max_examples=200, deadline=None)
@given(_json)
def test_any_json_value_decodes_or_raises_decode_error(value: Any) -> None:
    _check(json.dumps(value), value)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64) | st.text(max_size=64))
def test_arbitrary_input_never_escapes_as_another_error(payload: bytes | str) -> None:
    event = _outcome(payload)
    if isinstance(event, MessageDecodeError):
        assert event.payload == payload
    else:
        assert isinstance(event, UnknownMessage) or type(event) in EXPECTED_CLASS.values()


@settings(max_examples=100, deadline=None)
@given(st.lists(_objects(), max_size=5))
def test_any_listing_keeps_every_unknown_item(items: list[dict[str, Any]]) -> None:
    payload = json.dumps(items)
    try:
        events = decoder.decode_list(payload)
    except MessageDecodeError:
        # Only an item claiming a known kind (with the wrong shape) may fail the page.
        tags = [item.get("message_type") for item in items]
        assert any(isinstance(tag, str) and tag in KNOWN_MESSAGE_TYPES for tag in tags)
        return
    assert len(events) == len(items)
    for item, event in zip(items, events, strict=True):
        tag = item.get("message_type")
        if isinstance(tag, str) and tag in KNOWN_MESSAGE_TYPES:
            assert type(event) is EXPECTED_CLASS[tag]
        else:
            assert isinstance(event, UnknownMessage) and event.data == item
