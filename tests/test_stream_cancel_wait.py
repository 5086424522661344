"""``stream.cancel()`` and ``until_done()`` as README and their docstrings promise them.

* ``cancel(wait=...)`` asks the server to cancel the run, then reads until the server confirms
  (the ``cancelled`` stop reason) and closes: it returns as soon as the confirmation came,
  even when the connection stays open after it, and after ``wait`` when none comes.
* A stream without a cancel route says so.
* ``until_done()`` with ``errors_as_events=True`` raises the in-stream error it handed out,
  with the stop reason before it and the stream's opening response, as the default raises.
* ``cancel_on_exit`` leaves alone a run whose stream ended with the ``cancelled`` stop reason.
* A frame of a kind this client does not know is handed out, even as the first frame.

The run and the refusal bodies are server captures; the cancel confirmation is a
``cancelled`` stop reason, as the server sends it.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from typing import Any

import anyio
import pytest
from aiohttp import web

from letta_async import AsyncLetta, MessageStream, ResumeSettings, StreamError, Timeout

from .replay import ReplayServer, fixture_bytes, json_answer, sse_answer

pytestmark = pytest.mark.anyio

RUN_RECORD = json.loads(fixture_bytes("run_retrieve.json"))
RUN = RUN_RECORD["id"]
AGENT = RUN_RECORD["agent_id"]
STREAM = f"/v1/runs/{RUN}/stream"
CANCEL = f"/v1/agents/{AGENT}/messages/cancel"
BOUND = 5.0


def frame(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


def assistant(seq: int, text: str) -> bytes:
    return frame({"id": f"message-{seq}", "date": "2026-11-22T02:01:49+00:00", "name": None,
                  "message_type": "assistant_message", "otid": f"otid-{seq}",
                  "sender_id": None, "step_id": "step-1", "is_err": None, "seq_id": seq,
                  "run_id": RUN, "content": text})  # fmt: skip


PING = frame({"id": "ping-1", "date": "2026-11-22T02:01:49+00:00", "name": None,
              "message_type": "ping", "otid": None, "sender_id": None, "step_id": None,
              "is_err": None, "seq_id": None, "run_id": RUN})  # fmt: skip
CANCELLED = frame({"message_type": "stop_reason", "stop_reason": "cancelled"})


def then_held_open(*frames: bytes) -> Any:
    """Send ``frames``, then keep the connection open with pings (no end) for the bound."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
        await response.prepare(request)
        try:
            for data in frames:
                await response.write(data)
            for _ in range(int(BOUND / 0.05)):
                await asyncio.sleep(0.05)
                await response.write(PING)
        except (ConnectionError, RuntimeError):
            pass  # the client left
        return response

    return handler


def client_for(replay: ReplayServer) -> AsyncLetta:
    # The end check (for a resumed stream gone quiet) stays out of the way of these tests.
    return AsyncLetta(
        replay.base_url,
        resume=ResumeSettings(end_check_after=BOUND),
        timeout=Timeout(stream_idle=BOUND, request=BOUND),
    )


async def cancel_after_first_event(replay: ReplayServer, wait: float) -> tuple[float, Any]:
    replay.on("GET", f"/v1/runs/{RUN}", always=json_answer(RUN_RECORD))
    replay.on("POST", CANCEL, always=json_answer({}))
    async with client_for(replay) as client:
        stream = client.runs.stream(RUN, starting_after=0)
        with anyio.fail_after(BOUND):
            async with stream:
                async for event in stream:
                    assert event.message_type == "assistant_message"
                    break
                started = time.monotonic()
                await stream.cancel(wait=wait)
                took = time.monotonic() - started
    assert [r.json() for r in replay.seen("POST", CANCEL)] == [{"run_ids": [RUN]}]
    return took, stream


async def test_cancel_returns_once_the_server_confirms_even_if_the_connection_stays(
    replay: ReplayServer,
) -> None:
    replay.on("POST", STREAM, then_held_open(assistant(1, "Hello"), CANCELLED))
    took, stream = await cancel_after_first_event(replay, wait=BOUND - 1)
    assert took < 1.0
    assert stream.stop_reason == "cancelled"
    assert stream.done


async def test_cancel_waits_no_longer_than_wait_for_a_confirmation(
    replay: ReplayServer,
) -> None:
    replay.on("POST", STREAM, then_held_open(assistant(1, "Hello")))
    took, stream = await cancel_after_first_event(replay, wait=0.3)
    assert 0.3 <= took < 1.0
    assert stream.stop_reason is None
    assert stream.done  # closed all the same


async def test_a_stream_without_a_cancel_route_says_so(replay: ReplayServer) -> None:
    """A stream built with no canceller (the public constructor allows it) cannot cancel."""
    replay.on("POST", STREAM, then_held_open(assistant(1, "Hello")))
    async with client_for(replay) as client:
        opened = client.runs.stream(RUN, starting_after=0)
        stream = MessageStream(opened._transport, opened._opener, background=True, follows=True)
        with anyio.fail_after(BOUND):
            async with stream:
                async for _ in stream:
                    break
                assert stream.run_id == RUN
                with pytest.raises(RuntimeError, match=r"^this stream has no cancel route$"):
                    await stream.cancel(wait=0.3)


async def test_until_done_raises_the_error_event_it_was_asked_to_hand_out(
    replay: ReplayServer,
) -> None:
    failed = "run-c13d9d13-9f6f-438c-9d39-ead297a1f307"
    replay.on(
        "POST",
        f"/v1/runs/{failed}/stream",
        sse_answer(fixture_bytes("error_llm500_background.sse")),
    )
    async with client_for(replay) as client:
        stream = client.runs.stream(failed, starting_after=0, errors_as_events=True)
        with anyio.fail_after(BOUND), pytest.raises(StreamError) as caught:
            await stream.until_done()
    error = caught.value
    assert error.error is not None and error.error.error_type == "llm_error"
    assert error.stop_reason == "llm_api_error"
    # The answer that opened the stream, as the default's StreamError carries it.
    assert error.response.status_code == 200
    assert error.response.headers["content-type"].startswith("text/event-stream")
    assert str(error.response.url).endswith(f"/v1/runs/{failed}/stream")
    assert str(error).startswith("llm_error: An error occurred with the LLM request.")


def test_cancel_waits_ten_seconds_for_the_confirmation_by_default() -> None:
    """The API reference shows the default; waiting it out takes ten seconds, so the
    signature is what is checked."""
    wait = inspect.signature(MessageStream.cancel).parameters["wait"]
    assert wait.kind is inspect.Parameter.KEYWORD_ONLY
    assert wait.default == 10.0


async def test_cancel_on_exit_leaves_a_run_the_server_said_was_cancelled_alone(
    replay: ReplayServer,
) -> None:
    """The server ends a cancelled run's stream after its ``cancelled`` stop reason (no
    ``[DONE]`` needed): the run is over, so leaving the block sends no cancel."""
    route = f"/v1/agents/{AGENT}/messages/stream"
    replay.on("POST", route, sse_answer(assistant(1, "Hello") + CANCELLED))
    async with client_for(replay) as client:
        stream = client.agents.messages.stream(
            AGENT, messages=[{"role": "user", "content": "hi"}], cancel_on_exit=True
        )
        with anyio.fail_after(BOUND):
            async with stream:
                events = [event async for event in stream]
    assert [e.message_type for e in events] == ["assistant_message", "stop_reason"]
    assert stream.run_id == RUN and stream.stop_reason == "cancelled"
    assert [(r.method, r.path) for r in replay.requests] == [("POST", route)]


async def test_the_raised_error_event_carries_its_frame_and_the_opening_response(
    replay: ReplayServer,
) -> None:
    failed = "run-c13d9d13-9f6f-438c-9d39-ead297a1f307"
    capture = fixture_bytes("error_llm500_background.sse")
    replay.on("POST", f"/v1/runs/{failed}/stream", sse_answer(capture))
    async with client_for(replay) as client:
        stream = client.runs.stream(failed, starting_after=0)
        with anyio.fail_after(BOUND), pytest.raises(StreamError) as caught:
            await stream.until_done()
    frame_json = capture.rstrip().rsplit(b"\n", 1)[-1].removeprefix(b"data: ")
    assert caught.value.body == json.loads(frame_json)
    assert caught.value.response.status_code == 200
    assert caught.value.response.headers["content-type"].startswith("text/event-stream")


@pytest.mark.parametrize("background", [False, True])
async def test_a_frame_of_an_unknown_kind_is_handed_out(
    replay: ReplayServer, background: bool
) -> None:
    route = f"/v1/agents/{AGENT}/messages/stream"
    novel = frame({"message_type": "brand_new_kind", "payload": 1})
    stop = frame({"message_type": "stop_reason", "stop_reason": "end_turn"})
    replay.on("POST", route, sse_answer(novel + assistant(1, "Hello") + stop + b"data: [DONE]\n\n"))
    async with client_for(replay) as client:
        stream = client.agents.messages.stream(
            AGENT, messages=[{"role": "user", "content": "hi"}], background=background
        )
        with anyio.fail_after(BOUND):
            events = await stream.until_done()
    assert [e.message_type for e in events][:2] == ["brand_new_kind", "assistant_message"]
    assert stream.run_id == RUN
    assert stream.completed
