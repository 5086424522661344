"""Servers that misbehave the way networks, proxies and overloaded servers do.

Each test names the fault, injects it (byte-exact with :mod:`._rawhttp`, or through the
test server's ``Fault``), and checks the documented outcome: the right events exactly once,
or the right typed error after the right number of requests, with the connection returned.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest

from letta_async import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncLetta,
    InternalServerError,
    RateLimitError,
    StreamError,
    StreamTruncatedError,
    Timeout,
)
from letta_async._config import RetryPolicy
from letta_async._transport import parse_retry_after
from letta_async.testing import Fault, LettaTestServer
from letta_async.types.agents import AgentState
from tests.reliability._captures import FIXTURES, SSE_HEADERS
from tests.reliability._expect import delivered, run_events
from tests.reliability._rawhttp import Exchange, RawServer, Request
from tests.reliability._tally import TALLY, event_key
from tests.reliability.conftest import FAST_RESUME, acquired

pytestmark = pytest.mark.anyio

AGENT = "agent-b05cfaca-a5c5-4c77-9066-a0c1994b3f13"
STEPS = (FIXTURES / "stream_steps.sse").read_bytes()
AGENT_JSON = (FIXTURES / "agent_create.json").read_bytes()
HI = [{"role": "user", "content": "hi"}]


def say(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def blocks(body: bytes) -> list[bytes]:
    return [b + b"\n\n" for b in body.split(b"\n\n") if b]


def capture_events(body: bytes) -> list[bytes]:
    from letta_async._decode import MessageDecoder

    decoder = MessageDecoder()
    return [
        event_key(decoder.decode(b.split(b"data: ", 1)[1].strip()))
        for b in blocks(body)
        if b"[DONE]" not in b
    ]


# --- cuts that lose nothing ----------------------------------------------------------------


async def test_foreground_cut_after_done_is_a_complete_reply(serve: Any) -> None:
    """A proxy that drops the connection after [DONE] but before the last chunk loses nothing."""

    async def handler(request: Request, ex: Exchange) -> None:
        ex.head(200, SSE_HEADERS)
        for block in blocks(STEPS):
            ex.chunk(block)
        await ex.cut()  # no terminating zero-length chunk

    server: RawServer = await serve(handler)
    TALLY.case("cuts")
    TALLY.fault("cuts")
    async with AsyncLetta(server.base_url) as client:
        stream = client.agents.messages.stream(AGENT, messages=HI)
        events = [event_key(e) async for e in stream]
        assert acquired(client) == 0
    TALLY.compare("cuts", capture_events(STEPS), events)
    assert events == capture_events(STEPS)
    assert stream.completed and stream.stop_reason == "end_turn"


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
@pytest.mark.parametrize("cut", ["after_frames", "mid_frame"])
async def test_background_cut_by_the_test_server_resumes_exactly_once(
    letta: LettaTestServer, cut: str, reset: bool
) -> None:
    agent = letta.create_agent(name="cut")
    fault = letta.faults.add(Fault(path=r"/messages/stream$", cut=cut, frames=4, reset=reset))  # type: ignore[arg-type]
    async with AsyncLetta(letta.base_url, resume=FAST_RESUME) as client:
        stream = client.agents.messages.stream(
            agent["id"], messages=say("hi [tool] [tokens=12]"), stream_tokens=True, background=True
        )
        events = await stream.until_done()
    TALLY.case("cuts")
    TALLY.fault("cuts", fault.hits)
    run = letta.state.runs[stream.run_id or ""]
    expected = run_events(run)
    TALLY.compare("cuts", expected, delivered(events))
    assert delivered(events) == expected
    assert stream.resumes == 1 and stream.completed


# --- slow and silent servers -----------------------------------------------------------------


async def test_slow_loris_stream_is_read_correctly_and_resets_the_idle_timer(serve: Any) -> None:
    """One byte per write, for longer in total than the idle timeout: every byte is progress."""
    interval = 0.0005

    async def handler(request: Request, ex: Exchange) -> None:
        ex.head(200, SSE_HEADERS)
        for i in range(len(STEPS)):
            ex.chunk(STEPS[i : i + 1])
            await asyncio.sleep(interval)
        ex.finish()

    server: RawServer = await serve(handler)
    TALLY.case("slow loris")
    TALLY.fault("slow loris", len(STEPS))
    timeout = Timeout(stream_idle=0.25)
    async with AsyncLetta(server.base_url, timeout=timeout) as client:
        started = time.monotonic()
        events = [event_key(e) async for e in client.agents.messages.stream(AGENT, messages=HI)]
        took = time.monotonic() - started
    TALLY.compare("slow loris", capture_events(STEPS), events)
    assert events == capture_events(STEPS)
    assert took > timeout.stream_idle  # type: ignore[operator]


async def test_slow_loris_json_body_hits_the_request_deadline(serve: Any) -> None:
    async def handler(request: Request, ex: Exchange) -> None:
        ex.head(200, {"Content-Type": "application/json"}, length=len(AGENT_JSON))
        for i in range(len(AGENT_JSON)):
            ex.raw(AGENT_JSON[i : i + 1])
            await asyncio.sleep(0.002)
        ex.finish()

    server: RawServer = await serve(handler)
    TALLY.case("slow loris")
    TALLY.fault("slow loris")
    async with AsyncLetta(server.base_url, timeout=Timeout(request=0.3), max_retries=0) as client:
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            await client.agents.retrieve(AGENT)
        assert time.monotonic() - started < 2.0
        assert acquired(client) == 0


async def test_foreground_stall_past_the_idle_timeout_is_a_timeout(letta: LettaTestServer) -> None:
    agent = letta.create_agent(name="stall")
    letta.faults.add(Fault(path=r"/messages/stream$", stall=1.0, frames=2))
    TALLY.case("stall")
    TALLY.fault("stall")
    async with AsyncLetta(letta.base_url, timeout=Timeout(stream_idle=0.15)) as client:
        stream = client.agents.messages.stream(agent["id"], messages=say("hi [tokens=6]"))
        seen = 0
        started = time.monotonic()
        with pytest.raises(APITimeoutError, match="idle"):
            async for _ in stream:
                seen += 1
        assert seen == 2
        assert time.monotonic() - started < 0.9, "the timeout, not the server, ended it"
        assert acquired(client) == 0
    assert stream.done and not stream.completed


@pytest.mark.parametrize("finished", [False, True], ids=["run-still-going", "run-finished"])
async def test_background_stall_probes_the_run_then_resumes(
    letta: LettaTestServer, finished: bool
) -> None:
    """Silence is not failure: ask the server about the run, then pick the stream up again."""
    agent = letta.create_agent(name="stall-bg")
    text = "hi [tokens=8]" if finished else "hi [tokens=8] [chunkdelay=0.05]"
    letta.faults.add(Fault(path=r"/messages/stream$", stall=0.6, frames=3))
    TALLY.case("stall")
    TALLY.fault("stall")
    async with AsyncLetta(
        letta.base_url, timeout=Timeout(stream_idle=0.15), resume=FAST_RESUME
    ) as client:
        stream = client.agents.messages.stream(
            agent["id"], messages=say(text), stream_tokens=True, background=True
        )
        events = await stream.until_done()
    run = letta.state.runs[stream.run_id or ""]
    expected = run_events(run)
    TALLY.compare("stall", expected, delivered(events))
    assert delivered(events) == expected
    assert len(letta.requests_to(rf"^/v1/runs/{run.id}$", "GET")) == 1, "one probe"
    assert stream.resumes == 1 and stream.completed


# --- 429 and 503 bursts ------------------------------------------------------------------


HINTS: dict[str, dict[str, Any]] = {
    "retry-after-ms": {"retry_after_ms": 100},
    "retry-after": {"retry_after": "0.1"},
    "both (ms wins)": {"retry_after_ms": 100, "retry_after": "30"},
    "retry-after-zero": {"retry_after": 0},
}
# Every hint above is shorter than the shortest backoff (0.375 s), so a gap below this bound
# shows the hint was used instead of the backoff, with room for a busy machine.
BELOW_BACKOFF = RetryPolicy().initial_delay * 0.75 - 0.005


def gaps(server: LettaTestServer, path: str) -> list[float]:
    times = [r.at for r in server.requests_to(path)]
    return [b - a for a, b in itertools.pairwise(times)]


@pytest.mark.parametrize("hint", list(HINTS), ids=list(HINTS))
@pytest.mark.parametrize("status", [429, 503])
async def test_burst_with_retry_hint_is_waited_out(
    letta: LettaTestServer, status: int, hint: str
) -> None:
    kwargs = HINTS[hint]
    letta.faults.add(Fault.http_status(status, times=2, path=r"^/v1/health/?$", **kwargs))
    TALLY.case("429/503 bursts")
    TALLY.fault("429/503 bursts", 2)
    async with AsyncLetta(letta.base_url, max_retries=2) as client:
        assert await client.get("/v1/health/", cast_to=object) == {
            "version": "0.16.8",
            "status": "ok",
        }
    assert len(letta.requests_to(r"^/v1/health")) == 3
    wanted = 0.0 if hint == "retry-after-zero" else 0.1
    for gap in gaps(letta, r"^/v1/health"):
        assert wanted - 0.01 <= gap < BELOW_BACKOFF, gap


@pytest.mark.parametrize("status", [429, 503])
async def test_burst_without_hint_backs_off_exponentially(
    letta: LettaTestServer, status: int
) -> None:
    letta.faults.add(Fault.http_status(status, times=1, path=r"^/v1/health/?$"))
    TALLY.case("429/503 bursts")
    TALLY.fault("429/503 bursts")
    async with AsyncLetta(letta.base_url, max_retries=2) as client:
        await client.get("/v1/health/", cast_to=object)
    (gap,) = gaps(letta, r"^/v1/health")
    policy = RetryPolicy()
    # First retry: initial_delay, less up to a quarter of jitter.
    assert policy.initial_delay * 0.75 - 0.01 <= gap <= policy.initial_delay + 0.25


@pytest.mark.parametrize("status", [429, 503])
async def test_burst_longer_than_the_retries_gives_the_typed_error(
    letta: LettaTestServer, status: int
) -> None:
    letta.faults.add(Fault.http_status(status, times=5, path=r"^/v1/health/?$", retry_after_ms=5))
    TALLY.case("429/503 bursts")
    TALLY.fault("429/503 bursts", 3)
    async with AsyncLetta(letta.base_url, max_retries=2) as client:
        with pytest.raises(RateLimitError if status == 429 else InternalServerError) as info:
            await client.get("/v1/health/", cast_to=object)
        assert acquired(client) == 0
    assert info.value.status_code == status
    assert info.value.headers.get("retry-after-ms") == "5"
    assert len(letta.requests_to(r"^/v1/health")) == 3


async def test_stream_burst_before_the_first_byte_is_retried_with_the_same_otid(
    letta: LettaTestServer,
) -> None:
    agent = letta.create_agent(name="burst")
    letta.faults.add(Fault.http_status(503, times=2, path=r"/messages/stream$", retry_after_ms=10))
    TALLY.case("429/503 bursts")
    TALLY.fault("429/503 bursts", 2)
    async with AsyncLetta(letta.base_url, max_retries=2) as client:
        stream = client.agents.messages.stream(agent["id"], messages=say("hi"))
        events = await stream.until_done()
    posts = letta.requests_to(r"/messages/stream$", "POST")
    assert len(posts) == 3
    assert len({p.json["messages"][0]["otid"] for p in posts}) == 1
    run = letta.state.runs[stream.run_id or ""]
    TALLY.compare("429/503 bursts", run_events(run), delivered(events))
    assert delivered(events) == run_events(run)


def test_retry_hints_are_parsed_and_capped() -> None:
    TALLY.case("429/503 bursts", 6)
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after": "-5"}) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({"retry-after-ms": "x", "retry-after": "1"}) == 1.0
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 28 <= (parse_retry_after({"retry-after": future}) or 0) <= 31


async def test_huge_retry_after_is_capped_not_obeyed(letta: LettaTestServer) -> None:
    """A server asking for an hour gets the cap; the caller can always cancel the wait."""
    import anyio

    letta.faults.add(Fault.http_status(503, times=1, path=r"^/v1/health/?$", retry_after=3600))
    TALLY.case("429/503 bursts")
    TALLY.fault("429/503 bursts")
    async with AsyncLetta(letta.base_url, max_retries=2) as client:
        with anyio.move_on_after(0.3) as scope:
            await client.get("/v1/health/", cast_to=object)
        assert scope.cancelled_caught
        assert acquired(client) == 0
        error = APIStatusError(
            "", status_code=503, body=None, headers={"Retry-After": "3600"}, method="GET"
        )
        assert client._transport.retry_delay(0, error) == RetryPolicy().max_retry_after
    assert len(letta.requests_to(r"^/v1/health")) == 1


# --- bodies that are not what was promised ----------------------------------------------------


async def test_html_error_page_is_a_status_error_with_the_text(letta: LettaTestServer) -> None:
    letta.faults.add(Fault.html(502, times=3, path=r"^/v1/agents/"))
    TALLY.case("bad bodies")
    TALLY.fault("bad bodies", 3)
    async with AsyncLetta(letta.base_url, max_retries=2) as client:
        client._transport.retry = RetryPolicy(initial_delay=0.01)
        with pytest.raises(InternalServerError) as info:
            await client.agents.retrieve(AGENT)
    assert isinstance(info.value.body, str) and "Bad Gateway" in info.value.body
    assert info.value.status_code == 502
    assert len(letta.requests_to(r"^/v1/agents/")) == 3


@pytest.mark.parametrize(
    "body", [b"<html><body>Welcome to nginx!</body></html>", b"", b"null", b'{"id": 5}']
)
async def test_wrong_success_body_is_a_validation_error(serve: Any, body: bytes) -> None:
    async def handler(request: Request, ex: Exchange) -> None:
        ex.send(body, content_type="text/html" if body.startswith(b"<") else "application/json")

    server: RawServer = await serve(handler)
    TALLY.case("bad bodies")
    TALLY.fault("bad bodies")
    async with AsyncLetta(server.base_url) as client:
        with pytest.raises(APIResponseValidationError) as info:
            await client.agents.retrieve(AGENT)
        assert acquired(client) == 0
    assert info.value.body == body
    assert len(server.requests) == 1, "a wrong body is not retried"


async def test_empty_success_body_for_an_untyped_call_is_none(serve: Any) -> None:
    async def handler(request: Request, ex: Exchange) -> None:
        ex.send(b"")

    server: RawServer = await serve(handler)
    TALLY.case("bad bodies")
    async with AsyncLetta(server.base_url) as client:
        assert await client.delete("/v1/anything", cast_to=object) is None


async def test_stream_answered_with_html_is_a_validation_error(serve: Any) -> None:
    page = b"<html><body>Access denied by policy</body></html>"

    async def handler(request: Request, ex: Exchange) -> None:
        ex.send(page, content_type="text/html")

    server: RawServer = await serve(handler)
    TALLY.case("bad bodies")
    TALLY.fault("bad bodies")
    async with AsyncLetta(server.base_url) as client:
        with pytest.raises(APIResponseValidationError, match="event stream") as info:
            await client.agents.messages.stream(AGENT, messages=HI).until_done()
        assert acquired(client) == 0
    assert info.value.body == page


async def test_error_status_with_empty_body_has_a_plain_message(serve: Any) -> None:
    async def handler(request: Request, ex: Exchange) -> None:
        ex.send(b"", status=404)

    server: RawServer = await serve(handler)
    TALLY.case("bad bodies")
    async with AsyncLetta(server.base_url) as client:
        with pytest.raises(APIStatusError) as info:
            await client.agents.retrieve(AGENT)
    assert str(info.value) == (
        "Error code: 404 - application/json, empty body (not a Letta answer: Letta reports "
        "errors as JSON; check that base_url points at a Letta server)"
    )
    assert info.value.body == "", "the official SDK's body for an empty answer: its text, stripped"


# --- bodies that break off ---------------------------------------------------------------------


@pytest.mark.parametrize("framing", ["chunked", "content-length", "after-headers"])
async def test_truncated_json_body_is_a_connection_error_and_retried(
    serve: Any, framing: str
) -> None:
    async def handler(request: Request, ex: Exchange) -> None:
        half = AGENT_JSON[: len(AGENT_JSON) // 2]
        if framing == "chunked":
            ex.head(200, {"Content-Type": "application/json"})
            ex.chunk(half)
        elif framing == "content-length":
            ex.head(200, {"Content-Type": "application/json"}, length=len(AGENT_JSON))
            ex.raw(half)
        else:
            ex.head(200, {"Content-Type": "application/json"}, length=len(AGENT_JSON))
        await ex.cut()

    server: RawServer = await serve(handler)
    TALLY.case("truncated bodies")
    TALLY.fault("truncated bodies", 3)
    async with AsyncLetta(server.base_url, max_retries=2) as client:
        client._transport.retry = RetryPolicy(max_retries=2, initial_delay=0.01)
        with pytest.raises(APIConnectionError) as info:
            await client.agents.retrieve(AGENT)
        assert acquired(client) == 0
    assert not isinstance(info.value, APITimeoutError)
    assert len(server.requests) == 3


async def test_truncated_json_body_then_a_good_one_succeeds(serve: Any) -> None:
    answers = iter(["cut", "ok"])

    async def handler(request: Request, ex: Exchange) -> None:
        if next(answers) == "cut":
            ex.head(200, {"Content-Type": "application/json"})
            ex.chunk(AGENT_JSON[:100])
            await ex.cut()
        else:
            ex.send(AGENT_JSON)

    server: RawServer = await serve(handler)
    TALLY.case("truncated bodies")
    TALLY.fault("truncated bodies")
    async with AsyncLetta(server.base_url) as client:
        client._transport.retry = RetryPolicy(initial_delay=0.01)
        agent = await client.agents.retrieve(AGENT)
    assert isinstance(agent, AgentState)
    assert len(server.requests) == 2


@pytest.mark.parametrize("where", ["after-headers", "mid-frame", "after-stop-reason"])
async def test_foreground_stream_broken_off_is_truncated(serve: Any, where: str) -> None:
    parts = blocks(STEPS)
    upto = {"after-headers": 0, "mid-frame": 2, "after-stop-reason": len(parts) - 2}[where]

    async def handler(request: Request, ex: Exchange) -> None:
        ex.head(200, SSE_HEADERS)
        for block in parts[:upto]:
            ex.chunk(block)
        if where == "mid-frame":
            ex.chunk(parts[upto][:30], declared=len(parts[upto]))
        await ex.cut()

    server: RawServer = await serve(handler)
    TALLY.case("truncated bodies")
    TALLY.fault("truncated bodies")
    async with AsyncLetta(server.base_url) as client:
        stream = client.agents.messages.stream(AGENT, messages=HI)
        events = []
        with pytest.raises(StreamTruncatedError):
            async for event in stream:
                events.append(event_key(event))
        assert acquired(client) == 0
    assert events == capture_events(STEPS)[:upto]
    assert len(server.requests) == 1, "a stream is never re-sent after its first byte"


@pytest.mark.parametrize("cut", ["before_headers", "after_headers"])
async def test_non_streaming_connection_dropped_early_is_retried(
    letta: LettaTestServer, cut: str
) -> None:
    letta.faults.add(Fault(path=r"^/v1/health/?$", cut=cut, times=2))  # type: ignore[arg-type]
    TALLY.case("truncated bodies")
    TALLY.fault("truncated bodies", 2)
    async with AsyncLetta(letta.base_url, max_retries=2) as client:
        client._transport.retry = RetryPolicy(initial_delay=0.01)
        assert (await client.get("/v1/health/", cast_to=object))["status"] == "ok"
    assert len(letta.requests_to(r"^/v1/health")) == 3


# --- errors inside the stream ----------------------------------------------------------------


@pytest.mark.parametrize("background", [False, True], ids=["foreground", "background"])
async def test_error_event_without_stop_reason_ends_the_stream_with_stream_error(
    letta: LettaTestServer, background: bool
) -> None:
    """An ``event: error`` is the server's last word, stop reason or not: no resume, no retry."""
    agent = letta.create_agent(name="err")
    letta.faults.add(Fault(path=r"/messages/stream$", error_event=True, frames=3))
    TALLY.case("in-stream errors")
    TALLY.fault("in-stream errors")
    async with AsyncLetta(letta.base_url, resume=FAST_RESUME) as client:
        stream = client.agents.messages.stream(
            agent["id"], messages=say("hi [tokens=10]"), stream_tokens=True, background=background
        )
        with pytest.raises(StreamError, match="internal_error") as info:
            await stream.until_done()
        assert acquired(client) == 0
    assert info.value.run_id == stream.run_id
    assert stream.done and stream.resumes == 0
    assert not letta.requests_to(r"/v1/runs/.*/stream$")


async def test_llm_error_in_a_background_stream_is_a_stream_error(letta: LettaTestServer) -> None:
    agent = letta.create_agent(name="llm")
    TALLY.case("in-stream errors")
    async with AsyncLetta(letta.base_url, resume=FAST_RESUME) as client:
        stream = client.agents.messages.stream(
            agent["id"], messages=say("hi [error500]"), background=True
        )
        events = []
        with pytest.raises(StreamError) as info:
            async for event in stream:
                events.append(event)
    run = letta.state.runs[stream.run_id or ""]
    # Every frame before the error is delivered; the error frame itself is the exception.
    assert [*delivered(events), event_key(info.value.error)] == run_events(run)
    assert stream.stop_reason == "llm_api_error" and stream.resumes == 0


async def test_runs_stream_from_a_saved_position_survives_a_cut(letta: LettaTestServer) -> None:
    """The explicit resume form (``client.runs.stream``) resumes itself after a cut too."""
    agent = letta.create_agent(name="runs")
    async with AsyncLetta(letta.base_url, resume=FAST_RESUME) as client:
        first = client.agents.messages.stream(
            agent["id"], messages=say("hi [tokens=12]"), stream_tokens=True, background=True
        )
        await first.until_done()
        run = letta.state.runs[first.run_id or ""]
        letta.faults.add(Fault(path=r"^/v1/runs/[^/]+/stream$", cut="mid_frame", frames=4))
        later = client.runs.stream(run.id, starting_after=3)
        events = await later.until_done()
    TALLY.case("cuts")
    TALLY.fault("cuts")
    seqs = [f.seq for f in run.frames if f.kind != "done"]
    expected = [key for key, seq in zip(run_events(run), seqs, strict=True) if (seq or 0) > 3]
    TALLY.compare("cuts", expected, delivered(events))
    assert delivered(events) == expected
    assert later.resumes == 1 and later.completed
    bodies = [r.json for r in letta.requests_to(r"^/v1/runs/[^/]+/stream$", "POST")]
    assert [b["starting_after"] for b in bodies] == [3, 6]
