"""The embedded runner: durable streams inside one process, with a cursor store beside it.

``send`` records the work (its ``otid`` values included) before anything goes out, then runs
the key; ``recover`` picks up everything a previous process left in the store. Both run under
the limits ``fan_out`` has: at most ``limit`` streams at once (keys wait for a slot, costing
nothing but their cursor meanwhile) and at most ``buffer`` batches with handlers at once,
beyond which streams wait with the batch they read and stop reading their sockets. Decoded
events in memory are thus bounded by ``limit + buffer`` network reads, as in ``fan_out``; a
key reads again only once its last batch is acknowledged.

Leaving the ``async with`` block normally waits for every scheduled key; leaving it with an
exception (or being cancelled) stops them all, and their cursors stay where the last
acknowledgement put them, for the next ``recover``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup

from ._cursor import Cursor, DuplicateKeyError, Outcome
from ._deliver import Handler, KeyRunner
from ._job import prepare
from ._lookup import OtidLookup
from ._store import CursorStore

if TYPE_CHECKING:
    from .._client import AsyncLetta

__all__ = ["DurableStreams"]

logger = logging.getLogger("letta_async.durable")


class DurableStreams:
    """Run background streams whose progress survives the process; see the module docstring.

    ::

        async with SQLiteCursorStore("cursors.db") as store, DurableStreams(
            client, store, handler, limit=50, buffer=100
        ) as durable:
            await durable.recover()  # whatever the last process left unfinished
            await durable.send("order-42", agent_id, messages=[...], stream_tokens=True)
        # leaving the block waited for both

    ``handler(batch)`` is awaited once per batch (one network read, at most ``max_batch``
    events); when it returns, the cursor moves past the batch. ``on_outcome(outcome)`` is
    called as each key ends; :meth:`join` returns the outcomes too. A handler that raises
    leaves its key failed at its last acknowledgement, for the next :meth:`recover`; the
    ``max_failures``-th failure in a row on the same batch parks it as ``dead`` instead, so a
    poison event cannot make every restart fail again (``None``: no limit; :meth:`revive`
    brings a dead key back).
    """

    def __init__(
        self,
        client: AsyncLetta,
        store: CursorStore,
        handler: Handler,
        *,
        limit: int | anyio.CapacityLimiter = 50,
        buffer: int = 100,
        max_batch: int | None = None,
        lookup: OtidLookup | None = None,
        on_outcome: Callable[[Outcome], Any] | None = None,
        max_failures: int | None = 10,
    ) -> None:
        if isinstance(limit, int) and limit < 1:
            raise ValueError("limit must be at least 1")
        if buffer < 1:
            raise ValueError("buffer must be at least 1")
        self._store = store
        self._limiter = (
            limit if isinstance(limit, anyio.CapacityLimiter) else anyio.CapacityLimiter(limit)
        )
        self._runner = KeyRunner(
            client,
            store,
            handler,
            slots=anyio.Semaphore(buffer),
            max_batch=max_batch,
            lookup=lookup,
            max_failures=max_failures,
        )
        self._on_outcome = on_outcome
        self._group: TaskGroup | None = None
        self._running: set[str] = set()
        self._pending = 0
        self._idle = anyio.Event()
        self._idle.set()
        self._outcomes: list[Outcome] = []

    async def __aenter__(self) -> DurableStreams:
        if self._group is not None:
            raise RuntimeError("DurableStreams can be entered only once")
        group = anyio.create_task_group()
        await group.__aenter__()
        self._group = group
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        group = self._group
        assert group is not None, "__aexit__ without __aenter__"
        if exc is not None:
            group.cancel_scope.cancel()
        await group.__aexit__(exc_type, exc, tb)

    def _task_group(self) -> TaskGroup:
        if self._group is None:
            raise RuntimeError("use `async with DurableStreams(...) as durable:` first")
        return self._group

    # --- scheduling ----------------------------------------------------------------------------

    async def send(
        self,
        key: str,
        agent_id: str,
        *,
        messages: Iterable[Any],
        conversation_id: str | None = None,
        **options: Any,
    ) -> Cursor:
        """Record a send under ``key``, then run it as soon as a slot is free.

        Returns once the send is recorded and has a slot (so a loop of sends is paced by the
        limit). ``options`` go to ``client.agents.messages.stream`` (or, with
        ``conversation_id``, to ``client.conversations.messages.create``) and must be
        JSON-friendly. Raises :class:`DuplicateKeyError` if the store already holds ``key``.
        """
        group = self._task_group()
        cursor = prepare(key, agent_id, messages, options, conversation_id)
        if not await self._store.record(cursor):
            raise DuplicateKeyError(key)
        await self._start(group, cursor)
        return cursor

    async def recover(self) -> list[Cursor]:
        """Schedule every key a previous process left unfinished; returns what was found.

        Keys parked as ``unconfirmed`` or ``dead`` are listed but not run (see
        :meth:`resolve` and :meth:`revive`). The keys start as slots free up, in the
        background; :meth:`join` waits for them.
        """
        group = self._task_group()
        found = await self._store.in_flight()
        parked = ("unconfirmed", "dead")
        todo = [c for c in found if c.phase not in parked and c.key not in self._running]
        for cursor in todo:
            self._running.add(cursor.key)
        self._add_pending(len(todo))
        group.start_soon(self._start_all, group, todo)
        return found

    async def resolve(self, key: str, *, resend: bool) -> bool:
        """Decide about an ``unconfirmed`` key: ``resend=True`` sends it again (with the same
        otids) and runs it; ``False`` drops it (a ``dead`` key too). Returns False if the key
        is not in such a phase."""
        group = self._task_group()
        if not await self._store.resolve(key, resend=resend):
            return False
        if resend:
            cursor = await self._store.get(key)
            if cursor is not None:
                await self._start(group, cursor)
        return True

    async def revive(self, key: str) -> bool:
        """Put a ``dead`` key back to work where its cursor stands (once the handler or its
        sink is fixed) and run it; returns False if the key is not dead. Nothing is re-sent."""
        group = self._task_group()
        if not await self._store.revive(key):
            return False
        cursor = await self._store.get(key)
        if cursor is not None:
            await self._start(group, cursor)
        return True

    async def join(self) -> list[Outcome]:
        """Wait until every scheduled key ended; returns the outcomes since the last join."""
        await self._idle.wait()
        outcomes, self._outcomes = self._outcomes, []
        return outcomes

    def _add_pending(self, count: int) -> None:
        if count:
            self._pending += count
            if self._idle.is_set():
                self._idle = anyio.Event()

    async def _start(self, group: TaskGroup, cursor: Cursor) -> None:
        self._running.add(cursor.key)
        self._add_pending(1)
        await self._start_one(group, cursor)

    async def _start_all(self, group: TaskGroup, cursors: list[Cursor]) -> None:
        for cursor in cursors:
            await self._start_one(group, cursor)

    async def _start_one(self, group: TaskGroup, cursor: Cursor) -> None:
        token = object()
        try:
            await self._limiter.acquire_on_behalf_of(token)
        except BaseException:
            self._done(cursor.key)
            raise
        group.start_soon(self._run_key, cursor, token)

    async def _run_key(self, cursor: Cursor, token: object) -> None:
        try:
            outcome = await self._runner.run(cursor)
            self._outcomes.append(outcome)
            if outcome.status != "completed":
                logger.info("durable key ended: %r", outcome)
            if self._on_outcome is not None:
                result = self._on_outcome(outcome)
                if hasattr(result, "__await__"):
                    await result
        finally:
            self._limiter.release_on_behalf_of(token)
            self._done(cursor.key)

    def _done(self, key: str) -> None:
        self._running.discard(key)
        self._pending -= 1
        if self._pending == 0:
            self._idle.set()
