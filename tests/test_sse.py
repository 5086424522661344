"""One test per rule of the event stream interpretation, plus the decoder's own contract.

Each rule test states the rule it checks; streams are short and fed in the chunking that
exercises the rule (the conformance suite replays every case under many chunkings).
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterable

import msgspec
import pytest

from letta_async import EventTooLargeError, LineTooLongError, SSEError
from letta_async.sse import DEFAULT_MAX_EVENT_SIZE, ServerSentEvent, SSEDecoder

E = ServerSentEvent


def feed_all(chunks: Iterable[bytes], decoder: SSEDecoder | None = None) -> list[E]:
    decoder = decoder or SSEDecoder()
    events: list[E] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    events += decoder.close()
    return events


def decode(stream: bytes) -> list[E]:
    return feed_all([stream])


def bytewise(stream: bytes) -> list[bytes]:
    return [stream[i : i + 1] for i in range(len(stream))]


# --- the event struct ---------------------------------------------------------------------


def test_event_defaults_follow_the_spec() -> None:
    assert E() == E(event="message", data="", id=None, retry=None)


def test_event_equality_hash_and_repr() -> None:
    a = E("add", "x", "1", 5)
    assert a == E(event="add", data="x", id="1", retry=5)
    assert a != E("add", "x", "2", 5)
    assert hash(a) == hash(E("add", "x", "1", 5))
    assert repr(a) == "ServerSentEvent(event='add', data='x', id='1', retry=5)"


def test_event_is_immutable() -> None:
    with pytest.raises(AttributeError):
        E().data = "x"  # type: ignore[misc]


def test_event_is_a_msgspec_struct() -> None:
    assert msgspec.json.decode(msgspec.json.encode(E("e", "d", "i", 3)), type=E) == E(
        "e", "d", "i", 3
    )


# --- decoding: UTF-8 and the byte order mark ------------------------------------------------


def test_invalid_utf8_becomes_replacement_character_never_an_error() -> None:
    # Rule: the stream is decoded as UTF-8 with errors replaced by U+FFFD.
    assert decode(b"data: a\xffb\xc0\n\n") == [E(data="a\ufffdb\ufffd")]


def test_replacement_follows_maximal_subparts() -> None:
    # A truncated sequence is one U+FFFD; an encoded surrogate is three (one per byte).
    assert decode(b"data: \xe2\x82\n\ndata: \xed\xa0\x80\n\n") == [
        E(data="\ufffd"),
        E(data="\ufffd\ufffd\ufffd"),
    ]


@pytest.mark.parametrize("char", ["é", "€", "😀"])
def test_multibyte_character_split_across_feeds(char: str) -> None:
    stream = f"data: {char}\n\n".encode()
    start = len(b"data: ")
    for cut in range(start + 1, start + len(char.encode())):
        assert feed_all([stream[:cut], stream[cut:]]) == [E(data=char)]
    assert feed_all(bytewise(stream)) == [E(data=char)]


def test_invalid_bytes_split_across_feeds_decode_as_if_whole() -> None:
    stream = b"data: \xe2\x82\xffz\n\n"
    assert feed_all(bytewise(stream)) == decode(stream) == [E(data="\ufffd\ufffdz")]


def test_one_leading_bom_is_stripped() -> None:
    assert decode(b"\xef\xbb\xbfdata: a\n\n") == [E(data="a")]


def test_bom_split_across_feeds_is_stripped() -> None:
    stream = b"\xef\xbb\xbfdata: a\n\n"
    assert feed_all([b"", b"\xef", b"\xbb", b"\xbfdata: a\n\n"]) == [E(data="a")]
    assert feed_all([stream[:2], stream[2:]]) == [E(data="a")]


def test_only_one_bom_is_stripped() -> None:
    # The second U+FEFF is part of the first line: field "\ufeffdata" is unknown.
    assert decode(b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n") == [E(data="b")]


def test_bom_after_the_start_is_not_stripped() -> None:
    assert decode(b"data: a\n\n\xef\xbb\xbfdata: b\n\n") == [E(data="a")]
    assert decode(b"data: \xef\xbb\xbf\n\n") == [E(data="\ufeff")]


def test_partial_bom_is_ordinary_invalid_data() -> None:
    assert feed_all([b"\xef\xbb", b"data: a\n\n"]) == []
    assert feed_all([b"\xef", b"\xbbdata: a\n\ndata: b\n\n"]) == [E(data="b")]


# --- lines ----------------------------------------------------------------------------------


@pytest.mark.parametrize("end", [b"\n", b"\r", b"\r\n"])
def test_cr_lf_and_crlf_each_end_a_line(end: bytes) -> None:
    stream = b"data: a" + end + b"data: b" + end + end
    assert decode(stream) == [E(data="a\nb")]


def test_crlf_split_across_feeds_counts_once() -> None:
    assert feed_all([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]) == [E(data="a\nb")]


def test_cr_at_end_of_feed_followed_by_other_bytes() -> None:
    assert feed_all([b"data: a\r", b"\r", b"data: b\r", b"", b"\r"]) == [
        E(data="a"),
        E(data="b"),
    ]


def test_lf_then_cr_are_two_line_ends() -> None:
    assert decode(b"data: a\n\rdata: b\n\n") == [E(data="a"), E(data="b")]


def test_other_unicode_line_breaks_are_not_line_ends() -> None:
    text = "a\x0bb\x0cc\x1cd\x1de\x1ef\x85g\u2028h\u2029i"
    assert decode(f"data: {text}\n\n".encode()) == [E(data=text)]


def test_comment_lines_are_ignored() -> None:
    assert decode(b": hello\ndata: a\n:\n: data: no\n\n") == [E(data="a")]


def test_line_without_colon_is_a_field_name_with_empty_value() -> None:
    assert decode(b"data\n\n") == [E(data="")]
    assert decode(b"event\ndata: x\n\n") == [E(data="x")]


def test_exactly_one_space_after_the_colon_is_stripped() -> None:
    assert decode(b"data:a\n\ndata: a\n\ndata:  a\n\ndata:\ta\n\n") == [
        E(data="a"),
        E(data="a"),
        E(data=" a"),
        E(data="\ta"),
    ]


def test_value_keeps_later_colons_and_trailing_spaces() -> None:
    assert decode(b"data: a: b :\ndata: c \n\n") == [E(data="a: b :\nc ")]


def test_unknown_fields_are_ignored() -> None:
    assert decode(b"foo: bar\ndata: a\nDATA: b\n data: c\n\n") == [E(data="a")]
    assert decode(b"foo: bar\n\n") == []


# --- fields ---------------------------------------------------------------------------------


def test_event_field_sets_the_type() -> None:
    assert decode(b"event: add\ndata: 1\n\n") == [E("add", "1")]


def test_empty_event_field_means_message() -> None:
    assert decode(b"event:\ndata: 1\n\n") == [E("message", "1")]


def test_id_containing_nul_is_ignored() -> None:
    decoder = SSEDecoder()
    events = feed_all([b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n"], decoder)
    assert events == [E(data="a", id="1"), E(data="b", id="1")]
    assert decoder.last_event_id == "1"


def test_empty_id_resets_the_last_event_id() -> None:
    assert decode(b"id: 1\ndata: a\n\nid\ndata: b\n\nid:\ndata: c\n\n") == [
        E(data="a", id="1"),
        E(data="b", id=""),
        E(data="c", id=""),
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"retry: 10", 10),
        (b"retry:7", 7),
        (b"retry: 007", 7),
        (b"retry: 0", 0),
        # Base ten whatever the leading zeros: the value, not the digit count, must fit.
        (b"retry: " + b"0" * 30 + b"10", 10),
        (b"retry: 18446744073709551615", 2**64 - 1),
        (b"retry: 18446744073709551616", None),
        (b"retry: " + b"9" * 5000, None),
        (b"retry: 10a", None),
        (b"retry: -1", None),
        (b"retry: +1", None),
        (b"retry: 1.5", None),
        (b"retry:  10", None),
        (b"retry: 10 ", None),
        (b"retry:", None),
        (b"retry", None),
        ("retry: ٣".encode(), None),
        ("retry: ²".encode(), None),
    ],
)
def test_retry_is_used_only_when_all_ascii_digits(line: bytes, expected: int | None) -> None:
    decoder = SSEDecoder()
    assert feed_all([line + b"\ndata: x\n\n"], decoder) == [E(data="x", retry=expected)]
    assert decoder.retry == expected


def test_retry_takes_effect_without_an_event() -> None:
    decoder = SSEDecoder()
    assert feed_all([b"retry: 5\n\ndata: x\n\nretry: oops\n\n"], decoder) == [E(data="x")]
    assert decoder.retry == 5


# --- dispatch -------------------------------------------------------------------------------


def test_dispatch_happens_only_on_a_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\ndata: b\n") == []
    assert decoder.feed(b"\n") == [E(data="a\nb")]


def test_block_without_data_dispatches_nothing_but_commits_its_id() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"event: foo\nid: 7\n\n") == []
    assert decoder.last_event_id == "7"
    assert decoder.feed(b"data: a\n\n") == [E(data="a", id="7")]


def test_id_is_committed_only_at_the_blank_line() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"id: 1\n")
    assert decoder.last_event_id is None
    decoder.feed(b"\n")
    assert decoder.last_event_id == "1"


def test_empty_data_dispatch_resets_the_event_type() -> None:
    assert decode(b"event: foo\n\ndata: x\n\n") == [E("message", "x")]


def test_trailing_lf_of_data_is_removed_once() -> None:
    assert decode(b"data\ndata\n\ndata: a\ndata:\n\n") == [E(data="\n"), E(data="a\n")]


def test_data_lines_are_joined_with_lf() -> None:
    assert decode(b"data: YHOO\ndata: +2\ndata: 10\n\n") == [E(data="YHOO\n+2\n10")]


def test_last_event_id_persists_across_events() -> None:
    assert decode(b"id: 1\ndata: a\n\ndata: b\n\nevent: x\ndata: c\n\n") == [
        E(data="a", id="1"),
        E(data="b", id="1"),
        E("x", "c", "1"),
    ]


def test_event_type_resets_to_message_after_each_dispatch() -> None:
    assert decode(b"event: add\ndata: 1\n\ndata: 2\n\n") == [E("add", "1"), E("message", "2")]


def test_event_retry_belongs_to_its_own_block() -> None:
    assert decode(b"retry: 3\ndata: a\n\ndata: b\n\n") == [E(data="a", retry=3), E(data="b")]


def test_nul_in_data_is_kept() -> None:
    assert decode(b"data: a\x00b\n\n") == [E(data="a\x00b")]


# --- end of stream --------------------------------------------------------------------------


def test_unterminated_final_event_is_discarded_and_reported() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\ndata: b") == [E(data="a")]
    assert decoder.pending
    assert decoder.close() == []
    assert decoder.pending  # still describes the stream that was closed


@pytest.mark.parametrize(
    ("stream", "pending"),
    [
        (b"", False),
        (b"data: a\n\n", False),
        (b": keepalive\n", False),
        (b": keepal", True),
        (b"data: a\n", True),
        (b"data: a\n\ndat", True),
        (b"event: x\n", True),
        (b"id: 1\n", True),
        (b"retry: 1\n", True),
        (b"foo\n", True),
        (b"\xef\xbb", True),
        (b"\xef\xbb\xbf", False),
        (b"data: a\r", True),
        (b"data: a\n\r", False),
    ],
)
def test_pending_tells_whether_an_event_was_cut_off(stream: bytes, pending: bool) -> None:
    for chunks in ([stream], bytewise(stream)):
        decoder = SSEDecoder()
        for chunk in chunks:
            decoder.feed(chunk)
        assert decoder.pending is pending
        decoder.close()
        assert decoder.pending is pending


def test_feeding_after_close_starts_a_new_stream() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"retry: 9\nid: 4\ndata: a\n\ndata: cut")
    decoder.close()
    events = decoder.feed(b"\xef\xbb\xbfdata: b\n\n")
    assert events == [E(data="b", id="4")]
    assert decoder.last_event_id == "4"
    assert decoder.retry == 9
    assert not decoder.pending


def test_pending_describes_the_new_stream_after_a_reconnection() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: a\n\n")
    decoder.close()
    assert not decoder.pending
    decoder.feed(b"data: cut")  # the reconnection's stream, cut off too
    assert decoder.pending
    decoder.close()
    assert decoder.pending
    decoder.feed(b"data: b\n\n")
    assert not decoder.pending
    decoder.close()
    assert not decoder.pending


@pytest.mark.parametrize("before", [b"", b"data: a\n\n"], ids=["stream start", "mid-stream"])
def test_bytearray_chunks_are_copied_not_referenced(before: bytes) -> None:
    # A reader may reuse its buffer for the next read, at the start of the stream or later.
    decoder = SSEDecoder()
    events = decoder.feed(before)
    buffer = bytearray(b"data: abc")
    events += decoder.feed(buffer)
    buffer[:] = b"XXXXXXXXX"
    events += decoder.feed(b"\n\n")
    assert events == [*decode(before), E(data="abc")]


def test_cr_ended_lines_are_complete_in_the_feed_that_ends_them() -> None:
    # A CR ends a line at once, even with the start of the next line behind it in the chunk.
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r\rdata: b") == [E(data="a")]
    assert decoder.feed(b"\r\rdata: c\r") == [E(data="b")]
    assert decoder.feed(b"\r") == [E(data="c")]


# --- limits ---------------------------------------------------------------------------------


def test_limits_must_be_positive() -> None:
    message = "^max_event_size and max_line_length must be positive$"
    with pytest.raises(ValueError, match=message):
        SSEDecoder(max_event_size=0)
    with pytest.raises(ValueError, match=message):
        SSEDecoder(max_line_length=0)


def test_the_smallest_positive_limits_are_accepted_and_enforced() -> None:
    decoder = SSEDecoder(max_event_size=1, max_line_length=100)
    assert decoder.feed(b"data: a\n\n") == [E(data="a")]
    with pytest.raises(EventTooLargeError):
        decoder.feed(b"data: ab\n\n")
    decoder = SSEDecoder(max_line_length=1)
    assert decoder.feed(b":\n\n") == []
    with pytest.raises(LineTooLongError):
        decoder.feed(b"::\n")


def test_line_limit_counts_each_line_afresh_however_the_last_one_was_split() -> None:
    decoder = SSEDecoder(max_line_length=8)
    assert decoder.feed(b"data") == []
    assert decoder.feed(b": a\n") == []  # the split line completes at the chunk's end
    assert decoder.feed(b"data: ab") == []  # 8 bytes: at the limit
    assert decoder.feed(b"\n\n") == [E(data="a\nab")]


def test_a_partial_line_after_a_line_end_is_held_to_the_same_limit() -> None:
    decoder = SSEDecoder(max_line_length=8)
    assert decoder.feed(b"data: a\n\ndata: ab") == [E(data="a")]  # 8 bytes left: at the limit
    assert decoder.feed(b"\n\n") == [E(data="ab")]
    assert decoder.feed(b"data: c\n\n: 3456789") == [E(data="c")]  # 9 bytes left: over
    with pytest.raises(LineTooLongError) as info:
        decoder.close()
    assert (info.value.size, info.value.limit) == (9, 8)


def test_default_line_limit_fits_a_one_line_event_of_the_maximum_size() -> None:
    decoder = SSEDecoder(max_event_size=10)
    assert decoder.feed(b"data: 0123456789\n\n") == [E(data="0123456789")]
    with pytest.raises(LineTooLongError):
        decoder.feed(b"data: 0123456789A")


def test_line_too_long_without_a_line_end_raises() -> None:
    decoder = SSEDecoder(max_line_length=8)
    assert decoder.feed(b"data: ab") == []  # 8 bytes: at the limit
    with pytest.raises(LineTooLongError) as info:
        decoder.feed(b"c")
    assert (info.value.size, info.value.limit) == (9, 8)
    assert isinstance(info.value, SSEError)


def test_complete_line_too_long_raises_too() -> None:
    # The verdict must not depend on whether the line arrived in one piece.
    with pytest.raises(LineTooLongError):
        SSEDecoder(max_line_length=8).feed(b": 34567890\n\n")
    with pytest.raises(LineTooLongError):
        SSEDecoder(max_line_length=8).feed(b": 3456789\n")  # one byte over, alone
    assert SSEDecoder(max_line_length=8).feed(b": 345678\n\n") == []


@pytest.mark.parametrize(
    ("stream", "before", "size"),
    [
        (b": 3456789012\n", [], 12),
        (b": 3456789012\r\n", [], 12),
        (b"\n: 34567890123\n", [], 13),
        (b"data: a\n\n: 3456789012\n\n", [E(data="a")], 12),
        (b"data: a\n\n:\n: 345678901234\ndata: b\n\n", [E(data="a")], 14),
        (b"data: \xff\n\n: 3456789012\n", [E(data="\ufffd")], 12),
    ],
)
def test_complete_line_too_long_reports_its_own_length(
    stream: bytes, before: list[E], size: int
) -> None:
    # A line that arrived whole is measured exactly (line end excluded), wherever it sits
    # in the chunk; the events before it come first.
    decoder = SSEDecoder(max_line_length=8)
    events: list[E] = []
    with pytest.raises(LineTooLongError) as info:
        events += decoder.feed(stream)
        events += decoder.close()
    assert events == before
    assert (info.value.size, info.value.limit) == (size, 8)


def test_line_limit_excludes_the_line_end() -> None:
    decoder = SSEDecoder(max_line_length=7)
    assert decoder.feed(b"data: a\r\n\r\n") == [E(data="a")]


def test_event_too_large_raises() -> None:
    decoder = SSEDecoder(max_event_size=10, max_line_length=100)
    assert decoder.feed(b"data: 0123456789\n\n") == [E(data="0123456789")]
    with pytest.raises(EventTooLargeError) as info:
        decoder.feed(b"data: 0123456789A\n\n")
    assert (info.value.size, info.value.limit) == (11, 10)


def test_event_size_adds_up_data_lines_and_their_joining_lf() -> None:
    decoder = SSEDecoder(max_event_size=10, max_line_length=100)
    assert decoder.feed(b"data: 01234\ndata: 5678\n\n") == [E(data="01234\n5678")]
    with pytest.raises(EventTooLargeError):
        decoder.feed(b"data: 01234\ndata: 56789\n\n")


def test_event_size_is_counted_in_utf8_bytes() -> None:
    # Five characters, ten bytes.
    assert SSEDecoder(max_event_size=10).feed("data: ééééé\n\n".encode()) == [E(data="ééééé")]
    with pytest.raises(EventTooLargeError):
        SSEDecoder(max_event_size=9, max_line_length=100).feed("data: ééééé\n\n".encode())


def test_event_size_counts_four_byte_characters_in_full() -> None:
    decoder = SSEDecoder(max_event_size=20, max_line_length=100)
    assert decoder.feed("data: 😀😀😀😀😀\n\n".encode()) == [E(data="😀" * 5)]
    with pytest.raises(EventTooLargeError) as info:
        decoder.feed("data: 😀😀😀😀😀😀\n\n".encode())
    assert info.value.size == 24


def test_event_size_counts_each_replacement_character_as_three_bytes() -> None:
    # Six invalid bytes become six U+FFFD: 18 bytes of data from a 14-byte frame.
    with pytest.raises(EventTooLargeError) as info:
        SSEDecoder(max_event_size=14, max_line_length=100).feed(b"data: " + b"\xff" * 6 + b"\n\n")
    assert info.value.size == 18


def test_event_size_in_utf8_bytes_across_many_lines() -> None:
    # Past a quarter of the limit the count turns exact; later non-ASCII lines must still
    # be counted in bytes, not characters.
    lines = b"data: 012345678901\n" + "data: éééééééééééé\n".encode()
    decoder = SSEDecoder(max_event_size=40)
    assert decoder.feed(lines + b"\n") == [E(data="012345678901\n" + "é" * 12)]
    with pytest.raises(EventTooLargeError) as info:
        decoder.feed(lines + "data: ééé\n\n".encode())
    assert info.value.size == 12 + 1 + 24 + 1 + 6


def test_event_size_is_counted_per_event() -> None:
    decoder = SSEDecoder(max_event_size=10)
    events = decoder.feed(b"data: 0123456789\n\n" * 50)
    assert len(events) == 50


def test_events_before_the_error_are_returned_then_the_error_raised() -> None:
    decoder = SSEDecoder(max_event_size=4, max_line_length=100)
    assert decoder.feed(b"data: a\n\ndata: b\n\ndata: too long\n\ndata: c\n\n") == [
        E(data="a"),
        E(data="b"),
    ]
    with pytest.raises(EventTooLargeError):
        decoder.feed(b"data: d\n\n")


def test_last_event_id_survives_an_event_too_large() -> None:
    # A client resumes from the last event ID after the error: it must be the last one
    # committed, not forgotten with the refused event.
    decoder = SSEDecoder(max_event_size=4, max_line_length=100)
    assert decoder.feed(b"id: 5\ndata: a\n\nid: 6\ndata: too long\n\n") == [E(data="a", id="5")]
    assert decoder.last_event_id == "5"
    with pytest.raises(EventTooLargeError):
        decoder.close()
    assert decoder.last_event_id == "5"


@pytest.mark.timeout(30)
def test_an_event_of_many_short_lines_decodes_in_linear_time() -> None:
    # Past a quarter of the limit the size is counted exactly once, then line by line: a
    # server sending half a million empty data lines must not make every line a recount.
    count = 500_000
    decoder = SSEDecoder(max_event_size=1024 * 1024)
    assert decoder.feed(b"data:\n" * count + b"\n") == [E(data="\n" * (count - 1))]


def test_pending_error_surfaces_at_close() -> None:
    decoder = SSEDecoder(max_line_length=8)
    assert decoder.feed(b"data: a\n\n: 3456789") == [E(data="a")]
    assert decoder.pending
    with pytest.raises(LineTooLongError):
        decoder.close()


def test_failed_decoder_keeps_raising_fresh_errors() -> None:
    decoder = SSEDecoder(max_line_length=4)
    errors = []
    with pytest.raises(LineTooLongError) as info:
        decoder.feed(b": 34567")
    errors.append(info.value)
    with pytest.raises(LineTooLongError) as info:
        decoder.feed(b"\n\n")
    errors.append(info.value)
    with pytest.raises(LineTooLongError) as info:
        decoder.close()
    errors.append(info.value)
    assert errors[0] is not errors[1]
    assert [(e.size, e.limit) for e in errors] == [(7, 4)] * 3


@pytest.mark.parametrize("kind", ["line", "event"])
def test_failed_decoder_does_not_hold_the_big_buffer(kind: str) -> None:
    limit = 4 * 1024 * 1024
    piece = b"x" * 65536 if kind == "line" else b"data: " + b"x" * 65530 + b"\n"
    decoder = SSEDecoder(max_event_size=limit, max_line_length=limit)
    gc.collect()
    tracemalloc.start()
    try:
        with pytest.raises(SSEError):
            for _ in range(2 * limit // len(piece)):
                decoder.feed(bytearray(piece))  # a new object each time, as from a socket
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak > limit // 2  # it did buffer up to the limit...
    assert current < 256 * 1024  # ...and let go of it when it failed


def test_default_limits_are_sixteen_mib() -> None:
    assert DEFAULT_MAX_EVENT_SIZE == 16 * 1024 * 1024
