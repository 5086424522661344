"""Runs: the server's record of one request to an agent, which outlives the connection."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from .._models import BaseModel

if TYPE_CHECKING:
    from ._events import StopReasonType

__all__ = ["LettaRequestConfig", "Run", "RunStatus"]

RunStatus = Literal["created", "running", "completed", "failed", "cancelled"]
"""The states a run moves through. ``Run.status`` decodes as any ``str`` so that new states
still decode; type checkers see this ``Literal``, as the official SDK types it."""

_TERMINAL = frozenset({"completed", "failed", "cancelled"})


class LettaRequestConfig(BaseModel, kw_only=True, gc=False):
    """The message-shaping options the run was started with, so a replay can match them."""

    use_assistant_message: bool | None = None
    assistant_message_tool_name: str | None = None
    assistant_message_tool_kwarg: str | None = None
    include_return_message_types: list[str] | None = None


class Run(BaseModel, kw_only=True):
    """A run, as returned by ``GET /v1/runs/{run_id}``, the runs listing and async sends.

    Timestamps are what the server wrote, as the official SDK reads them: Letta writes
    ``created_at`` with ``Z`` but ``completed_at`` without an offset, so the first is aware and
    the second naive (both are UTC). Before subtracting them, give the naive one
    ``tzinfo=timezone.utc``.
    """

    id: str
    agent_id: str
    if TYPE_CHECKING:
        status: RunStatus | None = None
    else:
        status: str | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None
    conversation_id: str | None = None
    base_template_id: str | None = None
    background: bool | None = None
    metadata: dict[str, Any] | None = None
    request_config: LettaRequestConfig | None = None
    if TYPE_CHECKING:
        stop_reason: StopReasonType | None = None
    else:
        stop_reason: str | None = None
    callback_url: str | None = None
    callback_sent_at: datetime | None = None
    callback_status_code: int | None = None
    callback_error: str | None = None
    ttft_ns: int | None = None
    total_duration_ns: int | None = None

    @property
    def is_terminal(self) -> bool:
        """Whether the run has finished, so polling or resuming it can stop."""
        return self.status in _TERMINAL
