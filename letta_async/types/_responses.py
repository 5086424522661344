"""The reply to a non-streaming send: the messages produced, why it stopped, what it cost."""

from __future__ import annotations

from typing import Any

from .._models import BaseModel
from ._events import LettaStopReason
from ._messages import LettaMessageUnion
from ._usage import LettaUsageStatistics

__all__ = [
    "ChatCompletionTokenLogprob",
    "ChoiceLogprobs",
    "LettaResponse",
    "TopLogprob",
    "TurnTokenData",
]


class TopLogprob(BaseModel, kw_only=True, gc=False):
    """One of the likeliest alternatives at a token position."""

    token: str
    logprob: float
    bytes: list[int] | None = None


class ChatCompletionTokenLogprob(BaseModel, kw_only=True, gc=False):
    """A generated token with its log probability and the alternatives considered."""

    token: str
    logprob: float
    top_logprobs: list[TopLogprob]
    bytes: list[int] | None = None


class ChoiceLogprobs(BaseModel, kw_only=True, gc=False):
    """Log probabilities of the final LLM call, present when ``return_logprobs`` was asked."""

    content: list[ChatCompletionTokenLogprob] | None = None
    refusal: list[ChatCompletionTokenLogprob] | None = None


class TurnTokenData(BaseModel, kw_only=True):
    """Token-level record of one LLM call or tool result, present when ``return_token_ids``.

    Meant for training loops: ``role`` is ``"assistant"`` for generated turns and ``"tool"``
    for tool output that should not be trained on.
    """

    role: str
    output_ids: list[int] | None = None
    output_token_logprobs: list[list[Any]] | None = None
    content: str | None = None
    tool_name: str | None = None


class LettaResponse(BaseModel, kw_only=True):
    """The whole result of a non-streaming ``POST /v1/agents/{agent_id}/messages``.

    ``messages`` are in the order the agent produced them. Decoded through
    :class:`letta_async._decode.MessageDecoder`, a message of an unknown kind becomes an
    :class:`~letta_async.types.UnknownMessage` in place rather than failing the reply. Type
    checkers are told only of the official union, as for streams and pages, so that
    ``if m.message_type == "assistant_message": m.content`` narrows as with the official SDK;
    an unknown message never equals a known ``message_type``, so such narrowing stays sound.
    """

    messages: list[LettaMessageUnion]
    stop_reason: LettaStopReason
    usage: LettaUsageStatistics
    logprobs: ChoiceLogprobs | None = None
    turns: list[TurnTokenData] | None = None
