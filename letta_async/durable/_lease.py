"""The leases one worker holds, and the check it makes before handing anything over.

Each held key has a fence (from its claim) and a local deadline: the monotonic time the last
successful claim, renewal or fenced write was *sent*, plus the lease TTL. Redis set the real
expiry no earlier than that, so the local deadline is never later than the real one.

Before every delivery the worker checks the deadline. Normally it is far off (renewals run
every third of the TTL) and the check costs nothing. Close to it, or past it (the process was
paused, or starved, or Redis was unreachable), the lease is confirmed with Redis first; if the
key was taken over meanwhile the fence no longer matches and nothing is delivered. The
renewal loop also cancels the work of any key it finds taken over.

What no client-side check can close is the gap between the check and the handler's own
effect: a process paused in exactly that moment, past its lease, finishes its handler after
waking. Sinks that must be exactly-once under such pauses compare :attr:`Batch.fence` (it
only grows per key) and drop ``(run_id, seq_id)`` they already applied.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import anyio

from ._deliver import Fenced
from ._redis import RedisCursorStore

__all__ = ["LeaseBook"]

logger = logging.getLogger("letta_async.durable")


@dataclass
class _Lease:
    fence: int
    deadline: float
    scope: anyio.CancelScope
    lost: bool = False


class LeaseBook:
    """Fence, deadline and cancel scope of every key this worker holds."""

    def __init__(self, store: RedisCursorStore, ttl: float) -> None:
        self._store = store
        self.ttl = ttl
        # Deliver only with at least this much of the lease left; renewals every ttl/3 keep
        # about two thirds of it in hand, so the check normally passes without I/O.
        self.margin = ttl / 3
        self._held: dict[str, _Lease] = {}

    def __len__(self) -> int:
        return len(self._held)

    def add(self, key: str, fence: int, since: float, scope: anyio.CancelScope) -> None:
        self._held[key] = _Lease(fence, since + self.ttl, scope)

    def remove(self, key: str, fence: int | None = None) -> None:
        """Forget ``key``'s lease; with ``fence``, only the lease of that fence.

        A worker paused past its lease may claim its own key again: the first task's end must
        not take the second task's lease out of the book (it would go unrenewed and lapse).
        """
        lease = self._held.get(key)
        if lease is not None and (fence is None or lease.fence == fence):
            del self._held[key]

    def lost(self, key: str, fence: int | None = None) -> bool:
        """Whether ``key`` is no longer held (with ``fence``: no longer under that fence)."""
        lease = self._held.get(key)
        return lease is None or lease.lost or (fence is not None and lease.fence != fence)

    def held(self) -> list[tuple[str, int]]:
        return [(key, lease.fence) for key, lease in self._held.items() if not lease.lost]

    def extended(self, key: str, since: float) -> None:
        lease = self._held.get(key)
        if lease is not None:
            lease.deadline = max(lease.deadline, since + self.ttl)

    def _lose(self, key: str) -> None:
        lease = self._held.get(key)
        if lease is not None and not lease.lost:
            lease.lost = True
            lease.scope.cancel()

    async def before_delivery(self, key: str) -> None:
        lease = self._held.get(key)
        if lease is None or lease.lost:
            raise Fenced(key)
        if time.monotonic() < lease.deadline - self.margin:
            return
        since = time.monotonic()
        try:
            (ok,) = await self._store.renew([(key, lease.fence)], self.ttl)
        except Exception as exc:
            logger.warning("key %s: cannot confirm the lease (%r); not delivering", key, exc)
            raise Fenced(key) from exc
        if not ok:
            lease.lost = True
            raise Fenced(key)
        lease.deadline = since + self.ttl

    async def renew_all(self) -> None:
        """One round trip for every held lease; keys taken over have their work cancelled."""
        leases = self.held()
        if not leases:
            return
        since = time.monotonic()
        results = await self._store.renew(leases, self.ttl)
        for (key, fence), ok in zip(leases, results, strict=True):
            lease = self._held.get(key)
            if lease is None or lease.fence != fence:
                continue
            if ok:
                lease.deadline = since + self.ttl
            else:
                logger.info("key %s: lease taken over; stopping its work", key)
                self._lose(key)
