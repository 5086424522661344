"""One key, start to finish: open or resume its stream, hand each batch over, acknowledge.

The order of steps is the whole guarantee:

1. A ``recorded`` key is moved to ``sending`` (durably) before its request is made; a
   ``sending`` key is looked up by ``otid`` and never sent again; a ``streaming`` key resumes
   after its cursor.
2. The run id is stored when the stream names it in a read with nothing to hand over (a
   real server's first frame is a lone ping), else with the first acknowledgement; a crash
   before either finds the run by ``otid``, as for any send whose run was never named.
3. For each batch: the lease is checked (fleet), the handler runs, and only when it
   returned does the cursor move past the batch (the acknowledgement, written at once; for
   the run's last batch the key's removal stands in for it). At most one batch is ever
   handled and not acknowledged, and only until its write lands. A crash before the
   acknowledgement replays that batch and nothing older; a crash after it replays nothing.
   A handler that raises is counted against the key (in the store, so the count survives
   crashes and take-overs); ``max_failures`` in a row on one batch park the key as ``dead``.
4. When the stream ended, the key leaves the store.

Every store write carries the key's fence when it runs under a lease, so a worker that lost
its lease is refused at its next write and stops without delivering again.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

import anyio

from .._errors import APIConnectionError, APIStatusError, LettaError, StreamResumeError
from ..types import LettaUsageStatistics
from ._batch import Batch, split_read
from ._cursor import Cursor, Ended, Outcome, OutcomeStatus, decode_request, describe_error
from ._lookup import OtidLookup
from ._reading import read_batch
from ._store import CursorStore

if TYPE_CHECKING:
    from .._client import AsyncLetta
    from .._stream import MessageStream

__all__ = ["Fenced", "Handler", "KeyRunner", "LeaseGuard"]

logger = logging.getLogger("letta_async.durable")

Handler = Callable[[Batch], Awaitable[None]]
"""``async def handler(batch) -> None``: returning is the acknowledgement; raising is not."""


class Fenced(Exception):
    """This process no longer holds the key's lease: stop, deliver nothing more."""


class LeaseGuard(Protocol):
    """What a lease holder adds to delivery (the Redis worker); embedded runs have none."""

    async def before_delivery(self, key: str) -> None:
        """Raise :class:`Fenced` unless the lease is certainly still ours."""

    def extended(self, key: str, since: float) -> None:
        """A fenced write issued at monotonic time ``since`` succeeded (it renews the lease)."""


def _gone(error: BaseException) -> bool:
    """The server no longer has the run (or the agent): nothing more can be read."""
    cause = error.__cause__ if isinstance(error, StreamResumeError) else error
    return isinstance(cause, APIStatusError) and cause.status_code in (404, 410)


def _refused(error: APIStatusError) -> bool:
    """A 4xx to the send itself: the server refused it, so it started no run."""
    return 400 <= error.status_code < 500 and error.status_code not in (408, 429)


class KeyRunner:
    """Runs keys one at a time each; many may run at once (one task per key)."""

    def __init__(
        self,
        client: AsyncLetta,
        store: CursorStore,
        handler: Handler,
        *,
        slots: anyio.Semaphore,
        max_batch: int | None = None,
        lookup: OtidLookup | None = None,
        guard: LeaseGuard | None = None,
        max_failures: int | None = None,
    ) -> None:
        if max_batch is not None and max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if max_failures is not None and max_failures < 1:
            raise ValueError("max_failures must be at least 1 (or None: no limit)")
        self._client = client
        self._store = store
        self._handler = handler
        self._slots = slots
        self._max_batch = max_batch
        self._lookup = lookup or OtidLookup()
        self._guard = guard
        self._max_failures = max_failures

    async def run(self, cursor: Cursor) -> Outcome:
        """Deliver what is left of ``cursor``'s run; never raises for the key's own failures."""
        key = cursor.key
        fence = cursor.fence if self._guard is not None else None
        try:
            return await self._run(cursor, fence)
        except Fenced:
            logger.info("key %s: lease lost, stopping", key)
            return Outcome(key, "fenced", cursor.run_id, cursor.seq_id)
        except Exception as exc:
            # The store itself failed (disk full, Redis gone): the key stays where its last
            # acknowledgement put it, to be picked up again.
            logger.warning("key %s: stopped by %r", key, exc)
            return Outcome(key, "failed", cursor.run_id, cursor.seq_id, error=exc)

    async def _take_slot(self) -> None:
        """A handler slot, without a trip through the event loop when one is free: a read's
        events should reach the handler (and be freed) before other streams read theirs."""
        try:
            self._slots.acquire_nowait()
        except anyio.WouldBlock:
            await self._slots.acquire()

    async def _write(self, ok: Awaitable[bool], key: str) -> None:
        since = time.monotonic()
        if not await ok:
            raise Fenced(key)
        if self._guard is not None:
            self._guard.extended(key, since)

    async def _open(self, cursor: Cursor, fence: int | None) -> MessageStream | Outcome:
        client, key = self._client, cursor.key
        if cursor.phase == "recorded":
            messages, options = decode_request(cursor.request)
            # Durable before the first byte of the request: this is what lets a restarted
            # process tell "provably never sent" (recorded) from "maybe sent" (sending).
            await self._write(self._store.mark_sending(key, time.time(), fence), key)
            stream: MessageStream
            if cursor.conversation_id is not None:
                stream = await client.conversations.messages.create(
                    cursor.conversation_id,
                    messages=messages,
                    streaming=True,
                    background=True,
                    include_pings=True,
                    **options,
                )
            else:
                stream = client.agents.messages._unsent_stream(
                    cursor.agent_id,
                    messages=messages,
                    background=True,
                    include_pings=True,
                    **options,
                )
            # A send that may have reached the server is never made twice from here: if the
            # connection breaks before the run is named, the key stays "sending" and a later
            # lookup by otid decides (see Phase).
            stream.resend_if_unseen = False
            return stream
        run_id = cursor.run_id
        if run_id is None:
            run_id = await self._lookup.find(
                client, cursor.agent_id, cursor.otids, cursor.sent_at, cursor.conversation_id
            )
            if run_id is None:
                await self._write(self._store.park(key, fence), key)
                logger.warning(
                    "key %s: no message with otid %s on agent %s; parked as unconfirmed",
                    key,
                    ",".join(cursor.otids),
                    cursor.agent_id,
                )
                return Outcome(key, "unconfirmed", None, cursor.seq_id)
            await self._write(self._store.set_run(key, run_id, fence), key)
            logger.info("key %s: found run %s by otid", key, run_id)
        return client.runs.stream(run_id, starting_after=cursor.seq_id)

    async def _handler_failed(
        self, key: str, run_id: str | None, position: int, fence: int | None, exc: Exception
    ) -> Outcome:
        """Count the failure in the store; past the limit the key is parked as dead."""
        limit = self._max_failures
        count = await self._store.fail(
            key, repr(exc), run_id=run_id, max_failures=limit, fence=fence
        )
        if count == 0:
            raise Fenced(key)
        if limit is not None and count >= limit:
            logger.error(
                "key %s: handler failed %d times in a row at seq_id %d; parked as dead: %r",
                key,
                count,
                position,
                exc,
            )
            return Outcome(key, "dead", run_id, position, error=exc)
        logger.warning("key %s: handler failed (%d in a row): %r", key, count, exc)
        return Outcome(key, "failed", run_id, position, error=exc, failures=count)

    async def _run(self, cursor: Cursor, fence: int | None) -> Outcome:
        key = cursor.key
        run_id = cursor.run_id
        position = cursor.seq_id
        try:
            opened = await self._open(cursor, fence)
        except APIStatusError as exc:
            if cursor.phase == "recorded" and _refused(exc):
                # A send answered before any stream (a conversation's create is): refused.
                return await self._drop(cursor, "rejected", None, position, exc, fence)
            if exc.status_code == 404:
                return await self._drop(cursor, "gone", run_id, position, exc, fence)
            return Outcome(key, "failed", run_id, position, error=exc)
        except APIConnectionError as exc:
            return Outcome(key, "failed", run_id, position, error=exc)
        if isinstance(opened, Outcome):
            return opened
        stream = opened
        store, guard, handler = self._store, self._guard, self._handler
        # A handled batch is acknowledged at once, except the run's last one, whose
        # acknowledgement the key's removal replaces (one write fewer per run); if more comes
        # after all, it is acknowledged before anything else is handed over.
        unacked: int | None = None

        async def settle() -> None:
            nonlocal unacked
            if unacked is not None and run_id is not None:
                await self._write(store.ack(key, run_id, unacked, fence), key)
                unacked = None

        async def give_up(status: OutcomeStatus, error: BaseException) -> Outcome:
            """End the key here; what was handled is still acknowledged if possible."""
            if status in ("gone", "rejected"):
                return await self._drop(
                    cursor, status, stream.run_id or run_id, position, error, fence
                )
            with contextlib.suppress(Exception):
                await settle()
            return Outcome(key, status, stream.run_id or run_id, position, error=error)

        try:
            while True:
                try:
                    raw = await read_batch(stream)
                except APIStatusError as exc:
                    if cursor.phase == "recorded" and run_id is None and _refused(exc):
                        return await give_up("rejected", exc)
                    return await give_up("gone" if _gone(exc) else "failed", exc)
                except (APIConnectionError, StreamResumeError) as exc:
                    return await give_up("gone" if _gone(exc) else "failed", exc)
                if raw is None:
                    break
                batches, after, ended = split_read(
                    raw, position, stream.last_seq_id, self._max_batch
                )
                if run_id is None:
                    run_id = stream.run_id
                    if run_id is None:
                        if batches:  # events no frame named a run for: cannot be keyed
                            error = RuntimeError("events arrived before the run was named")
                            return await give_up("failed", error)
                        continue
                    if not batches:
                        # The run's first ping, alone (as a real server sends it): store the
                        # id now. Otherwise the first acknowledgement stores it, and a crash
                        # before that finds the run by otid, as for any unnamed send.
                        await self._write(store.set_run(key, run_id, fence), key)
                raw = None  # the batches below hold the events; let them go one by one
                batches.reverse()
                while batches:
                    events, numbers, upto = batches.pop()
                    await settle()
                    batch = Batch(
                        key,
                        cursor.agent_id,
                        run_id,
                        events,
                        after=position,
                        seq_ids=numbers,
                        fence=fence,
                    )
                    await self._take_slot()
                    try:
                        if guard is not None:
                            await guard.before_delivery(key)
                        try:
                            await handler(batch)
                        except Exception as exc:
                            return await self._handler_failed(key, run_id, position, fence, exc)
                    finally:
                        self._slots.release()
                    # A batch that ends with the run's usage statistics (the last frame
                    # before [DONE]) is acknowledged by the key's removal right after; any
                    # other is acknowledged now, so that a crash while the stream waits for
                    # more replays nothing.
                    last_of_run = type(events[-1]) is LettaUsageStatistics
                    del batch, events, numbers  # handled: nothing keeps the events alive
                    unacked = position = upto
                    if not last_of_run:
                        await settle()
                # Pings alone move the position too; it is acknowledged with the next batch.
                position = after
                if ended:
                    break  # an error event is the server's last word for the run
            stop_reason = stream.stop_reason
        finally:
            await stream.aclose()
        if stop_reason is None and run_id is not None:
            stop_reason = await self._recorded_stop_reason(run_id)
        if not await store.finish(key, fence):
            raise Fenced(key)
        return Outcome(key, "completed", run_id, position, stop_reason)

    async def _recorded_stop_reason(self, run_id: str) -> str | None:
        """The run's stop reason as the server recorded it.

        A stream resumed after a restart does not see the ``stop_reason`` frame again when
        the acknowledged position is already past it (it came in one read, the usage
        statistics in the next, and the process died in between); the run's record still
        has it. None if the server cannot say.
        """
        try:
            with anyio.fail_after(10):
                run = await self._client.runs.retrieve(run_id)
        except (LettaError, TimeoutError) as exc:
            logger.info("run %s: stop reason not known (%r)", run_id, exc)
            return None
        reason: str | None = run.stop_reason
        return reason

    async def _drop(
        self,
        cursor: Cursor,
        status: OutcomeStatus,
        run_id: str | None,
        position: int,
        error: BaseException,
        fence: int | None,
    ) -> Outcome:
        """Remove a key that can never complete, keeping why in the store's ended log.

        The removal is fenced: when another worker has taken the key over meanwhile, the key
        stays with it, and this worker's outcome is ``fenced``, not the drop it could not make.
        """
        reason = describe_error(error)
        ended = Ended(
            key=cursor.key,
            status=status,
            agent_id=cursor.agent_id,
            run_id=run_id,
            seq_id=position,
            error=reason,
        )
        if not await self._store.finish(cursor.key, fence, ended=ended):
            raise Fenced(cursor.key)
        if status == "rejected":
            logger.warning(
                "key %s: the server refused the send to agent %s, no run started; dropped: %s",
                cursor.key,
                cursor.agent_id,
                reason,
            )
        else:
            logger.warning(
                "key %s: run %s is gone from the server after seq_id %d; dropped: %s",
                cursor.key,
                run_id or "(unnamed)",
                position,
                reason,
            )
        return Outcome(cursor.key, status, run_id, position, error=error)
