"""What a background stream promises when its connections break, checked one promise each.

* The resume budget counts attempts *without progress*: a stream cut more often than
  ``max_attempts``, with events between the cuts, still finishes.
* Idle timeouts while the run is still ``running`` (a long silent tool call) use none of it.
* When nothing comes back, exactly ``max_attempts`` resume requests are made, then it gives up.
* A connection that closes cleanly after ``stop_reason``, before usage and ``[DONE]``, is
  resumed for the tail.
* A replayed frame numbered ``starting_after`` itself is dropped.
* A resume answered 408 or 429 ("come back later") is tried again, like a 5xx.
* An in-stream error is the server's last word: nothing after it is handed out, and a
  connection that breaks after it (or after a ``cancelled`` stop) is not resumed.
* ``stream.cancel()`` sends the cancel request, also before anything was read (it waits for
  the run's name first, at most ``wait`` seconds); ``cancel_on_exit`` sends none for a run that
  already finished; ``conversations.messages.create`` streams by default and sends
  ``streaming: false`` when asked not to.

Expected events come from the frames the server logged (decoded with ``json.loads``), not
from this client's decoder.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import pytest
from aiohttp import web

from letta_async import (
    APIStatusError,
    AsyncLetta,
    MessageStream,
    ResumeSettings,
    StreamError,
    StreamResumeError,
    Timeout,
)
from letta_async.testing import Fault, LettaTestServer
from letta_async.testing._wire import abort_connection
from letta_async.types import LettaResponse

from .replay import fixture_bytes

pytestmark = pytest.mark.anyio

QUICK: dict[str, Any] = {"initial_delay": 0.0, "max_delay": 0.0}
RUN_STREAM = r"/v1/runs/[^/]+/stream$"


def say(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def logged(server: LettaTestServer, run_id: str) -> list[dict[str, Any]]:
    """The run's numbered frames as plain JSON, straight from the server's log."""
    out = []
    for frame in server.state.runs[run_id].frames:
        for line in frame.data.decode().splitlines():
            if line.startswith("data: ") and line != "data: [DONE]":
                out.append(json.loads(line[len("data: ") :]))
    return out


def seen(events: list[Any]) -> list[tuple[str, Any]]:
    return [(e.message_type, getattr(e, "seq_id", None)) for e in events]


def expected(frames: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return [(f["message_type"], f.get("seq_id")) for f in frames]


@pytest.fixture
async def server() -> AsyncIterator[LettaTestServer]:
    async with LettaTestServer(keepalive_interval=0.05, shutdown_timeout=0.2) as s:
        yield s


@pytest.fixture
def agent_id(server: LettaTestServer) -> str:
    return str(server.create_agent(name="guarantees")["id"])


async def test_budget_refills_after_progress(server: LettaTestServer, agent_id: str) -> None:
    # Every connection, the first and each resume, is cut after three frames: far more cuts
    # than max_attempts, but each brings new events.
    server.faults.add(Fault.cut_after(3, method="POST", path=r"/messages/stream$"))
    cuts = server.faults.add(Fault.cut_after(3, method="POST", path=RUN_STREAM, times=None))
    resume = ResumeSettings(max_attempts=2, include_pings=False, **QUICK)
    async with AsyncLetta(base_url=server.base_url, resume=resume) as client:
        stream = client.agents.messages.stream(
            agent_id,
            messages=say("hi [tokens=24] [chunkdelay=0.005]"),
            background=True,
            stream_tokens=True,
        )
        events = await stream.until_done()
    assert cuts.hits > resume.max_attempts
    assert stream.resumes > resume.max_attempts
    assert stream.completed
    assert seen(events) == expected(logged(server, str(stream.run_id)))


async def test_idle_timeouts_of_a_running_run_use_no_budget(
    server: LettaTestServer, agent_id: str
) -> None:
    resume = ResumeSettings(max_attempts=1, include_pings=False, **QUICK)
    timeout = Timeout(stream_idle=0.1)
    async with AsyncLetta(base_url=server.base_url, resume=resume, timeout=timeout) as client:
        stream = client.agents.messages.stream(
            agent_id, messages=say("hi [delay=0.8]"), background=True, include_pings=False
        )
        events = await stream.until_done()
    probes = server.requests_to(r"/v1/runs/[^/]+$", "GET")
    assert len(probes) >= 3  # several silences, each answered "still running"
    assert stream.completed and stream.stop_reason == "end_turn"
    assert seen(events) == expected(logged(server, str(stream.run_id)))


@pytest.mark.parametrize("attempts", [1, 3])
async def test_exactly_max_attempts_resume_requests(
    server: LettaTestServer, agent_id: str, attempts: int
) -> None:
    server.faults.add(Fault.cut_after(2, method="POST", path=r"/messages/stream$"))
    server.faults.add(Fault.http_status(500, method="POST", path=RUN_STREAM, times=None))
    resume = ResumeSettings(max_attempts=attempts, **QUICK)
    async with AsyncLetta(base_url=server.base_url, resume=resume) as client:
        stream = client.agents.messages.stream(
            agent_id, messages=say("hi [chunkdelay=0.05]"), background=True
        )
        with pytest.raises(StreamResumeError) as caught:
            await stream.until_done()
    assert len(server.requests_to(RUN_STREAM, "POST")) == attempts
    assert caught.value.run_id == stream.run_id
    # What went wrong last is kept: the error says it and chains it.
    cause = caught.value.__cause__
    assert isinstance(cause, APIStatusError) and cause.status_code == 500
    assert str(cause) in str(caught.value)


async def test_a_refused_resume_says_where_to_carry_on(
    server: LettaTestServer, agent_id: str
) -> None:
    """A resume answered 404 ends the stream with ``StreamResumeError`` whose ``run_id`` and
    ``last_seq_id`` are where ``client.runs.stream(run_id, starting_after=...)`` carries on:
    the run, and the last numbered frame the server sent before the cut."""
    server.faults.add(Fault.cut_after(3, method="POST", path=r"/messages/stream$"))
    server.faults.add(Fault.http_status(404, method="POST", path=RUN_STREAM))
    async with AsyncLetta(base_url=server.base_url, resume=ResumeSettings(**QUICK)) as client:
        stream = client.agents.messages.stream(
            agent_id, messages=say("hi [tokens=8] [chunkdelay=0.01]"), background=True
        )
        with pytest.raises(StreamResumeError) as caught:
            await stream.until_done()
    (run_id,) = server.state.runs
    sent = [f.seq for f in server.state.runs[run_id].frames[:3] if f.seq is not None]
    assert (caught.value.run_id, caught.value.last_seq_id) == (run_id, sent[-1])
    cause = caught.value.__cause__
    assert isinstance(cause, APIStatusError) and cause.status_code == 404


@pytest.mark.parametrize("status", [408, 429])
async def test_a_resume_told_to_come_back_later_is_tried_again(
    server: LettaTestServer, agent_id: str, status: int
) -> None:
    """408 and 429 say the server did not take the request up: asking again is the answer,
    so the stream still delivers every event once instead of giving up on the run."""
    server.faults.add(Fault.cut_after(3, method="POST", path=r"/messages/stream$"))
    later = server.faults.add(Fault.http_status(status, method="POST", path=RUN_STREAM, times=2))
    resume = ResumeSettings(max_attempts=5, **QUICK)
    async with AsyncLetta(base_url=server.base_url, resume=resume) as client:
        stream = client.agents.messages.stream(
            agent_id, messages=say("hi [tokens=8] [chunkdelay=0.01]"), background=True
        )
        events = await stream.until_done()
    assert later.hits == 2
    assert len(server.requests_to(RUN_STREAM, "POST")) == 3
    assert stream.completed and stream.stop_reason == "end_turn"
    assert seen(events) == expected(logged(server, str(stream.run_id)))


# --- a hand-written server for the byte-exact cases -------------------------------------------

RUN = "run-00000000-0000-4000-8000-00000000abcd"


def frame(payload: dict[str, Any] | str) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return f"data: {data}\n\n".encode()


def ping(seq: int) -> dict[str, Any]:
    return {"id": f"ping-{seq}", "date": "2026-11-22T02:01:49+00:00", "name": None,
            "message_type": "ping", "otid": None, "sender_id": None, "step_id": None,
            "is_err": None, "seq_id": seq, "run_id": RUN}  # fmt: skip


def assistant(seq: int, text: str) -> dict[str, Any]:
    return {"id": f"message-{seq}", "date": "2026-11-22T02:01:49+00:00", "name": None,
            "message_type": "assistant_message", "otid": f"otid-{seq}", "sender_id": None,
            "step_id": "step-1", "is_err": None, "seq_id": seq, "run_id": RUN,
            "content": text}  # fmt: skip


STOP = {"message_type": "stop_reason", "stop_reason": "end_turn"}
USAGE = {"message_type": "usage_statistics", "completion_tokens": 1, "prompt_tokens": 2,
         "total_tokens": 3, "step_count": 1, "run_ids": [RUN]}  # fmt: skip
# seq 1 ping, 2 and 3 assistant, 4 stop_reason, 5 usage, 6 [DONE]
RUN_FRAMES: list[tuple[int, bytes]] = [
    (1, frame(ping(1))),
    (2, frame(assistant(2, "Hello"))),
    (3, frame(assistant(3, " there"))),
    (4, frame(STOP)),
    (5, frame(USAGE)),
    (6, frame("[DONE]")),
]


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def mini() -> AsyncIterator[Callable[[Handler, Handler], Awaitable[str]]]:
    runners: list[web.AppRunner] = []

    async def start(send: Handler, resume: Handler) -> str:
        app = web.Application()
        app.router.add_post("/v1/agents/{agent}/messages/stream", send)
        app.router.add_post("/v1/runs/{run}/stream", resume)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


async def sse(request: web.Request, frames: list[bytes]) -> web.StreamResponse:
    """A complete, cleanly ended chunked response: no cut, no error."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for data in frames:
        await response.write(data)
    await response.write_eof()
    return response


async def test_clean_close_after_stop_reason_is_resumed_for_the_tail(
    mini: Callable[[Handler, Handler], Awaitable[str]],
) -> None:
    bodies: list[dict[str, Any]] = []

    async def send(request: web.Request) -> web.StreamResponse:
        return await sse(request, [data for seq, data in RUN_FRAMES if seq <= 4])

    async def resume(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        bodies.append(body)
        after = body["starting_after"]
        return await sse(request, [data for seq, data in RUN_FRAMES if seq > after])

    base_url = await mini(send, resume)
    async with AsyncLetta(base_url=base_url, resume=ResumeSettings(**QUICK)) as client:
        stream = client.agents.messages.stream("agent-1", messages=say("hi"), background=True)
        events = await stream.until_done()
    assert [b["starting_after"] for b in bodies] == [4]
    assert [e.message_type for e in events][-2:] == ["stop_reason", "usage_statistics"]
    assert stream.usage is not None and stream.usage.total_tokens == 3
    # [DONE] (6) is no event: the position stays on the usage frame, the last event.
    assert stream.completed and stream.last_seq_id == 5


async def test_keepalive_pings_are_no_progress(
    mini: Callable[[Handler, Handler], Awaitable[str]],
) -> None:
    """A resume that brings only a keep-alive ping before closing must use up the budget."""
    resumes: list[int] = []
    keepalive = {**ping(0), "seq_id": None}

    async def send(request: web.Request) -> web.StreamResponse:
        return await sse(request, [data for seq, data in RUN_FRAMES if seq <= 2])

    async def resume(request: web.Request) -> web.StreamResponse:
        resumes.append((await request.json())["starting_after"])
        return await sse(request, [frame(keepalive)])

    base_url = await mini(send, resume)
    settings = ResumeSettings(max_attempts=3, **QUICK)
    async with AsyncLetta(base_url=base_url, resume=settings) as client:
        stream = client.agents.messages.stream("agent-1", messages=say("hi"), background=True)
        with pytest.raises(StreamResumeError), anyio.fail_after(10):
            await stream.until_done()
    assert resumes == [2, 2, 2]


async def test_last_seq_id_moves_with_the_events_handed_out(
    mini: Callable[[Handler, Handler], Awaitable[str]],
) -> None:
    """The whole run arrives in one read; progress still moves one event at a time, so a
    caller that saves ``last_seq_id`` after each event never skips one it did not handle."""

    async def send(request: web.Request) -> web.StreamResponse:
        return await sse(request, [b"".join(data for _, data in RUN_FRAMES)])

    async def resume(request: web.Request) -> web.StreamResponse:
        raise web.HTTPNotFound()

    base_url = await mini(send, resume)
    async with AsyncLetta(base_url=base_url) as client:
        stream = client.agents.messages.stream("agent-1", messages=say("hi"), background=True)
        progress = [(event.message_type, stream.last_seq_id) async for event in stream]
    assert progress == [
        ("ping", 1),
        ("assistant_message", 2),
        ("assistant_message", 3),
        ("stop_reason", 4),
        ("usage_statistics", 5),
    ]
    assert stream.last_seq_id == 5


async def test_a_replayed_frame_numbered_starting_after_is_dropped(
    mini: Callable[[Handler, Handler], Awaitable[str]],
) -> None:
    async def send(request: web.Request) -> web.StreamResponse:
        raise web.HTTPNotFound()

    async def resume(request: web.Request) -> web.StreamResponse:
        after = (await request.json())["starting_after"]
        # One frame too many: the one numbered `starting_after` comes again.
        return await sse(request, [data for seq, data in RUN_FRAMES if seq >= after])

    base_url = await mini(send, resume)
    async with AsyncLetta(base_url=base_url) as client:
        events = await client.runs.stream(RUN, starting_after=2).until_done()
    first = events[0]
    assert first.message_type == "assistant_message" and first.seq_id == 3
    assert [getattr(e, "seq_id", None) for e in events if e.message_type != "ping"][:1] == [3]


async def sse_then_break(request: web.Request, body: bytes) -> web.StreamResponse:
    """Everything in ``body`` in one write, then the TCP connection is aborted (no final
    chunk): what a proxy that drops the connection after the last event looks like."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    await response.write(body)
    await abort_connection(request)
    return response


async def test_nothing_after_an_error_event_is_handed_out(
    mini: Callable[[Handler, Handler], Awaitable[str]],
) -> None:
    """The events before an in-stream error come out, then StreamError; a frame that follows
    the error in the same read (here a stray assistant message) is never handed out."""
    before = [frame(ping(1)), frame(assistant(2, "Hello"))]
    error = {"message_type": "error_message", "run_id": RUN, "error_type": "internal_error",
             "message": "An error occurred", "detail": "boom", "seq_id": None}  # fmt: skip
    after = frame(assistant(4, "after the error"))

    async def send(request: web.Request) -> web.StreamResponse:
        chunk = b"".join(before) + b"event: error\n" + frame(error) + after
        return await sse(request, [chunk])

    async def resume(request: web.Request) -> web.StreamResponse:
        raise web.HTTPNotFound()

    base_url = await mini(send, resume)
    received: list[Any] = []
    async with AsyncLetta(base_url=base_url) as client:
        stream = client.agents.messages.stream("agent-1", messages=say("hi"), background=True)
        with pytest.raises(StreamError) as caught:
            async for event in stream:
                received.append(event)
    assert [(e.message_type, e.seq_id) for e in received] == [
        ("ping", 1),
        ("assistant_message", 2),
    ]
    assert caught.value.body == error


async def test_a_break_after_the_error_event_is_not_resumed(
    mini: Callable[[Handler, Handler], Awaitable[str]],
) -> None:
    """A background run that failed ends on its error event without [DONE] (the capture);
    a connection dropped right after it lost nothing, so no resume is asked for and the
    error is handed out once."""
    capture = fixture_bytes("error_llm500_background.sse")
    resumes: list[Any] = []

    async def send(request: web.Request) -> web.StreamResponse:
        return await sse_then_break(request, capture)

    async def resume(request: web.Request) -> web.StreamResponse:
        resumes.append(await request.json())
        return await sse(request, [capture])

    base_url = await mini(send, resume)
    async with AsyncLetta(base_url=base_url, resume=ResumeSettings(**QUICK)) as client:
        stream = client.agents.messages.stream(
            "agent-1", messages=say("hi"), background=True, errors_as_events=True
        )
        with anyio.fail_after(10):
            events = [event async for event in stream]
    wire = [json.loads(line[6:]) for line in capture.decode().splitlines() if line[:6] == "data: "]
    assert [e.message_type for e in events] == [f["message_type"] for f in wire]
    assert resumes == []
    assert stream.completed and stream.stop_reason == "llm_api_error"


async def test_a_break_after_a_cancelled_stop_is_not_resumed(
    mini: Callable[[Handler, Handler], Awaitable[str]],
) -> None:
    """A cancelled run's stream ends with its ``cancelled`` stop reason and no [DONE] (the
    capture): a connection dropped there is the end of the run, not a cut to resume."""
    capture = fixture_bytes("cancel_background.sse")
    resumes: list[Any] = []

    async def send(request: web.Request) -> web.StreamResponse:
        return await sse_then_break(request, capture)

    async def resume(request: web.Request) -> web.StreamResponse:
        resumes.append(await request.json())
        return await sse(request, [capture])

    base_url = await mini(send, resume)
    async with AsyncLetta(base_url=base_url, resume=ResumeSettings(**QUICK)) as client:
        stream = client.agents.messages.stream("agent-1", messages=say("hi"), background=True)
        with anyio.fail_after(10):
            events = await stream.until_done()
    wire = [json.loads(line[6:]) for line in capture.decode().splitlines() if line[:6] == "data: "]
    assert [e.message_type for e in events] == [f["message_type"] for f in wire]
    assert resumes == []
    assert stream.completed and stream.stop_reason == "cancelled"


# --- cancel and the conversation default ------------------------------------------------------


async def test_cancel_sends_the_cancel_request(server: LettaTestServer, agent_id: str) -> None:
    async with AsyncLetta(base_url=server.base_url) as client:
        stream = client.agents.messages.stream(
            agent_id, messages=say("hi [tokens=40] [chunkdelay=0.05]"), stream_tokens=True
        )
        async with stream:
            async for _ in stream:
                break
            await stream.cancel(wait=5)
    cancels = server.requests_to(r"/messages/cancel$", "POST")
    assert len(cancels) == 1
    assert cancels[0].json == {"run_ids": [stream.run_id]}
    assert stream.stop_reason == "cancelled"


async def test_cancel_on_exit_leaves_a_finished_run_alone(
    server: LettaTestServer, agent_id: str
) -> None:
    """``cancel_on_exit`` cancels a run the block left *before the stream ended*; a block
    that read the run to its end sends no cancel at all."""
    async with AsyncLetta(base_url=server.base_url) as client:
        stream = client.agents.messages.stream(
            agent_id, messages=say("hi"), background=True, cancel_on_exit=True
        )
        async with stream:
            events = [event async for event in stream]
    assert seen(events) == expected(logged(server, str(stream.run_id)))
    assert server.requests_to(r"/cancel$", "POST") == []


async def test_cancel_on_exit_cancels_a_run_left_early(
    server: LettaTestServer, agent_id: str
) -> None:
    async with AsyncLetta(base_url=server.base_url) as client:
        stream = client.agents.messages.stream(
            agent_id,
            messages=say("hi [tokens=40] [chunkdelay=0.05]"),
            background=True,
            stream_tokens=True,
            cancel_on_exit=True,
        )
        async with stream:
            async for event in stream:
                if event.message_type != "ping":
                    break
    (cancel,) = server.requests_to(r"/cancel$", "POST")
    assert cancel.json == {"run_ids": [stream.run_id]}


async def test_cancel_before_anything_was_read_cancels_the_run(
    server: LettaTestServer, agent_id: str
) -> None:
    """``stream.cancel()`` straight after the send, before a single event was read: the
    stream first reads until the server names the run, then cancels that run."""
    async with AsyncLetta(base_url=server.base_url) as client:
        stream = client.agents.messages.stream(
            agent_id, messages=say("hi [tokens=200] [chunkdelay=0.02]"), stream_tokens=True
        )
        async with stream:
            with anyio.fail_after(10):
                await stream.cancel(wait=5)
        assert stream.run_id is not None
        run = await server.wait_for_run(stream.run_id)
    (cancel,) = server.requests_to(r"/cancel$", "POST")
    assert cancel.json == {"run_ids": [stream.run_id]}
    assert run.status == "cancelled"


async def test_cancel_sends_nothing_for_a_run_that_ended_in_the_first_read(
    server: LettaTestServer, agent_id: str
) -> None:
    """The server's first answer names the run and ends it with an error event (its last
    word). ``cancel()`` called before anything was read learns both in the same read: the
    run is over, so no cancel request goes out, and the stream is closed."""
    server.faults.add(Fault(method="POST", path=r"/messages/stream$", error_event=True))
    async with AsyncLetta(base_url=server.base_url) as client:
        stream = client.agents.messages.stream(agent_id, messages=say("hi [tokens=40]"))
        async with stream:
            with anyio.fail_after(10):
                await stream.cancel(wait=5)
    (run_id,) = server.state.runs
    assert stream.run_id == run_id
    assert server.requests_to(r"/cancel$", "POST") == []


async def test_cancel_gives_up_quietly_when_the_run_is_never_named(
    server: LettaTestServer, agent_id: str
) -> None:
    """The server holds back every byte of its answer: within ``wait`` no frame names the
    run, so there is nothing to cancel by id. ``cancel`` closes the stream after ``wait``
    without an error and without a cancel request for an unknown run."""
    server.faults.add(Fault(method="POST", path=r"/messages/stream$", stall=5.0))
    async with AsyncLetta(base_url=server.base_url) as client:
        stream = client.agents.messages.stream(agent_id, messages=say("hi"))
        async with stream:
            with anyio.fail_after(3):
                await stream.cancel(wait=0.3)
    assert stream.run_id is None
    assert server.requests_to(r"/cancel$", "POST") == []


@pytest.mark.parametrize("streaming", [False, None])
async def test_conversation_create_streaming_flag(
    server: LettaTestServer, agent_id: str, streaming: bool | None
) -> None:
    conversation = server.create_conversation(agent_id)
    async with AsyncLetta(base_url=server.base_url) as client:
        if streaming is None:
            result: Any = await client.conversations.messages.create(
                conversation["id"], messages=say("hi")
            )
            assert isinstance(result, MessageStream)
            await result.until_done()
        else:
            result = await client.conversations.messages.create(
                conversation["id"], messages=say("hi"), streaming=streaming
            )
            assert isinstance(result, LettaResponse)
    (sent,) = server.requests_to(r"/v1/conversations/[^/]+/messages$", "POST")
    assert sent.json["streaming"] is (streaming is None)
