"""Numbers of delivered events when pings share a read with them.

A background run numbers every frame, the keep-alive pings included, and ``stop_reason``,
``usage_statistics`` and ``[DONE]`` use up a number without carrying it. Pings are not handed
to the handler, so when a read holds a ping and an unnumbered frame after it, the frame's
number must count the ping. The frames come from the captured background run.
"""

from __future__ import annotations

import json
from typing import Any

from letta_async._decode import shared_decoder
from letta_async.durable._batch import Batch, split_read
from tests.replay import fixture_bytes


def _frames() -> list[bytes]:
    return [
        line[len(b"data: ") :]
        for line in fixture_bytes("background_stream.sse").splitlines()
        if line.startswith(b"data: {")
    ]


def test_an_unnumbered_frame_after_a_ping_in_the_same_read_counts_the_ping() -> None:
    raw = _frames()
    first_ping = json.loads(raw[0])
    assert first_ping["message_type"] == "ping" and first_ping["seq_id"] == 1
    stop = next(r for r in raw if json.loads(r)["message_type"] == "stop_reason")
    decoder = shared_decoder()
    read = [decoder.decode(raw[0]), decoder.decode(stop)]
    batches, position, ended = split_read(read, 0, stream_position=2, max_batch=None)
    assert not ended and position == 2
    ((events, numbers, upto),) = batches
    assert [e.message_type for e in events] == ["stop_reason"]
    assert numbers == [2], "the ping used up number 1"
    assert upto == 2
    # The batch a handler gets keeps those numbers: its events alone no longer hold the ping.
    batch = Batch("k", "agent", "run-1", events, after=0, seq_ids=numbers)
    assert batch.seq_ids == [2] and batch.last_seq_id == 2
    assert [(d.event, d.idempotency_key) for d in batch.deliveries()] == [(events[0], "run-1:2")]


def test_a_read_of_numbered_frames_keeps_the_server_numbers() -> None:
    raw = _frames()
    decoder = shared_decoder()
    numbered = [
        r for r in raw if json.loads(r).get("seq_id") and json.loads(r)["message_type"] != "ping"
    ][:5]
    expected = [json.loads(r)["seq_id"] for r in numbered]
    read = [decoder.decode(r) for r in numbered]
    batches, position, _ = split_read(
        read, expected[0] - 1, stream_position=expected[-1], max_batch=None
    )
    (batch,) = batches
    assert position == expected[-1]
    events, numbers, _ = batch
    seq_ids = (
        numbers
        if numbers is not None
        else Batch("k", "a", "r", events, after=expected[0] - 1).seq_ids
    )
    assert seq_ids == expected


def _decoded(*raw: bytes) -> list[Any]:
    decoder = shared_decoder()
    return [decoder.decode(r) for r in raw]


def _ping(seq: int) -> bytes:
    """The capture's ping, as the server sends it later in a run (its own number)."""
    ping = json.loads(_frames()[0])
    ping["seq_id"] = seq
    return json.dumps(ping).encode()


def _newer(seq: object = None, **extra: object) -> bytes:
    """A frame of a kind a newer server may send; ``seq_id`` left out when None."""
    frame: dict[str, object] = {"message_type": "hologram_message", "text": "x", **extra}
    if seq is not None:
        frame["seq_id"] = seq
    return json.dumps(frame).encode()


def test_a_read_cut_by_max_batch_acknowledges_each_batch_up_to_its_own_last_number() -> None:
    """A handler with ``max_batch`` gets the read in slices; each slice is acknowledged up to
    the highest number it holds (an unnumbered frame of a newer kind in the middle does not
    change that), and the last slice up to the end of the whole read, the ping after it
    included. The numbers are the capture's: 1 is its ping, 2 to 13 carry theirs,
    ``stop_reason`` and ``usage_statistics`` use up 14 and 15."""
    raw = _frames()
    read = _decoded(*raw[:5], _newer(), *raw[5:], _ping(16))
    batches, position, ended = split_read(read, 0, stream_position=16, max_batch=3)
    assert (position, ended) == (16, False)
    numbers = [chunk for _, chunk, _ in batches]
    assert numbers == [[2, 3, 4], [5, None, 6], [7, 8, 9], [10, 11, 12], [13, 14, 15]]
    assert [upto for _, _, upto in batches] == [4, 6, 9, 12, 16]
    kinds = [[e.message_type for e in events] for events, _, _ in batches]
    assert kinds[1] == ["tool_return_message", "hologram_message", "assistant_message"]
    assert kinds[-1] == ["assistant_message", "stop_reason", "usage_statistics"]


def test_frames_of_a_newer_kind_keep_the_servers_number_when_they_carry_one() -> None:
    """A frame of an unknown kind is delivered in order: with the server's ``seq_id`` when it
    carries an integer one, else unnumbered (no idempotency key). Frames at or below the
    position the key had already reached (a replay) and pings are not delivered; a ping
    still moves the position."""
    raw = _frames()
    read = _decoded(raw[1], raw[2], _newer(4), _newer(True), _newer("5"), _ping(5), raw[5], raw[13])
    batches, position, ended = split_read(read, 2, stream_position=None, max_batch=None)
    ((events, numbers, upto),) = batches
    assert [e.message_type for e in events] == [
        "tool_call_message", "hologram_message", "hologram_message", "hologram_message",
        "assistant_message", "stop_reason",
    ]  # fmt: skip
    assert numbers == [3, 4, None, None, 6, 7]
    assert upto == position == 7 and not ended
    batch = Batch("k", "agent", "run-1", events, after=2, seq_ids=numbers, fence=3)
    assert (batch.key, batch.agent_id, batch.fence, len(batch)) == ("k", "agent", 3, 6)
    assert list(batch) == events
    keys = [d.idempotency_key for d in batch.deliveries()]
    assert keys == ["run-1:3", "run-1:4", None, None, "run-1:6", "run-1:7"]
    assert batch.last_seq_id == 7
    # The stream's own position counts only the kinds it knows (3 here); the frame of the
    # newer kind carried 4, so the key has handled up to 4 and a replay starts after it.
    read = _decoded(raw[2], _newer(4))
    batches, position, _ = split_read(read, 2, stream_position=3, max_batch=None)
    assert position == 4 and [upto for _, _, upto in batches] == [4]


def test_a_read_of_pings_or_replayed_frames_hands_nothing_over_but_moves_on() -> None:
    """Only pings, or only frames the key has handled already: no batch, the position is
    the highest number seen (never lower than where the key was)."""
    raw = _frames()
    assert split_read(_decoded(_ping(7), _ping(8)), 6, 8, None) == ([], 8, False)
    assert split_read(_decoded(raw[1], raw[2]), 5, None, 2) == ([], 5, False)
    assert split_read([], 5, 5, None) == ([], 5, False)
    keepalive = json.loads(_ping(1))
    del keepalive["seq_id"]  # a reader's own keep-alive: no number at all
    read = _decoded(json.dumps(keepalive).encode())
    assert split_read(read, 6, 6, None) == ([], 6, False)


def test_known_frames_are_numbered_however_the_read_is_cut() -> None:
    """Frames of known kinds only: handed over in slices of ``max_batch`` when one is set,
    else whole; numbered the same either way, also when the stream had no position to give."""
    raw = _frames()
    read = _decoded(*raw[1:6])  # 2 to 6
    batches, position, _ = split_read(read, 1, stream_position=6, max_batch=2)
    assert [len(events) for events, _, _ in batches] == [2, 2, 1]
    assert [upto for _, _, upto in batches] == [3, 5, 6] and position == 6
    batches, position, _ = split_read(read, 1, stream_position=None, max_batch=None)
    ((events, numbers, upto),) = batches
    assert upto == position == 6
    assert Batch("k", "a", "r", events, after=1, seq_ids=numbers).seq_ids == [2, 3, 4, 5, 6]
    batches, position, _ = split_read(read, 1, stream_position=6, max_batch=None)
    ((events, numbers, upto),) = batches
    assert upto == position == 6 and len(events) == 5
    assert Batch("k", "a", "r", events, after=1, seq_ids=numbers).seq_ids == [2, 3, 4, 5, 6]


def test_an_error_event_ends_the_read_numbered_as_the_server_logged_it() -> None:
    """The captured failed run (an LLM 500 in a background run): its ping (1) is not
    delivered, its ``stop_reason`` uses up 2 and its error event carries 3. The error event is
    delivered as the run's last event, and the read says the run ended."""
    raw = [
        line[len(b"data: ") :]
        for line in fixture_bytes("error_llm500_background.sse").splitlines()
        if line.startswith(b"data: {")
    ]
    assert [json.loads(r).get("seq_id") for r in raw] == [1, None, 3]
    batches, position, ended = split_read(_decoded(*raw), 0, stream_position=3, max_batch=None)
    ((events, numbers, upto),) = batches
    assert ended and position == upto == 3
    assert [e.message_type for e in events] == ["stop_reason", "error_message"]
    assert numbers == [2, 3]
    # The same without the ping (a resume after it): still the run's end.
    batches, position, ended = split_read(_decoded(*raw[1:]), 1, stream_position=3, max_batch=None)
    assert ended and position == 3 and [len(events) for events, _, _ in batches] == [2]
