"""Tool calls, tool results and approvals, as they appear inside messages and requests."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from .._models import BaseModel
from ._base import TypeTagged
from ._content import LettaToolReturnContentUnion

__all__ = ["ApprovalReturn", "ToolCall", "ToolCallDelta", "ToolReturn"]


class ToolCall(BaseModel, kw_only=True, gc=False):
    """A complete tool call, as step events and stored history carry it.

    ``arguments`` stays the JSON text the model produced: it may not parse, and the server
    forwards it untouched, so parsing is left to the caller.
    """

    name: str
    arguments: str
    tool_call_id: str


class ToolCallDelta(BaseModel, kw_only=True, omit_defaults=True, gc=False):
    """A fragment of a tool call while tokens stream in.

    The first delta of a call usually names it, later ones carry slices of ``arguments``; join
    the slices of one ``tool_call_id`` to get the whole call. Fields a delta did not send stay
    None and are left out when encoding, matching the server's own frames.
    """

    name: str | None = None
    arguments: str | None = None
    tool_call_id: str | None = None


class ToolReturn(TypeTagged, tag="tool", kw_only=True, gc=False):
    """One tool's result: an item of a tool-return message, or sent back for a client tool.

    ``status`` is ``"success"`` or ``"error"``. It is kept as ``str`` so that a value added by a
    newer server does not make the whole message undecodable.
    """

    if TYPE_CHECKING:
        type: Literal["tool"] = "tool"
    else:
        type: ClassVar[str] = "tool"

    tool_return: str | list[LettaToolReturnContentUnion]
    status: str
    tool_call_id: str
    stdout: list[str] | None = None
    stderr: list[str] | None = None


class ApprovalReturn(TypeTagged, tag="approval", kw_only=True, gc=False):
    """A decision on one tool call that waited for approval."""

    if TYPE_CHECKING:
        type: Literal["approval"] = "approval"
    else:
        type: ClassVar[str] = "approval"

    tool_call_id: str
    approve: bool
    reason: str | None = None
