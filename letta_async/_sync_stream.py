"""Streams of the synchronous client: ``for event in stream`` over an async stream.

A :class:`SyncMessageStream` owns one :class:`~letta_async.MessageStream` that lives on the
client's loop thread. Each trip to the loop brings back everything one network read decoded,
not one event: a token stream of a thousand frames costs a few dozen thread hops, not a
thousand. The next read starts only once the caller has taken every event of the last one,
so a slow consumer holds the socket still and TCP pushes back on the server, exactly as with
``async for``.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

from ._bridge import END, NOTHING
from ._http import HTTPResponse

if TYPE_CHECKING:
    from ._bridge import LoopThread, Pump
    from ._stream import MessageStream
    from .resources._json_stream import JsonEventStream
    from .types import LettaErrorMessage, LettaStreamingResponse, LettaUsageStatistics, StreamEvent

__all__ = ["Stream", "SyncJsonEventStream", "SyncMessageStream"]

_T_co = TypeVar("_T_co", covariant=True)
T = TypeVar("T")


class Stream(Generic[_T_co]):
    """The official SDK's name for a synchronous stream of typed events.

    :class:`SyncMessageStream` is the one implementation here; annotations written for the
    official SDK (``Stream[LettaStreamingResponse]``) accept it.
    """

    def __iter__(self) -> Iterator[_T_co]:
        return self

    def __next__(self) -> _T_co:
        raise NotImplementedError

    def close(self) -> None:
        """Stop reading and release the connection; ``with`` calls it on exit."""
        raise NotImplementedError

    def __enter__(self) -> Stream[_T_co]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


_AHEAD = 4
"""Reads a stream's task may be ahead of the thread taking its events (each read's events
travel as one batch): enough to hide the thread hops, little enough to hold the socket."""


async def _batches(
    stream: MessageStream,
) -> AsyncIterator[tuple[list[StreamEvent], list[int | None]]]:
    """The stream read by reads: each batch is what one network read decoded, with the
    position of each event (``last_seq_id`` once it is handed out)."""
    while True:
        events, positions = stream.take_ready_numbered()
        if not events:
            try:
                first = await stream.__anext__()
            except StopAsyncIteration:
                return
            position = stream.last_seq_id
            events, positions = stream.take_ready_numbered()
            events, positions = [first, *events], [position, *positions]
        yield events, positions


class SyncMessageStream(Stream["LettaStreamingResponse"]):
    """A stream of typed Letta events for ``for`` loops, with resume and cancel on top.

    The request has been sent when a method returns one (errors the server answers with
    are raised by the call, as by the official SDK). Leave a ``for`` loop early inside
    ``with stream:`` (or call :meth:`close`) to release the connection at once. A stream
    is read by one thread at a time; the client it came from may be shared freely.

    Once iteration starts, one task on the client's loop reads the stream a few network
    reads ahead of the thread, and the thread takes each read's events at once: events that
    are ready cost no trip to the loop, and a consumer slower than the server still holds
    the socket (the task stops reading when it is that far ahead).
    """

    _keep: object = None
    """The client this stream came from, kept alive while the stream is read: a stream from
    ``Letta(...).agents.messages.stream(...)`` must not lose its loop to the collector."""

    def __init__(self, stream: MessageStream, bridge: LoopThread) -> None:
        self._stream = stream
        self._bridge = bridge
        self._events: deque[StreamEvent] = deque()
        self._positions: deque[int | None] = deque()
        self._pump: Pump | None = None
        self._ended = False
        self._last_seq_id: int | None = stream.last_seq_id

    # --- reading ------------------------------------------------------------------------

    def __iter__(self) -> SyncMessageStream:
        return self

    def __next__(self) -> LettaStreamingResponse:
        """The next event; a whole read's worth is taken when none is waiting."""
        events = self._events
        if not events and not self._fill(None):
            raise StopIteration
        position = self._positions.popleft()
        if self._stream._background:
            self._last_seq_id = position
        return events.popleft()  # type: ignore[return-value]

    def _fill(self, timeout: float | None) -> bool:
        """Take the next batch into the buffer; False at the end (or when ``timeout``
        passed with nothing new)."""
        if self._ended:
            return False
        pump = self._pump
        if pump is None:
            stream = self._stream
            pump = self._pump = self._bridge.pump(lambda: _batches(stream), ahead=_AHEAD)
        try:
            batch = pump.take(timeout)
        except (KeyboardInterrupt, SystemExit):
            self._abandon()
            raise
        if batch is NOTHING:
            return False
        if batch is END:
            self._ended = True
            self._last_seq_id = self._stream.last_seq_id
            return False
        events, positions = batch
        self._events.extend(events)
        self._positions.extend(positions)
        return True

    def take_ready(self) -> list[StreamEvent]:
        """Every event already read and not yet handed out, at once and without I/O."""
        if self._pump is not None:
            for events, positions in self._pump.take_ready():
                self._events.extend(events)
                self._positions.extend(positions)
        events = list(self._events)
        self._events.clear()
        if self._positions:
            if self._stream._background:
                self._last_seq_id = self._positions[-1]
            self._positions.clear()
        return events

    def until_done(self) -> list[StreamEvent]:
        """Read to the end and return the events not yet consumed; raises
        :class:`~letta_async.StreamError` if the server reported an error in the stream."""
        from ._errors import StreamError

        events: list[StreamEvent] = list(self)
        stream = self._stream
        if stream.error is not None:
            raise StreamError(
                stream.error, stop_reason=stream.stop_reason, response=stream.response
            )
        return events

    # --- ending -------------------------------------------------------------------------

    def _stop_reading(self) -> None:
        """Stop the reading task; what it had read stays in the buffer."""
        pump = self._pump
        if pump is not None:
            pump.stop()
            for events, positions in pump.take_ready():
                self._events.extend(events)
                self._positions.extend(positions)

    def close(self) -> None:
        """Drop the connection now. Events already read stay available to iterate."""
        self._ended = True
        self._stop_reading()
        if not self._stream.done:
            self._bridge.call(self._stream.aclose)

    def __enter__(self) -> SyncMessageStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._ended = True
        self._stop_reading()
        # The async stream's own exit: closes, and with cancel_on_exit cancels the run.
        self._bridge.call(self._stream.__aexit__, exc_type, exc, tb)

    def cancel(self, *, wait: float = 10.0) -> None:
        """Ask the server to cancel this run, read until it confirms, then close.

        Events that arrive meanwhile are kept and can still be iterated.
        """
        stream = self._stream
        if self._pump is None or self._ended:
            self._bridge.call(stream.cancel, wait=wait)
            ready, positions = stream.take_ready_numbered()
            self._events.extend(ready)
            self._positions.extend(positions)
            return
        # The reading task goes on reading (stopping it mid-read would end the stream
        # before the server confirms); the cancel is requested beside it.
        deadline = time.monotonic() + wait
        while stream.run_id is None and self._fill(max(deadline - time.monotonic(), 0)):
            pass
        if stream.run_id is not None and not stream.done:
            self._bridge.call(stream._request_cancel)
            while stream.stop_reason != "cancelled" and self._fill(
                max(deadline - time.monotonic(), 0)
            ):
                pass
        self.close()

    def _abandon(self) -> None:
        """After an interrupt: the read was cancelled mid-way, so the connection goes too."""
        self._ended = True
        with contextlib.suppress(Exception):
            self._stop_reading()
            self._bridge.call(self._stream.aclose)

    # --- what the stream knows ----------------------------------------------------------

    @property
    def response(self) -> HTTPResponse:
        """Status and headers of the answer that opened this stream."""
        return self._stream.response

    @property
    def run_id(self) -> str | None:
        """The run this stream belongs to, known from the first frame that carries it."""
        return self._stream.run_id

    @property
    def last_seq_id(self) -> int | None:
        """The sequence number of the last event handed out (background runs only).

        Persist it with ``run_id`` to resume later with ``client.runs.stream(run_id,
        starting_after=last_seq_id)``. It moves per event handed out, never per read.
        """
        return self._last_seq_id

    @property
    def stop_reason(self) -> str | None:
        """The server's stop reason (``end_turn``, ``cancelled``, ...)."""
        return self._stream.stop_reason

    @property
    def usage(self) -> LettaUsageStatistics | None:
        """Token and step counts, from the ``usage_statistics`` frame."""
        return self._stream.usage

    @property
    def error(self) -> LettaErrorMessage | None:
        """The in-stream error the server reported, if any."""
        return self._stream.error

    @property
    def resumes(self) -> int:
        """How many times this stream reconnected to its run."""
        return self._stream.resumes

    @property
    def done(self) -> bool:
        """True once the stream ended and every fetched event was handed out."""
        return self._stream.done and not self._events

    @property
    def completed(self) -> bool:
        """True when the server finished the stream (see ``MessageStream.completed``)."""
        return self._stream.completed

    @property
    def async_stream(self) -> MessageStream:
        """The :class:`~letta_async.MessageStream` underneath, living on the client's loop."""
        return self._stream

    def __repr__(self) -> str:
        return f"<SyncMessageStream of {self._stream!r}>"

    def __del__(self) -> None:
        # Dropped unfinished (a `for` left by `break` without `with`): the connection is
        # closed on the loop, where aiohttp expects it, not on whatever thread collects this.
        pump = self._pump
        if pump is not None:
            with contextlib.suppress(Exception):  # the loop is gone (closed, shut down)
                pump.loop.call_soon_threadsafe(pump.cancel)
        stream = self._stream
        if not stream.done:
            self._bridge.schedule(stream.aclose)


class SyncJsonEventStream(Stream[T]):
    """The events of a route that answers with plain JSON events (the MCP connect flow)."""

    _keep: object = None
    """The client this stream came from, kept alive while the stream is read."""

    def __init__(self, stream: JsonEventStream[T], bridge: LoopThread) -> None:
        self._stream = stream
        self._bridge = bridge
        self._ended = False

    @property
    def completed(self) -> bool:
        """True once the server ended the stream with ``[DONE]``."""
        return self._stream.completed

    def __iter__(self) -> SyncJsonEventStream[T]:
        return self

    def __next__(self) -> T:
        """The next event."""
        if self._ended:
            raise StopIteration
        try:
            item: T = self._bridge.call(self._stream.__anext__)
        except StopAsyncIteration:
            self._ended = True
            raise StopIteration from None
        except (KeyboardInterrupt, SystemExit):
            self.close()
            raise
        return item

    def until_done(self) -> list[T]:
        """Read to the end and return every event not consumed yet."""
        events: list[T] = self._bridge.call(self._stream.until_done)
        self._ended = True
        return events

    def close(self) -> None:
        """Close the connection."""
        self._ended = True
        self._bridge.call(self._stream.aclose)

    def __enter__(self) -> SyncJsonEventStream[T]:
        return self

    def __repr__(self) -> str:
        return f"<SyncJsonEventStream completed={self.completed}>"
