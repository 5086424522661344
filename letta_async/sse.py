"""An incremental, spec-exact decoder for ``text/event-stream`` bodies.

This module knows nothing about Letta: it turns the bytes of any server-sent event stream into
:class:`ServerSentEvent` objects, following the WHATWG HTML "event stream interpretation"
rules to the letter (UTF-8 with replacement, one leading BOM, CR / LF / CRLF line ends,
comments, the ``data`` / ``event`` / ``id`` / ``retry`` fields, dispatch on a blank line).

It is written for throughput, because decoding is the client's hot path: bytes are split into
lines and decoded to text a whole chunk at a time with C-level ``bytes``/``str`` operations, and
a partial line is kept as a list of pieces that is joined once, so a large event fed in small
chunks costs linear time. Memory stays bounded: a line longer than ``max_line_length`` or an
event whose data outgrows ``max_event_size`` is reported as an error instead of being buffered.

Typical use::

    decoder = SSEDecoder()
    async for chunk in response.content.iter_any():
        for event in decoder.feed(chunk):
            handle(event)
    truncated = decoder.pending  # an event was cut off by the end of the stream
    decoder.close()
"""

from __future__ import annotations

from itertools import repeat
from typing import Final

import msgspec

from ._errors import EventTooLargeError, LineTooLongError

__all__ = [
    "DEFAULT_MAX_EVENT_SIZE",
    "SSEDecoder",
    "ServerSentEvent",
]

DEFAULT_MAX_EVENT_SIZE: Final = 16 * 1024 * 1024
"""Default bound on one event's data (16 MiB): far above any real Letta frame, far below RAM."""

_DATA_PREFIX_LENGTH: Final = len(b"data: ")
# Frames longer than this are decoded straight from the joined buffer, saving two copies.
_BIG_FRAME: Final = 64 * 1024

_BOM: Final = b"\xef\xbb\xbf"
# The largest reconnection time kept, as in browsers: a value that does not fit in an unsigned
# 64-bit integer is ignored. It also keeps ``int()`` away from its digit-count limit.
_MAX_RETRY: Final = 2**64 - 1


class ServerSentEvent(msgspec.Struct, frozen=True, gc=False):
    """One dispatched event.

    A frozen struct rather than a dataclass so that building one per frame on the hot path is
    as cheap as building a tuple, while still giving equality, hashing and a readable repr.

    ``id`` is the last event ID in effect when the event was dispatched (it persists across
    events until an ``id`` field changes it; ``None`` if the stream never sent one), which is
    what a client sends back as ``Last-Event-ID`` to resume. ``retry`` is the reconnection time
    in milliseconds set by a valid ``retry`` field inside this event's own block, else ``None``;
    :attr:`SSEDecoder.retry` holds the value in effect for the whole stream.
    """

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Turns the bytes of an event stream into events, chunk by chunk.

    Feed it whatever the socket delivered, split anywhere (inside a CRLF, inside a multi-byte
    UTF-8 character, one byte at a time); the events that come out are the same as if the
    whole stream had been fed at once.

    Limits keep memory bounded whatever the server sends: a line longer than
    ``max_line_length`` bytes (line end excluded; by default just long enough for a one-line
    event of ``max_event_size``) raises :class:`LineTooLongError`, and an event whose data
    grows past ``max_event_size`` bytes (UTF-8, lines joined by LF) raises
    :class:`EventTooLargeError`. Events completed earlier in the same chunk are not lost: they
    are returned first and the error is raised by the next :meth:`feed` or :meth:`close`, so
    the events seen before an error do not depend on how the stream was split. A failed
    decoder drops its buffers at once and raises the same error from then on.
    """

    __slots__ = (
        "_cap_now",
        "_closed",
        "_data",
        "_error",
        "_event",
        "_event_retry",
        "_fast_max",
        "_fields",
        "_head",
        "_id",
        "_last_event_id",
        "_line_limit",
        "_partial",
        "_parts",
        "_retry",
        "_size",
        "_size_cap",
        "_size_limit",
        "_skip_lf",
        "_soft_cap",
        "_special",
        "_start",
        "_truncated",
    )

    def __init__(
        self,
        *,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        max_line_length: int | None = None,
    ) -> None:
        if max_line_length is None:
            # Room for the largest allowed event sent as one ``data: ...`` line, the usual case.
            max_line_length = max_event_size + _DATA_PREFIX_LENGTH
        if max_event_size < 1 or max_line_length < 1:
            raise ValueError("max_event_size and max_line_length must be positive")
        self._size_limit = max_event_size
        self._line_limit = max_line_length
        # ``_size`` counts one LF per data line, so the dispatched data is ``_size - 1`` long.
        self._size_cap = max_event_size + 1
        # Below this many characters the data cannot exceed the limit in UTF-8 bytes (at most
        # four bytes per character), so the hot path compares one integer per data line.
        self._soft_cap = self._size_cap // 4
        # Text from at most this many bytes cannot hold an event over the limit (a byte turns
        # into at most three UTF-8 bytes, via U+FFFD), so the frame fast path needs no checks.
        self._fast_max = max_event_size // 3
        self._error: EventTooLargeError | LineTooLongError | None = None
        # Stream-wide state that survives dispatches.
        self._last_event_id: str | None = None
        self._retry: int | None = None
        self._closed = False
        self._truncated = False
        self._reset_stream(None)

    def _reset_stream(self, id_buffer: str | None) -> None:
        # Line layer: bytes of the unterminated line, the BOM check, a CR awaiting its LF.
        self._parts: list[bytes | bytearray] = []
        self._partial = 0
        self._start = True
        self._head = b""
        self._skip_lf = False
        # Set while any of the rare start-of-read states above (or ``_closed``) needs a look.
        self._special = True
        # Event layer: the buffers of the event being read.
        self._data: list[str] = []
        self._size = 0
        self._cap_now = self._soft_cap
        self._event = ""
        self._id = id_buffer
        self._event_retry: int | None = None
        self._fields = False

    # --- public surface -------------------------------------------------------------------

    @property
    def last_event_id(self) -> str | None:
        """The last event ID string: the ``id`` buffer as of the latest blank line.

        An ``id``-only block (no data, so no event) still updates it, as the spec requires; an
        ``id`` field with an empty value resets it to ``""``. ``None`` until the stream sends
        an ``id``. This is the value to send as ``Last-Event-ID`` when reconnecting.
        """
        return self._last_event_id

    @property
    def retry(self) -> int | None:
        """The reconnection time in milliseconds from the latest valid ``retry`` field."""
        return self._retry

    @property
    def pending(self) -> bool:
        """Whether an event is in progress: a partial line, or field lines not yet dispatched.

        The spec discards such an event at end of stream, so a client checks this at EOF to
        tell a clean end from a truncated one. Comment lines alone do not count. After
        :meth:`close` it keeps describing the stream that was closed; after a limit error it
        is ``True``.
        """
        if self._closed:
            return self._truncated
        if self._error is not None:
            return True
        return bool(self._parts or self._head or self._data or self._event or self._fields)

    def feed(self, chunk: bytes | bytearray) -> list[ServerSentEvent]:
        """Decode the next piece of the stream and return the events it completes.

        ``chunk`` may be any slice of the stream, including empty. Cost is linear in the size
        of ``chunk``: only its own bytes are searched for line ends, and the pieces of an
        unfinished line are joined once, when the line completes.
        """
        if self._error is None:
            out = self._feed(chunk)
            if out or self._error is None:
                return out
        raise self._fresh_error()

    def close(self) -> list[ServerSentEvent]:
        """End the stream. Always returns ``[]``: the spec discards an unterminated event.

        Read :attr:`pending` (before or after this call) to learn whether something was cut
        off. Raises the limit error a previous :meth:`feed` left to report. Feeding after
        ``close`` starts a new stream, such as a reconnection: the BOM rule applies again,
        while :attr:`last_event_id` and :attr:`retry` carry over.
        """
        if self._error is not None:
            raise self._fresh_error()
        if not self._closed:
            self._truncated = self.pending
            self._closed = True
            self._reset_stream(self._last_event_id)
        return []

    # --- line layer: bytes to complete lines of text ----------------------------------------

    def _feed(self, chunk: bytes | bytearray) -> list[ServerSentEvent]:
        # Never raises: a limit violation is recorded by ``_fail`` for ``feed`` to report after
        # this frame (and the big buffers it references) is gone. Runs once per read, so it
        # keeps to as few Python steps as it can.
        if self._special:
            chunk = self._special_start(chunk)
        size = len(chunk)
        if not size:
            return []

        # Only this chunk is searched, and only from its end: the last line end splits it into
        # complete lines (plus any earlier pieces of the first one) and the start of the next.
        last = size - 1
        end = chunk.rfind(b"\n")
        if end != last:
            cr = chunk.rfind(b"\r", end + 1)
            if cr > end:
                end = cr
            elif end < 0:
                # Keep an immutable copy: a caller may reuse a bytearray for its next read.
                self._parts.append(chunk if type(chunk) is bytes else bytes(chunk))
                self._partial += size
                if self._partial > self._line_limit:
                    self._fail(LineTooLongError(self._partial, self._line_limit))
                return []

        segment: bytes | bytearray
        if self._parts:
            self._parts.append(chunk[: end + 1])
            segment = b"".join(self._parts)
            self._parts = []
            self._partial = 0
        else:
            segment = chunk if end == last else chunk[: end + 1]
        if 13 in segment:  # an int needle: ``b"\r" in`` first fails an int conversion
            segment = segment.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if end == last and chunk[end] == 13:
                self._skip_lf = self._special = True
        # Every line of ``segment`` ends in LF now. LF never occurs inside a UTF-8 sequence and
        # is never absorbed by a replacement character, so decoding the segment in one go and
        # then splitting the text on LF yields exactly the lines of the byte stream. (Not
        # ``str.splitlines``: it also breaks on VT, FF, FS, NEL, U+2028 and more.)
        length = len(segment)
        if length > self._line_limit + 1:
            bad = _first_long_line(segment, self._line_limit)
            if bad >= 0:
                # Lines before the offending one still count, whatever the chunking.
                out = self._interpret(segment.decode("utf-8", "replace").split("\n")[:bad])
                if self._error is None:
                    self._fail(LineTooLongError(_line_length(segment, bad), self._line_limit))
                return out
        if length > _BIG_FRAME:
            out = self._interpret_large(segment)
        else:
            try:
                text = segment.decode()  # the strict codec is the quicker call
            except UnicodeDecodeError:
                text = segment.decode("utf-8", "replace")
            if (
                length <= self._fast_max
                and not self._data
                and not self._fields
                and text.startswith("data: ")
            ):
                out = self._interpret_data_frames(text)
            else:
                lines = text.split("\n")
                del lines[-1]
                out = self._interpret(lines)
        if end != last and self._error is None:
            tail = chunk[end + 1 :]
            if len(tail) > self._line_limit:
                self._fail(LineTooLongError(len(tail), self._line_limit))
            else:
                self._parts.append(tail)
                self._partial = len(tail)
        return out

    def _special_start(self, chunk: bytes | bytearray) -> bytes | bytearray:
        """The rare states at the start of a read: a new stream, a BOM to check, a CR to pair."""
        if self._closed:
            self._closed = False
            self._truncated = False
        if self._start:
            chunk = self._strip_bom(chunk)
        if self._skip_lf and chunk:
            # The previous chunk ended in CR; an LF right after it belongs to the same line end.
            self._skip_lf = False
            if chunk[0] == 10:
                chunk = chunk[1:]
        self._special = self._start or self._skip_lf
        return chunk

    def _strip_bom(self, chunk: bytes | bytearray) -> bytes | bytearray:
        head = self._head + chunk
        if len(head) < 3 and _BOM.startswith(head):
            # Too few bytes yet to tell whether the stream starts with a BOM.
            self._head = head
            return b""
        self._start = False
        self._head = b""
        return head[3:] if head.startswith(_BOM) else head

    def _fail(self, error: EventTooLargeError | LineTooLongError) -> None:
        # Drop every buffer that could be large at once: a caller that keeps the failed
        # decoder around must not keep the oversized data alive with it.
        self._error = error
        self._reset_stream(None)

    def _fresh_error(self) -> EventTooLargeError | LineTooLongError:
        # A new instance per raise: a raised exception keeps its traceback, and the frames in
        # it, alive; the stored one is never raised so it holds nothing but two integers.
        error = self._error
        assert error is not None
        return type(error)(error.size, error.limit)

    # --- event layer: lines to events ---------------------------------------------------------

    def _interpret_text(self, text: str, *, fast: bool) -> list[ServerSentEvent]:
        """Complete lines (``text`` ends in LF) to events, by the fastest path that applies.

        ``fast`` promises that ``text`` comes from few enough bytes that no single-line
        event in it can exceed ``max_event_size``.
        """
        if fast and text.startswith("data: ") and not self._data and not self._fields:
            return self._interpret_data_frames(text)
        lines = text.split("\n")
        del lines[-1]
        return self._interpret(lines)

    def _interpret_large(self, segment: bytes | bytearray) -> list[ServerSentEvent]:
        """Complete lines that may hold a huge ``data:`` frame; the rest goes the usual way.

        A leading run of big single-line frames is decoded straight from the joined buffer
        into each event's data, so a multi-megabyte event is copied twice in all (joining its
        pieces, decoding) rather than four times through a text, its lines and slices.
        """
        out: list[ServerSentEvent] = []
        start = 0
        if not self._data and not self._fields:
            limit = self._size_limit
            with memoryview(segment) as view:
                while segment.startswith(b"data: ", start):
                    end = segment.find(b"\n", start)
                    if end - start <= _BIG_FRAME or segment[end + 1 : end + 2] != b"\n":
                        break
                    value = str(view[start + 6 : end], "utf-8", "replace")
                    size = len(value) if value.isascii() else len(value.encode())
                    if size > limit:
                        self._fail(EventTooLargeError(size, limit))
                        return out
                    out.append(ServerSentEvent("message", value, self._id, None))
                    start = end + 2
        rest = segment[start:] if start else segment
        if rest:
            out += self._interpret_text(
                rest.decode("utf-8", "replace"), fast=len(rest) <= self._fast_max
            )
        return out

    def _interpret_data_frames(self, text: str) -> list[ServerSentEvent]:
        """The hot path: runs of ``data: <one line>`` + blank line frames, from an event start.

        That is the whole of a typical token stream, so it is handled without a per-line
        Python loop: one ``split`` on the frame separator yields the payloads themselves, a
        ``map`` of ``in`` checks proves that no payload holds a line end (so each piece is
        one single-line event) and another ``map`` builds the events. A piece that holds
        other lines (an ``event:`` field, a comment, a multi-line event, the unfinished last
        frame) goes through the general :meth:`_interpret`, and the frames after it resume
        the fast way.

        The caller guarantees the preconditions: no event in progress, ``text`` ends in LF
        and starts with ``data: ``, and it is short enough that no payload can exceed
        ``max_event_size``. With no event in progress the ``id`` buffer equals the last event
        ID already, so dispatching these frames leaves both as they are.
        """
        make = ServerSentEvent
        first_lf = text.find("\n")
        if first_lf == len(text) - 2 and text.endswith("\n\n"):
            # One frame alone, as when a stream delivers each frame as it is produced.
            return [make("message", text[6:first_lf], self._id, None)]
        pieces = text.split("\n\ndata: ")
        last = pieces[-1]
        if len(pieces) == 1:
            lines = text.split("\n")
            del lines[-1]
            return self._interpret(lines)

        # ``in`` runs on memchr, far faster than counting LFs; the last piece always has
        # one, since the text ends in LF and the separator does not.
        pieces[0] = pieces[0][6:]
        has_line_end = list(map(str.__contains__, pieces, repeat("\n")))
        last_index = len(pieces) - 1
        if (
            has_line_end.index(True) == last_index
            and last.find("\n") == len(last) - 2
            and last.endswith("\n\n")
        ):
            # Frames only.
            pieces[-1] = last[:-2]
            id_buffer = self._id
            return list(map(make, repeat("message"), pieces, repeat(id_buffer), repeat(None)))

        # Mixed: take the clean frames in runs, and a piece with a line end in it (always
        # the last one, which holds the segment's final LF) line by line.
        out: list[ServerSentEvent] = []
        start = 0
        while True:
            stop = has_line_end.index(True, start)
            if stop > start:
                id_buffer = self._id
                out += map(
                    make, repeat("message"), pieces[start:stop], repeat(id_buffer), repeat(None)
                )
            lines = ("data: " + pieces[stop]).split("\n")
            if stop == last_index:
                del lines[-1]
                out += self._interpret(lines)
                return out
            # The separator after the piece ends its last line and adds a blank line, which
            # dispatches: the next piece starts at an event boundary again.
            lines.append("")
            out += self._interpret(lines)
            start = stop + 1

    def _interpret(self, lines: list[str]) -> list[ServerSentEvent]:
        """Apply the field rules to complete lines; return the events dispatched."""
        out: list[ServerSentEvent] = []
        append = out.append
        make = ServerSentEvent
        data = self._data
        size = self._size
        base_cap = self._soft_cap
        soft_cap = self._cap_now
        event = self._event
        id_buffer = self._id
        last_id = self._last_event_id
        event_retry = self._event_retry
        fields = self._fields

        for line in lines:
            if not line:
                # Blank line: dispatch.
                if data:
                    append(
                        make(
                            event or "message",
                            data[0] if len(data) == 1 else "\n".join(data),
                            id_buffer,
                            event_retry,
                        )
                    )
                    data = []
                    size = 0
                    soft_cap = base_cap
                event = ""
                event_retry = None
                fields = False
                last_id = id_buffer
                continue
            if line.startswith("data: "):
                value = line[6:]
            else:
                colon = line.find(":")
                if colon == 0:
                    continue  # comment
                if colon < 0:
                    name = line
                    value = ""
                else:
                    name = line[:colon]
                    value = (
                        line[colon + 2 :] if line.startswith(" ", colon + 1) else line[colon + 1 :]
                    )
                if name != "data":
                    fields = True
                    if name == "event":
                        event = value
                    elif name == "id":
                        if "\x00" not in value:
                            id_buffer = value
                    elif name == "retry":
                        retry = _parse_retry(value)
                        if retry is not None:
                            event_retry = self._retry = retry
                    continue
            data.append(value)
            size += len(value) + 1
            if size > soft_cap:
                # Rare: a big event. The character count is only a lower bound on the UTF-8
                # size, so from here on count exactly (once in full, then per line).
                if soft_cap >= 0:
                    size = _utf8_size(data)
                    soft_cap = -1
                elif not value.isascii():
                    size += len(value.encode()) - len(value)
                if size > self._size_cap:
                    self._fail(EventTooLargeError(size - 1, self._size_limit))
                    self._last_event_id = last_id
                    return out

        self._data = data
        self._size = size
        self._cap_now = soft_cap
        self._event = event
        self._id = id_buffer
        self._last_event_id = last_id
        self._event_retry = event_retry
        self._fields = fields
        return out


def _utf8_size(data: list[str]) -> int:
    """UTF-8 size of the data buffer (each value plus its LF); ``isascii`` is O(1)."""
    return sum(len(v) if v.isascii() else len(v.encode()) for v in data) + len(data)


def _parse_retry(value: str) -> int | None:
    # Only ASCII digits count: ``str.isdigit`` alone would accept other scripts' digits.
    if not value or not value.isascii() or not value.isdigit():
        return None
    digits = value.lstrip("0")
    if len(digits) > 20:
        return None
    number = int(digits or "0")
    return number if number <= _MAX_RETRY else None


def _first_long_line(segment: bytes | bytearray, limit: int) -> int:
    """Index of the first line in ``segment`` (LF-terminated lines) longer than ``limit``."""
    start = 0
    index = 0
    find = segment.find
    while True:
        end = find(b"\n", start)
        if end < 0:
            return -1
        if end - start > limit:
            return index
        start = end + 1
        index += 1


def _line_length(segment: bytes | bytearray, index: int) -> int:
    start = 0
    for _ in range(index):
        start = segment.find(b"\n", start) + 1
    return segment.find(b"\n", start) - start
