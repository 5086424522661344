"""The cursor store interface, shared by the embedded SQLite store and the Redis store.

Every write takes an optional ``fence``. ``None`` writes unconditionally (one process owns
the store, as with the embedded runner). An integer makes the write conditional, checked in
the same atomic step as the write itself: it applies only while the key's current fence
(its lease generation, see the Redis store) is that number. A writer that lost its lease
therefore cannot move a cursor, whatever it believes about itself.

Writes that move a cursor never move it backwards: an acknowledgement below the stored
position is accepted and ignored, so a replayed batch can be acknowledged harmlessly.
"""

from __future__ import annotations

import abc
from types import TracebackType

from ._cursor import Cursor

__all__ = ["CursorStore"]


class CursorStore(abc.ABC):
    """Where keys, their sends and their cursors live between processes."""

    @abc.abstractmethod
    async def record(self, cursor: Cursor) -> bool:
        """Store a new key (phase ``recorded``); False when the key already exists."""

    @abc.abstractmethod
    async def mark_sending(self, key: str, sent_at: float, fence: int | None = None) -> bool:
        """Move a key to ``sending``; must be durable before the request is sent."""

    @abc.abstractmethod
    async def set_run(self, key: str, run_id: str, fence: int | None = None) -> bool:
        """Record the run id (phase ``streaming``)."""

    @abc.abstractmethod
    async def ack(self, key: str, run_id: str, seq_id: int, fence: int | None = None) -> bool:
        """Move the cursor to ``seq_id``: everything up to it has been handled."""

    @abc.abstractmethod
    async def park(self, key: str, fence: int | None = None) -> bool:
        """Set a key aside as ``unconfirmed``: kept, but not picked up again by itself."""

    @abc.abstractmethod
    async def finish(self, key: str, fence: int | None = None) -> bool:
        """Drop a key whose work is over."""

    @abc.abstractmethod
    async def resolve(self, key: str, *, resend: bool) -> bool:
        """Decide about an ``unconfirmed`` key: send it again (``resend``) or drop it."""

    @abc.abstractmethod
    async def get(self, key: str) -> Cursor | None:
        """The key's cursor, or None."""

    @abc.abstractmethod
    async def in_flight(self) -> list[Cursor]:
        """Every key in the store (unconfirmed ones included), oldest first."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Release the connection(s)."""

    async def __aenter__(self) -> CursorStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
