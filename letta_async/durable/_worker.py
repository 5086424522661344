"""A worker of the fleet: claims keys from Redis, streams them, gives them up when it must.

Any number of workers (processes, machines) share one namespace. Each claims keys as it has
free slots (at most ``limit`` at once, so its memory stays bounded however many keys wait),
takes over keys whose lease expired before new ones, renews its leases every third of the
TTL, and hands keys back on a clean shutdown so that others continue at once. A worker that
dies or hangs simply stops renewing: after ``lease_ttl`` seconds its keys are claimed by the
others, under a new fence that shuts the old holder out.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import anyio.lowlevel

from ._cursor import Outcome
from ._deliver import Handler, KeyRunner
from ._lease import LeaseBook
from ._lookup import OtidLookup
from ._redis import Claim, RedisCursorStore

if TYPE_CHECKING:
    from .._client import AsyncLetta

__all__ = ["Worker"]

logger = logging.getLogger("letta_async.durable")

Hook = Callable[[Any], Awaitable[None] | None]

_GATHER = 0.01

# Keys a claim brings are started this many per pass of the event loop. Started all at once,
# a thousand keys send their requests in one pass and every reply then waits in memory
# (twice the RSS, fuller GC passes, cold caches) before the first is decoded; in small steps
# the streams already open read and hand over in between, as under ``fan_out``, while the
# send marks of one step still share a flush of the group commit.
_START_STEP = 8

# Keys asked for per claim. A claim runs as one Lua script on Redis; a thousand keys at once
# took 20-50 ms, during which nothing was started here and every other worker's writes
# waited behind it. The claim loop asks again at once while claims come back full.
_CLAIM_STEP = 64


async def _call(hook: Hook | None, value: Any) -> None:
    if hook is None:
        return
    try:
        result = hook(value)
        if result is not None:
            await result
    except Exception:  # observability must never break delivery
        logger.exception("worker hook %r failed", hook)


class Worker:
    """Consume a Redis namespace's keys: ``await worker.run()`` until cancelled.

    ``handler(batch)`` is awaited per batch; returning acknowledges it. ``limit`` caps the
    keys held (and streams open) at once; ``buffer`` the batches out with handlers at once.
    ``lease_ttl`` is how long a key stays ours without renewal: the longest a dead worker's
    keys wait before another takes them over (plus up to ``poll_interval``). A key whose
    stream or handler failed goes back to the queue for ``retry_delay`` seconds; after a handler
    failure the wait doubles with each failure in a row (up to ``max_retry_delay``), and the
    ``max_failures``-th in a row on the same batch parks the key as ``dead`` (``None``: retry
    forever). With the defaults a key dies after about 20 minutes of a handler that never
    succeeds, long enough to ride out a sink's restart.
    ``on_claim(claim)`` and ``on_outcome(outcome)`` observe the worker (plain or async
    functions; their errors are logged and ignored). Give each worker its own store object:
    the store's fenced writes renew leases by the worker's ``lease_ttl``.
    """

    def __init__(
        self,
        client: AsyncLetta,
        store: RedisCursorStore,
        handler: Handler,
        *,
        limit: int = 50,
        buffer: int = 100,
        max_batch: int | None = None,
        lease_ttl: float = 10.0,
        poll_interval: float = 0.5,
        retry_delay: float = 5.0,
        max_retry_delay: float = 300.0,
        max_failures: int | None = 10,
        lookup: OtidLookup | None = None,
        worker_id: str | None = None,
        on_claim: Hook | None = None,
        on_outcome: Hook | None = None,
    ) -> None:
        if limit < 1 or buffer < 1:
            raise ValueError("limit and buffer must be at least 1")
        if lease_ttl <= 0 or poll_interval <= 0:
            raise ValueError("lease_ttl and poll_interval must be positive")
        self.store = store
        self.limit = limit
        self.lease_ttl = lease_ttl
        self.poll_interval = poll_interval
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._book = LeaseBook(store, lease_ttl)
        self._runner = KeyRunner(
            client,
            store,
            handler,
            slots=anyio.Semaphore(buffer),
            max_batch=max_batch,
            lookup=lookup,
            guard=self._book,
            max_failures=max_failures,
        )
        self._on_claim = on_claim
        self._on_outcome = on_outcome
        self._freed = anyio.Event()
        self.claimed = 0
        """Keys claimed so far (take-overs included)."""
        self.taken_over = 0
        """Claims of keys whose previous lease had expired."""
        self.outcomes: dict[str, int] = {}
        """How many keys ended with each outcome status."""
        self._claim_failures = 0

    def __repr__(self) -> str:
        return f"<Worker {self.worker_id} holding {len(self._book)}/{self.limit}>"

    @property
    def held(self) -> int:
        """Keys held right now."""
        return len(self._book)

    async def run(self, *, until_empty: bool = False) -> None:
        """Claim and run keys until cancelled (or, with ``until_empty``, until the namespace
        has nothing queued or held). Leaving hands every held key back at once."""
        self.store.lease_ttl = self.lease_ttl
        async with anyio.create_task_group() as group:
            group.start_soon(self._renew_loop)
            try:
                await self._claim_loop(group, until_empty)
            finally:
                group.cancel_scope.cancel()

    async def _claim_loop(self, group: anyio.abc.TaskGroup, until_empty: bool) -> None:
        while True:
            free = self.limit - len(self._book)
            claims: list[Claim] = []
            want = min(free, _CLAIM_STEP)
            if free > 0:
                since = time.monotonic()
                try:
                    claims = await self.store.claim(self.worker_id, want, self.lease_ttl)
                except Exception as exc:  # Redis unreachable or slow: keep trying
                    self._claims_failing(exc)
                    await anyio.sleep(self.poll_interval)
                    continue
                if self._claim_failures:
                    logger.warning("claiming keys works again")
                    self._claim_failures = 0
                for started, claim in enumerate(claims, 1):
                    scope = anyio.CancelScope()
                    self._book.add(claim.cursor.key, claim.cursor.fence, since, scope)
                    self.claimed += 1
                    if claim.previous_owner is not None:
                        self.taken_over += 1
                    group.start_soon(self._run_key, claim, scope)
                    if started % _START_STEP == 0:
                        # Shielded: every claimed key gets its task (which hands the key
                        # back if the worker is stopping), none stays leased with no task.
                        await anyio.lowlevel.cancel_shielded_checkpoint()
                for claim in claims:
                    await _call(self._on_claim, claim)
            if claims and len(claims) == want:
                await anyio.lowlevel.checkpoint()
                continue  # there may be more waiting; claim again as slots allow
            if until_empty and not claims and not len(self._book):
                with contextlib.suppress(Exception):
                    counts = await self.store.counts()
                    if counts["queued"] == 0 and counts["held"] == 0:
                        return
            self._freed = anyio.Event()
            with anyio.move_on_after(self.poll_interval):
                await self._freed.wait()
                if len(self._book):
                    # A key just ended: let the others ending about now free their slots
                    # too, so that one claim fills them all instead of a round trip per
                    # slot. (With none held, nothing else is about to end.)
                    await anyio.sleep(_GATHER)

    def _claims_failing(self, exc: Exception) -> None:
        """Log a claim failure once, not at every poll, while Redis stays unreachable: a
        worker polling twice a second would otherwise bury everything else in its log."""
        self._claim_failures += 1
        if self._claim_failures == 1:
            logger.warning("claiming keys failed, retrying every %g s: %s", self.poll_interval, exc)
        else:
            logger.debug("claiming keys failed again (%d in a row): %s", self._claim_failures, exc)

    async def _renew_loop(self) -> None:
        while True:
            await anyio.sleep(self.lease_ttl / 3)
            try:
                await self._book.renew_all()
            except Exception as exc:
                # Deliveries stop by themselves once the local deadlines pass.
                logger.warning("renewing leases failed: %r", exc)

    def _backoff(self, failures: int) -> float:
        """Seconds a failed key waits: doubling with handler failures in a row (a sink that is
        down gets fewer attempts the longer it stays down), flat for stream failures."""
        if failures <= 1:
            return self.retry_delay
        doubled: float = self.retry_delay * 2.0 ** (failures - 1)
        return min(doubled, self.max_retry_delay)

    async def _run_key(self, claim: Claim, scope: anyio.CancelScope) -> None:
        cursor = claim.cursor
        key, fence = cursor.key, cursor.fence
        outcome: Outcome | None = None
        try:
            with scope:
                outcome = await self._runner.run(cursor)
            if outcome is None:  # cancelled by the renewal loop: taken over
                outcome = Outcome(key, "fenced", cursor.run_id, cursor.seq_id)
            elif outcome.status == "failed" and not self._book.lost(key, fence):
                # Back to the queue for a later attempt; if even that fails, the lease simply
                # expires and the key is taken over as from a dead worker.
                with (
                    anyio.CancelScope(shield=True),
                    anyio.move_on_after(5),
                    contextlib.suppress(Exception),
                ):
                    await self.store.release(key, fence, delay=self._backoff(outcome.failures))
        except BaseException:
            # The worker is stopping: give the key back so that another takes it at once.
            if not self._book.lost(key, fence):
                with (
                    anyio.CancelScope(shield=True),
                    anyio.move_on_after(2),
                    contextlib.suppress(Exception),
                ):
                    await self.store.release(key, fence)
            raise
        finally:
            self._book.remove(key, fence)
            self._freed.set()
        self.outcomes[outcome.status] = self.outcomes.get(outcome.status, 0) + 1
        await _call(self._on_outcome, outcome)
