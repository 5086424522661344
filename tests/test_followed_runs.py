"""Following a run by the official SDK's names: the run is named by the call, not by an event.

``client.runs.messages.stream(run_id)`` names its run in the route and
``client.conversations.messages.stream(conversation_id, run_id=...)`` in the body. Either way
the caller has said which run to follow, so a connection dropped before the first event must
resume that run (README: "Resuming background streams"), not give up for want of a run id.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import anyio
import pytest
from aiohttp import web

from letta_async import APITimeoutError, AsyncLetta, Timeout
from tests.replay import ReplayServer, close_after_headers, fixture_bytes, json_answer, sse_answer
from tests.test_resume import REPLAY, RESUME, RUN, numbered_blocks, replay_after

pytestmark = pytest.mark.anyio

CONVERSATION = "conv-5f1f0e0a-3b8e-4a8a-9d5e-2b1f6c0d7e11"
CONVERSATION_STREAM = f"/v1/conversations/{CONVERSATION}/stream"


@pytest.fixture
async def client(replay: ReplayServer) -> AsyncIterator[AsyncLetta]:
    async with AsyncLetta(replay.base_url, timeout=Timeout(stream_idle=2)) as c:
        yield c


def resume_from_body() -> web.RequestHandler:  # type: ignore[type-arg]
    async def handler(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        return await sse_answer(replay_after(int(body.get("starting_after", 0))))(request)

    return handler


def expected_seq_ids() -> list[int]:
    """The numbered frames of the real replay capture, read from its bytes."""
    return [seq for seq, block in numbered_blocks(REPLAY) if b'"seq_id"' in block]


async def test_a_run_followed_by_its_route_resumes_a_cut_before_the_first_event(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("POST", RESUME, close_after_headers(), always=resume_from_body())
    stream = client.runs.messages.stream(RUN, starting_after=0)
    assert stream.run_id == RUN
    seq_ids = [e.seq_id async for e in stream if getattr(e, "seq_id", None) is not None]
    assert seq_ids == expected_seq_ids()
    assert stream.resumes == 1
    assert [r.json()["starting_after"] for r in replay.seen("POST", RESUME)] == [0, 0]


async def test_a_conversation_stream_given_a_run_id_resumes_that_run(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("POST", CONVERSATION_STREAM, close_after_headers())
    replay.on("POST", RESUME, always=resume_from_body())
    stream = client.conversations.messages.stream(CONVERSATION, run_id=RUN, starting_after=0)
    assert stream.run_id == RUN
    seq_ids = [e.seq_id async for e in stream if getattr(e, "seq_id", None) is not None]
    assert seq_ids == expected_seq_ids()
    assert len(replay.seen("POST", RESUME)) == 1


def run_answer(status: str) -> web.RequestHandler:  # type: ignore[type-arg]
    run = json.loads(fixture_bytes("run_retrieve.json"))
    run.update(id=RUN, status=status, stop_reason=None if status == "running" else "end_turn")
    return json_answer(run)


async def test_waiting_for_a_run_that_never_finishes_ends_at_the_timeout(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("GET", f"/v1/runs/{RUN}", always=run_answer("running"))
    with anyio.fail_after(10), pytest.raises(APITimeoutError) as caught:
        await client.runs.wait(RUN, poll_interval=0.05, timeout=0.5)
    assert RUN in str(caught.value)
    waited = float(str(caught.value).rsplit(" ", 1)[-1].removesuffix("s"))
    assert 0.5 <= waited < 10
    assert len(replay.seen("GET", f"/v1/runs/{RUN}")) >= 2  # it polled, then gave up


async def test_waiting_returns_the_run_once_it_completes(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("GET", f"/v1/runs/{RUN}", run_answer("running"), always=run_answer("completed"))
    with anyio.fail_after(10):
        run = await client.runs.wait(RUN, poll_interval=0.05, timeout=5)
    assert run.id == RUN and run.status == "completed"
    assert len(replay.seen("GET", f"/v1/runs/{RUN}")) == 2


async def test_a_streams_repr_says_whether_it_is_new_open_or_done(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("POST", RESUME, always=resume_from_body())
    stream = client.runs.stream(RUN, starting_after=0)
    assert repr(stream).startswith("<MessageStream new ")
    first = await stream.__anext__()
    assert repr(stream).startswith("<MessageStream open ")
    assert f"run_id={RUN!r}" in repr(stream)
    async for _ in stream:
        pass
    assert first is not None
    assert repr(stream).startswith("<MessageStream done ")
    assert "stop_reason='end_turn'" in repr(stream)
