"""Group commit: many tasks' small writes, one transaction (SQLite) or one round trip (Redis).

A thousand streams acknowledging batches would otherwise mean a thousand commits or round
trips in a row. Here a writer that finds fewer than ``concurrency`` flushes running becomes a
leader: it takes every write queued so far, applies them in one ``flush`` call and hands each
waiter its own result. Writes that arrive meanwhile queue up for the next flush, started by
the next writer (or by a waiter woken when a flush ends). Several flushes may be in flight at
once, so that the latency of one round trip does not stall everybody else; they never hold
two writes of one key, because each key awaits its write before making the next.

No task runs in the background, so a store needs no task group and leaves none behind. Each
caller still waits until its own write is applied, which is what an acknowledgement has to
mean. ``linger`` trades a little latency for fewer flushes: writes that trickle in (streams
ending one after another) share a flush instead of paying a round trip each. A flush is
shielded from cancellation: once the writes are handed to the database their
results must reach their waiters. A waiter cancelled before its write was taken is removed
from the queue, so its write never happens.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

import anyio
import anyio.lowlevel

__all__ = ["GroupCommit"]

Op = TypeVar("Op")
R = TypeVar("R")


class _Waiter(Generic[Op, R]):
    __slots__ = ("done", "error", "event", "lead", "op", "queued", "result")

    def __init__(self, op: Op) -> None:
        self.op = op
        self.event = anyio.Event()
        self.result: R | None = None
        self.error: BaseException | None = None
        self.done = False
        self.queued = True
        self.lead = False


class GroupCommit(Generic[Op, R]):
    """Queue writes and apply them in groups through ``flush(ops) -> results``."""

    def __init__(
        self,
        flush: Callable[[Sequence[Op]], Awaitable[Sequence[R]]],
        *,
        concurrency: int = 1,
        linger: float = 0.0,
    ) -> None:
        self._flush = flush
        self._concurrency = concurrency
        self._linger = linger
        self._queue: list[_Waiter[Op, R]] = []
        self._running = 0
        self.flushes = 0
        """How many flushes ran (the number of transactions or round trips)."""

    async def submit(self, op: Op) -> R:
        """Apply ``op`` (together with whatever else is queued) and return its result."""
        waiter: _Waiter[Op, R] = _Waiter(op)
        self._queue.append(waiter)
        while not waiter.done:
            if waiter.queued and self._running < self._concurrency:
                waiter.lead = False
                self._running += 1
                try:
                    # Wait a moment first (one pass of the event loop, or ``linger``): the
                    # writes that come meanwhile join this flush instead of each starting one
                    # of their own.
                    if self._linger > 0:
                        await anyio.sleep(self._linger)
                    else:
                        await anyio.lowlevel.checkpoint()
                except BaseException:
                    self._running -= 1
                    self._abandon(waiter)
                    self._wake_leader()
                    raise
                await self._lead()
                continue
            try:
                await waiter.event.wait()
            except BaseException:
                self._abandon(waiter)
                raise
            if not waiter.done:
                waiter.event = anyio.Event()  # woken to lead; the next wake-up is a new event
        if waiter.error is not None:
            raise waiter.error
        return waiter.result  # type: ignore[return-value]

    async def _lead(self) -> None:
        """Flush everything queued; the caller has reserved a flush slot for it."""
        batch, self._queue = self._queue, []
        for w in batch:
            w.queued = False
        try:
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
        finally:
            self._running -= 1
            self._wake_leader()

    def _wake_leader(self) -> None:
        """If writes wait and a flush may start, wake the first of them to start it."""
        if self._queue and self._running < self._concurrency:
            first = self._queue[0]
            if not first.lead:
                first.lead = True
                first.event.set()

    def _abandon(self, waiter: _Waiter[Op, R]) -> None:
        """A waiter was cancelled: drop its write if not yet taken, pass on a lead it got."""
        if waiter.done or not waiter.queued:
            return
        self._queue.remove(waiter)
        waiter.queued = False
        if waiter.lead:
            self._wake_leader()
