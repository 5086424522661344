"""What a decode failure says, and what a reply with an unknown message keeps.

``MessageDecodeError.reason`` tells the three failures apart for whoever reads a log or a bug
report: not JSON, JSON of the wrong kind (not an object, not an array, not a reply), or a known
``message_type`` of the wrong shape. A reply that carries a message of a kind this client does
not know keeps everything else it carried, log probabilities and token records included.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from letta_async._decode import MessageDecoder, _tags
from letta_async._errors import MessageDecodeError
from letta_async.types import (
    AssistantMessage,
    LettaMessageUnion,
    LettaResponse,
    ReasoningMessage,
    UnknownMessage,
)

FIXTURES = Path(__file__).parent / "fixtures"
decoder = MessageDecoder()


def _reason(call: object, payload: str | bytes) -> str:
    assert callable(call)
    with pytest.raises(MessageDecodeError) as info:
        call(payload)
    assert info.value.payload == payload
    assert info.value.reason in str(info.value)
    return info.value.reason


@pytest.mark.parametrize(
    ("method", "payload"),
    [
        ("decode", "{"),
        ("decode", '{"message_type":"brand_new_frame", oops'),
        ("decode_list", b"["),
        ("decode_response", b"not json"),
    ],
)
def test_text_that_is_not_json_says_so(method: str, payload: str | bytes) -> None:
    assert _reason(getattr(decoder, method), payload).startswith("invalid JSON: ")


@pytest.mark.parametrize(
    ("payload", "kind"), [("[1,2]", "list"), ("42", "int"), ('"text"', "str"), ("null", "NoneType")]
)
def test_a_frame_that_is_not_an_object_names_what_it_is(payload: str, kind: str) -> None:
    assert _reason(decoder.decode, payload) == f"expected a JSON object, got {kind}"


@pytest.mark.parametrize("payload", [b'{"messages":[]}', b"null", b"{}"])
def test_a_listing_that_is_not_an_array_of_messages_says_so(payload: bytes) -> None:
    assert _reason(decoder.decode_list, payload).startswith("expected a JSON array of messages: ")


@pytest.mark.parametrize("payload", [b"[]", b'{"messages":[]}', b"null"])
def test_a_reply_of_another_shape_says_so(payload: bytes) -> None:
    assert _reason(decoder.decode_response, payload).startswith("not a message reply: ")


def test_a_known_kind_of_the_wrong_shape_names_the_kind() -> None:
    payload = '{"message_type":"assistant_message","id":"m","date":"yesterday","content":"hi"}'
    assert _reason(decoder.decode, payload).startswith("malformed assistant_message: ")


def test_a_reply_with_an_unknown_message_keeps_its_logprobs_and_turns() -> None:
    body = json.loads((FIXTURES / "nonstream_response_memgpt_v2.json").read_bytes())
    body["messages"].insert(1, {"message_type": "hologram_message", "id": "h-1"})
    body["logprobs"] = {
        "content": [{"token": "Hi", "logprob": -0.25, "top_logprobs": []}],
        "refusal": None,
    }
    body["turns"] = [{"role": "assistant", "output_ids": [7, 8], "content": "Hi"}]
    response = decoder.decode_response(json.dumps(body))
    assert [type(m) for m in response.messages] == [
        ReasoningMessage,
        UnknownMessage,
        AssistantMessage,
    ]
    assert response.logprobs is not None and response.logprobs.content is not None
    (token,) = response.logprobs.content
    assert (token.token, token.logprob, token.top_logprobs) == ("Hi", -0.25, [])
    assert response.turns is not None
    (turn,) = response.turns
    assert (turn.role, turn.output_ids, turn.content) == ("assistant", [7, 8], "Hi")


def test_a_known_kind_of_the_wrong_shape_keeps_the_schema_error_as_its_cause() -> None:
    """The schema error says which field was wrong; the reason and the cause both carry it, for
    a frame and for an item of a listing alike."""
    frame = '{"message_type":"assistant_message","id":"m","date":"yesterday","content":"hi"}'
    for call, payload in ((decoder.decode, frame), (decoder.decode_list, f"[{frame}]".encode())):
        with pytest.raises(MessageDecodeError) as info:
            call(payload)
        cause = info.value.__cause__
        assert isinstance(cause, msgspec.ValidationError)
        assert info.value.reason == f"malformed assistant_message: {cause}"
        assert "date" in str(cause)


def test_a_decoder_built_now_reads_every_kind_of_payload() -> None:
    """Each MessageDecoder builds its own decoders: one made here (not the shared one made at
    import) reads frames, listings, replies and unknown kinds like the shared one."""
    fresh = MessageDecoder()
    listing = (FIXTURES / "messages_list_types.json").read_bytes()
    assert [type(m) for m in fresh.decode_list(listing)] == [
        type(m) for m in decoder.decode_list(listing)
    ]
    assert all(type(m) is not UnknownMessage for m in fresh.decode_list(listing))
    page = b'[{"message_type":"hologram_message","id":"h"}]'
    (odd,) = fresh.decode_list(page)
    assert isinstance(odd, UnknownMessage) and odd.data == {
        "message_type": "hologram_message",
        "id": "h",
    }
    reply = (FIXTURES / "nonstream_response_memgpt_v2.json").read_bytes()
    response = fresh.decode_response(reply)
    assert isinstance(response, LettaResponse) and response == decoder.decode_response(reply)
    body = json.loads(reply)
    body["messages"].insert(1, {"message_type": "hologram_message", "id": "h-1"})
    kinds = [type(m) for m in fresh.decode_response(json.dumps(body)).messages]
    assert kinds == [ReasoningMessage, UnknownMessage, AssistantMessage]
    odd_frame = fresh.decode(b'{"message_type":"brand_new_frame","n":1}')
    assert isinstance(odd_frame, UnknownMessage) and odd_frame.data["n"] == 1
    with pytest.raises(MessageDecodeError):
        fresh.decode_response(b'{"messages":[{"message_type":"assistant_message"}]}')
    for call in (fresh.decode_list, fresh.decode_response):
        with pytest.raises(MessageDecodeError):
            call(b"null")


def test_the_tags_of_the_message_union_are_the_specs() -> None:
    """Every ``message_type`` the server's OpenAPI spec lists for a message maps to the class
    that carries that tag."""
    spec = json.loads((FIXTURES / "openapi.json").read_bytes())
    mapping = spec["components"]["schemas"]["LettaMessageUnion"]["discriminator"]["mapping"]
    tags = _tags(LettaMessageUnion)
    assert set(mapping) <= set(tags)
    assert all(tags[tag].__struct_config__.tag == tag for tag in mapping)
