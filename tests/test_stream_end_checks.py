"""When a resumed stream goes quiet or silent, what it asks the server and what follows.

README ("A resume from any position ends"): quiet for ``end_check_after`` (pings are no
progress), the stream asks for its run; while the run is still going it asks again at
doubling intervals up to ``end_check_max_interval``, and replays nothing; once the run has
ended, one replay from the start tells where its stream ends, numbered as Letta numbers
frames (a frame's own ``seq_id``, else one more than the frame before). A stream silent past
``stream_idle`` asks the run's status too: a finished run's replay ends where the server
ends it. Every frame and record here is a server capture or shaped as one.
"""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
import pytest
from aiohttp import web

from letta_async import (
    APITimeoutError,
    AsyncLetta,
    ResumeSettings,
    StreamResumeError,
    StreamTruncatedError,
    Timeout,
)

from .replay import Handler, ReplayServer, fixture_bytes, json_answer, sse_answer
from .test_final_position import FULL, RUN, RUN_PATH, STREAM, pings_only

pytestmark = pytest.mark.anyio

BOUND = 5.0
COMPLETED = json.loads(fixture_bytes("run_retrieve.json"))
RUNNING = {**COMPLETED, "status": "running", "completed_at": None, "stop_reason": None}
FAILED_SSE = fixture_bytes("error_llm500_background.sse")
# The failed run's frames: ping (1), stop_reason (2), error_message (seq_id 3).
FAILED_FRAMES = [block + b"\n\n" for block in FAILED_SSE.split(b"\n\n") if block.strip()]
ERROR_FRAME = FAILED_FRAMES[-1]
FULL_FRAMES = [block + b"\n\n" for block in FULL.split(b"\n\n") if block.strip()]


def client_for(replay: ReplayServer, resume: ResumeSettings, **timeout: float) -> AsyncLetta:
    return AsyncLetta(
        replay.base_url,
        resume=resume,
        timeout=Timeout(**{"stream_idle": BOUND, "request": BOUND, **timeout}),
        max_retries=0,
    )


def timed(times: list[float], answer: Handler) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        times.append(time.monotonic())
        return await answer(request)

    return handler


async def read_all(stream: Any) -> list[Any]:
    with anyio.fail_after(BOUND):
        events = [e async for e in stream]
    return [e for e in events if e.message_type != "ping"]


async def test_a_running_run_is_asked_again_at_doubling_intervals_and_not_replayed(
    replay: ReplayServer,
) -> None:
    times: list[float] = []
    replay.on("POST", STREAM, pings_only, sse_answer(FULL))
    replay.on(
        "GET",
        RUN_PATH,
        timed(times, json_answer(RUNNING)),
        timed(times, json_answer(RUNNING)),
        always=timed(times, json_answer(COMPLETED)),
    )
    settings = ResumeSettings(end_check_after=0.1, end_check_max_interval=1.0)
    async with client_for(replay, settings) as client:
        stream = client.runs.stream(RUN, starting_after=16)
        assert await read_all(stream) == []
        assert stream.completed

    first = replay.requests.index(replay.seen("POST", STREAM)[0])
    after = [(r.method, r.path) for r in replay.requests[first + 1 :]]
    assert after == [("GET", RUN_PATH)] * 3 + [("POST", STREAM)]
    # 0.1 s quiet, then 0.2 s, then 0.4 s (doubling, under the 1 s cap).
    assert 0.15 <= times[1] - times[0] < 0.3
    assert 0.33 <= times[2] - times[1] < 0.7


async def test_a_final_frame_is_found_by_its_seq_id_not_by_counting(
    replay: ReplayServer,
) -> None:
    """The replay skips a number (here the failed run's first ping, seq_id 1): its last
    frame, the error numbered 3, is still after a position of 2, and is fetched."""
    without_ping = b"".join(FAILED_FRAMES[1:])
    replay.on("POST", STREAM, pings_only, sse_answer(without_ping), sse_answer(ERROR_FRAME))
    replay.on("GET", RUN_PATH, always=json_answer(COMPLETED))
    settings = ResumeSettings(end_check_after=0.1, end_check_max_interval=0.2)
    async with client_for(replay, settings) as client:
        stream = client.runs.stream(RUN, starting_after=2, errors_as_events=True)
        events = await read_all(stream)
    assert [e.message_type for e in events] == ["error_message"]
    assert stream.last_seq_id == 3


async def test_a_stream_resumed_from_the_start_gets_a_run_of_a_single_frame(
    replay: ReplayServer,
) -> None:
    """Quiet from position 0 while the run's whole stream is one frame (numbered 1): that
    frame is still to come."""
    only = ERROR_FRAME.replace(b'"seq_id":3', b'"seq_id":1')
    replay.on("POST", STREAM, pings_only, sse_answer(only), sse_answer(only))
    replay.on("GET", RUN_PATH, always=json_answer(COMPLETED))
    settings = ResumeSettings(end_check_after=0.1, end_check_max_interval=0.2)
    async with client_for(replay, settings) as client:
        stream = client.runs.stream(RUN, starting_after=0, errors_as_events=True)
        events = await read_all(stream)
    assert [e.message_type for e in events] == ["error_message"]


async def test_giving_up_after_the_end_check_says_where_the_run_ended(
    replay: ReplayServer,
) -> None:
    replay.on("POST", STREAM, pings_only, sse_answer(FULL))
    replay.on("GET", RUN_PATH, always=json_answer(COMPLETED))
    settings = ResumeSettings(max_attempts=0, end_check_after=0.1, end_check_max_interval=0.2)
    async with client_for(replay, settings) as client:
        stream = client.runs.stream(RUN, starting_after=5)
        with pytest.raises(StreamResumeError) as caught:
            await read_all(stream)
    assert "the run ended at seq_id 16" in str(caught.value).lower()
    assert isinstance(caught.value.__cause__, StreamTruncatedError)
    assert caught.value.run_id == RUN and caught.value.last_seq_id == 5


# --- a stream silent past its idle timeout ---------------------------------------------------

SILENT = 0.2
FEW = ResumeSettings(max_attempts=2, initial_delay=0.01, max_delay=0.02, end_check_after=BOUND)


def then_silent() -> Handler:
    """The stream's headers, then nothing at all (not even pings) for the bound."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
        await response.prepare(request)
        for _ in range(int(BOUND / 0.02)):
            transport = request.transport
            if transport is None or transport.is_closing():
                break  # the client left
            await anyio.sleep(0.02)
        return response

    return handler


async def test_a_finished_run_replayed_after_silence_ends_where_the_server_ends_it(
    replay: ReplayServer,
) -> None:
    """The run is over, so the replay after the silence is the last connection: its clean
    end is the stream's end, whatever frame came last."""
    tail = b"".join(FAILED_FRAMES[:2])  # ping, stop_reason llm_api_error: no [DONE]
    replay.on("POST", STREAM, then_silent(), always=sse_answer(tail))
    replay.on("GET", RUN_PATH, always=json_answer(COMPLETED))
    async with client_for(replay, FEW, stream_idle=SILENT) as client:
        stream = client.runs.stream(RUN, starting_after=0)
        events = await read_all(stream)
        assert stream.completed
    assert [e.message_type for e in events] == ["stop_reason"]
    assert len(replay.seen("POST", STREAM)) == 2


async def test_silence_with_the_run_unknown_resumes_all_the_same(replay: ReplayServer) -> None:
    after_14 = b"".join(FULL_FRAMES[-2:])  # what the server replays after 14: usage, [DONE]
    replay.on("POST", STREAM, then_silent(), always=sse_answer(after_14))
    replay.on("GET", RUN_PATH, always=json_answer(fixture_bytes("errors_404_run.json"), 404))
    async with client_for(replay, FEW, stream_idle=SILENT) as client:
        stream = client.runs.stream(RUN, starting_after=14)
        events = await read_all(stream)
        assert stream.completed
    assert [e.message_type for e in events] == ["usage_statistics"]


async def test_giving_up_after_silence_names_the_silence(replay: ReplayServer) -> None:
    replay.on("POST", STREAM, then_silent())
    replay.on("GET", RUN_PATH, always=json_answer(RUNNING))
    settings = ResumeSettings(max_attempts=0, end_check_after=BOUND)
    async with client_for(replay, settings, stream_idle=SILENT) as client:
        stream = client.runs.stream(RUN, starting_after=3)
        with pytest.raises(StreamResumeError) as caught:
            await read_all(stream)
    assert isinstance(caught.value.__cause__, APITimeoutError)
    assert "idle timeout" in str(caught.value)


async def test_a_foreground_stream_gone_silent_names_its_request(replay: ReplayServer) -> None:
    agent = COMPLETED["agent_id"]
    route = f"/v1/agents/{agent}/messages/stream"
    replay.on("POST", route, then_silent())
    async with client_for(replay, FEW, stream_idle=SILENT) as client:
        stream = client.agents.messages.stream(agent, messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(APITimeoutError) as caught:
            await read_all(stream)
    assert caught.value.method == "POST"
    assert caught.value.url == f"{replay.base_url}{route}"


@pytest.mark.parametrize(
    ("capture", "background"),
    [("stream_steps.sse", False), ("background_stream.sse", True)],
)
async def test_a_send_stream_gone_quiet_asks_nothing(
    replay: ReplayServer, capture: str, background: bool
) -> None:
    """The end check is for resumed streams (a send's own stream starts at its run's first
    frame and is ended by the server): a quiet spell in a send's stream, after the run was
    named, sends no request."""
    agent = COMPLETED["agent_id"]
    route = f"/v1/agents/{agent}/messages/stream"
    body = fixture_bytes(capture)
    named = body.index(b"\n\n") + 2  # the first frame, which names the run
    replay.on("POST", route, sse_answer(body, stall_at=named, stall=0.4))
    settings = ResumeSettings(end_check_after=0.1, end_check_max_interval=0.2)
    async with client_for(replay, settings) as client:
        stream = client.agents.messages.stream(
            agent, messages=[{"role": "user", "content": "hi"}], background=background
        )
        await read_all(stream)
        assert stream.completed and stream.run_id is not None
    assert [(r.method, r.path) for r in replay.requests] == [("POST", route)]


async def test_a_resume_without_pings_past_the_end_ends_after_the_quiet_spell(
    replay: ReplayServer,
) -> None:
    """Asked for no pings, the server sends nothing at all past the run's end: the quiet
    spell alone, not the idle timeout, brings the check."""
    replay.on("POST", STREAM, then_silent(), sse_answer(FULL))
    replay.on("GET", RUN_PATH, always=json_answer(COMPLETED))
    settings = ResumeSettings(include_pings=False, end_check_after=0.1, end_check_max_interval=0.2)
    started = time.monotonic()
    async with client_for(replay, settings) as client:
        stream = client.runs.stream(RUN, starting_after=16, include_pings=False)
        assert await read_all(stream) == []
        assert stream.completed
    assert time.monotonic() - started < 1.0


async def test_a_send_stream_once_resumed_watches_for_the_runs_end(
    replay: ReplayServer,
) -> None:
    """Cut after frame 13 of a run that ended there: the resume gets pings only, and the
    quiet spell's check finds nothing after 13, so the stream ends instead of hanging."""
    agent = COMPLETED["agent_id"]
    route = f"/v1/agents/{agent}/messages/stream"
    upto_13 = b"".join(FULL_FRAMES[:13])
    replay.on("POST", route, sse_answer(upto_13 + FULL_FRAMES[13], cut_at=len(upto_13) + 10))
    replay.on("POST", STREAM, pings_only, sse_answer(upto_13))
    replay.on("GET", RUN_PATH, always=json_answer(COMPLETED))
    settings = ResumeSettings(
        initial_delay=0.01, max_delay=0.02, end_check_after=0.1, end_check_max_interval=0.2
    )
    async with client_for(replay, settings) as client:
        stream = client.agents.messages.stream(
            agent, messages=[{"role": "user", "content": "hi"}], background=True
        )
        events = await read_all(stream)
        assert stream.completed and stream.resumes == 1
    assert [getattr(e, "seq_id", None) for e in events] == list(range(2, 14))
    assert stream.last_seq_id == 13
