"""Numbers of delivered events when pings share a read with them.

A background run numbers every frame, the keep-alive pings included, and ``stop_reason``,
``usage_statistics`` and ``[DONE]`` use up a number without carrying it. Pings are not handed
to the handler, so when a read holds a ping and an unnumbered frame after it, the frame's
number must count the ping. The frames come from the captured background run.
"""

from __future__ import annotations

import json

from letta_async._decode import shared_decoder
from letta_async.durable._batch import split_read
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
    from letta_async.durable._batch import Batch

    events, numbers, _ = batch
    seq_ids = (
        numbers
        if numbers is not None
        else Batch("k", "a", "r", events, after=expected[0] - 1).seq_ids
    )
    assert seq_ids == expected
