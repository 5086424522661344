"""The synchronous client's engine: one event loop on a thread of its own, per client.

:class:`~letta_async.Letta` does no I/O of its own. Every call is a coroutine of the async
client, run on a private event loop that lives on a daemon thread, while the calling thread
waits for its result. This keeps one implementation of everything that matters (retries,
resume, decoding, errors) and gives the sync client the async one's speed.

Why a thread of its own rather than ``anyio.from_thread.start_blocking_portal``: the portal
runs its loop on an executor thread that the interpreter joins at exit, so a client that was
never closed would keep a program from exiting. A daemon thread cannot, and the loop on it is
an ordinary asyncio loop, on which anyio's cancel scopes and the whole async core run as they
do anywhere.

What the bridge guarantees:

* **Any thread may call.** Calls from many threads run concurrently on the one loop, sharing
  one connection pool. Only the loop's own thread may not wait for the loop (a hook calling
  the sync client would wait for itself): that raises at once instead of hanging.
* **Inside a running event loop.** A sync helper called from async code blocks its caller's
  loop for the length of the call, as any blocking call does, but never deadlocks: the work
  happens on this client's loop, not the caller's.
* **Interrupts.** ``KeyboardInterrupt`` (Ctrl-C) or any exception raised in the waiting
  thread cancels the request on the loop and waits, briefly, for its cleanup (the
  connection is closed, the task is gone) before the interrupt goes on.
* **fork().** A child process inherits the client but not its loop thread: any use of the
  client there raises :class:`RuntimeError` naming the fix, instead of waiting forever for
  a thread that does not exist.
* **Lifetime.** ``close()`` closes the connection pool and stops the thread; a client that
  is garbage collected unclosed is closed the same way.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
import os
import threading
from collections.abc import AsyncIterator, Callable, Generator
from typing import Any

__all__ = ["END", "NOTHING", "LoopThread", "Pump", "forked_error"]

_CANCEL_GRACE = 5.0
"""Seconds an interrupted call gets to clean up (close its connection) on the loop."""

_STOP_GRACE = 10.0
"""Seconds ``close()`` waits for the connection pool to close and the thread to end."""

_generation = 0
"""Bumped in every child process after fork(): a loop started in an earlier generation
belongs to a parent process, and its thread does not exist here."""


def _after_fork_in_child() -> None:
    global _generation
    _generation += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def forked_error() -> RuntimeError:
    """The error every use of a client made before fork() raises in the child."""
    return RuntimeError(
        "this Letta client was created before os.fork() and cannot be used in the child "
        "process (its event loop thread stayed in the parent); create a new client in the child"
    )


class _Done:
    """A one-shot signal from the loop to one waiting thread: a lock held until the call ends.

    Lighter than ``threading.Event`` (no condition variable): the waiter blocks on the lock,
    the loop releases it once. The wait is interruptible (Ctrl-C) like any lock acquire.
    """

    __slots__ = ("_lock", "_set")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self._set = False

    def set(self) -> None:
        if not self._set:
            self._set = True
            self._lock.release()

    def wait(self, timeout: float | None = None) -> bool:
        if self._set:
            return True
        if self._lock.acquire(timeout=-1 if timeout is None else timeout):
            self._lock.release()
            return True
        return False


class _Call:
    """One coroutine run on the loop for a waiting thread."""

    __slots__ = ("args", "done", "error", "func", "kwargs", "task", "tasks", "value")

    def __init__(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]):
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.done = _Done()
        self.value: Any = None
        self.error: BaseException | None = None
        self.task: asyncio.Task[None] | None = None
        self.tasks: set[asyncio.Task[None]] | None = None

    def start(self, tasks: set[asyncio.Task[None]]) -> None:
        task = asyncio.get_running_loop().create_task(self.run())
        self.task = task
        self.tasks = tasks
        tasks.add(task)

    async def run(self) -> None:
        # The task leaves the set here rather than by a done callback: a callback would cost
        # every call one more turn of the loop before it sleeps again.
        try:
            result = self.func(*self.args, **self.kwargs)
            if inspect.isawaitable(result):
                result = await result
            self.value = result
        except BaseException as exc:  # cancellation included: the caller is told
            self.error = exc
        finally:
            self._finish()

    def _finish(self, _task: object = None) -> None:
        if self.tasks is not None and self.task is not None:
            self.tasks.discard(self.task)
        self.done.set()

    def cancel(self) -> None:
        task = self.task
        if task is not None:
            # A task cancelled before its first step never runs ``run``: the callback tells
            # the waiting thread all the same.
            task.add_done_callback(self._finish)
            task.cancel()


END = object()
"""What :meth:`Pump.take` answers once the iterator is exhausted."""

NOTHING = object()
"""What :meth:`Pump.take` answers when its timeout passed first."""


class Pump:
    """One task on the loop copying an async iterator into a bounded buffer for a thread.

    The task reads up to ``ahead`` items before the thread has taken them, then waits for
    room: the thread's pace holds the reading back, and whatever is ready is taken without
    a trip to the loop.
    """

    def __init__(
        self,
        start: Callable[[], AsyncIterator[Any]],
        ahead: int,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.loop = loop
        self.start = start
        self.ahead = ahead
        self.items: collections.deque[Any] = collections.deque()
        self.ready = threading.Condition()
        self.error: BaseException | None = None
        self.ended = False
        self.finished = _Done()
        self.task: asyncio.Task[None] | None = None
        self.space: asyncio.Event | None = None

    def begin(self, tasks: set[asyncio.Task[None]]) -> None:
        self.space = asyncio.Event()
        task = asyncio.get_running_loop().create_task(self.run())
        self.task = task
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def run(self) -> None:
        space = self.space
        assert space is not None
        try:
            async for item in self.start():
                with self.ready:
                    self.items.append(item)
                    full = len(self.items) >= self.ahead
                    if full:
                        space.clear()
                    self.ready.notify()
                if full:
                    await space.wait()
        except BaseException as exc:  # cancellation included: the consumer is told
            self.error = exc
        finally:
            with self.ready:
                self.ended = True
                self.ready.notify()
            self.finished.set()

    def take(self, timeout: float | None = None) -> Any:
        """The next item (:data:`END` at the end); raises what the iterator raised.

        With ``timeout``, :data:`NOTHING` when no item came in that many seconds.
        """
        with self.ready:
            if not self.items and not self.ended:
                self.ready.wait_for(lambda: self.items or self.ended, timeout)
            if self.items:
                item = self.items.popleft()
                wake = len(self.items) == self.ahead - 1
            elif self.ended:
                error, self.error = self.error, None
                if error is not None and not isinstance(error, asyncio.CancelledError):
                    raise error
                return END
            else:
                return NOTHING
        if wake:
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self._make_space)
        return item

    def take_ready(self) -> list[Any]:
        """Every item already read, at once and without waiting."""
        with self.ready:
            items = list(self.items)
            self.items.clear()
        if items:
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self._make_space)
        return items

    def stop(self) -> None:
        """Cancel the task (if it is still reading) and wait briefly for its clean-up."""
        if not self.finished.wait(0):
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self.cancel)
            self.finished.wait(_CANCEL_GRACE)

    def _make_space(self) -> None:
        if self.space is not None:
            self.space.set()

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()


class LoopThread:
    """An event loop on a daemon thread, started on first use; see the module docs."""

    def __init__(self, name: str = "letta-sync") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._thread_id: int | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._generation = _generation
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has run."""
        return self._closed

    @property
    def running(self) -> bool:
        """Whether the loop thread is alive (it starts on the first call)."""
        thread = self._thread
        return thread is not None and thread.is_alive() and self._generation == _generation

    def _start(self) -> asyncio.AbstractEventLoop:
        if self._generation != _generation:
            raise forked_error()
        with self._lock:
            if self._closed:
                raise RuntimeError("the client is closed; create a new one")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()
                thread = threading.Thread(
                    target=self._serve, args=(loop, ready), name=self._name, daemon=True
                )
                thread.start()
                ready.wait()
                self._thread = thread
                self._thread_id = thread.ident
                self._loop = loop
            return self._loop

    @staticmethod
    def _serve(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
            # Stopped by close(): whatever is still running is cancelled and awaited, so no
            # task is destroyed pending and no connection is left to the garbage collector.
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    def call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``func(*args, **kwargs)`` on the loop (awaiting it if it is a coroutine) and
        return its result in this thread; its exception is raised here."""
        loop = self._loop
        if loop is None or self._generation != _generation or self._closed:
            loop = self._start()
        if threading.get_ident() == self._thread_id:
            raise RuntimeError(
                "the sync Letta client was called from its own event loop thread (from a hook "
                "or callback), where waiting for the loop would deadlock; use the AsyncLetta "
                "client there"
            )
        job = _Call(func, args, kwargs)
        loop.call_soon_threadsafe(job.start, self._tasks)
        try:
            job.done.wait()
        except BaseException:
            # Ctrl-C (or any exception raised in this thread) while waiting: the request is
            # cancelled, and its cleanup gets a moment to close the connection.
            with contextlib.suppress(RuntimeError):  # the loop already stopped
                loop.call_soon_threadsafe(job.cancel)
            job.done.wait(_CANCEL_GRACE)
            raise
        error = job.error
        if error is not None:
            job.error = None  # no cycle through the traceback
            raise error
        return job.value

    def schedule(self, func: Callable[[], Any]) -> None:
        """Start ``func()`` (a coroutine function) on the loop and return at once; nothing
        happens when the loop is not running (closed, never started, or a forked child).

        For clean-up from ``__del__``, which may run on any thread and must not wait.
        """
        loop = self._loop
        if loop is None or self._closed or self._generation != _generation:
            return
        with contextlib.suppress(RuntimeError):  # the loop stopped meanwhile
            loop.call_soon_threadsafe(_Call(func, (), {}).start, self._tasks)

    def iterate(
        self, start: Callable[[], AsyncIterator[Any]], *, ahead: int = 64
    ) -> Generator[Any, None, None]:
        """The items of the async iterator ``start()`` makes, read by one task on the loop.

        One task drives the iterator from start to end, as an async generator holding a task
        group or a cancel scope requires. It reads at most ``ahead`` items before this thread
        has taken them, then waits: the consumer's pace holds the producer back. Items that
        are ready are taken without a trip to the loop. Leaving early (``break``, an
        exception, Ctrl-C, closing the iterator) cancels the task and waits for its clean-up.
        """
        pump = self.pump(start, ahead=ahead)
        try:
            while True:
                item = pump.take()
                if item is END:
                    return
                yield item
        finally:
            pump.stop()

    def pump(self, start: Callable[[], AsyncIterator[Any]], *, ahead: int) -> Pump:
        """Start one task on the loop that reads ``start()`` ahead into a :class:`Pump`."""
        loop = self._loop
        if loop is None or self._generation != _generation or self._closed:
            loop = self._start()
        if threading.get_ident() == self._thread_id:
            raise RuntimeError("the sync Letta client was called from its own event loop thread")
        pump = Pump(start, ahead, loop)
        loop.call_soon_threadsafe(pump.begin, self._tasks)
        return pump

    def close(self, final: Callable[[], Any] | None = None) -> None:
        """Run ``final`` (closing the connection pool) on the loop, then stop the thread.

        Safe to call twice, from any thread, and in a forked child (where it only forgets
        the parent's loop). From the loop's own thread the stop is scheduled, not awaited.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None or self._generation != _generation:
            return
        if threading.get_ident() == self._thread_id:
            if final is not None:
                loop.create_task(_then_stop(final, loop))
            else:
                loop.stop()
            return
        if loop.is_closed():
            return
        if final is not None:
            job = _Call(final, (), {})
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(job.start, self._tasks)
                job.done.wait(_STOP_GRACE)
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(loop.stop)
        thread.join(_STOP_GRACE)


async def _then_stop(final: Callable[[], Any], loop: asyncio.AbstractEventLoop) -> None:
    try:
        result = final()
        if inspect.isawaitable(result):
            await result
    finally:
        loop.stop()
