"""Streams as the official SDK hands them out: awaited to send, iterated for events, closed.

The server side replays captures of a real Letta 0.16.8 server byte for byte; what a test
expects is read from those captures (``tests/fixtures/*.sse``, ``*.json``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from letta_async import APIStatusError, AsyncLetta, NotFoundError, ResumeSettings, StreamError
from letta_async.types import (
    LettaErrorMessage,
    LettaPing,
    LettaResponse,
    LettaStopReason,
)
from tests.replay import ReplayServer, fixture_bytes, json_answer, sse_answer
from tests.test_resume import numbered_blocks, replay_after

pytestmark = pytest.mark.anyio

AGENT = "agent-b05cfaca-a5c5-4c77-9066-a0c1994b3f13"
STREAM = f"/v1/agents/{AGENT}/messages/stream"
CONV = "conv-0b5a9d7e-6c3a-4c1b-9f2e-3d4c5b6a7f81"
RUN = "run-92a0164b-8c60-49e2-859b-1b3ac5b2c43c"
HI = [{"role": "user", "content": "hi"}]


def frames(name: str) -> list[str]:
    """The data lines of a capture, as the server sent them."""
    return [
        line[len("data: ") :]
        for line in fixture_bytes(name).decode().splitlines()
        if line.startswith("data: ")
    ]


def acquired(client: AsyncLetta) -> int:
    session = client.session
    if session is None or session.connector is None:
        return 0
    return len(session.connector._acquired)  # type: ignore[attr-defined]


@pytest.fixture
async def client(replay: ReplayServer) -> AsyncIterator[AsyncLetta]:
    async with AsyncLetta(replay.base_url, max_retries=0) as c:
        yield c
        assert acquired(c) == 0, "a connection was left acquired"


# --- await, iterate, close -------------------------------------------------------------------


async def test_awaiting_sends_and_raises_an_http_error_there(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    capture = fixture_bytes("errors_404_agent_stream.json")
    replay.on("POST", STREAM, json_answer(capture, status=404))
    stream = client.agents.messages.stream(AGENT, messages=HI)
    assert replay.seen("POST", STREAM) == [], "nothing is sent before the await"
    with pytest.raises(NotFoundError) as info:
        await stream
    assert info.value.body == json.loads(capture)
    assert len(replay.seen("POST", STREAM)) == 1


async def test_an_awaited_stream_then_iterates_its_events(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("POST", STREAM, sse_answer(fixture_bytes("stream_steps.sse"), chunk=50))
    stream = await client.agents.messages.stream(AGENT, messages=HI)
    assert stream is await stream, "awaiting twice changes nothing"
    assert stream.response.status_code == 200
    assert stream.response.headers["Content-Type"].startswith("text/event-stream")
    kinds = [event.message_type async for event in stream]
    assert kinds == [json.loads(f)["message_type"] for f in frames("stream_steps.sse")[:-1]]
    assert len(replay.seen("POST", STREAM)) == 1


async def test_close_releases_the_connection_at_once(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    body = fixture_bytes("stream_steps.sse")
    replay.on("POST", STREAM, sse_answer(body, stall_at=len(body) // 2, stall=5))
    stream = await client.agents.messages.stream(AGENT, messages=HI)
    first = await stream.__anext__()
    assert isinstance(first, LettaPing)
    assert acquired(client) == 1
    await stream.close()
    assert acquired(client) == 0 and stream.done
    rest = [event async for event in stream]
    assert len(rest) < len(frames("stream_steps.sse")) - 2, "nothing is read after close"


# --- errors inside a stream ------------------------------------------------------------------


async def test_an_error_frame_is_raised_after_the_events_before_it(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("POST", STREAM, sse_answer(fixture_bytes("error_llm500_stream.sse")))
    error_frame = next(f for f in frames("error_llm500_stream.sse") if "error_message" in f)
    received: list[Any] = []
    with pytest.raises(StreamError) as info:
        async for event in await client.agents.messages.stream(AGENT, messages=HI):
            received.append(event)
    assert [type(e) for e in received] == [LettaPing, LettaStopReason]
    error = info.value
    assert isinstance(error, APIStatusError)
    assert error.status_code == 200 and error.response.status_code == 200
    assert error.body == json.loads(error_frame)
    assert isinstance(error.error, LettaErrorMessage)
    assert error.error.error_type == json.loads(error_frame)["error_type"]
    assert error.stop_reason == "llm_api_error"


async def test_errors_as_events_hands_the_error_frame_out_in_order(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("POST", STREAM, sse_answer(fixture_bytes("error_llm500_stream.sse")))
    stream = await client.agents.messages.stream(AGENT, messages=HI, errors_as_events=True)
    events = [event async for event in stream]
    assert [type(e) for e in events] == [LettaPing, LettaStopReason, LettaErrorMessage]
    assert stream.error is events[-1]
    expected = json.loads(
        next(f for f in frames("error_llm500_stream.sse") if "error_message" in f)
    )
    assert events[-1].message == expected["message"]  # type: ignore[union-attr]
    assert stream.completed


# --- conversations and runs ------------------------------------------------------------------


async def test_conversation_create_streams_unless_told_not_to(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    route = f"/v1/conversations/{CONV}/messages"
    replay.on("POST", route, sse_answer(fixture_bytes("conversation_stream.sse")))
    replay.on("POST", route, json_answer(fixture_bytes("nonstream_response.json")))
    stream = await client.conversations.messages.create(CONV, messages=HI)
    kinds = [event.message_type async for event in stream]
    assert kinds == [json.loads(f)["message_type"] for f in frames("conversation_stream.sse")[:-1]]
    response = await client.conversations.messages.create(CONV, messages=HI, streaming=False)
    assert isinstance(response, LettaResponse)
    expected = json.loads(fixture_bytes("nonstream_response.json"))["messages"]
    assert [m.id for m in response.messages] == [m["id"] for m in expected]
    streamed, blocking = (r.json() for r in replay.seen("POST", route))
    assert streamed["streaming"] is True
    assert blocking["streaming"] is False
    assert replay.seen("POST", route)[0].headers["Accept"] == "text/event-stream"


def run_stream_handler() -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        return await sse_answer(replay_after(int(body.get("starting_after", 0))))(request)

    return handler


async def test_runs_messages_stream_picks_up_after_a_saved_position(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("POST", f"/v1/runs/{RUN}/stream", always=run_stream_handler())
    stream = await client.runs.messages.stream(RUN, starting_after=5)
    events = [event async for event in stream]
    seqs = [e.seq_id for e in events if getattr(e, "seq_id", None) is not None]  # type: ignore[union-attr]
    assert seqs and seqs[0] == 6 and seqs == list(range(6, 6 + len(seqs)))
    assert stream.run_id == RUN and stream.stop_reason == "end_turn"
    assert replay.seen("POST", f"/v1/runs/{RUN}/stream")[0].json() == {"starting_after": 5}


async def test_conversation_stream_follows_the_current_run_and_resumes_it(
    replay: ReplayServer,
) -> None:
    full = fixture_bytes("background_replay_full.sse")
    # The first connection breaks after half the run; the resume goes to the run's route.
    replay.on("POST", f"/v1/conversations/{CONV}/stream", sse_answer(full, cut_at=len(full) // 2))
    replay.on("POST", f"/v1/runs/{RUN}/stream", always=run_stream_handler())
    async with AsyncLetta(
        replay.base_url, max_retries=0, resume=ResumeSettings(initial_delay=0.01)
    ) as client:
        stream = await client.conversations.messages.stream(CONV)
        events = [event async for event in stream]
    assert stream.resumes == 1 and stream.run_id == RUN
    seqs = [e.seq_id for e in events if getattr(e, "seq_id", None) is not None]  # type: ignore[union-attr]
    assert seqs == list(range(1, len(seqs) + 1)), "every numbered frame once, in order"
    # The resume asks for what follows the last whole frame that arrived before the cut.
    arrived, size = 0, 0
    for seq, block in numbered_blocks(full):
        size += len(block)
        if size > len(full) // 2:
            break
        arrived = seq
    assert replay.seen("POST", f"/v1/runs/{RUN}/stream")[0].json()["starting_after"] == arrived
