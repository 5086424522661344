"""Group commit: many tasks' small writes, one transaction (SQLite) or one round trip (Redis).

A thousand streams acknowledging batches would otherwise mean a thousand commits or round
trips in a row. Here the first writer to arrive becomes the leader: it takes every write
queued so far, applies them in one ``flush`` call, hands each waiter its own result, and
repeats until its own write is done; then the next waiter in the queue takes over. No task
runs in the background, so a store needs no task group and leaves none behind. Each caller
still waits until its own write is applied, which is what an acknowledgement has to mean.

A flush is shielded from cancellation: once the writes are handed to the database their
results must reach their waiters. A waiter cancelled before its write was taken is removed
from the queue, so its write never happens.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

import anyio

__all__ = ["GroupCommit"]

Op = TypeVar("Op")
R = TypeVar("R")


class _Waiter(Generic[Op, R]):
    __slots__ = ("done", "error", "event", "lead", "op", "result")

    def __init__(self, op: Op) -> None:
        self.op = op
        self.event = anyio.Event()
        self.result: R | None = None
        self.error: BaseException | None = None
        self.done = False
        self.lead = False


class GroupCommit(Generic[Op, R]):
    """Queue writes and apply them in groups through ``flush(ops) -> results``."""

    def __init__(self, flush: Callable[[Sequence[Op]], Awaitable[Sequence[R]]]) -> None:
        self._flush = flush
        self._queue: list[_Waiter[Op, R]] = []
        self._leading = False
        self.flushes = 0
        """How many flushes ran (the number of transactions or round trips)."""

    async def submit(self, op: Op) -> R:
        """Apply ``op`` (together with whatever else is queued) and return its result."""
        waiter: _Waiter[Op, R] = _Waiter(op)
        self._queue.append(waiter)
        if self._leading:
            try:
                await waiter.event.wait()
            except BaseException:
                self._abandon(waiter)
                raise
            if waiter.done:
                return self._result(waiter)
        self._leading = True
        try:
            while not waiter.done:
                await self._flush_once()
        finally:
            self._leading = False
            self._hand_over()
        return self._result(waiter)

    async def _flush_once(self) -> None:
        batch, self._queue = self._queue, []
        with anyio.CancelScope(shield=True):
            self.flushes += 1
            try:
                results = await self._flush([w.op for w in batch])
            except Exception as exc:
                for w in batch:
                    w.error = exc
                    w.done = True
                    w.event.set()
                return
        for w, result in zip(batch, results, strict=True):
            w.result = result
            w.done = True
            w.event.set()

    def _hand_over(self) -> None:
        """Wake the first queued waiter as the next leader."""
        if self._queue and not self._leading:
            nxt = self._queue[0]
            nxt.lead = True
            self._leading = True
            nxt.event.set()

    def _abandon(self, waiter: _Waiter[Op, R]) -> None:
        """A waiter was cancelled: drop its write if not yet taken, pass on a lead it got."""
        if waiter.done:
            return
        if waiter in self._queue:
            self._queue.remove(waiter)
        if waiter.lead:
            self._leading = False
            self._hand_over()

    @staticmethod
    def _result(waiter: _Waiter[Op, R]) -> R:
        if waiter.error is not None:
            raise waiter.error
        return waiter.result  # type: ignore[return-value]
