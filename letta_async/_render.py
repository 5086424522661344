"""Terminal rendering of a Letta event stream, shared by the demo and the command line.

Token streams send many small deltas of one message; the renderer prints each delta as it
comes and only starts a new line when the kind of message changes, so the reply reads as
text rather than as a log of frames. Colours are used only on a terminal.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from .types import (
    ApprovalRequestMessage,
    AssistantMessage,
    HiddenReasoningMessage,
    LettaErrorMessage,
    LettaPing,
    LettaStopReason,
    LettaUsageStatistics,
    ReasoningMessage,
    ToolCallMessage,
    ToolReturnMessage,
    UnknownMessage,
)

__all__ = ["StreamRenderer"]

_DIM = "\x1b[2m"
_BOLD = "\x1b[1m"
_CYAN = "\x1b[36m"
_GREEN = "\x1b[32m"
_RED = "\x1b[31m"
_YELLOW = "\x1b[33m"
_RESET = "\x1b[0m"


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(getattr(part, "text", "") or "" for part in content)
    return str(content)


def _tool_calls(event: ToolCallMessage) -> list[Any]:
    calls = event.tool_calls
    if calls is None:
        return [event.tool_call] if event.tool_call is not None else []
    if isinstance(calls, list):
        return list(calls)
    return [calls]


class StreamRenderer:
    """Writes events legibly to a text stream; call :meth:`feed` per event, then :meth:`end`."""

    def __init__(self, out: TextIO | None = None, *, color: bool | None = None) -> None:
        self.out = out or sys.stdout
        self.color = self.out.isatty() if color is None else color
        self._open: tuple[str, str | None] | None = None

    def _paint(self, code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if self.color else text

    def _close_open(self) -> None:
        if self._open is None:
            return
        if self._open[0] == "tool_call":
            self.out.write(self._paint(_CYAN, ")"))
        self.out.write("\n")
        self._open = None

    def _start(self, kind: str, key: str | None, label: str) -> None:
        if self._open == (kind, key):
            return
        self._close_open()
        self._open = (kind, key)
        self.out.write(label)

    def _line(self, text: str) -> None:
        self._close_open()
        self.out.write(text + "\n")

    def feed(self, event: Any) -> None:
        """Render one event."""
        if isinstance(event, LettaPing):
            return
        if isinstance(event, ReasoningMessage):
            self._start("reasoning", event.id, self._paint(_DIM, "thinking: "))
            self.out.write(self._paint(_DIM, event.reasoning or ""))
        elif isinstance(event, HiddenReasoningMessage):
            self._line(self._paint(_DIM, "(reasoning hidden)"))
        elif isinstance(event, AssistantMessage):
            self._start("assistant", event.id, self._paint(_BOLD, "assistant: "))
            self.out.write(_text_of(event.content))
        elif isinstance(event, ToolCallMessage):
            for call in _tool_calls(event):
                name = getattr(call, "name", None)
                arguments = getattr(call, "arguments", None) or ""
                self._start("tool_call", event.id, self._paint(_CYAN, "tool call: "))
                if name:
                    self.out.write(self._paint(_CYAN, f"{name}("))
                self.out.write(arguments)
        elif isinstance(event, ToolReturnMessage):
            status = event.status or "?"
            shown = _text_of(event.tool_return)
            if len(shown) > 200:
                shown = shown[:200] + "..."
            colour = _GREEN if status == "success" else _RED
            self._line(self._paint(colour, f"tool return [{status}]: ") + shown)
        elif isinstance(event, ApprovalRequestMessage):
            self._line(self._paint(_YELLOW, "approval requested for a tool call"))
        elif isinstance(event, LettaErrorMessage):
            self._line(self._paint(_RED, f"error [{event.error_type}]: {event.message}"))
        elif isinstance(event, LettaStopReason):
            self._line(self._paint(_DIM, f"stop: {event.stop_reason}"))
        elif isinstance(event, LettaUsageStatistics):
            self._line(
                self._paint(
                    _DIM,
                    f"usage: {event.prompt_tokens} prompt + {event.completion_tokens} completion"
                    f" = {event.total_tokens} tokens, {event.step_count} step(s)",
                )
            )
        elif isinstance(event, UnknownMessage):
            self._line(self._paint(_YELLOW, f"[{event.message_type}] (unknown event)"))
        else:
            self._line(f"[{getattr(event, 'message_type', type(event).__name__)}]")
        self.out.flush()

    def end(self) -> None:
        """Finish the last open line."""
        self._close_open()
        self.out.flush()
