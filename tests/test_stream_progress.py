"""Progress handed out in bulk, and a resumable send on a server without Redis.

* ``take_ready()`` and ``take_ready_numbered()`` move ``last_seq_id`` exactly as
  ``__anext__`` would: to the number of the last event handed over.
* A ``resumable=True`` send answered "Background streaming requires Redis" is sent again as a
  plain stream (README), which cannot be resumed: a break is a truncation, and no resume
  request goes to the run.

Frames are the server's captures (``background_replay_full.sse``, ``stream_steps.sse``, the
503 body of ``errors_503_background_without_redis.json``).
"""

from __future__ import annotations

import anyio
import pytest

from letta_async import AsyncLetta, StreamResumeError, StreamTruncatedError

from .replay import ReplayServer, fixture_bytes, json_answer, sse_answer
from .test_final_position import FULL, RUN, STREAM

pytestmark = pytest.mark.anyio

BOUND = 5.0
FRAMES = [block + b"\n\n" for block in FULL.split(b"\n\n") if block.strip()]


@pytest.mark.parametrize("numbered", [False, True])
async def test_taking_ready_events_moves_the_position_to_the_last_one(
    replay: ReplayServer, numbered: bool
) -> None:
    # Frames 10 to 13 (assistant deltas with seq_ids) in one write, then the rest later.
    ready = b"".join(FRAMES[9:13])
    replay.on(
        "POST", STREAM, sse_answer(ready + b"".join(FRAMES[13:]), chunk=len(ready), delay=0.2)
    )
    async with AsyncLetta(replay.base_url) as client:
        stream = client.runs.stream(RUN, starting_after=9)
        with anyio.fail_after(BOUND):
            async with stream:
                first = await stream.__anext__()
                assert stream.last_seq_id == 10
                if numbered:
                    events, positions = stream.take_ready_numbered()
                    assert positions[-1] == 13
                else:
                    events = stream.take_ready()
                assert [first, *events][-1].seq_id == 13
                assert stream.last_seq_id == 13


async def test_a_resumable_send_without_redis_is_a_plain_stream(replay: ReplayServer) -> None:
    agent = "agent-b05cfaca-a5c5-4c77-9066-a0c1994b3f13"
    route = f"/v1/agents/{agent}/messages/stream"
    plain = fixture_bytes("stream_steps.sse")
    replay.on(
        "POST",
        route,
        json_answer(fixture_bytes("errors_503_background_without_redis.json"), 503),
        sse_answer(plain, cut_at=len(plain) // 2),
    )
    async with AsyncLetta(replay.base_url, max_retries=0) as client:
        stream = client.agents.messages.stream(
            agent, messages=[{"role": "user", "content": "hi"}], resumable=True
        )
        with anyio.fail_after(BOUND), pytest.raises(StreamTruncatedError) as caught:
            await stream.until_done()
    assert not isinstance(caught.value, StreamResumeError)
    assert stream.last_seq_id is None
    assert [r.path for r in replay.requests] == [route, route]
