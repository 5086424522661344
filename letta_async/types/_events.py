"""Frames that only streams carry, and the unions naming everything a stream can deliver."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from .._models import ABSENT, BaseModel
from ._base import Envelope, MessageTagged
from ._messages import LettaMessageUnion
from ._usage import LettaUsageStatistics

__all__ = [
    "LettaErrorMessage",
    "LettaPing",
    "LettaStopReason",
    "LettaStreamingResponse",
    "StopReasonType",
    "StreamEvent",
    "UnknownMessage",
]


class LettaPing(Envelope, tag="ping", kw_only=True, gc=False):
    """A keep-alive, so that proxies and idle timeouts do not cut a quiet stream.

    The server sends one at once (its ``run_id`` is the earliest way to learn the run) and then
    one after each stretch of silence. It is not part of the conversation.
    """

    if TYPE_CHECKING:
        message_type: Literal["ping"] | None = "ping"
    else:
        message_type: ClassVar[str] = "ping"


class LettaErrorMessage(MessageTagged, tag="error_message", kw_only=True, gc=False):
    """An error the server hit after the stream had started (the HTTP status was already 200).

    It follows an ``event: error`` line. Only ``error_type`` and ``message`` are required: an
    error frame must stay readable even if the server leaves out the rest.
    """

    if TYPE_CHECKING:
        message_type: Literal["error_message"] = "error_message"
    else:
        message_type: ClassVar[str] = "error_message"

    error_type: str
    message: str
    run_id: str = ABSENT
    detail: str | None = None
    seq_id: int | None = None


StopReasonType = Literal[
    "end_turn",
    "error",
    "llm_api_error",
    "invalid_llm_response",
    "invalid_tool_call",
    "max_steps",
    "max_tokens_exceeded",
    "no_tool_call",
    "tool_rule",
    "cancelled",
    "insufficient_credits",
    "requires_approval",
    "context_window_overflow_in_system_prompt",
]
"""The stop reasons Letta 0.16 defines. Fields holding one decode as any ``str``, because a
newer server may add values and a stop frame must never fail to decode; type checkers see this
``Literal``, as the official SDK types them."""


class LettaStopReason(MessageTagged, tag="stop_reason", kw_only=True, gc=False):
    """Why the agent stopped; the last frame before usage and ``[DONE]``.

    After a cancel it is the very last frame: the server then closes without ``[DONE]``. A
    failing run may send more than one (``error`` then ``llm_api_error``).
    """

    if TYPE_CHECKING:
        message_type: Literal["stop_reason"] | None = "stop_reason"
    else:
        message_type: ClassVar[str] = "stop_reason"

    if TYPE_CHECKING:
        stop_reason: StopReasonType
    else:
        stop_reason: str


class UnknownMessage(BaseModel, kw_only=True):
    """A JSON object whose ``message_type`` this client does not know, or that has none.

    Newer servers add frame kinds; surfacing them untyped, in order, beats both failing the
    stream and silently dropping data. ``raw`` is the text exactly as received and ``data`` its
    parsed form; ``message_type`` is the tag when it was a string, else None.

    It is returned at run time but left out of the types that streams, pages and replies
    declare (:data:`LettaStreamingResponse`, :data:`LettaMessageUnion`): its ``message_type``
    is a plain ``str``, and one such member in a union stops mypy and pyright from narrowing
    on ``message_type``, which official-SDK code relies on. The price: a type checker thinks
    ``isinstance(event, UnknownMessage)`` cannot hold (mypy's ``warn_unreachable`` says so);
    code that checks for it annotates the event as :data:`StreamEvent`.
    """

    message_type: str | None
    raw: str
    data: dict[str, Any]


LettaStreamingResponse = (
    LettaMessageUnion | LettaPing | LettaErrorMessage | LettaStopReason | LettaUsageStatistics
)
"""Every frame kind a stream can carry that this client knows by name."""

StreamEvent = LettaStreamingResponse | UnknownMessage
"""What decoding one stream frame can give: a known frame, or an :class:`UnknownMessage`."""
