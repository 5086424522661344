"""The kinds of message an agent's history is made of, as streams and listings deliver them.

Each class is one value of ``message_type``. They are tagged msgspec structs, so a whole frame
becomes the right class in one decode, and ``isinstance`` or ``match`` picks it apart::

    match event:
        case AssistantMessage(content=text):
            ...
        case ToolCallMessage(tool_calls=calls):
            ...

All fields are keyword-only, so patterns name the fields they bind.

Fields the server marks deprecated but still sends (``tool_call``, the single-return fields of
:class:`ToolReturnMessage`) are kept for old code, yet optional: a server that stops sending
them must not make its messages undecodable. Value sets the server may grow (reasoning
``source``, hidden ``state``, tool ``status``, event ``event_type``) decode as any ``str`` for
the same reason, while type checkers see the official ``Literal``, so that code passing them
where the official SDK's value sets are expected type-checks unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from .._models import ABSENT, BaseModel
from ._base import Envelope
from ._content import LettaAssistantMessageContentUnion, LettaUserMessageContentUnion
from ._tools import ApprovalReturn, ToolCall, ToolCallDelta, ToolReturn, complete_call

__all__ = [
    "ApprovalRequestMessage",
    "ApprovalResponseMessage",
    "AssistantMessage",
    "CompactionStats",
    "EventMessage",
    "EventMessageShortTag",
    "HiddenReasoningMessage",
    "LettaMessage",
    "LettaMessageUnion",
    "ReasoningMessage",
    "SummaryMessage",
    "SummaryMessageShortTag",
    "SystemMessage",
    "ToolCallMessage",
    "ToolReturnMessage",
    "UserMessage",
]


class LettaMessage(Envelope, kw_only=True):
    """Base of every message kind that is stored in an agent's history.

    Pings share these fields but are not messages, so they do not derive from this class:
    ``isinstance(event, LettaMessage)`` keeps exactly what the agent said, heard and did.
    """


class SystemMessage(LettaMessage, tag="system_message", kw_only=True, gc=False):
    """The system prompt as stored; only listings return it, streams never do."""

    if TYPE_CHECKING:
        message_type: Literal["system_message"] | None = "system_message"
    else:
        message_type: ClassVar[str] = "system_message"

    content: str


class UserMessage(LettaMessage, tag="user_message", kw_only=True, gc=False):
    """What the user sent, as stored; streams echo it only in listings and replays."""

    if TYPE_CHECKING:
        message_type: Literal["user_message"] | None = "user_message"
    else:
        message_type: ClassVar[str] = "user_message"

    content: str | list[LettaUserMessageContentUnion]


class ReasoningMessage(LettaMessage, tag="reasoning_message", kw_only=True, gc=False):
    """The agent's visible reasoning; in token streams, one fragment of it per frame.

    ``source`` is ``"reasoner_model"`` for a reasoning model's own trace and
    ``"non_reasoner_model"`` (the server's default) when the reasoning was prompted for.
    """

    if TYPE_CHECKING:
        message_type: Literal["reasoning_message"] | None = "reasoning_message"
    else:
        message_type: ClassVar[str] = "reasoning_message"

    reasoning: str
    if TYPE_CHECKING:
        source: Literal["reasoner_model", "non_reasoner_model"] | None = "non_reasoner_model"
    else:
        source: str = "non_reasoner_model"
    signature: str | None = None


class HiddenReasoningMessage(LettaMessage, tag="hidden_reasoning_message", kw_only=True, gc=False):
    """Reasoning happened but is not shown: ``state`` says whether redacted or omitted."""

    if TYPE_CHECKING:
        message_type: Literal["hidden_reasoning_message"] | None = "hidden_reasoning_message"
    else:
        message_type: ClassVar[str] = "hidden_reasoning_message"

    if TYPE_CHECKING:
        state: Literal["redacted", "omitted"]
    else:
        state: str
    hidden_reasoning: str | None = None


class ToolCallMessage(LettaMessage, tag="tool_call_message", kw_only=True, gc=False):
    """The agent asked for one or more tools to run.

    ``tool_calls`` has two shapes on the wire, and both are kept as sent: a list of complete
    :class:`ToolCall` in step streams, replies and listings, and a single
    :class:`ToolCallDelta` carrying a fragment in token streams. The deprecated ``tool_call``
    is a :class:`ToolCall` when it names the call, its arguments and its id (every message
    but a token fragment), else a :class:`ToolCallDelta`: the classes the official SDK gives,
    so ``isinstance`` and ``match`` on them behave the same.
    """

    if TYPE_CHECKING:
        message_type: Literal["tool_call_message"] | None = "tool_call_message"
        tool_call: ToolCall | ToolCallDelta = ABSENT
    else:
        message_type: ClassVar[str] = "tool_call_message"
        # msgspec cannot choose between two untagged structs, so the wire object is read as
        # the delta, whose fields are all optional, and promoted after decoding.
        tool_call: ToolCallDelta = ABSENT

    tool_calls: list[ToolCall] | ToolCallDelta | None = None

    def __post_init__(self) -> None:
        self.tool_call = complete_call(self.tool_call)


class ToolReturnMessage(LettaMessage, tag="tool_return_message", kw_only=True, gc=False):
    """Results of the tools the agent called.

    ``tool_returns`` holds one :class:`ToolReturn` per call; the flat ``tool_return``,
    ``status``, ``tool_call_id``, ``stdout`` and ``stderr`` repeat the first of them for old
    clients.
    """

    if TYPE_CHECKING:
        message_type: Literal["tool_return_message"] | None = "tool_return_message"
    else:
        message_type: ClassVar[str] = "tool_return_message"

    tool_return: str = ABSENT
    if TYPE_CHECKING:
        status: Literal["success", "error"] = ABSENT
    else:
        # Decoded as any string: a newer server's status must not make the frame undecodable.
        status: str | None = None
    tool_call_id: str = ABSENT
    stdout: list[str] | None = None
    stderr: list[str] | None = None
    tool_returns: list[ToolReturn] | None = None


class AssistantMessage(LettaMessage, tag="assistant_message", kw_only=True, gc=False):
    """What the agent says to the user; in token streams, one fragment of it per frame."""

    if TYPE_CHECKING:
        message_type: Literal["assistant_message"] | None = "assistant_message"
    else:
        message_type: ClassVar[str] = "assistant_message"

    content: str | list[LettaAssistantMessageContentUnion]


class ApprovalRequestMessage(LettaMessage, tag="approval_request_message", kw_only=True, gc=False):
    """The agent wants to run tools that need a human's approval first.

    The run stops with ``requires_approval``; answer with an approval request item. The two
    ``tool_call``/``tool_calls`` shapes are the same as in :class:`ToolCallMessage`.
    """

    if TYPE_CHECKING:
        message_type: Literal["approval_request_message"] | None = "approval_request_message"
        tool_call: ToolCall | ToolCallDelta = ABSENT
    else:
        message_type: ClassVar[str] = "approval_request_message"
        tool_call: ToolCallDelta = ABSENT  # promoted as in ToolCallMessage

    tool_calls: list[ToolCall] | ToolCallDelta | None = None

    def __post_init__(self) -> None:
        self.tool_call = complete_call(self.tool_call)


class ApprovalResponseMessage(
    LettaMessage, tag="approval_response_message", kw_only=True, gc=False
):
    """The recorded answer to an approval request.

    ``approvals`` is the current form; ``approve``, ``approval_request_id`` and ``reason``
    describe a single decision the way older servers did.
    """

    if TYPE_CHECKING:
        message_type: Literal["approval_response_message"] | None = "approval_response_message"
    else:
        message_type: ClassVar[str] = "approval_response_message"

    approvals: list[ApprovalReturn | ToolReturn] | None = None
    approve: bool | None = None
    approval_request_id: str | None = None
    reason: str | None = None


class CompactionStats(BaseModel, kw_only=True, gc=False):
    """How much a summary shrank the context, for judging whether compaction paid off."""

    trigger: str
    context_window: int
    messages_count_before: int
    messages_count_after: int
    context_tokens_before: int | None = None
    context_tokens_after: int | None = None


class SummaryMessage(LettaMessage, tag="summary_message", kw_only=True, gc=False):
    """A summary that replaced older messages in the agent's context."""

    if TYPE_CHECKING:
        message_type: Literal["summary_message"] | None = "summary_message"
    else:
        message_type: ClassVar[str] = "summary_message"

    summary: str
    compaction_stats: CompactionStats | None = None


class SummaryMessageShortTag(SummaryMessage, tag="summary", kw_only=True, gc=False):
    """A :class:`SummaryMessage` that arrived tagged ``"summary"``.

    The server's schema names this kind both ``summary`` and ``summary_message``. msgspec binds
    one tag to one class, so the short spelling gets this subclass; ``isinstance`` checks and
    ``match`` cases written for :class:`SummaryMessage` cover both, and ``message_type`` reads
    ``"summary_message"`` either way.
    """


class EventMessage(LettaMessage, tag="event_message", kw_only=True):
    """A notice about the agent (such as a compaction) that is not part of its context.

    ``event_data`` is free-form and depends on ``event_type``.
    """

    if TYPE_CHECKING:
        message_type: Literal["event_message"] | None = "event_message"
    else:
        message_type: ClassVar[str] = "event_message"

    if TYPE_CHECKING:
        event_type: Literal["compaction"]
    else:
        event_type: str
    event_data: dict[str, Any]


class EventMessageShortTag(EventMessage, tag="event", kw_only=True):
    """An :class:`EventMessage` that arrived tagged ``"event"``.

    The same arrangement as :class:`SummaryMessageShortTag`: ``message_type`` reads
    ``"event_message"`` and code written for :class:`EventMessage` covers both spellings.
    """


LettaMessageUnion = (
    SystemMessage
    | UserMessage
    | ReasoningMessage
    | HiddenReasoningMessage
    | ToolCallMessage
    | ToolReturnMessage
    | AssistantMessage
    | ApprovalRequestMessage
    | ApprovalResponseMessage
    | SummaryMessage
    | SummaryMessageShortTag
    | EventMessage
    | EventMessageShortTag
)
"""Every kind of stored message: what history listings and non-streaming replies contain."""
