"""One read from a stream: the single place that knows how a stream reports a server error.

A stream can report an in-stream error (``event: error`` + ``error_message``) in one of two
ways: as an ordinary :class:`~letta_async.types.LettaErrorMessage` event in order, or by
raising :class:`~letta_async.StreamError` after the events before it. Durable delivery treats
both the same: the error event is the run's last event, numbered like any other, handed to
the handler, and the key then completes. Everything else here is the fast path: one event
from the iterator plus whatever the same network read already decoded (``take_ready``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._errors import StreamError
from ..types import LettaErrorMessage

if TYPE_CHECKING:
    from .._stream import MessageStream
    from ..types import StreamEvent

__all__ = ["read_batch"]


async def read_batch(stream: MessageStream) -> list[StreamEvent] | None:
    """The next events of ``stream`` (at least one), or None once it ended."""
    try:
        first = await stream.__anext__()
    except StopAsyncIteration:
        return None
    except StreamError as exc:
        error: Any = getattr(exc, "error", None)
        if isinstance(error, LettaErrorMessage):
            return [error]
        raise
    take: Callable[[], list[StreamEvent]] | None = getattr(stream, "take_ready", None)
    if take is None:
        return [first]
    return [first, *take()]
