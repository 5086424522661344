"""Turning JSON from the server into message structs.

The stream's hot path is one call: a msgspec decoder built once for the whole tagged union
reads each frame's bytes straight into the right class. Only when that fails does any Python
look at the payload, to tell the three failures apart:

* not JSON, or JSON that is not an object: :class:`MessageDecodeError`;
* an object whose ``message_type`` is missing or not one this client knows: an
  :class:`UnknownMessage` holding the tag and the payload, so a newer server's additions
  reach the caller in order instead of breaking the stream;
* a known ``message_type`` whose fields do not fit the schema: :class:`MessageDecodeError`,
  because guessing would hand the caller a message that is subtly wrong.

The end of a stream is signalled by the data line :data:`DONE_SENTINEL`, which is not a message
and not JSON: the stream layer checks for it before decoding (given to :meth:`decode` it is
reported as invalid JSON).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, cast, get_args

import msgspec

from ._errors import MessageDecodeError
from .types import (
    LettaMessageUnion,
    LettaResponse,
    LettaStopReason,
    LettaStreamingResponse,
    StreamEvent,
    UnknownMessage,
)
from .types._responses import ChoiceLogprobs, TurnTokenData
from .types._usage import LettaUsageStatistics

__all__ = ["DONE_SENTINEL", "KNOWN_MESSAGE_TYPES", "MessageDecoder", "shared_decoder"]

DONE_SENTINEL: Final = "[DONE]"
"""The data of the stream's final server-sent event. It marks a clean end and is not a message.

The server omits it after a cancel (the stream ends on ``stop_reason: cancelled``) and after
some in-stream errors, so its absence alone does not mean the stream was cut.
"""


def _tags(union: Any) -> dict[str, type[Any]]:
    return {cls.__struct_config__.tag: cls for cls in get_args(union)}


_STREAM_TAGS: Final = _tags(LettaStreamingResponse)
_MESSAGE_TAGS: Final = _tags(LettaMessageUnion)

KNOWN_MESSAGE_TYPES: Final = frozenset(_STREAM_TAGS)
"""Every ``message_type`` value that decodes to a typed struct, aliases included."""


class _LooseResponse(msgspec.Struct, kw_only=True):
    """A LettaResponse whose messages are left undecoded, for the item-by-item fallback."""

    messages: list[msgspec.Raw]
    stop_reason: LettaStopReason
    usage: LettaUsageStatistics
    logprobs: ChoiceLogprobs | None = None
    turns: list[TurnTokenData] | None = None


class MessageDecoder:
    """Decodes stream frames, message listings and non-streaming replies.

    Building the msgspec decoders is the costly part, so build one instance and reuse it for
    every frame; an instance holds no per-stream state and may be shared.
    """

    __slots__ = ("_any", "_event", "_list", "_loose_response", "_message", "_raw_list", "_response")

    def __init__(self) -> None:
        self._event = msgspec.json.Decoder(LettaStreamingResponse)
        self._message = msgspec.json.Decoder(LettaMessageUnion)
        self._list = msgspec.json.Decoder(list[LettaStreamingResponse])
        self._response = msgspec.json.Decoder(LettaResponse)
        self._raw_list = msgspec.json.Decoder(list[msgspec.Raw])
        self._loose_response = msgspec.json.Decoder(_LooseResponse)
        self._any = msgspec.json.Decoder()

    @property
    def decode_known(self) -> Callable[[str | bytes], StreamEvent]:
        """The bare decoder of a frame of a known kind, for the per-frame loop of a stream:
        it raises ``msgspec`` errors where :meth:`decode` would fall back or explain, so a
        caller catching ``msgspec.MsgspecError`` then calls :meth:`decode` for the same
        frame. Saves a Python call per frame."""
        return self._event.decode

    def decode(self, payload: str | bytes) -> StreamEvent:
        """Decode one stream frame's data.

        Raises :class:`MessageDecodeError` for invalid JSON, a non-object, or a known
        ``message_type`` with fields of the wrong shape; returns :class:`UnknownMessage` for an
        object with a missing or unknown ``message_type``.
        """
        try:
            event: StreamEvent = self._event.decode(payload)
        except msgspec.ValidationError as exc:
            return self._fallback(payload, exc, _STREAM_TAGS)
        except msgspec.DecodeError as exc:
            raise MessageDecodeError(f"invalid JSON: {exc}", payload) from exc
        return event

    def decode_list(self, payload: str | bytes) -> list[StreamEvent]:
        """Decode a JSON array of messages, such as a page of an agent's history.

        One decode call when every item is known; otherwise each item is decoded alone, so an
        unknown item becomes an :class:`UnknownMessage` instead of failing the page. A known
        item of the wrong shape still raises :class:`MessageDecodeError`.
        """
        try:
            # The list holds known frames only; widening its type costs nothing at runtime.
            events = cast("list[StreamEvent]", self._list.decode(payload))
        except msgspec.ValidationError:
            pass
        except msgspec.DecodeError as exc:
            raise MessageDecodeError(f"invalid JSON: {exc}", payload) from exc
        else:
            return events
        try:
            items = self._raw_list.decode(payload)
        except msgspec.DecodeError as exc:  # also a ValidationError: not an array
            raise MessageDecodeError(f"expected a JSON array of messages: {exc}", payload) from exc
        return [self._decode_item(bytes(item), self._event, _STREAM_TAGS) for item in items]

    def decode_response(self, payload: str | bytes) -> LettaResponse:
        """Decode the reply of a non-streaming send.

        Messages of an unknown kind become :class:`UnknownMessage` items in place; anything
        else that does not fit raises :class:`MessageDecodeError`.
        """
        try:
            response: LettaResponse = self._response.decode(payload)
        except msgspec.ValidationError:
            pass
        except msgspec.DecodeError as exc:
            raise MessageDecodeError(f"invalid JSON: {exc}", payload) from exc
        else:
            return response
        try:
            loose = self._loose_response.decode(payload)
        except msgspec.DecodeError as exc:  # also a ValidationError: not a reply's shape
            raise MessageDecodeError(f"not a message reply: {exc}", payload) from exc
        messages = [
            self._decode_item(bytes(item), self._message, _MESSAGE_TAGS) for item in loose.messages
        ]
        return LettaResponse(
            # Unknown kinds ride along at run time; the declared type stays the official one.
            messages=messages,
            stop_reason=loose.stop_reason,
            usage=loose.usage,
            logprobs=loose.logprobs,
            turns=loose.turns,
        )

    def _decode_item(
        self,
        item: bytes,
        decoder: msgspec.json.Decoder[Any],
        known: dict[str, type[Any]],
    ) -> Any:
        try:
            return decoder.decode(item)
        except msgspec.ValidationError as exc:
            return self._fallback(item, exc, known)

    def _fallback(
        self, payload: str | bytes, error: msgspec.ValidationError, known: dict[str, type[Any]]
    ) -> UnknownMessage:
        # msgspec may reject an unknown tag before it has read the rest of the payload, so the
        # payload is parsed again here, and may still turn out not to be JSON.
        try:
            data = self._any.decode(payload)
        except msgspec.DecodeError as exc:
            raise MessageDecodeError(f"invalid JSON: {exc}", payload) from exc
        if not isinstance(data, dict):
            raise MessageDecodeError(
                f"expected a JSON object, got {type(data).__name__}", payload
            ) from error
        tag = data.get("message_type")
        if isinstance(tag, str) and tag in known:
            raise MessageDecodeError(f"malformed {tag}: {error}", payload) from error
        raw = payload if isinstance(payload, str) else payload.decode("utf-8", "replace")
        return UnknownMessage(
            message_type=tag if isinstance(tag, str) else None, raw=raw, data=data
        )


_shared: MessageDecoder | None = None


def shared_decoder() -> MessageDecoder:
    """The process-wide decoder: building the union decoder is the costly part, so streams and
    history listings all reuse one (it holds no per-stream state)."""
    global _shared
    if _shared is None:
        _shared = MessageDecoder()
    return _shared
