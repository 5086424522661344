"""The request that resumes a broken background stream, and the error a broken plain one
raises.

The server's resume route takes ``starting_after``, ``include_pings``, ``poll_interval`` and
``batch_size`` (README of the server's traps): a resume sends the position reached, the
stream's own ``poll_interval`` and the settings' ``batch_size`` when they were given, and
nothing for those left out (the server's defaults apply). Frames are the server's capture of a
finished run (``background_replay_full.sse``) and of a plain stream (``stream_steps.sse``).
"""

from __future__ import annotations

import itertools
import re
import time
from typing import Any

import anyio
import pytest
from aiohttp import web

from letta_async import (
    APIConnectionError,
    APIStatusError,
    AsyncLetta,
    DefaultAsyncHttpxClient,
    Hooks,
    ResumeSettings,
    StreamResumeError,
    StreamTruncatedError,
    Timeout,
)

from .replay import (
    Handler,
    ReplayServer,
    close_after_headers,
    fixture_bytes,
    json_answer,
    sse_answer,
)
from .test_final_position import FULL, RUN, STREAM

pytestmark = pytest.mark.anyio

BOUND = 5.0
FRAMES = [block + b"\n\n" for block in FULL.split(b"\n\n") if block.strip()]


@pytest.mark.parametrize(
    ("options", "extra"),
    [
        ({}, {}),
        (
            {"poll_interval": 0.25, "batch_size": 50},
            {"poll_interval": 0.25, "batch_size": 50},
        ),
    ],
)
async def test_a_resume_asks_for_the_frames_after_the_position_reached(
    replay: ReplayServer, options: dict[str, Any], extra: dict[str, Any]
) -> None:
    first = b"".join(FRAMES[9:11])  # seq_ids 10 and 11, then the connection drops
    replay.on(
        "POST",
        STREAM,
        sse_answer(first + FRAMES[11], cut_at=len(first) + 10),
        sse_answer(b"".join(FRAMES[11:])),
    )
    methods: list[str] = []
    resumed_at: list[tuple[str, int | None, int]] = []

    async def on_request(request: Any) -> None:
        methods.append(request.method)

    def on_resume(run_id: str, starting_after: int | None, attempt: int) -> None:
        resumed_at.append((run_id, starting_after, attempt))

    settings = ResumeSettings(
        initial_delay=0.01, max_delay=0.02, batch_size=options.get("batch_size")
    )
    poll = {"poll_interval": options["poll_interval"]} if "poll_interval" in options else {}
    async with AsyncLetta(
        replay.base_url,
        resume=settings,
        http_client=DefaultAsyncHttpxClient(event_hooks={"request": [on_request]}),
        hooks=Hooks(on_resume=[on_resume]),
    ) as client:
        stream = client.runs.stream(RUN, starting_after=9, **poll)
        with anyio.fail_after(BOUND):
            events = await stream.until_done()
    assert [getattr(e, "seq_id", None) for e in events][:4] == [10, 11, 12, 13]
    assert stream.resumes == 1
    resumed = replay.seen("POST", STREAM)[1]
    assert resumed.json() == {"starting_after": 11, "include_pings": True, **extra}
    assert methods == ["POST", "POST"]
    assert resumed_at == [(RUN, 11, 1)]


async def test_a_plain_stream_cut_mid_way_names_its_request(replay: ReplayServer) -> None:
    agent = "agent-b05cfaca-a5c5-4c77-9066-a0c1994b3f13"
    route = f"/v1/agents/{agent}/messages/stream"
    plain = fixture_bytes("stream_steps.sse")
    replay.on("POST", route, sse_answer(plain, cut_at=len(plain) // 2))
    async with AsyncLetta(replay.base_url, max_retries=0) as client:
        stream = client.agents.messages.stream(agent, messages=[{"role": "user", "content": "hi"}])
        with anyio.fail_after(BOUND), pytest.raises(StreamTruncatedError) as caught:
            await stream.until_done()
    assert "connection lost mid-stream" in str(caught.value).lower()
    assert caught.value.method == "POST"
    assert caught.value.url == f"{replay.base_url}{route}"


def cut_then(second: Handler) -> list[Handler]:
    first = b"".join(FRAMES[9:11])
    return [sse_answer(first + FRAMES[11], cut_at=len(first) + 10), second]


async def resume_error(replay: ReplayServer, settings: ResumeSettings) -> StreamResumeError:
    async with AsyncLetta(replay.base_url, resume=settings, max_retries=0) as client:
        stream = client.runs.stream(RUN, starting_after=9)
        with anyio.fail_after(BOUND), pytest.raises(StreamResumeError) as caught:
            await stream.until_done()
    assert caught.value.run_id == RUN and caught.value.last_seq_id == 11
    return caught.value


async def test_a_refused_resume_tells_the_servers_reason(replay: ReplayServer) -> None:
    refusal = json_answer(fixture_bytes("errors_404_run.json"), 404)
    replay.on("POST", STREAM, *cut_then(refusal))
    error = await resume_error(replay, ResumeSettings(initial_delay=0.01, max_delay=0.02))
    assert "refused to resume" in str(error).lower()
    assert "Run not found" in str(error)


async def test_giving_up_on_an_unreachable_server_keeps_the_connection_error(
    replay: ReplayServer,
) -> None:
    async def hang_up(request: web.Request) -> web.StreamResponse:
        transport = request.transport
        assert transport is not None
        transport.abort()  # no answer at all: the connection is dropped
        return web.Response()

    replay.on("POST", STREAM, *cut_then(hang_up))
    error = await resume_error(
        replay, ResumeSettings(max_attempts=1, initial_delay=0.01, max_delay=0.02)
    )
    assert isinstance(error.__cause__, APIConnectionError)
    assert not isinstance(error.__cause__, StreamTruncatedError)  # the resume's, not the cut's


async def test_a_dropped_stream_is_resumed_at_once_then_with_growing_waits(
    replay: ReplayServer,
) -> None:
    """ResumeSettings: the first resume goes out at once (one drop is no outage); each
    further one without progress waits ``initial_delay * 2 ** (n - 1)``, less up to a
    quarter at random."""
    times: list[float] = []

    async def dropped(request: web.Request) -> web.StreamResponse:
        times.append(time.monotonic())
        return await close_after_headers()(request)

    replay.on("POST", STREAM, always=dropped)
    settings = ResumeSettings(max_attempts=3, initial_delay=0.2, max_delay=1.0)
    async with AsyncLetta(replay.base_url, resume=settings, max_retries=0) as client:
        stream = client.runs.stream(RUN, starting_after=9)
        with anyio.fail_after(BOUND), pytest.raises(StreamResumeError):
            await stream.until_done()
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(gaps) == 3
    assert gaps[0] < 0.1
    assert 0.14 <= gaps[1] < 0.3  # 0.2, less up to a quarter
    assert 0.29 <= gaps[2] < 0.55  # 0.4, less up to a quarter


ENDED_EARLY = r"(?i:s)tream ended before its stop reason or \[DONE\]"


async def test_giving_up_on_streams_that_end_early_says_so(replay: ReplayServer) -> None:
    """Each connection ends cleanly but before the run's end: a truncation, resumed, and
    the reason given when the attempts run out."""
    replay.on("POST", STREAM, always=sse_answer(b"".join(FRAMES[9:11])))
    error = await resume_error(
        replay, ResumeSettings(max_attempts=1, initial_delay=0.01, max_delay=0.02)
    )
    assert isinstance(error.__cause__, StreamTruncatedError)
    assert re.search(ENDED_EARLY + "$", str(error.__cause__))


async def test_a_plain_stream_ended_early_says_the_reply_is_incomplete(
    replay: ReplayServer,
) -> None:
    agent = "agent-b05cfaca-a5c5-4c77-9066-a0c1994b3f13"
    route = f"/v1/agents/{agent}/messages/stream"
    plain = fixture_bytes("stream_steps.sse")
    first_frame = plain[: plain.index(b"\n\n") + 2]
    replay.on("POST", route, sse_answer(first_frame))
    async with AsyncLetta(replay.base_url, max_retries=0) as client:
        stream = client.agents.messages.stream(agent, messages=[{"role": "user", "content": "hi"}])
        with anyio.fail_after(BOUND), pytest.raises(StreamTruncatedError) as caught:
            await stream.until_done()
    assert re.search(ENDED_EARLY + ": the reply is incomplete$", str(caught.value))


async def test_an_overall_deadline_leaves_room_for_a_resume_within_it(
    replay: ReplayServer,
) -> None:
    first = b"".join(FRAMES[9:11])
    replay.on(
        "POST",
        STREAM,
        sse_answer(first + FRAMES[11], cut_at=len(first) + 10),
        sse_answer(b"".join(FRAMES[11:])),
    )
    async with AsyncLetta(
        replay.base_url,
        resume=ResumeSettings(initial_delay=0.01, max_delay=0.02),
        timeout=Timeout(stream_total=BOUND, request=BOUND),
    ) as client:
        stream = client.runs.stream(RUN, starting_after=9)
        with anyio.fail_after(BOUND):
            await stream.until_done()
    assert stream.completed and stream.resumes == 1


async def test_a_failed_resume_is_known_to_have_changed_nothing(replay: ReplayServer) -> None:
    """A replay starts nothing on the server: its failure is not one that "may have been
    carried out", unlike a failed send."""
    replay.on("POST", STREAM, *cut_then(json_answer({"detail": "upstream down"}, 502)))
    error = await resume_error(
        replay, ResumeSettings(max_attempts=1, initial_delay=0.01, max_delay=0.02)
    )
    cause = error.__cause__
    assert isinstance(cause, APIStatusError) and cause.status_code == 502
    assert not cause.may_have_applied
    assert "not sent again" not in str(error)


async def test_a_send_cut_before_its_run_was_named_says_so_and_is_not_sent_again(
    replay: ReplayServer,
) -> None:
    """The server answered (so it may have started a run) but no frame named the run, and
    asking the server finds none: there is nothing to resume, and sending again could start
    a second run."""
    agent = "agent-b05cfaca-a5c5-4c77-9066-a0c1994b3f13"
    route = f"/v1/agents/{agent}/messages/stream"
    replay.on("POST", route, close_after_headers())
    settings = ResumeSettings(initial_delay=0.01, max_delay=0.02)
    async with AsyncLetta(replay.base_url, resume=settings, max_retries=0) as client:
        stream = client.agents.messages.stream(
            agent, messages=[{"role": "user", "content": "hi"}], background=True
        )
        with anyio.fail_after(BOUND), pytest.raises(StreamResumeError) as caught:
            await stream.until_done()
    assert caught.value.run_id is None and caught.value.last_seq_id is None
    assert re.search(
        r"\. (?i:t)he connection failed before the server named the run \(", str(caught.value)
    )
    assert len(replay.seen("POST", route)) == 1
