"""Request bodies: what to send to an agent and how to ask for its reply.

Every struct here leaves unset fields out of the JSON (``omit_defaults``), so the server's own
defaults apply and a body is no larger than the one a hand-written dict would give. That is also
why no field has a non-None default: a default value would be silently dropped from the body.

These structs are for encoding. :class:`MessageCreate` is deliberately untagged (the server
treats a missing ``type`` as a plain message, and the official clients send none), so the
``messages`` union below cannot be handed to a msgspec decoder as it stands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from .._models import BaseModel
from ._base import TypeTagged
from ._content import LettaMessageContentUnion
from ._tools import ApprovalReturn, ToolReturn

__all__ = [
    "ApprovalCreate",
    "CancelAgentRunRequest",
    "ClientSkill",
    "ClientTool",
    "LettaRequest",
    "MessageCreate",
    "MessageCreateUnion",
    "RetrieveStreamRequest",
    "ToolReturnCreate",
]


class MessageCreate(BaseModel, kw_only=True, omit_defaults=True, gc=False):
    """A message to add to the conversation, normally the user's turn.

    Set ``otid`` to a fresh unique id to make the send idempotent: a retry with the same id is
    recognised by the server, and it is how a lost background stream can find its run again.
    """

    role: Literal["user", "system", "assistant"]
    content: str | list[LettaMessageContentUnion]
    otid: str | None = None
    group_id: str | None = None
    name: str | None = None
    sender_id: str | None = None
    batch_item_id: str | None = None


class ApprovalCreate(TypeTagged, tag="approval", kw_only=True, gc=False):
    """The answer to an approval request, sent in place of a new user message.

    Prefer ``approvals`` (one :class:`ApprovalReturn` per pending call, or a
    :class:`ToolReturn` when the client ran the tool itself); ``approve``,
    ``approval_request_id`` and ``reason`` are the older single-decision form.
    """

    if TYPE_CHECKING:
        type: Literal["approval"] = "approval"
    else:
        type: ClassVar[str] = "approval"

    otid: str | None = None
    group_id: str | None = None
    approvals: list[ApprovalReturn | ToolReturn] | None = None
    approve: bool | None = None
    approval_request_id: str | None = None
    reason: str | None = None


class ToolReturnCreate(TypeTagged, tag="tool_return", kw_only=True, gc=False):
    """Results of client-side tools, which the server paused for and cannot run itself."""

    if TYPE_CHECKING:
        type: Literal["tool_return"] = "tool_return"
    else:
        type: ClassVar[str] = "tool_return"

    tool_returns: list[ToolReturn]
    otid: str | None = None
    group_id: str | None = None


MessageCreateUnion = MessageCreate | ApprovalCreate | ToolReturnCreate
"""What the ``messages`` list of a request may hold."""


class ClientTool(BaseModel, kw_only=True, omit_defaults=True):
    """A tool the client executes: the agent may call it, and the run pauses for the result.

    ``parameters`` is the JSON Schema of the tool's arguments.
    """

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class ClientSkill(BaseModel, kw_only=True, omit_defaults=True, gc=False):
    """A capability the client's environment offers, listed in the agent's system prompt."""

    name: str
    description: str
    location: str


class LettaRequest(BaseModel, kw_only=True, omit_defaults=True):
    """The body of ``POST /v1/agents/{agent_id}/messages`` and its async and stream variants.

    Send either ``messages`` or ``input`` (a bare string or content parts, as a user turn). The
    stream-only switches (``streaming``, ``stream_tokens``, ``include_pings``, ``background``)
    must stay None on a non-streaming call: the server answers 422 to any of them with
    ``streaming`` false. ``callback_url`` applies to async sends only.
    """

    messages: list[MessageCreateUnion] | None = None
    input: str | list[LettaMessageContentUnion] | None = None
    max_steps: int | None = None
    use_assistant_message: bool | None = None
    assistant_message_tool_name: str | None = None
    assistant_message_tool_kwarg: str | None = None
    include_return_message_types: list[str] | None = None
    client_tools: list[ClientTool] | None = None
    client_skills: list[ClientSkill] | None = None
    override_model: str | None = None
    include_compaction_messages: bool | None = None
    return_logprobs: bool | None = None
    top_logprobs: int | None = None
    return_token_ids: bool | None = None
    override_system: str | None = None
    streaming: bool | None = None
    stream_tokens: bool | None = None
    include_pings: bool | None = None
    background: bool | None = None
    callback_url: str | None = None


class RetrieveStreamRequest(BaseModel, kw_only=True, omit_defaults=True, gc=False):
    """The body of ``POST /v1/runs/{run_id}/stream``, which replays or resumes a background run.

    ``starting_after`` is the last ``seq_id`` already seen; the server sends what follows it. It
    polls its buffer every ``poll_interval`` seconds, ``batch_size`` entries at a time.
    ``agent_id``, ``run_id`` and ``otid`` select the run on the conversation stream endpoint.
    """

    agent_id: str | None = None
    run_id: str | None = None
    otid: str | None = None
    starting_after: int | None = None
    include_pings: bool | None = None
    poll_interval: float | None = None
    batch_size: int | None = None


class CancelAgentRunRequest(BaseModel, kw_only=True, omit_defaults=True, gc=False):
    """The body of ``POST /v1/agents/{agent_id}/messages/cancel``.

    Without ``run_ids`` the server cancels what it believes is the agent's current run, which
    may be a run that has already finished.
    """

    run_ids: list[str] | None = None
