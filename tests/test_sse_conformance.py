"""Conformance of the SSE decoder: a table of cases under many chunkings, property tests
against a literal reading of the spec, the real server captures, and large events.
"""

from __future__ import annotations

import gc
import json
import random
import tracemalloc
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from letta_async import EventTooLargeError, LineTooLongError
from letta_async.sse import ServerSentEvent, SSEDecoder

E = ServerSentEvent
FIXTURES = Path(__file__).parent / "fixtures"
MiB = 1024 * 1024


# --- a deliberately naive reference: the spec's steps, one character at a time --------------


def reference_decode(stream: bytes) -> tuple[list[E], str | None, int | None]:
    """Decode a whole stream exactly as the spec words it; no buffering tricks, no speed."""
    text = stream.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\r":
            lines.append("".join(current))
            current = []
            if text.startswith("\n", i + 1):
                i += 1
        elif char == "\n":
            lines.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    # Whatever is left in ``current`` is an unterminated line: discarded at EOF.

    events: list[E] = []
    data_buffer = ""
    event_type = ""
    id_buffer: str | None = None
    last_id: str | None = None
    block_retry: int | None = None
    retry: int | None = None
    for line in lines:
        if line == "":
            last_id = id_buffer
            if data_buffer == "":
                event_type = ""
                block_retry = None
                continue
            if data_buffer.endswith("\n"):
                data_buffer = data_buffer[:-1]
            events.append(E(event_type or "message", data_buffer, id_buffer, block_retry))
            data_buffer = ""
            event_type = ""
            block_retry = None
            continue
        if line.startswith(":"):
            continue
        if ":" in line:
            name, value = line.split(":", 1)
            if value.startswith(" "):
                value = value[1:]
        else:
            name, value = line, ""
        if name == "event":
            event_type = value
        elif name == "data":
            data_buffer += value + "\n"
        elif name == "id":
            if "\0" not in value:
                id_buffer = value
        elif name == "retry" and value and all(c in "0123456789" for c in value):
            number = int(value)
            if number < 2**64:
                block_retry = retry = number
    return events, last_id, retry


# --- chunkings --------------------------------------------------------------------------------


def split_at(stream: bytes, cuts: list[int]) -> list[bytes]:
    return [stream[a:b] for a, b in pairwise([0, *sorted(cuts), len(stream)])]


def whole(stream: bytes) -> Iterator[list[bytes]]:
    yield [stream]


def bytewise(stream: bytes) -> Iterator[list[bytes]]:
    yield [stream[i : i + 1] for i in range(len(stream))]


def every_two_way_split(stream: bytes) -> Iterator[list[bytes]]:
    for cut in range(len(stream) + 1):
        yield [stream[:cut], stream[cut:]]


def fixed_sizes(stream: bytes) -> Iterator[list[bytes]]:
    for size in (2, 3, 5, 7, 64):
        yield [stream[i : i + size] for i in range(0, len(stream), size)]


def random_splits(stream: bytes) -> Iterator[list[bytes]]:
    for seed in range(20):
        rng = random.Random(seed)
        cuts = rng.sample(range(len(stream) + 1), min(len(stream) + 1, rng.randint(1, 8)))
        yield split_at(stream, cuts)


CHUNKINGS: dict[str, Callable[[bytes], Iterator[list[bytes]]]] = {
    "whole": whole,
    "bytewise": bytewise,
    "two-way": every_two_way_split,
    "fixed": fixed_sizes,
    "random": random_splits,
}


def run(chunks: list[bytes], **limits: int) -> tuple[list[E], SSEDecoder]:
    decoder = SSEDecoder(**limits)
    events: list[E] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events, decoder


# --- the table ------------------------------------------------------------------------------
# (name, stream, events, last event id at EOF, event pending at EOF)

SPEC_FOUR_BLOCKS = (
    b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n"
)

CASES: list[tuple[str, bytes, list[E], str | None, bool]] = [
    (
        "spec: stock ticker",
        b"data: YHOO\ndata: +2\ndata: 10\n\n",
        [E(data="YHOO\n+2\n10")],
        None,
        False,
    ),
    (
        "spec: four blocks, last one unterminated",
        SPEC_FOUR_BLOCKS,
        [E(data="first event", id="1"), E(data="second event", id="")],
        "",
        True,
    ),
    (
        "spec: four blocks, all terminated",
        SPEC_FOUR_BLOCKS + b"\n",
        [
            E(data="first event", id="1"),
            E(data="second event", id=""),
            E(data=" third event", id=""),
        ],
        "",
        False,
    ),
    (
        "spec: empty data lines",
        b"data\n\ndata\ndata\n\ndata:",
        [E(data=""), E(data="\n")],
        None,
        True,
    ),
    (
        "spec: space after colon optional",
        b"data:test\n\ndata: test\n\n",
        [E(data="test")] * 2,
        None,
        False,
    ),
    ("empty stream", b"", [], None, False),
    ("blank lines only", b"\n\r\n\r", [], None, False),
    ("leading blank lines", b"\n\n\ndata: x\n\n", [E(data="x")], None, False),
    (
        "extra blank lines after frames",
        b"data: a\n\ndata: b\n\n\n\ndata: c\n\n\n",
        [E(data="a"), E(data="b"), E(data="c")],
        None,
        False,
    ),
    ("BOM", b"\xef\xbb\xbfdata: a\n\n", [E(data="a")], None, False),
    ("BOM only", b"\xef\xbb\xbf", [], None, False),
    ("BOM then blank line", b"\xef\xbb\xbf\ndata: a\n\n", [E(data="a")], None, False),
    (
        "two BOMs: the second is kept",
        b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n",
        [E(data="b")],
        None,
        False,
    ),
    ("BOM only at the start", b"data: a\n\n\xef\xbb\xbfdata: b\n\n", [E(data="a")], None, False),
    ("BOM inside data", b"data: \xef\xbb\xbfx\n\n", [E(data="\ufeffx")], None, False),
    ("data without colon", b"data\n\n", [E(data="")], None, False),
    ("data: with no space", b"data:x\n\n", [E(data="x")], None, False),
    ("two spaces after colon", b"data:  x\n\n", [E(data=" x")], None, False),
    ("tab after colon is kept", b"data:\tx\n\n", [E(data="\tx")], None, False),
    ("trailing space kept", b"data: x \n\n", [E(data="x ")], None, False),
    ("colon inside value", b"data: a:b\n\n", [E(data="a:b")], None, False),
    ("colon inside value, no space", b"data:a:b\n\n", [E(data="a:b")], None, False),
    ("colon inside event type", b"event: a:b\ndata: x\n\n", [E("a:b", "x")], None, False),
    (
        "comment between event and data",
        b"event: add\n: c\ndata: 1\n\n",
        [E("add", "1")],
        None,
        False,
    ),
    ("empty data dispatches an empty event", b"data:\n\n", [E(data="")], None, False),
    ("data ends with empty line", b"data: a\ndata:\n\n", [E(data="a\n")], None, False),
    ("event without data", b"event: foo\n\n", [], None, False),
    ("event without data resets type", b"event: foo\n\ndata: x\n\n", [E(data="x")], None, False),
    ("event type", b"event: add\ndata: 1\n\n", [E("add", "1")], None, False),
    ("last event type wins", b"event: a\nevent: b\ndata: x\n\n", [E("b", "x")], None, False),
    ("empty event type is message", b"event:\ndata: x\n\n", [E(data="x")], None, False),
    (
        "type resets after dispatch",
        b"event: add\ndata: 1\n\ndata: 2\n\n",
        [E("add", "1"), E(data="2")],
        None,
        False,
    ),
    (
        "id persists",
        b"id: 1\ndata: a\n\ndata: b\n\n",
        [E(data="a", id="1"), E(data="b", id="1")],
        "1",
        False,
    ),
    (
        "id reset by empty id",
        b"id: 1\ndata: a\n\nid\ndata: b\n\n",
        [E(data="a", id="1"), E(data="b", id="")],
        "",
        False,
    ),
    ("id-only block", b"id: 7\n\ndata: a\n\n", [E(data="a", id="7")], "7", False),
    ("id with NUL ignored", b"id: 1\n\nid: 2\x003\ndata: a\n\n", [E(data="a", id="1")], "1", False),
    ("id with two spaces", b"id:  5\ndata: x\n\n", [E(data="x", id=" 5")], " 5", False),
    (
        "id not committed without blank line",
        b"id: 1\ndata: a\n\nid: 2\n",
        [E(data="a", id="1")],
        "1",
        True,
    ),
    ("retry", b"retry: 10\ndata: x\n\n", [E(data="x", retry=10)], None, False),
    ("retry 10a", b"retry: 10a\ndata: x\n\n", [E(data="x")], None, False),
    ("retry -1", b"retry: -1\ndata: x\n\n", [E(data="x")], None, False),
    ("retry empty", b"retry:\ndata: x\n\n", [E(data="x")], None, False),
    ("retry no colon", b"retry\ndata: x\n\n", [E(data="x")], None, False),
    ("retry with spaces", b"retry:  10\ndata: x\n\n", [E(data="x")], None, False),
    ("retry-only block", b"retry: 5\n\ndata: x\n\n", [E(data="x")], None, False),
    ("CR only", b"data: a\r\rdata: b\r\r", [E(data="a"), E(data="b")], None, False),
    ("CRLF", b"data: a\r\n\r\ndata: b\r\n\r\n", [E(data="a"), E(data="b")], None, False),
    (
        "mixed line ends",
        b"data: a\r\ndata: b\ndata: c\r\r\ndata: d\n\r",
        [E(data="a\nb\nc"), E(data="d")],
        None,
        False,
    ),
    ("LF then CR", b"data: a\n\rdata: b\n\n", [E(data="a"), E(data="b")], None, False),
    ("CR CR LF", b"data: a\r\r\n", [E(data="a")], None, False),
    (
        "invalid UTF-8 then valid events",
        b"data: a\xffb\n\ndata: \xc3\x28\n\ndata: ok\n\n",
        [E(data="a\ufffdb"), E(data="\ufffd("), E(data="ok")],
        None,
        False,
    ),
    (
        "truncated sequence before LF",
        b"data: \xe2\x82\n\ndata: \xe2\x82\xac\n\n",
        [E(data="\ufffd"), E(data="€")],
        None,
        False,
    ),
    ("encoded surrogate", b"data: \xed\xa0\x80\n\n", [E(data="\ufffd\ufffd\ufffd")], None, False),
    ("overlong encoding", b"data: \xc0\xaf\n\n", [E(data="\ufffd\ufffd")], None, False),
    ("four-byte character", "data: 😀\n\n".encode(), [E(data="😀")], None, False),
    ("invalid bytes in field name", b"da\xffta: x\n\n", [], None, False),
    ("NUL in data", b"data: a\x00b\n\n", [E(data="a\x00b")], None, False),
    (
        "other line breaks are not line ends",
        "data: a\x0bb\x0cc\x1cd\x85e\u2028f\u2029g\n\n".encode(),
        [E(data="a\x0bb\x0cc\x1cd\x85e\u2028f\u2029g")],
        None,
        False,
    ),
    ("unterminated last event", b"data: a\n\ndata: b", [E(data="a")], None, True),
    ("last event without blank line", b"data: a\n\ndata: b\n", [E(data="a")], None, True),
    ("comment-only stream", b": hello\n: world\n\n:\n", [], None, False),
    ("unterminated comment", b": hel", [], None, True),
    ("comment between data lines", b"data: a\n: c\ndata: b\n\n", [E(data="a\nb")], None, False),
    ("unknown field", b"foo: bar\ndata: x\n\n", [E(data="x")], None, False),
    ("unknown field only", b"foo: bar\n\n", [], None, False),
    ("field names are case sensitive", b"Data: x\nDATA: y\n\n", [], None, False),
    ("DATA after a frame is unknown", b"data: a\n\nDATA: b\n\n", [E(data="a")], None, False),
    ("leading space in field name", b" data: x\n\n", [], None, False),
    (
        "letta error frame",
        b'data: {"a":1}\n\nevent: error\ndata: {"message_type":"error_message"}\n\n'
        b"data: [DONE]\n\n",
        [E(data='{"a":1}'), E("error", '{"message_type":"error_message"}'), E(data="[DONE]")],
        None,
        False,
    ),
]


@pytest.mark.parametrize("chunking", list(CHUNKINGS))
@pytest.mark.parametrize(
    ("stream", "expected", "last_id", "pending"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_case(
    stream: bytes, expected: list[E], last_id: str | None, pending: bool, chunking: str
) -> None:
    for chunks in CHUNKINGS[chunking](stream):
        events, decoder = run(chunks)
        assert events == expected, chunks
        assert decoder.last_event_id == last_id
        assert decoder.pending is pending
        assert decoder.close() == []


@pytest.mark.parametrize(("stream", "expected", "last_id"), [(c[1], c[2], c[3]) for c in CASES])
def test_reference_agrees_with_the_table(
    stream: bytes, expected: list[E], last_id: str | None
) -> None:
    # Guards the property tests below: the oracle they trust must pass the same table.
    events, reference_last_id, _ = reference_decode(stream)
    assert (events, reference_last_id) == (expected, last_id)


# --- properties -----------------------------------------------------------------------------

# Pieces that make the interesting situations likely: field names, colons, spaces, every kind
# of line end, a BOM, invalid and multi-byte UTF-8, NUL, digits.
TOKENS = [
    b"data",
    b"data:",
    b"data: ",
    b"event",
    b"event: ",
    b"id: ",
    b"id",
    b"retry: ",
    b"retry:",
    b":",
    b" ",
    b"\n",
    b"\n",
    b"\r",
    b"\r\n",
    b"\xef\xbb\xbf",
    b"\xef",
    b"\xff",
    "é".encode(),
    "😀".encode(),
    b"\x00",
    b"x",
    b"12",
    b"-",
    b"{}",
]

# Whole frames and pieces of frames, so that runs of ``data: <json>`` frames (the decoder's
# fast path) meet everything that must interrupt such a run.
FRAMES = [
    b'data: {"a":1}\n\n',
    b'data: {"b":"\xc3\xa9\xf0\x9f\x98\x80"}\n\n',
    b"data: \n\n",
    b"data: data: x\n\n",
    b"data: [DONE]\n\n",
    b"data:x\n\n",
    b"data: a\ndata: b\n\n",
    b"event: error\ndata: {}\n\n",
    b": ping\n",
    b"id: 7\n",
    b"retry: 5\n",
    b"data: half",
    b"data: y\n",
    b"\n",
    b"\r\n",
    b"data: c\r\n\r\n",
    b"data: \xff\n\n",
]

streams = st.one_of(
    st.lists(st.sampled_from(TOKENS), max_size=60).map(b"".join),
    st.lists(st.sampled_from(FRAMES), max_size=30).map(b"".join),
    st.binary(max_size=200),
)


@st.composite
def stream_and_chunks(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    stream = draw(streams)
    cuts = draw(st.lists(st.integers(0, len(stream)), max_size=12))
    return stream, split_at(stream, cuts)


@given(stream_and_chunks())
@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
def test_any_chunking_matches_the_whole_stream_and_the_spec(
    case: tuple[bytes, list[bytes]],
) -> None:
    stream, chunks = case
    split_events, split_decoder = run(chunks)
    whole_events, whole_decoder = run([stream])
    events, last_id, retry = reference_decode(stream)
    assert split_events == whole_events == events
    assert split_decoder.last_event_id == whole_decoder.last_event_id == last_id
    assert split_decoder.retry == whole_decoder.retry == retry
    assert split_decoder.pending is whole_decoder.pending


@given(stream_and_chunks(), st.integers(1, 40), st.integers(1, 40))
@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
def test_random_bytes_raise_nothing_but_limit_errors_whatever_the_chunking(
    case: tuple[bytes, list[bytes]], max_event_size: int, max_line_length: int
) -> None:
    stream, chunks = case
    outcomes = []
    for pieces in (chunks, [stream], [stream[i : i + 1] for i in range(len(stream))]):
        decoder = SSEDecoder(max_event_size=max_event_size, max_line_length=max_line_length)
        events: list[E] = []
        error: type[Exception] | None = None
        try:
            for piece in pieces:
                events += decoder.feed(piece)
            events += decoder.close()
        except (EventTooLargeError, LineTooLongError) as exc:
            error = type(exc)
        outcomes.append((events, error))
    # Same events before the error, and the same error, however the bytes were split.
    assert outcomes[0] == outcomes[1] == outcomes[2]
    if outcomes[0][1] is None:
        assert outcomes[0][0] == reference_decode(stream)[0]


# --- real server captures -----------------------------------------------------------------

SSE_FIXTURES = sorted(FIXTURES.glob("*.sse"))


def test_there_are_captures_to_check() -> None:
    assert len(SSE_FIXTURES) >= 10


@pytest.mark.parametrize("path", SSE_FIXTURES, ids=lambda p: p.name)
def test_server_capture_decodes_the_same_whole_and_bytewise(path: Path) -> None:
    stream = path.read_bytes()
    whole_events, whole_decoder = run([stream])
    bytewise_events, bytewise_decoder = run([stream[i : i + 1] for i in range(len(stream))])
    assert whole_events == bytewise_events
    blocks = [block for block in stream.split(b"\n\n") if b"\ndata:" in b"\n" + block]
    assert len(whole_events) == len(blocks)
    assert not whole_decoder.pending
    assert not bytewise_decoder.pending
    for event in whole_events:
        assert event.event in ("message", "error")
        assert event.data == "[DONE]" or isinstance(json.loads(event.data), dict)


# --- large events ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1 * MiB, 4 * MiB, 16 * MiB])
def test_large_one_line_event_in_16_kib_chunks(size: int) -> None:
    payload = (b'{"content":"' + b"abcdefghijklmnopqrstuvwxyz0123456789" * size)[: size - 2] + b'"}'
    stream = b"data: {}\n\ndata: " + payload + b"\n\ndata: {}\n\n"
    step = 16 * 1024
    events, decoder = run([stream[i : i + step] for i in range(0, len(stream), step)])
    assert len(events) == 3
    assert events[1].data == payload.decode()
    assert len(events[1].data) == size
    assert not decoder.pending


BIG = 70_000  # over the size from which frames are decoded straight from the buffer

BIG_STREAMS = {
    "one big frame": b"data: " + b"x" * BIG + b"\n\n",
    "big frames in a row": (b"data: " + b"x" * BIG + b"\n\n") * 3 + b"data: [DONE]\n\n",
    "big non-ASCII and invalid": b"data: " + "é😀".encode() * (BIG // 6) + b"\xff\xc3\n\n",
    "big then mixed": b"data: "
    + b"y" * BIG
    + b"\n\nevent: error\ndata: {}\n\n: c\ndata: a\ndata: b\n\nid: 3\ndata: z\n\n",
    "big CRLF": b"data: " + b"w" * BIG + b"\r\n\r\ndata: v\r\n\r\n",
    "big unterminated": b"data: " + b"u" * BIG + b"\n",
    "big multi-line": (b"data: " + b"m" * 999 + b"\n") * 100 + b"\n",
    "big after an id": b"id: 9\n\ndata: " + b"k" * BIG + b"\n\ndata: q\n\n",
    # A big line that ends an event begun earlier (a data line, an event type) belongs to it.
    "big line ending a multi-line event": b"data: a\ndata: " + b"j" * BIG + b"\n\n",
    "big frame after an event line": b"event: big\ndata: " + b"t" * BIG + b"\n\n",
    # What follows a big frame is read line by line from the frame's end, whatever it is.
    "big comment after a big frame": b"data: " + b"p" * BIG + b"\n\n: " + b"c" * BIG + b"\n\n",
    "big frame ending in id": b"data: " + b"r" * BIG + b"id\n\ndata: after\n\n",
    "big then DATA": b"data: " + b"d" * BIG + b"\n\nDATA: no\n\ndata: yes\n\n",
    "big then invalid UTF-8": b"data: " + b"s" * BIG + b"\n\ndata: \xff\xc3(\n\n",
}


@pytest.mark.parametrize("stream", BIG_STREAMS.values(), ids=list(BIG_STREAMS))
def test_big_frames_decode_the_same_whatever_the_path(stream: bytes) -> None:
    expected, last_id, _ = reference_decode(stream)
    for size in (len(stream), 16 * 1024, 4099, 7):
        events, decoder = run([stream[i : i + size] for i in range(0, len(stream), size)])
        assert events == expected, size
        assert decoder.last_event_id == last_id


@pytest.mark.parametrize(
    ("count", "step"),
    [(1, 64 * 1024), (2, None)],
    ids=["one frame in 64 KiB reads", "two frames in one read"],
)
def test_big_one_line_events_cost_two_copies_in_all(count: int, step: int | None) -> None:
    # Decoding is the client's hot path: a 4 MiB frame is joined once from the pieces it came
    # in and decoded once, never copied again through a text, its lines and their slices.
    # Two copies: the joined buffer and the event's data, or two events' data from one read.
    size = 4 * MiB
    stream = (b"data: " + b"x" * size + b"\n\n") * count
    # Each piece is made afresh, as reads are; a single read is the caller's own buffer.
    reads = (stream[i : i + step] for i in range(0, len(stream), step)) if step else [stream]
    decoder = SSEDecoder()
    events: list[E] = []
    gc.collect()
    tracemalloc.start()
    try:
        for read in reads:
            events += decoder.feed(read)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [len(event.data) for event in events] == [size] * count
    assert peak < 2.5 * size


def test_big_frame_over_the_limit_comes_after_the_frames_before_it() -> None:
    decoder = SSEDecoder(max_event_size=BIG, max_line_length=10 * BIG)
    ok = b"data: " + b"a" * BIG + b"\n\n"
    too_big = b"data: " + b"b" * (BIG + 1) + b"\n\n"
    assert decoder.feed(ok + too_big + ok) == [E(data="a" * BIG)]
    with pytest.raises(EventTooLargeError) as info:
        decoder.feed(b"")
    assert (info.value.size, info.value.limit) == (BIG + 1, BIG)


def test_big_frame_limit_counts_utf8_bytes() -> None:
    frame = b"data: " + "é".encode() * BIG + b"\n\n"  # BIG characters, 2 * BIG bytes
    with pytest.raises(EventTooLargeError):
        SSEDecoder(max_event_size=BIG + 10, max_line_length=10 * BIG).feed(frame)
    events = SSEDecoder(max_event_size=2 * BIG, max_line_length=10 * BIG).feed(frame)
    assert events == [E(data="é" * BIG)]


def test_large_multi_line_event_in_16_kib_chunks() -> None:
    line = b"data: " + b"y" * 1000 + b"\n"
    count = 4 * MiB // 1001
    stream = line * count + b"\n"
    step = 16 * 1024
    events, _ = run([stream[i : i + step] for i in range(0, len(stream), step)])
    assert events == [E(data="\n".join(["y" * 1000] * count))]


def test_event_just_over_the_default_limit_is_refused() -> None:
    decoder = SSEDecoder()
    step = 16 * 1024
    stream = b"data: " + b"z" * (16 * MiB + 1) + b"\n\n"
    with pytest.raises(LineTooLongError):
        for i in range(0, len(stream), step):
            decoder.feed(stream[i : i + step])


def test_many_line_event_over_the_limit_is_refused() -> None:
    decoder = SSEDecoder(max_event_size=MiB)
    line = b"data: " + b"y" * 1000 + b"\n"
    with pytest.raises(EventTooLargeError) as info:
        for _ in range(MiB // 1000 + 1):
            decoder.feed(line)
    assert info.value.limit == MiB
    assert info.value.size > MiB
