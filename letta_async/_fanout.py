"""Many streams at once, read as one: ``(key, event)`` pairs in arrival order.

An orchestrator talking to a hundred agents wants three things from its plumbing, and each one
is easy to get wrong by hand:

* **A concurrency cap.** Streams start lazily, one per free slot of an
  :class:`anyio.CapacityLimiter`, so a million requests never become a million tasks or
  sockets at once. Pass your own limiter to share one budget between several fan-outs.
* **Bounded memory.** Events travel through a memory object stream of fixed size. When the
  consumer is slower than the agents, producers wait on that buffer, stop reading their
  sockets, and TCP pushes back on the server: nothing piles up in the client.
* **Clean exits and isolated failures.** Leaving the ``async with`` block (``break``, an
  exception, a cancelled task) cancels every stream and closes every connection before the
  block returns; an exception raised in the loop body (``KeyboardInterrupt`` included) leaves
  it as itself, not inside an exception group. A stream that fails does not disturb the
  others: its exception is delivered in its place as a ``(key, exception)`` pair, after the
  events it did deliver, and that key sends nothing more.

Errors are delivered rather than raised because an orchestrator usually wants the other 99
agents' answers when one agent fails; one that wants fail-fast writes
``if isinstance(event, Exception): raise event``, and leaving the block cancels the rest.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Generic, TypeVar, cast

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import (
    MemoryObjectReceiveStream,
    MemoryObjectSendStream,
    MemoryObjectStreamStatistics,
)

__all__ = ["FanOut", "fan_out"]

logger = logging.getLogger("letta_async")

K = TypeVar("K")
T = TypeVar("T")

StreamFactory = Callable[[], AsyncIterable[T] | Awaitable[AsyncIterable[T]]]
"""A zero-argument callable that opens one stream, or a coroutine function that does.

For example ``functools.partial(client.agents.messages.create, agent_id, messages=[...],
streaming=True)`` (a coroutine that sends and returns the stream), the same with
``client.conversations.messages.create``, or ``lambda: client.runs.stream(run_id)``. It is
called only when a slot is free, so nothing is sent for a request before it may run.
"""


class FanOut(Generic[K, T]):
    """The running fan-out: iterate it for ``(key, event)``; see :func:`fan_out`.

    Per key, events keep the order their stream produced them; across keys they interleave in
    arrival order. The item for a failed stream is ``(key, exception)`` (an :class:`Exception`
    instance, never a stream event), delivered after that key's last event.
    """

    def __init__(
        self,
        requests: Mapping[K, StreamFactory[T]] | Iterable[tuple[K, StreamFactory[T]]],
        *,
        limit: int | anyio.CapacityLimiter = 50,
        buffer: int = 100,
    ) -> None:
        if isinstance(limit, int) and limit < 1:
            raise ValueError("limit must be at least 1")
        if buffer < 0:
            raise ValueError("buffer must be 0 or more")
        self._requests = requests
        self._limit = limit
        self._buffer = buffer
        self._task_group: TaskGroup | None = None
        self._send: MemoryObjectSendStream[tuple[K, list[T] | Exception]] | None = None
        self._receive: MemoryObjectReceiveStream[tuple[K, list[T] | Exception]] | None = None
        self._limiter: anyio.CapacityLimiter | None = None
        self._held: set[object] = set()
        # The batch being handed out, one event per step, and where in it the next one is.
        self._batch: list[T] = []
        self._batch_key: Any = None
        self._at = 0
        self.started = 0
        """How many streams have been opened so far."""
        self.failed = 0
        """How many streams ended with an exception (each delivered as ``(key, exception)``)."""

    # --- lifetime ----------------------------------------------------------------------------

    async def __aenter__(self) -> FanOut[K, T]:
        if self._task_group is not None:
            raise RuntimeError("a FanOut can be entered only once")
        limit = self._limit
        self._limiter = limit if isinstance(limit, anyio.CapacityLimiter) else None
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(cast(int, limit))
        send, receive = anyio.create_memory_object_stream[tuple[K, list[T] | Exception]](
            self._buffer
        )
        self._send, self._receive = send, receive
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        task_group.start_soon(self._spawn_all, send, self._limiter)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        task_group = self._task_group
        assert task_group is not None, "FanOut.__aexit__ without __aenter__"
        task_group.cancel_scope.cancel()
        try:
            if isinstance(exc, anyio.get_cancelled_exc_class()):
                # Cancellation must pass through the task group's scope so that anyio can
                # tell whose cancellation it was.
                await task_group.__aexit__(exc_type, exc, tb)
            else:
                # The consumer's own exception (Ctrl-C and sys.exit() included) is not a task
                # failure: keep it out of the task group so that it propagates as itself, as
                # from a plain loop, rather than inside an exception group.
                await task_group.__aexit__(None, None, None)
        finally:
            if self._receive is not None:
                self._receive.close()
            if self._send is not None:
                self._send.close()

    # --- consuming ---------------------------------------------------------------------------

    def __aiter__(self) -> FanOut[K, T]:
        return self

    async def __anext__(self) -> tuple[K, T | Exception]:
        receive = self._receive
        if receive is None:
            raise RuntimeError("use `async with fan_out(...) as events:` before iterating")
        batch = self._batch
        at = self._at
        if at < len(batch):
            self._at = at + 1
            return self._batch_key, batch[at]
        if batch:
            self._batch = []  # handed out: its events are the consumer's to keep or drop
        try:
            # Take what is waiting without a trip through the event loop; wait only when the
            # buffer is empty.
            try:
                key, item = receive.receive_nowait()
            except anyio.WouldBlock:
                key, item = await receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None
        if isinstance(item, Exception):
            return key, item
        # A batch: every event one network read of that stream produced, in order, handed
        # out from where it lies rather than copied into a queue of pairs.
        self._batch, self._batch_key, self._at = item, key, 1
        return key, item[0]

    def statistics(self) -> MemoryObjectStreamStatistics:
        """The buffer's state: ``current_buffer_used`` (batches, see :func:`fan_out`) never
        exceeds ``buffer``."""
        if self._receive is None:
            raise RuntimeError("the fan-out has not started")
        return self._receive.statistics()

    @property
    def active(self) -> int:
        """Streams holding a slot right now (waiting to send counts as active)."""
        return len(self._held)

    # --- producing ---------------------------------------------------------------------------

    def _items(self) -> Iterable[tuple[K, StreamFactory[T]]]:
        requests = self._requests
        if isinstance(requests, Mapping):
            return cast(Iterable[tuple[K, StreamFactory[T]]], requests.items())
        return requests

    async def _spawn_all(
        self,
        send: MemoryObjectSendStream[tuple[K, list[T] | Exception]],
        limiter: anyio.CapacityLimiter,
    ) -> None:
        """Start one task per request, each only once a slot is free.

        Slots are taken here, before a task exists, so pending requests cost nothing but
        their place in the caller's iterable. Whatever ends this (all done, or cancelled),
        slots a task never got to release are given back, which matters when the limiter is
        shared with other fan-outs.
        """
        try:
            async with send, anyio.create_task_group() as task_group:
                for key, factory in self._items():
                    token = object()
                    await limiter.acquire_on_behalf_of(token)
                    self._held.add(token)
                    self.started += 1
                    task_group.start_soon(self._run_one, key, factory, send, limiter, token)
        finally:
            for token in self._held:
                limiter.release_on_behalf_of(token)
            self._held.clear()

    async def _run_one(
        self,
        key: K,
        factory: StreamFactory[T],
        send: MemoryObjectSendStream[tuple[K, list[T] | Exception]],
        limiter: anyio.CapacityLimiter,
        token: object,
    ) -> None:
        try:
            try:
                await _drain(key, factory, send)
            except Exception as exc:
                self.failed += 1
                logger.debug("fan-out stream %r failed: %r", key, exc)
                await send.send((key, exc))
        finally:
            if token in self._held:
                self._held.discard(token)
                limiter.release_on_behalf_of(token)


async def _drain(
    key: K, factory: StreamFactory[T], send: MemoryObjectSendStream[tuple[K, list[T] | Exception]]
) -> None:
    """Copy one stream into the shared buffer, then close it whatever happened.

    Streams that are async context managers (``MessageStream`` is) are entered, so their own
    exit rules apply: a stream made with ``cancel_on_exit=True`` cancels its run when the
    fan-out is left early.
    """
    opened = factory()
    # A coroutine (the official ``create(..., streaming=True)``) is awaited in the slot it
    # holds; an error it raises is that key's failure like any other. A stream that is also
    # awaitable (MessageStream) is not awaited: it opens as it is entered below.
    if isinstance(opened, AsyncIterable):
        stream: AsyncIterable[T] = opened
    else:
        stream = await opened
    # One hand-over per network read rather than per event: a stream that can say what it
    # has already decoded (MessageStream.take_ready) sends it along with the event that
    # made it read. Per event this saves the buffer's bookkeeping and, when the buffer is
    # full, a wait and a wake-up.
    take_ready: Callable[[], list[T]] | None = getattr(stream, "take_ready", None)

    async def pump() -> None:
        async for event in stream:
            batch = [event]
            if take_ready is not None:
                batch += take_ready()
            await _put(send, (key, batch))

    if isinstance(stream, AbstractAsyncContextManager):
        async with cast(AbstractAsyncContextManager[Any], stream):
            await pump()
        return
    try:
        await pump()
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            with anyio.CancelScope(shield=True):
                await aclose()


async def _put(send: MemoryObjectSendStream[Any], item: Any) -> None:
    """Hand one item over, waiting only when the buffer is full.

    ``send()`` alone would also yield to the event loop for every item; the stream being read
    yields whenever it waits for the network, so skipping that extra yield costs no fairness.
    """
    try:
        send.send_nowait(item)
    except anyio.WouldBlock:
        await send.send(item)


def fan_out(
    requests: Mapping[K, StreamFactory[T]] | Iterable[tuple[K, StreamFactory[T]]],
    *,
    limit: int | anyio.CapacityLimiter = 50,
    buffer: int = 100,
) -> FanOut[K, T]:
    """Run many streams concurrently and yield ``(key, event)`` pairs as events arrive.

    ``requests`` maps each key to a zero-argument callable returning a stream (usually a
    :class:`~letta_async.MessageStream`; any async iterable works) or an awaitable of one
    (``conversations.messages.create`` is a coroutine), or is an iterable of
    ``(key, callable)`` pairs, consumed lazily. At most ``limit`` streams run at once (or
    pass an :class:`anyio.CapacityLimiter` to share a budget); at most ``buffer`` batches
    wait for the consumer, after which the streams wait too. A batch is what one network read
    of a :class:`~letta_async.MessageStream` decoded (all its events, handed over at once,
    which is what makes a thousand streams cheap), or one event of any other async iterable;
    so ``buffer`` bounds memory in reads, each no larger than one read's worth of events.

    ::

        requests = {
            agent_id: functools.partial(
                client.agents.messages.create,
                agent_id,
                messages=[...],
                streaming=True,
                stream_tokens=True,
            )
            for agent_id in agent_ids
        }
        async with fan_out(requests, limit=50, buffer=100) as events:
            async for agent_id, event in events:
                if isinstance(event, Exception):
                    ...  # that agent's stream failed; the others carry on
                else:
                    ...

    Leaving the block early closes every open stream. A closed stream does not stop its run
    on the server (Letta treats a disconnect as "stop watching"); create the streams with
    ``cancel_on_exit=True`` to cancel the runs too.
    """
    return FanOut(requests, limit=limit, buffer=buffer)
