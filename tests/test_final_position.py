"""How a quiet resumed stream learns where its run's stream ends (README, "A resume from any
position ends").

A resume past the last frame of a finished run gets nothing but pings from Letta, for ever.
Quiet for ``end_check_after``, the stream asks for the run (``GET /v1/runs/{id}``) and, once
it has ended, replays its stream once from the start without pings
(``POST /v1/runs/{id}/stream`` with ``{"starting_after": 0, "include_pings": false}``, the
server's documented body fields): the number of the replay's final frame is where the run
ends. Each test scripts a loopback server and checks what went over the wire.

The replay is the server's own capture of a finished run (``background_replay_full.sse``,
final frame ``[DONE]`` numbered 16); the run is the capture of ``GET /v1/runs/{id}`` for a
completed one; the refusal is the server's capture of a run it does not know.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import pytest
from aiohttp import web

from letta_async import (
    AsyncLetta,
    DefaultAsyncHttpxClient,
    NotFoundError,
    ResumeSettings,
    StreamResumeError,
    Timeout,
)

from .replay import ReplayServer, fixture_bytes, json_answer, sse_answer

pytestmark = pytest.mark.anyio

RUN = "run-92a0164b-8c60-49e2-859b-1b3ac5b2c43c"
STREAM = f"/v1/runs/{RUN}/stream"
RUN_PATH = f"/v1/runs/{RUN}"
FULL = fixture_bytes("background_replay_full.sse")
END = 16  # [DONE], one after usage_statistics (15)
QUICK = ResumeSettings(
    initial_delay=0.01, max_delay=0.02, end_check_after=0.1, end_check_max_interval=0.2
)
BOUND = 5.0
PING = (
    b'data: {"id":"ping-1","date":"2026-11-22T02:01:49+00:00","name":null,'
    b'"message_type":"ping","otid":null,"sender_id":null,"step_id":null,"is_err":null,'
    b'"seq_id":null,"run_id":"' + RUN.encode() + b'"}\n\n'
)


async def pings_only(request: web.Request) -> web.StreamResponse:
    """Letta's answer to a resume past the end: keep-alive pings, and no end."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
    await response.prepare(request)
    try:
        for _ in range(int(BOUND / 0.05)):
            await response.write(PING)
            await asyncio.sleep(0.05)
    except (ConnectionError, RuntimeError):
        pass  # the client left, as it should
    return response


def client_for(replay: ReplayServer) -> AsyncLetta:
    return AsyncLetta(
        replay.base_url, resume=QUICK, timeout=Timeout(stream_idle=BOUND, request=BOUND)
    )


async def resume_past_the_end(replay: ReplayServer, **kwargs: Any) -> list[Any]:
    async with client_for(replay) as client:
        stream = client.runs.stream(RUN, starting_after=END, **kwargs)
        with anyio.fail_after(BOUND):
            events = await stream.until_done()
        assert stream.completed
    return [e for e in events if e.message_type != "ping"]


def end_checks(replay: ReplayServer) -> list[Any]:
    """The requests after the resume itself: the status checks and the replays."""
    first = replay.requests.index(replay.seen("POST", STREAM)[0])
    return replay.requests[first + 1 :]


@pytest.mark.parametrize("poll_interval", [None, 0.25])
async def test_the_end_is_found_by_one_replay_from_the_start_without_pings(
    replay: ReplayServer, poll_interval: float | None
) -> None:
    replay.on("POST", STREAM, pings_only, sse_answer(FULL))
    replay.on("GET", RUN_PATH, always=json_answer(fixture_bytes("run_retrieve.json")))
    extra = {} if poll_interval is None else {"poll_interval": poll_interval}

    assert await resume_past_the_end(replay, **extra) == []

    checks = end_checks(replay)
    assert [(r.method, r.path) for r in checks] == [("GET", RUN_PATH), ("POST", STREAM)]
    final = checks[1]
    # The stream's own poll interval, if it has one; the server's default otherwise.
    assert final.json() == {"starting_after": 0, "include_pings": False, **extra}
    assert final.headers["Accept"] == "text/event-stream"


@pytest.mark.parametrize("status", [500, 503, 408, 429])
async def test_a_replay_told_to_come_back_later_is_checked_again_later(
    replay: ReplayServer, status: int
) -> None:
    """Not retried at once (the next look comes after the next quiet spell, with the run's
    status asked again first), and no error: the run is simply not known to have ended."""
    later = json_answer({"detail": "try again later"}, status=status)
    replay.on("POST", STREAM, pings_only, later, sse_answer(FULL))
    replay.on("GET", RUN_PATH, always=json_answer(fixture_bytes("run_retrieve.json")))

    assert await resume_past_the_end(replay) == []

    assert [(r.method, r.path) for r in end_checks(replay)] == [
        ("GET", RUN_PATH),
        ("POST", STREAM),
        ("GET", RUN_PATH),
        ("POST", STREAM),
    ]


async def test_a_refused_replay_says_which_run_and_where_to_carry_on(
    replay: ReplayServer,
) -> None:
    replay.on("POST", STREAM, pings_only, json_answer(fixture_bytes("errors_404_run.json"), 404))
    replay.on("GET", RUN_PATH, always=json_answer(fixture_bytes("run_retrieve.json")))

    async with client_for(replay) as client:
        stream = client.runs.stream(RUN, starting_after=END)
        with anyio.fail_after(BOUND), pytest.raises(StreamResumeError) as caught:
            await stream.until_done()
    assert caught.value.run_id == RUN
    assert caught.value.last_seq_id == END
    assert RUN in str(caught.value)
    # The server's refusal is told, and kept as the cause, as any call's 404 would be.
    assert "Run not found" in str(caught.value)
    refusal = caught.value.__cause__
    assert isinstance(refusal, NotFoundError)
    assert refusal.status_code == 404
    assert refusal.method == "POST" and refusal.request.method == "POST"
    assert len(replay.seen("POST", STREAM)) == 2  # refused for good: not asked again


async def test_request_hooks_see_the_end_check_as_any_other_request(
    replay: ReplayServer,
) -> None:
    """``event_hooks`` see every request, with its method as the wire carries it."""
    replay.on("POST", STREAM, pings_only, sse_answer(FULL))
    replay.on("GET", RUN_PATH, always=json_answer(fixture_bytes("run_retrieve.json")))
    seen: list[tuple[str, str]] = []

    async def on_request(request: Any) -> None:
        seen.append((request.method, request.url.path))

    async with AsyncLetta(
        replay.base_url,
        resume=QUICK,
        timeout=Timeout(stream_idle=BOUND, request=BOUND),
        http_client=DefaultAsyncHttpxClient(event_hooks={"request": [on_request]}),
    ) as client:
        stream = client.runs.stream(RUN, starting_after=END)
        with anyio.fail_after(BOUND):
            await stream.until_done()
    assert seen == [("POST", STREAM), ("GET", RUN_PATH), ("POST", STREAM)]
