"""MessageStream: the state machine between an SSE response and the caller's ``async for``.

It reads raw chunks, feeds the SSE decoder, decodes each event into a typed message, and keeps
the bookkeeping a caller needs to trust the result: the ``run_id``, the last ``seq_id``
delivered, the stop reason, usage, and whether the stream really ended or only broke off.

Background runs survive disconnects here. Letta numbers every frame of a background run
(``seq_id`` 1, 2, 3, ...), but ``stop_reason`` and ``usage_statistics`` use up a number without
carrying it; the stream counts those too, so ``last_seq_id`` is always the exact
``starting_after`` for ``POST /v1/runs/{run_id}/stream``. On reconnect, frames at or below it
are dropped: every event reaches the caller once, in order.

``[DONE]`` has a number too but is no event, so ``last_seq_id`` never moves past it. That is
what keeps a saved position resumable: Letta ends a resumed stream only by sending the run's
final frame, so a request for the frames after that final frame is answered with pings
forever. The same wait happens for any position at or past the end (a failed run's error
event is its final frame, and a caller may hold any number). A resumed stream therefore
watches for quiet: after ``ResumeSettings.end_check_after`` seconds without a new event it
asks ``GET /v1/runs/{run_id}``; once the run has ended, one replay of the run tells where its
stream ends, and the stream finishes if nothing after its position is still to come.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Generator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import aiohttp
import msgspec

from . import _observe
from ._config import Limits
from ._decode import shared_decoder
from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    StreamError,
    StreamResumeError,
    StreamTruncatedError,
)
from ._http import HTTPRequest, HTTPResponse
from ._lazy import LazyModule
from ._transport import PreparedRequest, Transport, encode_json
from ._urls import path
from .sse import SSEDecoder
from .types import LettaErrorMessage, LettaStopReason, LettaUsageStatistics, Run

if TYPE_CHECKING:
    from ._observe import StreamOrigin, StreamTrace
    from .types import LettaStreamingResponse, StreamEvent


if TYPE_CHECKING:
    import anyio
else:  # anyio costs start-up time and is needed only to wait (retries, resumes, closing)
    anyio = LazyModule("anyio")
__all__ = ["AsyncStream", "MessageStream", "ResumeSettings"]

logger = logging.getLogger("letta_async")

_DONE = "[DONE]"
_RUN_ACTIVE = frozenset({"created", "running"})
# Stop reasons after which the server closes without [DONE].
_ENDS_WITHOUT_DONE = frozenset({"cancelled"})


class ResumeSettings:
    """How a background stream reconnects to its run.

    The first resume after a cut goes out at once. Each later one waits first:
    ``initial_delay`` before the second, twice as long before each one after it, at most
    ``max_delay``, less up to a quarter of that at random, so that clients cut off together
    (a server restart) come back spread out instead of all at once.
    """

    __slots__ = (
        "batch_size",
        "end_check_after",
        "end_check_max_interval",
        "include_pings",
        "initial_delay",
        "max_attempts",
        "max_delay",
    )

    def __init__(
        self,
        *,
        max_attempts: int = 5,
        initial_delay: float = 0.25,
        max_delay: float = 5.0,
        include_pings: bool = True,
        batch_size: int | None = None,
        end_check_after: float = 2.0,
        end_check_max_interval: float = 10.0,
    ) -> None:
        if end_check_after <= 0 or end_check_max_interval < end_check_after:
            raise ValueError("need 0 < end_check_after <= end_check_max_interval")
        self.max_attempts = max_attempts
        self.initial_delay = initial_delay
        self.max_delay = max_delay
        self.include_pings = include_pings
        self.batch_size = batch_size
        self.end_check_after = end_check_after
        """Seconds without a new event (pings do not count) before a resumed stream asks
        whether its run has ended. Letta keeps a stream positioned at or past the run's end
        open with pings; this is what ends it."""
        self.end_check_max_interval = end_check_max_interval
        """While the run is still going, the check is repeated at doubling intervals up to
        this many seconds, so the end of a run is noticed at most this long after it."""

    def delay(self, attempt: int) -> float:
        """The wait before the next resume once ``attempt`` resumes (1-based) have brought
        nothing: ``initial_delay * 2 ** (attempt - 1)``, capped, with jitter against herds."""
        base = min(self.initial_delay * 2.0 ** max(attempt - 1, 0), self.max_delay)
        return float(base * (1.0 - 0.25 * random.random()))


Opener = Callable[["MessageStream"], Awaitable[aiohttp.ClientResponse]]
RunIdRecovery = Callable[[], Awaitable[str | None]]
Canceller = Callable[[str], Awaitable[Any]]


_T_co = TypeVar("_T_co", covariant=True)


class AsyncStream(Generic[_T_co]):
    """The official SDK's name for an async stream of typed events.

    :class:`MessageStream` is the one implementation here; annotations written for the
    official SDK (``AsyncStream[LettaStreamingResponse]``) accept it.
    """

    def __aiter__(self) -> AsyncStream[_T_co]:
        return self

    async def __anext__(self) -> _T_co:
        raise NotImplementedError

    async def close(self) -> None:
        """Stop reading and release the connection; ``async with`` calls it on exit."""
        raise NotImplementedError

    async def __aenter__(self) -> AsyncStream[_T_co]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class MessageStream(AsyncStream["LettaStreamingResponse"]):
    """An async iterator of typed Letta events, with resume and cancel on top.

    ``await client.agents.messages.create(..., streaming=True)`` returns one already sent.
    Returned un-awaited (by ``client.runs.stream(...)``, or the deprecated
    ``client.agents.messages.stream(...)``), the request is sent on the first ``async for``
    step or on ``async with`` entry. Leaving either early closes the
    connection at once; use ``async with`` when the stream object outlives the loop, so
    release never depends on garbage collection.
    """

    def __init__(
        self,
        transport: Transport,
        opener: Opener,
        *,
        background: bool,
        run_id: str | None = None,
        starting_after: int | None = None,
        poll_interval: float | None = None,
        resume: ResumeSettings | None = None,
        canceller: Canceller | None = None,
        recover_run_id: RunIdRecovery | None = None,
        cancel_on_exit: bool = False,
        limits: Limits | None = None,
        errors_as_events: bool = False,
        follows: bool = False,
        origin: StreamOrigin | None = None,
    ) -> None:
        self._transport = transport
        self._origin = origin
        self._trace: StreamTrace | None = None
        self._errors_as_events = errors_as_events
        self._opening: aiohttp.ClientResponse | None = None
        self._opener = opener
        self._background = background
        self._resume = resume or ResumeSettings()
        self._poll_interval = poll_interval
        self._canceller = canceller
        self._recover_run_id = recover_run_id
        self._cancel_on_exit = cancel_on_exit
        self._limits = limits or transport.limits
        self._decoder = shared_decoder()
        self._sse = self._new_sse()
        self._queue: deque[StreamEvent] = deque()
        self._response: aiohttp.ClientResponse | None = None
        self._started = False
        self._opened = False
        self._finished = False
        self._saw_done = False
        self._final_replay = False
        self._deferred: Exception | None = None
        self._resume_attempts = 0
        self._started_at: float | None = None
        self._check_interval = self._resume.end_check_after
        self._next_check = 0.0
        self._run_ended = False
        # Only a connection that resumes from a position can be asked for frames past the
        # run's end; a send's own stream starts at the run's first frame.
        self._watch_end = follows

        self.run_id: str | None = run_id
        """The run this stream belongs to, known from the first frame that carries it."""
        self.last_seq_id: int | None = starting_after
        """The sequence number of the last event handed to the caller (background runs only).

        Persist it with ``run_id`` to resume later with ``client.runs.stream(run_id,
        starting_after=last_seq_id)``: the resumed stream brings exactly the events after it.
        ``stop_reason`` and ``usage_statistics`` have numbers (the server counts them without
        sending them); ``[DONE]`` is no event, so at the end of a finished run this is the
        number of its last event, one below ``[DONE]``'s, and resuming from it gets nothing
        but the end. Foreground streams have no numbers: always None.
        """
        self._received_seq: int | None = starting_after
        self._queued_seqs: deque[int | None] = deque()
        self.stop_reason: str | None = None
        """The server's stop reason (``end_turn``, ``cancelled``, ``llm_api_error``, ...)."""
        self.usage: LettaUsageStatistics | None = None
        """Token and step counts, from the ``usage_statistics`` frame."""
        self.error: LettaErrorMessage | None = None
        """The in-stream error the server reported, if any.

        By default the stream raises it as :class:`StreamError` after the events before it,
        like the official SDK; with ``errors_as_events=True`` it is handed out in order as a
        :class:`~letta_async.types.LettaErrorMessage` event instead, and the stream ends.
        """
        self.resumes = 0
        """How many times this stream reconnected to its run."""
        self.resend_if_unseen = True
        """Whether a send whose connection failed before the server named the run, and whose
        ``otid`` the history does not show yet, is sent again. Durable sends turn this off:
        they decide about unseen sends themselves, from state that outlives the process."""

    # --- public surface --------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """True once the stream ended (cleanly, by error, or by being closed)."""
        return self._finished

    @property
    def completed(self) -> bool:
        """True when the server finished the stream (``[DONE]``, a final stop reason or its
        error event), or when a resumed stream found its run ended with nothing after its
        position."""
        return self._finished and (
            self._saw_done
            or self.stop_reason is not None
            or self.error is not None
            or self._run_ended
        )

    def __repr__(self) -> str:
        state = "done" if self._finished else ("open" if self._started else "new")
        return (
            f"<MessageStream {state} run_id={self.run_id!r} last_seq_id={self.last_seq_id!r} "
            f"stop_reason={self.stop_reason!r}>"
        )

    @property
    def response(self) -> HTTPResponse:
        """Status and headers of the answer that opened this stream (empty before that)."""
        opening = self._opening
        if opening is None:
            return HTTPResponse(0)
        url = str(opening.url)
        return HTTPResponse(
            opening.status,
            headers=opening.headers.items(),
            url=url,
            reason_phrase=opening.reason or "",
            request=HTTPRequest(opening.method, url),
        )

    def __await__(self) -> Generator[Any, None, MessageStream]:
        """``stream = await client.agents.messages.stream(...)``: send the request now.

        Errors the server answers with (404, 422, ...) are raised here, as by the official
        SDK; the events are then read by iterating. Awaiting twice is harmless.
        """
        return self._open().__await__()

    async def _open(self) -> MessageStream:
        if not self._started:
            await self._advance()
        return self

    def __aiter__(self) -> MessageStream:
        return self

    async def __anext__(self) -> LettaStreamingResponse:
        """The next event. Type checkers see the official union of event classes; a frame
        of a kind this client does not know arrives as
        :class:`~letta_async.types.UnknownMessage` (never equal to a known ``message_type``),
        so narrowing on ``message_type`` stays sound."""
        queue = self._queue
        while not queue:
            if self._deferred is not None:
                error, self._deferred = self._deferred, None
                if self._trace is not None:
                    self._end_trace(error)
                raise error
            if self._finished:
                if self._background:
                    self.last_seq_id = self._received_seq
                if self._trace is not None:
                    self._end_trace(None)
                raise StopAsyncIteration
            await self._advance()
        if self._background:
            # Public progress moves only as events are handed out, so a caller that persists
            # last_seq_id after each event can never skip one it did not process.
            self.last_seq_id = self._queued_seqs.popleft()
        return queue.popleft()  # type: ignore[return-value]

    def take_ready(self) -> list[StreamEvent]:
        """Every event already decoded and waiting, handed over at once and without I/O.

        For consumers that move events in bulk, such as ``fan_out``: one call per network
        read instead of one ``__anext__`` per event. Progress (``last_seq_id``) moves exactly
        as if each event had come out of ``__anext__``. Empty when nothing is waiting.
        """
        queue = self._queue
        if not queue:
            return []
        events = list(queue)
        queue.clear()
        if self._background:
            self.last_seq_id = self._queued_seqs[-1]
            self._queued_seqs.clear()
        return events

    def take_ready_numbered(self) -> tuple[list[StreamEvent], list[int | None]]:
        """Like :meth:`take_ready`, with each event's position (``last_seq_id`` once that
        event is handed out; None throughout for foreground streams).

        For bridges that move a read's worth of events at once but hand them out one by one,
        so that the progress they report still moves per event.
        """
        queue = self._queue
        if not queue:
            return [], []
        events = list(queue)
        queue.clear()
        if not self._background:
            return events, [None] * len(events)
        positions = list(self._queued_seqs)
        self._queued_seqs.clear()
        self.last_seq_id = positions[-1]
        return events, positions

    async def __aenter__(self) -> MessageStream:
        if not self._started:
            await self._advance()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # "Finished" may only mean this side stopped reading (an outer timeout cancelled the
        # read, say); the run itself is over only once the server said so.
        server_ended = self._saw_done or self.stop_reason is not None or self._run_ended
        try:
            if self._cancel_on_exit and not server_ended and self.run_id is not None:
                with anyio.CancelScope(shield=True), anyio.move_on_after(10):
                    await self._request_cancel()
        except APIError as error:
            # Best effort, like any cleanup: raising here would replace the exception (or the
            # cancellation) the block is being left with, so the failure is logged instead.
            logger.warning("could not cancel run %s on leaving its stream: %s", self.run_id, error)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Drop the connection now. Events already received stay available to iterate."""
        self._finished = True
        self._close_response()
        if self._trace is not None:
            self._end_trace(None)

    async def close(self) -> None:
        """The official SDK's name for :meth:`aclose`."""
        await self.aclose()

    async def until_done(self) -> list[StreamEvent]:
        """Read to the end and return the events not yet consumed.

        Raises :class:`StreamError` if the server reported an error inside the stream, so
        ``await stream.until_done()`` is the one-line "run this and fail loudly" form.
        """
        events: list[StreamEvent] = [event async for event in self]
        if self.error is not None:
            raise StreamError(self.error, stop_reason=self.stop_reason, response=self.response)
        return events

    async def cancel(self, *, wait: float = 10.0) -> None:
        """Ask the server to cancel this run, read until it confirms, then close.

        Events that arrive meanwhile are kept and can still be iterated. If the run already
        finished, nothing is sent. ``wait`` bounds how long to wait for the confirmation:
        the server notices a cancel only on the agent's next chunk, which during a long LLM
        call can take a while.
        """
        if self._finished:
            return
        with anyio.move_on_after(wait):
            while self.run_id is None and not self._finished:
                await self._advance()
        if self.run_id is None or self._finished:
            await self.aclose()
            return
        await self._request_cancel()
        with anyio.move_on_after(wait):
            while not self._finished and self.stop_reason != "cancelled":
                await self._advance()
        await self.aclose()

    async def _request_cancel(self) -> None:
        if self._canceller is None or self.run_id is None:
            raise RuntimeError("this stream has no cancel route")
        logger.debug("cancelling run %s", self.run_id)
        await self._canceller(self.run_id)

    # --- the state machine -----------------------------------------------------------------

    def _new_sse(self) -> SSEDecoder:
        return SSEDecoder(
            max_event_size=self._limits.max_event_size,
            max_line_length=self._limits.max_line_length,
        )

    def _close_response(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            response.close()

    def _fail(self, error: BaseException) -> BaseException:
        self._finished = True
        self._close_response()
        return error

    def __del__(self) -> None:
        # Safety net for `async for ... break` without `async with`: CPython drops the
        # iterator right after the loop, and closing here frees the connection at once.
        response = self._response
        if response is not None:
            self._response = None
            with contextlib.suppress(Exception):  # interpreter shutdown
                response.close()
        if self._trace is not None:
            with contextlib.suppress(Exception):
                self._end_trace(None)

    def _end_trace(self, error: BaseException | None) -> None:
        """Hand the finished stream to its trace, once; later ends find no trace."""
        trace, self._trace = self._trace, None
        if trace is not None:
            trace.finish(self, error)

    async def _advance(self) -> None:
        """One step: connect, or read one chunk, or react to the end of a connection."""
        try:
            response = self._response
            if response is None:
                await self._connect()
                return
            try:
                chunk = await self._read(response)
            except (asyncio.TimeoutError, aiohttp.ClientError, OSError) as exc:
                self._close_response()
                if self._finished:
                    return  # aclose() from another task broke this read: the caller stopped
                self._end_of_connection()
                await self._on_broken(_map_read_error(exc, response))
                return
            except BaseException:
                self._fail(RuntimeError("interrupted"))
                raise
            if chunk is None:
                await self._check_run_end()
                return
            if chunk:
                try:
                    self._consume(chunk)
                except Exception as exc:
                    # Events decoded before the bad one are still handed out first; the error
                    # follows them, so nothing the server sent in order is skipped.
                    self._fail(exc)
                    self._deferred = exc
                return
            response.release()
            self._response = None
            if self._finished:
                return
            self._end_of_connection()
            await self._on_eof()
        except BaseException as exc:
            # Whatever ended the stream ends its trace; an interruption that leaves the
            # stream usable (a cancelled back-off sleep) does not.
            if self._trace is not None and self._finished:
                self._end_trace(exc)
            raise

    def _end_of_connection(self) -> None:
        """Raise the limit error the SSE decoder held back for its next call, if any.

        The decoder reports an oversized event or line on the call after the one that
        returned the events before it, so that those events do not depend on how the bytes
        were split. When the connection ends right after that chunk there is no next feed;
        without this the error would pass for a truncated stream (and a background stream
        would resume into the same oversized event again).
        """
        try:
            self._sse.close()
        except BaseException:
            self._fail(RuntimeError("undecodable stream"))
            raise

    def _consume(self, chunk: bytes) -> None:
        queue = self._queue
        progress = self._received_seq
        before = len(queue)
        decode = self._decoder.decode
        decode_known = self._decoder.decode_known
        numbered = self._background
        for sse in self._sse.feed(chunk):
            data = sse.data
            if data == _DONE:
                # [DONE] has a number (the run's last) but is no event: a position past it
                # is one the server never ends a resumed stream from.
                self._saw_done = True
                continue
            try:
                message = decode_known(data)
            except msgspec.MsgspecError:
                message = decode(data)  # the unknown kind, or the clear error
            cls = type(message)
            if cls is LettaStopReason:
                self.stop_reason = message.stop_reason  # type: ignore[union-attr]
                self._count_unnumbered()
            elif cls is LettaUsageStatistics:
                self.usage = message  # type: ignore[assignment]
                self._count_unnumbered()
            else:
                # Only a background stream is ever replayed, so only there can a frame come
                # twice; a foreground stream hands over every frame, numbered or not.
                seq = getattr(message, "seq_id", None) if numbered else None
                if seq is not None:
                    last = self._received_seq
                    if last is not None and seq <= last:
                        continue  # replayed after a resume: already delivered
                    self._received_seq = seq
                if self.run_id is None:
                    run_id = getattr(message, "run_id", None)
                    if run_id:
                        self.run_id = run_id
                if cls is LettaErrorMessage:
                    self.error = message  # type: ignore[assignment]
                    if not self._errors_as_events:
                        # The server's last word: what came before is handed out first,
                        # then the error is raised; nothing after it is read.
                        error = StreamError(
                            message,
                            stop_reason=self.stop_reason,
                            body=_json(data),
                            response=self.response,
                        )
                        self._fail(error)
                        self._deferred = error
                        break
            queue.append(message)
            if numbered:
                self._queued_seqs.append(self._received_seq)
        trace = self._trace
        if trace is not None and len(queue) > before:
            trace.received(queue, before)
        if self._received_seq != progress or (len(queue) > before and not numbered):
            # The run moved on, so the resume budget is whole again: a long stream may be
            # cut any number of times as long as each connection brings something new. A
            # keep-alive ping is no progress (a server that pings and drops every
            # connection must still exhaust the budget).
            self._resume_attempts = 0
            self._quiet_from_now()

    def _count_unnumbered(self) -> None:
        """stop_reason and usage use up a background sequence number silently."""
        if self._received_seq is not None:
            self._received_seq += 1

    def fall_back_to_foreground(self) -> None:
        """Called by the opener when the server cannot run in the background (no Redis)."""
        self._background = False
        self._queued_seqs.clear()

    def _resumable(self) -> bool:
        return self._background and (self.run_id is not None or self._recover_run_id is not None)

    def _reply_complete(self) -> bool:
        """Whether nothing can follow: ``[DONE]``, an error event, or a final stop reason.

        An ``event: error`` is the server's last word even when no stop reason came before
        it: a resume could at best replay up to the same error, and the caller is owed
        :class:`StreamError` from ``until_done()``, not a truncation.
        """
        if self._saw_done or self.error is not None:
            return True
        return self.stop_reason in _ENDS_WITHOUT_DONE

    def _ended_cleanly(self) -> bool:
        if self._final_replay or self._run_ended or self._reply_complete():
            return True
        # A foreground stream cannot be asked for the missing tail; a stop reason is final.
        return self.stop_reason is not None and not self._background

    async def _on_eof(self) -> None:
        if self._ended_cleanly():
            self._finished = True
            return
        if self._resumable():
            await self._reconnect(
                StreamTruncatedError("stream ended before its stop reason or [DONE]")
            )
            return
        raise self._fail(
            StreamTruncatedError(
                "stream ended before its stop reason or [DONE]: the reply is incomplete"
            )
        )

    def _check_deadline(self) -> None:
        """The optional overall deadline covers every reconnect, not just one connection."""
        total = self._transport.timeout.stream_total
        if total is None or self._started_at is None:
            return
        elapsed = time.monotonic() - self._started_at
        if elapsed >= total:
            raise self._fail(APITimeoutError(f"stream exceeded its overall deadline of {total:g}s"))

    async def _on_broken(self, error: APIError) -> None:
        if self._reply_complete():
            # The break came after the last event (say a proxy dropped the connection before
            # the chunked body's final empty chunk): nothing was lost, so it is neither an
            # error nor a reason to resume.
            self._finished = True
            return
        self._check_deadline()
        if not self._resumable():
            raise self._fail(error)
        if isinstance(error, APITimeoutError) and self.run_id is not None:
            # Silence is not failure: ask the server whether the run is still going.
            status = await self._probe_run()
            if status in _RUN_ACTIVE:
                logger.debug(
                    "run %s still %s after idle timeout; reconnecting", self.run_id, status
                )
                self._resume_attempts = 0
            elif status is not None:
                logger.debug("run %s is %s; replaying what was missed", self.run_id, status)
                self._final_replay = True
        await self._reconnect(error)

    async def _probe_run(self) -> str | None:
        run = await self._fetch_run()
        return None if run is None else run.status

    async def _fetch_run(self) -> Run | None:
        assert self.run_id is not None
        try:
            run: Run = await self._transport.request(
                PreparedRequest("GET", path("/v1/runs/{run_id}", self.run_id)), Run
            )
        except APIError as exc:
            logger.debug("probing run %s failed: %s", self.run_id, exc)
            return None
        return run

    # --- noticing the end of a run the server keeps a stream open for -------------------------

    async def _read(self, response: aiohttp.ClientResponse) -> bytes | None:
        """The next chunk, or None once a resumed stream has been quiet for long enough that
        its run should be checked (keep-alive pings arrive, but are no progress)."""
        if not (self._watch_end and self._background and self.run_id is not None):
            return await response.content.readany()
        wait = self._next_check - time.monotonic()
        if wait > 0:
            with anyio.move_on_after(wait):
                return await response.content.readany()
        return None

    def _quiet_from_now(self) -> None:
        self._check_interval = self._resume.end_check_after
        self._next_check = time.monotonic() + self._check_interval

    def _check_later(self) -> None:
        self._check_interval = min(self._check_interval * 2, self._resume.end_check_max_interval)
        self._next_check = time.monotonic() + self._check_interval

    async def _check_run_end(self) -> None:
        """Quiet for a while: finish if the run has ended and nothing after our position is
        still to come, resume if something is, else keep waiting (and check again later)."""
        if self._finished or self.run_id is None:
            return
        run = await self._fetch_run()
        if run is None or run.status in _RUN_ACTIVE:
            self._check_later()
            return
        end = await self._final_position()
        position = self._received_seq or 0
        if end is None:
            # Ended in the database, but its stream is still being written: a cancel that the
            # agent notices only when its LLM call returns. The rest is on its way.
            logger.debug("run %s is %s; its stream has not ended yet", self.run_id, run.status)
            self._check_later()
            return
        if position < end:
            logger.debug("run %s ends at %d, after seq_id %d: resuming", self.run_id, end, position)
            self._close_response()
            await self._reconnect(
                StreamTruncatedError(f"the run ended at seq_id {end}, after this stream's position")
            )
            return
        logger.debug("run %s is %s; nothing follows seq_id %d", self.run_id, run.status, position)
        self._run_ended = True
        self._finished = True
        self._close_response()

    async def _final_position(self) -> int | None:
        """Where the run's stream ends, from one replay of it without pings: the number of
        its final frame (0 when the run wrote no stream at all, as a ``messages/async`` run),
        or None when frames came but the replay did not end (the stream is still growing)."""
        assert self.run_id is not None
        body: dict[str, Any] = {"starting_after": 0, "include_pings": False}
        if self._poll_interval is not None:
            body["poll_interval"] = self._poll_interval
        request = PreparedRequest(
            "POST",
            path("/v1/runs/{run_id}/stream", self.run_id),
            body=encode_json(body),
            stream=True,
            kind="read",
        )
        try:
            response = await self._transport.open_stream(request, max_retries=0)
        except APIStatusError as exc:
            if exc.status_code >= 500 or exc.status_code in (408, 429):
                return None
            raise self._fail(
                StreamResumeError(
                    f"could not check where run {self.run_id} ends: {exc}",
                    run_id=self.run_id,
                    last_seq_id=self._received_seq,
                )
            ) from exc
        except APIConnectionError:
            return None
        sse = self._new_sse()
        position = frames = 0
        try:
            while True:
                with anyio.move_on_after(self._resume.end_check_after):
                    chunk = await response.content.readany()
                    if not chunk:
                        return position
                    for event in sse.feed(chunk):
                        frames += 1
                        position = self._number_of(event.data, position)
                    continue
                return None if frames else 0
        except (asyncio.TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            logger.debug("checking where run %s ends failed: %s", self.run_id, exc)
            return None
        finally:
            response.close()

    def _number_of(self, data: str, before: int) -> int:
        """A replayed frame's number: its own ``seq_id``, else one after the frame before."""
        if data != _DONE:
            seq = getattr(self._decoder.decode(data), "seq_id", None)
            if isinstance(seq, int) and not isinstance(seq, bool):
                return seq
        return before + 1

    async def _connect(self) -> None:
        self._quiet_from_now()
        if not self._started:
            self._started = True
            self._started_at = time.monotonic()
            watcher = _observe.observer
            if watcher is not None:
                self._trace = watcher.stream(self, self._origin)
            try:
                self._response = self._opening = await self._opener(self)
                self._opened = True
            except APIConnectionError as exc:
                if not (self._background and self._recover_run_id is not None):
                    raise self._fail(exc) from None
                await self._reconnect(exc)
            except BaseException:
                self._finished = True
                raise
            return
        await self._resume_now()

    async def _reconnect(self, cause: APIError) -> None:
        """Count an attempt and arrange for the next `_advance` to resume the run."""
        self._check_deadline()
        self._resume_attempts += 1
        if self._resume_attempts > self._resume.max_attempts:
            raise self._fail(
                StreamResumeError(
                    f"gave up resuming after {self._resume.max_attempts} attempts: {cause}",
                    run_id=self.run_id,
                    last_seq_id=self._received_seq,
                )
            ) from cause
        self._sse = self._new_sse()
        if self._resume_attempts > 1:
            await anyio.sleep(self._resume.delay(self._resume_attempts - 1))

    async def _resume_now(self) -> None:
        if self.run_id is None and self._recover_run_id is not None:
            self.run_id = await self._recover_run_id()
        if self.run_id is None and not self._opened and self.resend_if_unseen:
            # The server never answered and holds no message with our otid: it never saw
            # the request, so sending it again cannot start a second run.
            try:
                self._response = self._opening = await self._opener(self)
                self._opened = True
            except APIConnectionError as exc:
                await self._reconnect(exc)
            except BaseException:
                self._finished = True
                raise
            return
        if self.run_id is None:
            raise self._fail(
                StreamResumeError(
                    "the connection failed before the server named the run",
                    run_id=None,
                    last_seq_id=self._received_seq,
                )
            )
        self.resumes += 1
        logger.debug(
            "resuming run %s after seq_id %s (attempt %d)",
            self.run_id,
            self._received_seq,
            self._resume_attempts,
        )
        if self._trace is not None:
            self._trace.resumed(self.run_id, self._received_seq, self._resume_attempts)
        await self._transport.hooks.emit_resume(
            self.run_id, self._received_seq, self._resume_attempts
        )
        self._watch_end = True
        body: dict[str, Any] = {
            "starting_after": self._received_seq if self._received_seq is not None else 0,
            "include_pings": self._resume.include_pings,
        }
        if self._poll_interval is not None:
            body["poll_interval"] = self._poll_interval
        if self._resume.batch_size is not None:
            body["batch_size"] = self._resume.batch_size
        request = PreparedRequest(
            "POST",
            path("/v1/runs/{run_id}/stream", self.run_id),
            body=encode_json(body),
            stream=True,
            kind="read",  # a replay: it starts nothing on the server
            trace=self._trace,
        )
        try:
            self._response = await self._transport.open_stream(request, max_retries=0)
        except APIStatusError as exc:
            if exc.status_code >= 500 or exc.status_code in (408, 429):
                await self._reconnect(exc)
                return
            raise self._fail(
                StreamResumeError(
                    f"the server refused to resume: {exc}",
                    run_id=self.run_id,
                    last_seq_id=self._received_seq,
                )
            ) from exc
        except APIConnectionError as exc:
            await self._reconnect(exc)
        except BaseException:
            self._finished = True
            raise


def _json(data: str) -> object:
    try:
        return json.loads(data)
    except ValueError:
        return data


def _map_read_error(exc: BaseException, response: aiohttp.ClientResponse) -> APIError:
    method = response.method
    url = str(response.url)
    if isinstance(exc, asyncio.TimeoutError):
        return APITimeoutError(
            "no data from the server within the stream idle timeout", method=method, url=url
        )
    return StreamTruncatedError(
        f"connection lost mid-stream: {exc.__class__.__name__}", method=method, url=url
    )
