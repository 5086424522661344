"""Terminal rendering of a Letta event stream, shared by the command line and the examples.

A token stream sends many small deltas of one message. The renderer prints each delta as it
arrives and starts a new line only when the message (or, inside a tool call, the call) changes,
so the reply reads as text rather than as a log of frames. Each line starts with a short label
saying what kind of message it is, so the output stays legible without colours; colours are
added only on a terminal, and never when ``NO_COLOR`` is set (https://no-color.org).
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO, cast

from .types import (
    ApprovalRequestMessage,
    ApprovalResponseMessage,
    AssistantMessage,
    HiddenReasoningMessage,
    LettaErrorMessage,
    LettaPing,
    LettaStopReason,
    LettaUsageStatistics,
    ReasoningMessage,
    SystemMessage,
    ToolCallMessage,
    ToolReturnMessage,
    UnknownMessage,
    UserMessage,
)

__all__ = ["StreamRenderer", "use_color"]

_DIM = "\x1b[2m"
_BOLD = "\x1b[1m"
_CYAN = "\x1b[36m"
_GREEN = "\x1b[32m"
_RED = "\x1b[31m"
_YELLOW = "\x1b[33m"
_RESET = "\x1b[0m"

# Stop reasons that mean "finished normally" or "paused on purpose" rather than failure.
_CALM_STOPS = frozenset({"end_turn", "max_steps", "requires_approval", "no_tool_call"})


def use_color(out: TextIO) -> bool:
    """Colour only a terminal, and only if the user has not opted out with ``NO_COLOR``."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(out, "isatty", None)
    return bool(isatty is not None and isatty())


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(getattr(part, "text", "") or "" for part in content)
    return str(content)


def _one_line(text: str, limit: int) -> str:
    """Collapse whitespace so that a tool result never breaks the layout, then shorten it."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _tool_calls(event: ToolCallMessage | ApprovalRequestMessage) -> list[Any]:
    """Both shapes: a list of whole calls (step mode) or one delta object (token mode)."""
    calls = event.tool_calls
    if calls is None:
        return [event.tool_call] if event.tool_call is not None else []
    if isinstance(calls, list):
        return list(calls)
    return [calls]


class StreamRenderer:
    """Writes events legibly to a text stream: :meth:`feed` each event, then :meth:`end`.

    ``color=None`` decides by :func:`use_color`. ``max_tool_return`` bounds how much of a tool's
    result is shown: results are often whole JSON documents that would bury the reply.
    """

    def __init__(
        self,
        out: TextIO | None = None,
        *,
        color: bool | None = None,
        max_tool_return: int = 200,
    ) -> None:
        self.out = out or sys.stdout
        self.color = use_color(self.out) if color is None else color
        self.max_tool_return = max_tool_return
        self._open: tuple[str, str | None] | None = None
        self._open_call: str | None = None

    # --- low-level writing -------------------------------------------------------------------

    def _paint(self, code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if self.color and text else text

    def _close_open(self) -> None:
        if self._open is None:
            return
        if self._open_call is not None:
            self.out.write(self._paint(_CYAN if self._open[0] == "tool" else _YELLOW, ")"))
        self.out.write("\n")
        self._open = None
        self._open_call = None

    def _start(self, kind: str, key: str | None, label: str) -> bool:
        """Open a line for this message unless it is already open; True if it was opened."""
        if self._open == (kind, key):
            return False
        self._close_open()
        self._open = (kind, key)
        self.out.write(label)
        return True

    def _line(self, text: str) -> None:
        self._close_open()
        self.out.write(text + "\n")

    # --- public surface ----------------------------------------------------------------------

    def feed(self, event: Any) -> None:
        """Render one event (pings are skipped: they are transport, not conversation)."""
        if isinstance(event, LettaPing):
            return
        if isinstance(event, ReasoningMessage):
            self._start("reasoning", event.id, self._paint(_DIM, "thinking: "))
            self.out.write(self._paint(_DIM, event.reasoning or ""))
        elif isinstance(event, HiddenReasoningMessage):
            self._line(self._paint(_DIM, "thinking: (hidden by the provider)"))
        elif isinstance(event, AssistantMessage):
            self._start("assistant", event.id, self._paint(_BOLD, "assistant: "))
            self.out.write(_text_of(event.content))
        elif isinstance(event, ToolCallMessage):
            self._calls("tool", event, "tool call: ", _CYAN)
        elif isinstance(event, ApprovalRequestMessage):
            self._calls("approval", event, "approval needed: ", _YELLOW)
        elif isinstance(event, ToolReturnMessage):
            # Typed as always present (as officially), yet a frame may lack it.
            status = cast("str | None", event.status) or "?"
            colour = _GREEN if status == "success" else _RED
            name = f"{event.name} " if event.name else ""
            shown = _one_line(_text_of(event.tool_return), self.max_tool_return)
            self._line(self._paint(colour, f"tool return: {name}[{status}] ") + shown)
        elif isinstance(event, ApprovalResponseMessage):
            self._line(self._paint(_YELLOW, "approval answered"))
        elif isinstance(event, UserMessage):
            self._line(self._paint(_BOLD, "user: ") + _text_of(event.content))
        elif isinstance(event, SystemMessage):
            self._line(self._paint(_DIM, "system: " + _one_line(_text_of(event.content), 200)))
        elif isinstance(event, LettaErrorMessage):
            detail = f" ({_one_line(event.detail, 300)})" if event.detail else ""
            self._line(self._paint(_RED, f"error [{event.error_type}]: {event.message}{detail}"))
        elif isinstance(event, LettaStopReason):
            reason = event.stop_reason
            if reason in _CALM_STOPS:
                colour = _DIM
            elif reason == "cancelled":
                colour = _YELLOW
            else:
                colour = _RED
            self._line(self._paint(colour, f"stop: {reason}"))
        elif isinstance(event, LettaUsageStatistics):
            self._line(self._paint(_DIM, usage_line(event)))
        elif isinstance(event, UnknownMessage):
            self._line(self._paint(_YELLOW, f"[{event.message_type}] (not known to this client)"))
        else:
            self._line(f"[{getattr(event, 'message_type', type(event).__name__)}]")
        self.out.flush()

    def notice(self, text: str, *, out: TextIO | None = None) -> None:
        """A line that is not part of the reply (a resume, a hint), on its own line.

        ``out`` sends it elsewhere (stderr, say); the reply's open line is closed first either
        way, so the notice never lands in the middle of a sentence.
        """
        self._close_open()
        self.out.flush()
        target = out or self.out
        painted = self._paint(_YELLOW, text) if target is self.out else text
        target.write(painted + "\n")
        target.flush()

    def end(self) -> None:
        """Finish the last open line."""
        self._close_open()
        self.out.flush()

    # --- tool calls --------------------------------------------------------------------------

    def _calls(
        self,
        kind: str,
        event: ToolCallMessage | ApprovalRequestMessage,
        label: str,
        colour: str,
    ) -> None:
        for call in _tool_calls(event):
            call_id = getattr(call, "tool_call_id", None)
            name = getattr(call, "name", None)
            arguments = getattr(call, "arguments", None) or ""
            # A delta without an id continues the call that is open; a new id starts a line.
            if call_id is not None and self._open_call is not None and call_id != self._open_call:
                self._close_open()
            opened = self._start(kind, event.id, self._paint(colour, label))
            if opened or (self._open_call is None and name):
                self._open_call = call_id or ""
                self.out.write(self._paint(colour, f"{name or '?'}("))
            self.out.write(arguments)


def usage_line(usage: LettaUsageStatistics) -> str:
    """``usage: 200 prompt + 24 completion = 224 tokens, 2 steps``."""
    steps = "step" if usage.step_count == 1 else "steps"
    return (
        f"usage: {usage.prompt_tokens} prompt + {usage.completion_tokens} completion"
        f" = {usage.total_tokens} tokens, {usage.step_count} {steps}"
    )
