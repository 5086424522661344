"""The cursor store interface, shared by the embedded SQLite store and the Redis store.

Every write takes an optional ``fence``. ``None`` writes unconditionally (one process owns
the store, as with the embedded runner). An integer makes the write conditional, checked in
the same atomic step as the write itself: it applies only while the key's current fence
(its lease generation, see the Redis store) is that number. A writer that lost its lease
therefore cannot move a cursor, whatever it believes about itself.

Writes that move a cursor never move it backwards: an acknowledgement below the stored
position is accepted and ignored, so a replayed batch can be acknowledged harmlessly. One that
moves it forwards also clears the key's handler failures: they count failures in a row.
"""

from __future__ import annotations

import abc
from types import TracebackType

from ._cursor import Cursor, Ended

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
    async def fail(
        self,
        key: str,
        error: str,
        *,
        run_id: str | None = None,
        max_failures: int | None = None,
        fence: int | None = None,
    ) -> int:
        """Count one more handler failure at the key's position and keep ``error``.

        The count and the decision are one atomic step: when the count reaches
        ``max_failures`` the key is parked as ``dead``. ``run_id`` is stored when given (a
        failure on the run's first batch, before any acknowledgement named it). Returns the
        new count, or 0 when the write was refused (missing key, or a fence not current).
        """

    @abc.abstractmethod
    async def revive(self, key: str) -> bool:
        """Put a ``dead`` key back to work at its cursor, its failures cleared; False if the
        key is not dead. Nothing is sent again: a key with a run resumes it, one without is
        looked up by ``otid``."""

    @abc.abstractmethod
    async def finish(
        self, key: str, fence: int | None = None, *, ended: Ended | None = None
    ) -> bool:
        """Drop a key whose work is over.

        With ``ended`` (a key that did not complete: refused, or its run gone) the record is
        kept in the store's log of ended keys, in the same atomic step, so that the reason
        outlives the key.
        """

    @abc.abstractmethod
    async def ended(self, limit: int = 100) -> list[Ended]:
        """The latest ``limit`` records of keys that left without completing, oldest first."""

    @abc.abstractmethod
    async def resolve(self, key: str, *, resend: bool) -> bool:
        """Decide about an ``unconfirmed`` key: send it again (``resend``) or drop it.

        A ``dead`` key can be dropped this way too (``resend=False``); it is never re-sent.
        Returns False when the key is in neither phase (or is dead and ``resend`` was asked).
        """

    @abc.abstractmethod
    async def get(self, key: str) -> Cursor | None:
        """The key's cursor, or None."""

    @abc.abstractmethod
    async def in_flight(self) -> list[Cursor]:
        """Every key in the store (unconfirmed and dead ones included), oldest first."""

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
