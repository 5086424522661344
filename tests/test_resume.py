"""Background streams: cut the connection anywhere, and the caller still sees every event once.

The server side replays the real capture of a background run (``background_stream.sse``);
its resume route serves the real replay (``background_replay_full.sse``) from after the
``starting_after`` the client asks for, numbering frames the way Letta does.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from letta_async import APIStatusError, APITimeoutError, AsyncLetta, StreamResumeError, Timeout
from letta_async._decode import MessageDecoder
from letta_async.types import LettaPing
from tests.replay import ReplayServer, fixture_bytes, json_answer, sse_answer

pytestmark = pytest.mark.anyio

AGENT = "agent-b05cfaca-a5c5-4c77-9066-a0c1994b3f13"
MESSAGES = f"/v1/agents/{AGENT}/messages"
STREAM = f"{MESSAGES}/stream"
RUN = "run-92a0164b-8c60-49e2-859b-1b3ac5b2c43c"
RESUME = f"/v1/runs/{RUN}/stream"
HI = [{"role": "user", "content": "hi [tool]"}]
LIVE = fixture_bytes("background_stream.sse")
REPLAY = fixture_bytes("background_replay_full.sse")
UNNUMBERED = {"stop_reason", "usage_statistics"}


def numbered_blocks(body: bytes) -> list[tuple[int, bytes]]:
    """Split a capture into SSE blocks, each with the sequence number Letta gave it."""
    out: list[tuple[int, bytes]] = []
    last = 0
    for block in body.split(b"\n\n"):
        if not block.strip():
            continue
        data = block.split(b"data: ", 1)[1]
        if data == b"[DONE]":
            last += 1
        else:
            frame = json.loads(data)
            seq = frame.get("seq_id")
            last = seq if seq is not None else last + 1
        out.append((last, block + b"\n\n"))
    return out


def replay_after(starting_after: int) -> bytes:
    return b"".join(block for seq, block in numbered_blocks(REPLAY) if seq > starting_after)


def signature(event: Any) -> tuple[Any, ...]:
    return (
        event.message_type,
        getattr(event, "seq_id", None),
        getattr(event, "id", None),
        getattr(event, "content", None),
        getattr(event, "stop_reason", None),
        getattr(event, "total_tokens", None),
    )


def full_run_signatures() -> list[tuple[Any, ...]]:
    decoder = MessageDecoder()
    return [
        signature(decoder.decode(block.split(b"data: ", 1)[1].strip()))
        for _, block in numbered_blocks(LIVE)
        if b"[DONE]" not in block
    ]


def resume_handler(server: ReplayServer, *, fail_first: int = 0) -> Any:
    failures = {"left": fail_first}

    async def handler(request: web.Request) -> web.StreamResponse:
        if failures["left"] > 0:
            failures["left"] -= 1
            return web.json_response({"detail": "Redis busy"}, status=503)
        body = await request.json()
        return await sse_answer(replay_after(int(body.get("starting_after", 0))))(request)

    return handler


def otid_lookup_handler(server: ReplayServer) -> Any:
    """Message history holding the user message our POST created (with its otid)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        posts = server.seen("POST", STREAM)
        otid = posts[-1].json()["messages"][0]["otid"] if posts else None
        items = [
            {
                "id": "message-1",
                "date": "2026-11-22T02:01:12+00:00",
                "message_type": "user_message",
                "otid": otid,
                "run_id": RUN,
                "content": "hi [tool]",
            }
        ]
        return web.json_response(items)

    return handler


@pytest.fixture
async def client(replay: ReplayServer) -> AsyncIterator[AsyncLetta]:
    async with AsyncLetta(replay.base_url, timeout=Timeout(stream_idle=2)) as c:
        yield c
        session = c.session
        assert session is not None and session.connector is not None
        assert not session.connector._acquired  # type: ignore[attr-defined]


def first_ping_end() -> int:
    return LIVE.index(b"\n\n") + 2


def named_cuts() -> dict[str, int]:
    blocks = numbered_blocks(LIVE)
    offsets: list[int] = []
    position = 0
    for _, block in blocks:
        position += len(block)
        offsets.append(position)
    stop_end = offsets[-3]  # after stop_reason, before usage
    return {
        "before-first-frame": 0,
        "after-first-ping": first_ping_end(),
        "mid-frame": first_ping_end() + 40,
        "after-seq-2": offsets[1],
        "mid-run": offsets[6] + 17,
        "between-stop-reason-and-done": stop_end,
        "between-usage-and-done": offsets[-2],
    }


@pytest.mark.parametrize("cut", list(named_cuts().items()), ids=lambda c: c[0])
async def test_resume_after_cut_delivers_every_event_once(
    replay: ReplayServer, client: AsyncLetta, cut: tuple[str, int]
) -> None:
    _, offset = cut
    replay.on("POST", STREAM, sse_answer(LIVE, cut_at=offset))
    replay.on("POST", RESUME, always=resume_handler(replay))
    replay.on("GET", MESSAGES, always=otid_lookup_handler(replay))
    stream = client.agents.messages.stream(AGENT, messages=HI, stream_tokens=True, background=True)
    events = [signature(e) async for e in stream]
    assert events == full_run_signatures()
    assert stream.run_id == RUN
    assert stream.stop_reason == "end_turn"
    assert stream.completed
    resumes = replay.seen("POST", RESUME)
    assert len(resumes) == 1
    assert resumes[0].json()["starting_after"] == numbered_last_before(offset)
    assert len(replay.seen("POST", STREAM)) == 1, "the run was never started twice"


def numbered_last_before(offset: int) -> int:
    """The seq_id of the last complete frame inside the first ``offset`` bytes."""
    last = 0
    position = 0
    for seq, block in numbered_blocks(LIVE):
        position += len(block)
        if position > offset:
            break
        last = seq
    return last


async def test_resume_survives_503_then_succeeds(replay: ReplayServer, client: AsyncLetta) -> None:
    replay.on("POST", STREAM, sse_answer(LIVE, cut_at=named_cuts()["mid-run"]))
    replay.on("POST", RESUME, always=resume_handler(replay, fail_first=2))
    events = [
        signature(e)
        async for e in client.agents.messages.stream(AGENT, messages=HI, background=True)
    ]
    assert events == full_run_signatures()
    assert len(replay.seen("POST", RESUME)) == 3


async def test_resume_gives_up_with_run_id_and_seq(replay: ReplayServer) -> None:
    replay.on("POST", STREAM, sse_answer(LIVE, cut_at=named_cuts()["mid-run"]))
    replay.on("POST", RESUME, always=json_answer({"detail": "down"}, status=503))
    from letta_async import ResumeSettings

    settings = ResumeSettings(max_attempts=2, initial_delay=0.01)
    async with AsyncLetta(replay.base_url, resume=settings) as client:
        stream = client.agents.messages.stream(AGENT, messages=HI, background=True)
        with pytest.raises(StreamResumeError) as info:
            async for _ in stream:
                pass
    assert info.value.run_id == RUN
    assert info.value.last_seq_id == numbered_last_before(named_cuts()["mid-run"])
    assert RUN in str(info.value)
    # Why it gave up travels with it: the server's last refusal, chained as the cause.
    cause = info.value.__cause__
    assert isinstance(cause, APIStatusError) and cause.status_code == 503
    assert "down" in str(info.value)


async def test_resume_refused_for_good_is_not_retried(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("POST", STREAM, sse_answer(LIVE, cut_at=named_cuts()["mid-run"]))
    replay.on(
        "POST",
        RESUME,
        always=json_answer(fixture_bytes("errors_400_run_stream_not_background.json"), 400),
    )
    with pytest.raises(StreamResumeError):
        async for _ in client.agents.messages.stream(AGENT, messages=HI, background=True):
            pass
    assert len(replay.seen("POST", RESUME)) == 1


async def test_idle_background_stream_probes_run_and_keeps_waiting(replay: ReplayServer) -> None:
    offset = named_cuts()["mid-run"]
    replay.on("POST", STREAM, sse_answer(LIVE, stall_at=offset, stall=3))
    running = json.loads(fixture_bytes("run_retrieve.json"))
    running.update(id=RUN, status="running", stop_reason=None)
    replay.on("GET", f"/v1/runs/{RUN}", always=json_answer(running))
    replay.on("POST", RESUME, always=resume_handler(replay))
    async with AsyncLetta(replay.base_url, timeout=Timeout(stream_idle=0.3)) as client:
        stream = client.agents.messages.stream(AGENT, messages=HI, background=True)
        events = [signature(e) async for e in stream]
    assert events == full_run_signatures()
    assert len(replay.seen("GET", f"/v1/runs/{RUN}")) == 1
    assert stream.resumes == 1


async def test_runs_stream_explicit_resume_from_seq(
    replay: ReplayServer, client: AsyncLetta
) -> None:

    replay.on("POST", RESUME, always=resume_handler(replay))
    stream = client.runs.stream(RUN, starting_after=5)
    events = [e async for e in stream]
    assert [getattr(e, "seq_id", None) for e in events][:8] == list(range(6, 14))
    assert stream.stop_reason == "end_turn"
    # The last event is the usage frame; [DONE] after it is numbered but is no event.
    assert stream.last_seq_id == numbered_blocks(REPLAY)[-2][0]
    assert replay.seen("POST", RESUME)[0].json()["starting_after"] == 5


async def test_seq_zero_and_one_are_real_values(replay: ReplayServer, client: AsyncLetta) -> None:
    replay.on("POST", RESUME, always=resume_handler(replay))
    stream = client.runs.stream(RUN, starting_after=0)
    first = await stream.__anext__()
    assert isinstance(first, LettaPing)
    assert stream.last_seq_id == 1
    await stream.aclose()


async def test_overall_deadline_stops_resuming(replay: ReplayServer) -> None:
    offset = named_cuts()["mid-run"]
    replay.on("POST", STREAM, sse_answer(LIVE, stall_at=offset, stall=5))
    running = json.loads(fixture_bytes("run_retrieve.json"))
    running.update(id=RUN, status="running", stop_reason=None)
    replay.on("GET", f"/v1/runs/{RUN}", always=json_answer(running))
    replay.on("POST", RESUME, always=sse_answer(b"", stall_at=0, stall=5))
    timeout = Timeout(stream_idle=0.2, stream_total=0.7)
    async with AsyncLetta(replay.base_url, timeout=timeout) as client:
        stream = client.agents.messages.stream(AGENT, messages=HI, background=True)
        with pytest.raises(APITimeoutError, match="overall deadline"):
            async for _ in stream:
                pass
    assert stream.done
