"""Tool calls, tool results and approvals, as they appear inside messages and requests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

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


def complete_call(call: ToolCall | ToolCallDelta | None) -> Any:
    """A :class:`ToolCall` for a delta that carries all three fields, else the value as given.

    The official SDK validates the deprecated ``tool_call`` against ``ToolCall`` first and
    falls back to ``ToolCallDelta``; a wire object with a string name, arguments and id is
    therefore a ``ToolCall`` there, whichever kind of stream it came in, and so it is here.
    """
    if (
        type(call) is ToolCallDelta
        and call.name is not None
        and call.arguments is not None
        and call.tool_call_id is not None
    ):
        return ToolCall(name=call.name, arguments=call.arguments, tool_call_id=call.tool_call_id)
    return call


class ToolReturn(TypeTagged, tag="tool", kw_only=True, gc=False):
    """One tool's result: an item of a tool-return message, or sent back for a client tool.

    ``status`` is ``"success"`` or ``"error"``. It decodes as any ``str`` so that a value added
    by a newer server does not make the whole message undecodable; type checkers see the
    official ``Literal``.
    """

    if TYPE_CHECKING:
        type: Literal["tool"] = "tool"
    else:
        type: ClassVar[str] = "tool"

    tool_return: str | list[LettaToolReturnContentUnion]
    if TYPE_CHECKING:
        status: Literal["success", "error"]
    else:
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
