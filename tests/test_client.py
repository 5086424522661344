"""AsyncLetta against a loopback server replaying real Letta 0.16.8 captures byte for byte."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
from collections.abc import AsyncIterator

import aiohttp
import anyio
import pytest
from aiohttp import web

import letta_async
from letta_async import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    AsyncLetta,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StreamError,
    StreamTruncatedError,
    Timeout,
    UnprocessableEntityError,
)
from letta_async.types import (
    AssistantMessage,
    LettaErrorMessage,
    LettaPing,
    LettaResponse,
    LettaStopReason,
    LettaUsageStatistics,
    ToolCallMessage,
    ToolReturnMessage,
)
from tests.replay import (
    ReplayServer,
    close_after_headers,
    fixture_bytes,
    json_answer,
    raw_answer,
    sse_answer,
)

pytestmark = pytest.mark.anyio

AGENT = "agent-b05cfaca-a5c5-4c77-9066-a0c1994b3f13"
MESSAGES = f"/v1/agents/{AGENT}/messages"
STREAM = f"{MESSAGES}/stream"
HI = [{"role": "user", "content": "hi"}]
SECRET = "sk-very-secret-key-123"


def acquired(client: AsyncLetta) -> int:
    session = client.session
    if session is None or session.connector is None:
        return 0
    return len(session.connector._acquired)  # type: ignore[attr-defined]


@pytest.fixture
async def client(replay: ReplayServer) -> AsyncIterator[AsyncLetta]:
    async with AsyncLetta(
        replay.base_url,
        api_key=SECRET,
        timeout=Timeout(request=5, stream_idle=5),
        max_retries=2,
    ) as c:
        yield c
        assert acquired(c) == 0, "a connection was left acquired"


def frames_of(name: str) -> list[str]:
    """The data lines of a capture, as the server sent them."""
    text = fixture_bytes(name).decode()
    return [
        line[len("data: ") :]
        for block in text.split("\n\n")
        for line in block.split("\n")
        if line.startswith("data: ")
    ]


# --- streaming happy paths -------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [None, 1, 7, 4096])
async def test_stream_steps_yields_typed_events_in_order(
    replay: ReplayServer, client: AsyncLetta, chunk: int | None
) -> None:
    replay.on("POST", STREAM, sse_answer(fixture_bytes("stream_steps_tool.sse"), chunk=chunk))
    events = [e async for e in client.agents.messages.stream(AGENT, messages=HI)]
    frames = frames_of("stream_steps_tool.sse")
    assert frames[-1] == "[DONE]"
    expected = [json.loads(f)["message_type"] for f in frames[:-1]]
    assert [e.message_type for e in events] == expected
    kinds = [type(e) for e in events]
    assert kinds == [
        LettaPing,
        ToolCallMessage,
        ToolReturnMessage,
        AssistantMessage,
        LettaStopReason,
        LettaUsageStatistics,
    ]
    assert isinstance(events[3], AssistantMessage)
    assert events[3].content == "Done with the tool; here is my answer."


async def test_stream_exposes_run_id_stop_reason_and_usage(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("POST", STREAM, sse_answer(fixture_bytes("stream_steps.sse")))
    stream = client.agents.messages.stream(AGENT, messages=HI)
    assert stream.run_id is None
    async for _ in stream:
        pass
    first = json.loads(frames_of("stream_steps.sse")[0])
    assert stream.run_id == first["run_id"]
    assert stream.stop_reason == "end_turn"
    assert stream.usage is not None and stream.usage.total_tokens > 0
    assert stream.last_seq_id is None  # foreground: the server sends seq_id null
    assert stream.completed


async def test_stream_request_passes_the_sdk_gate_and_sends_otid(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("POST", STREAM, sse_answer(fixture_bytes("stream_steps.sse")))
    await client.agents.messages.stream(
        AGENT, messages=HI, stream_tokens=True, include_pings=True
    ).until_done()
    (seen,) = replay.seen("POST", STREAM)
    assert "User-Agent" not in seen.headers
    assert seen.headers["Authorization"] == f"Bearer {SECRET}"
    assert seen.headers["Accept"] == "text/event-stream"
    body = seen.json()
    assert body["streaming"] is True
    assert body["stream_tokens"] is True
    assert body["include_pings"] is True
    assert body["messages"][0]["content"] == "hi"
    assert isinstance(body["messages"][0]["otid"], str) and len(body["messages"][0]["otid"]) >= 32


async def test_async_with_stream_and_token_fixture(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("POST", STREAM, sse_answer(fixture_bytes("stream_tokens_tool.sse"), chunk=64))
    async with client.agents.messages.stream(AGENT, messages=HI, stream_tokens=True) as stream:
        events = [e async for e in stream]
    deltas = [e for e in events if isinstance(e, ToolCallMessage)]
    assert deltas, "token stream carries tool-call deltas"
    text = "".join(e.content for e in events if isinstance(e, AssistantMessage))  # type: ignore[misc]
    assert text == "Done with the tool; here is my answer."
    assert len(events) == len(frames_of("stream_tokens_tool.sse")) - 1


# --- stream endings ----------------------------------------------------------------------------


async def test_in_stream_error_is_yielded_and_until_done_raises(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("POST", STREAM, sse_answer(fixture_bytes("error_llm500_stream.sse")))
    stream = client.agents.messages.stream(AGENT, messages=HI)
    with pytest.raises(StreamError) as info:
        await stream.until_done()
    assert isinstance(stream.error, LettaErrorMessage)
    assert stream.error.error_type == "llm_error"
    assert stream.stop_reason == "llm_api_error"
    assert info.value.error is stream.error
    assert "llm_error" in str(info.value)


async def test_broken_llm_stream_without_done_ends_with_the_error(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("POST", STREAM, sse_answer(fixture_bytes("error_midstream.sse")))
    replay.on("POST", STREAM, sse_answer(fixture_bytes("error_midstream.sse")))
    # In-band form: the error is the last event and the stream ends.
    stream = client.agents.messages.stream(AGENT, messages=HI, errors_as_events=True)
    events = [e async for e in stream]
    assert isinstance(events[-1], LettaErrorMessage)
    assert [e.stop_reason for e in events if isinstance(e, LettaStopReason)] == [
        "error",
        "llm_api_error",
    ]
    # Default form: the same events, then the error raised.
    raised: list[object] = []
    with pytest.raises(StreamError) as info:
        async for event in client.agents.messages.stream(AGENT, messages=HI):
            raised.append(event)
    assert [type(e) for e in raised] == [type(e) for e in events[:-1]]
    assert info.value.error.error_type == "internal_error"


async def test_cancelled_stop_reason_ends_cleanly_without_done(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("POST", STREAM, sse_answer(fixture_bytes("cancel.sse")))
    stream = client.agents.messages.stream(AGENT, messages=HI)
    events = [e async for e in stream]
    assert isinstance(events[-1], LettaStopReason)
    assert stream.stop_reason == "cancelled"
    assert stream.completed


async def test_stream_ending_without_stop_reason_is_truncated(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    # A clean close of the HTTP body, but the Letta stream never finished.
    replay.on("POST", STREAM, sse_answer(fixture_bytes("foreground_disconnect_part.sse")))
    seen: list[object] = []
    with pytest.raises(StreamTruncatedError):
        async for event in client.agents.messages.stream(AGENT, messages=HI):
            seen.append(event)
    assert len(seen) == len(frames_of("foreground_disconnect_part.sse"))


async def test_dropped_connection_mid_stream_is_an_error_not_an_end(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    body = fixture_bytes("stream_steps.sse")
    replay.on("POST", STREAM, sse_answer(body, cut_at=len(body) // 2))
    with pytest.raises(StreamTruncatedError):
        async for _ in client.agents.messages.stream(AGENT, messages=HI):
            pass
    # Never retried after the first byte: the run may already be producing.
    assert len(replay.seen("POST", STREAM)) == 1


async def test_foreground_idle_timeout_raises(replay: ReplayServer) -> None:
    body = fixture_bytes("stream_steps.sse")
    replay.on("POST", STREAM, sse_answer(body, stall_at=len(body) // 3, stall=3))
    async with AsyncLetta(replay.base_url, timeout=Timeout(stream_idle=0.3)) as client:
        with pytest.raises(APITimeoutError):
            async for _ in client.agents.messages.stream(AGENT, messages=HI):
                pass
        assert acquired(client) == 0


async def test_connection_closed_right_after_headers(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("POST", STREAM, close_after_headers())
    with pytest.raises(APIConnectionError):
        await client.agents.messages.stream(AGENT, messages=HI).until_done()


# --- early exit and cancellation release the connection ------------------------------------


async def test_break_releases_connection_at_once(replay: ReplayServer, client: AsyncLetta) -> None:
    body = fixture_bytes("stream_steps.sse")
    replay.on("POST", STREAM, sse_answer(body, stall_at=len(body) // 2, stall=5))
    async for event in client.agents.messages.stream(AGENT, messages=HI):
        assert isinstance(event, LettaPing)
        break
    assert acquired(client) == 0


async def test_leaving_async_with_early_releases_connection(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    body = fixture_bytes("stream_steps.sse")
    replay.on("POST", STREAM, sse_answer(body, stall_at=len(body) // 2, stall=5))
    async with client.agents.messages.stream(AGENT, messages=HI) as stream:
        async for _ in stream:
            break
        assert acquired(client) == 1
    assert acquired(client) == 0
    assert stream.done


async def test_task_cancellation_releases_connection(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    body = fixture_bytes("stream_steps.sse")
    replay.on("POST", STREAM, sse_answer(body, stall_at=len(body) // 2, stall=5))
    got: list[object] = []
    with anyio.move_on_after(0.5):
        async for event in client.agents.messages.stream(AGENT, messages=HI):
            got.append(event)
    assert got, "the first frames arrived before the stall"
    gc.collect()
    assert acquired(client) == 0


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "fixture", "cls"),
    [
        (400, "errors_400_run_stream_not_background.json", BadRequestError),
        (401, "errors_401_no_token.json", AuthenticationError),
        (403, None, PermissionDeniedError),
        (404, "errors_404_agent.json", NotFoundError),
        (409, "errors_409_no_active_runs.json", ConflictError),
        (422, "errors_422_bad_role.json", UnprocessableEntityError),
        (429, None, RateLimitError),
        (500, "error_llm500_nonstream.json", InternalServerError),
        (503, "errors_503_background_without_redis.json", InternalServerError),
    ],
)
async def test_status_errors_map_to_typed_classes(
    replay: ReplayServer, status: int, fixture: str | None, cls: type[Exception]
) -> None:
    payload = fixture_bytes(fixture) if fixture else b'{"detail":"nope"}'
    replay.on("GET", f"/v1/agents/{AGENT}", always=json_answer(payload, status=status))
    async with AsyncLetta(replay.base_url, api_key=SECRET, max_retries=0) as client:
        with pytest.raises(cls) as info:
            await client.agents.retrieve(AGENT)
    error = info.value
    assert isinstance(error, letta_async.APIStatusError)
    assert error.status_code == status
    assert error.body == json.loads(payload)
    assert error.detail
    assert str(error) == f"Error code: {status} - {json.loads(payload)}"
    assert SECRET not in str(error) and SECRET not in repr(error)


async def test_llm_error_body_shape_gives_its_message(replay: ReplayServer) -> None:
    replay.on(
        "POST",
        MESSAGES,
        always=json_answer(fixture_bytes("error_llm500_nonstream.json"), status=500),
    )
    async with AsyncLetta(replay.base_url, max_retries=0) as client:
        with pytest.raises(InternalServerError) as info:
            await client.agents.messages.create(AGENT, messages=HI)
    assert info.value.detail is not None and info.value.detail.startswith("llm_error")


async def test_html_error_page_keeps_text_body(replay: ReplayServer) -> None:
    replay.on("GET", "/v1/runs/run-1", always=raw_answer(b"<html>bad gateway</html>", status=502))
    async with AsyncLetta(replay.base_url, max_retries=0) as client:
        with pytest.raises(InternalServerError) as info:
            await client.runs.retrieve("run-1")
    assert info.value.body == "<html>bad gateway</html>"


@pytest.mark.parametrize("body", [b"<html>oops</html>", b""])
async def test_non_json_success_body_is_a_validation_error(
    replay: ReplayServer, client: AsyncLetta, body: bytes
) -> None:
    replay.on("GET", "/v1/runs/run-1", raw_answer(body, status=200))
    with pytest.raises(APIResponseValidationError):
        await client.runs.retrieve("run-1")


async def test_streaming_endpoint_answering_json_is_reported(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("POST", STREAM, json_answer(fixture_bytes("nonstream_response.json")))
    with pytest.raises(APIResponseValidationError):
        await client.agents.messages.stream(AGENT, messages=HI).until_done()


# --- retries -------------------------------------------------------------------------------------


async def test_retries_5xx_and_reuses_otid(replay: ReplayServer, client: AsyncLetta) -> None:
    busy = json_answer({"detail": "busy"}, status=503, headers={"retry-after-ms": "10"})
    replay.on("POST", MESSAGES, busy, busy, json_answer(fixture_bytes("nonstream_response.json")))
    response = await client.agents.messages.create(AGENT, messages=HI)
    assert isinstance(response, LettaResponse)
    assert response.stop_reason is not None
    attempts = replay.seen("POST", MESSAGES)
    assert len(attempts) == 3
    otids = {a.json()["messages"][0]["otid"] for a in attempts}
    assert len(otids) == 1, "every retry resends the same otid"


async def test_retries_run_out(replay: ReplayServer, client: AsyncLetta) -> None:
    replay.on(
        "GET",
        "/v1/runs/run-1",
        always=json_answer({"detail": "slow"}, status=429, headers={"Retry-After": "0"}),
    )
    with pytest.raises(RateLimitError):
        await client.runs.retrieve("run-1")
    assert len(replay.seen("GET", "/v1/runs/run-1")) == 3  # 1 + max_retries


@pytest.mark.parametrize("status", [400, 401, 404, 409, 422])
async def test_client_errors_are_not_retried(
    replay: ReplayServer, client: AsyncLetta, status: int
) -> None:
    replay.on("GET", "/v1/runs/run-1", always=json_answer({"detail": "no"}, status=status))
    with pytest.raises(letta_async.APIStatusError):
        await client.runs.retrieve("run-1")
    assert len(replay.seen("GET", "/v1/runs/run-1")) == 1


async def test_stream_retried_before_first_byte(replay: ReplayServer, client: AsyncLetta) -> None:
    busy = json_answer({"detail": "busy"}, status=502, headers={"retry-after-ms": "1"})
    replay.on("POST", STREAM, busy, sse_answer(fixture_bytes("stream_steps.sse")))
    # Before sending again, the client asks whether the first try started a run: no message
    # carries its otid and no run started since, so the server never saw it.
    replay.on("GET", MESSAGES, always=json_answer([]))
    replay.on("GET", "/v1/runs/", always=json_answer([]))
    events = await client.agents.messages.stream(AGENT, messages=HI).until_done()
    assert isinstance(events[-1], LettaUsageStatistics)
    attempts = replay.seen("POST", STREAM)
    assert len(attempts) == 2
    assert attempts[0].json() == attempts[1].json()
    asked = [(r.method, r.path) for r in replay.requests[1:-1]]
    assert [replay.requests[0].path, replay.requests[-1].path] == [STREAM, STREAM]
    assert set(asked) == {("GET", MESSAGES), ("GET", "/v1/runs/")}


async def test_connection_refused_is_a_connection_error() -> None:
    async with AsyncLetta("http://127.0.0.1:9", max_retries=1) as client:
        with pytest.raises(APIConnectionError):
            await client.runs.retrieve("run-1")


# --- non-streaming calls and pagination ---------------------------------------------------------


async def test_create_decodes_letta_response(replay: ReplayServer, client: AsyncLetta) -> None:
    replay.on("POST", MESSAGES, json_answer(fixture_bytes("nonstream_tool_response.json")))
    response = await client.agents.messages.create(AGENT, input="hi")
    assert any(isinstance(m, ToolCallMessage) for m in response.messages)
    assert any(isinstance(m, AssistantMessage) for m in response.messages)
    (seen,) = replay.seen("POST", MESSAGES)
    assert seen.json() == {"input": "hi"}
    # No User-Agent (the server then answers as to the official SDK); the client names itself
    # in X-Letta-Client.
    assert "User-Agent" not in seen.headers
    assert seen.headers["X-Letta-Client"].startswith("letta-async/")


async def test_message_history_desc_pages_walk_back_in_time(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    page1 = json.loads(fixture_bytes("messages_list_desc_page1.json"))
    page2 = json.loads(fixture_bytes("messages_list_desc_page2.json"))
    replay.on(
        "GET",
        MESSAGES,
        json_answer(page1),
        json_answer(page2),
        json_answer([]),
    )
    items = [m async for m in client.agents.messages.list(AGENT, limit=4)]
    # Each desc page holds the newest messages oldest to newest; pages go back in time.
    assert [m.id for m in items] == [m["id"] for m in page1] + [m["id"] for m in page2]
    queries = [r.query for r in replay.seen("GET", MESSAGES)]
    assert queries[0] == {"limit": "4"}
    assert queries[1] == {"limit": "4", "before": page1[0]["id"]}
    assert queries[2] == {"limit": "4", "before": page2[0]["id"]}


async def test_message_history_asc_pages_forward(replay: ReplayServer, client: AsyncLetta) -> None:
    page1 = json.loads(fixture_bytes("messages_list_asc_page1.json"))
    page2 = json.loads(fixture_bytes("messages_list_asc_page2.json"))
    replay.on("GET", MESSAGES, json_answer(page1), json_answer(page2[:2]), json_answer([]))
    items = [m async for m in client.agents.messages.list(AGENT, limit=4, order="asc")]
    assert [m.id for m in items] == [m["id"] for m in page1] + [m["id"] for m in page2[:2]]
    queries = [r.query for r in replay.seen("GET", MESSAGES)]
    assert queries[1] == {"limit": "4", "order": "asc", "after": page1[-1]["id"]}
    # As in the official SDK, the walk ends on the empty page after the short one.
    assert queries[2] == {"limit": "4", "order": "asc", "after": page2[1]["id"]}
    assert len(queries) == 3


async def test_single_page_by_awaiting(replay: ReplayServer, client: AsyncLetta) -> None:
    replay.on("GET", "/v1/runs/", json_answer(fixture_bytes("runs_list.json")))
    page = await client.runs.list(agent_id=AGENT, limit=3)
    expected = json.loads(fixture_bytes("runs_list.json"))
    assert [r.id for r in page.items] == [r["id"] for r in expected]
    assert replay.seen("GET", "/v1/runs/")[0].query == {"agent_id": AGENT, "limit": "3"}


async def test_cancel_posts_run_ids(replay: ReplayServer, client: AsyncLetta) -> None:
    replay.on("POST", f"{MESSAGES}/cancel", json_answer(fixture_bytes("cancel_response.json")))
    result = await client.agents.messages.cancel(AGENT, run_ids=["run-x"])
    assert result == json.loads(fixture_bytes("cancel_response.json"))
    assert replay.seen("POST", f"{MESSAGES}/cancel")[0].json() == {"run_ids": ["run-x"]}


async def test_escape_hatch_get(replay: ReplayServer, client: AsyncLetta) -> None:
    replay.on("GET", "/v1/health/", json_answer(fixture_bytes("health.json")))
    expected = json.loads(fixture_bytes("health.json"))
    assert await client.get("/v1/health/", cast_to=object) == expected


# --- settings, pool and secrets -----------------------------------------------------------------


def test_api_key_never_in_repr() -> None:
    client = AsyncLetta("http://127.0.0.1:1", api_key=SECRET)
    assert SECRET not in repr(client)
    assert "<set>" in repr(client)


def test_base_url_from_env_and_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LETTA_BASE_URL", "http://127.0.0.1:1234/")
    assert str(AsyncLetta().base_url) == "http://127.0.0.1:1234"
    monkeypatch.delenv("LETTA_BASE_URL")
    assert str(AsyncLetta().base_url) == "https://api.letta.com"  # Letta Cloud, as officially
    for bad in ["ftp://x", "localhost:8283", "http://user:pw@host", "http://h/?q=1"]:
        with pytest.raises(ValueError, match="base_url"):
            AsyncLetta(bad)


def test_header_injection_is_refused() -> None:
    with pytest.raises(ValueError, match="line break"):
        AsyncLetta("http://127.0.0.1:1", api_key="abc\r\nX-Evil: 1")


async def test_ids_are_quoted_into_one_path_segment(
    replay: ReplayServer, client: AsyncLetta
) -> None:

    replay.on("GET", "/v1/runs/../admin?x", json_answer(fixture_bytes("run_retrieve.json")))
    await client.runs.retrieve("../admin?x")
    assert replay.requests[-1].raw_path == "/v1/runs/..%2Fadmin%3Fx"
    assert replay.requests[-1].query == {}


async def test_one_session_shared_and_callers_session_left_open(replay: ReplayServer) -> None:
    replay.on("GET", "/v1/health/", always=json_answer(fixture_bytes("health.json")))
    async with aiohttp.ClientSession() as own:
        async with AsyncLetta(replay.base_url, session=own) as client:
            await client.health()
            await client.server.check()
            assert client.session is own
        assert not own.closed


async def test_key_not_logged(replay: ReplayServer, caplog: pytest.LogCaptureFixture) -> None:
    replay.on("GET", "/v1/health/", always=json_answer({"detail": "x"}, status=500))
    caplog.set_level(logging.DEBUG, logger="letta_async")
    async with AsyncLetta(replay.base_url, api_key=SECRET, max_retries=1) as client:
        with pytest.raises(InternalServerError):
            await client.health()
    assert "retrying" in caplog.text
    assert SECRET not in caplog.text


async def test_request_deadline_raises_timeout(replay: ReplayServer) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(2)
        return web.json_response({})

    replay.on("GET", "/v1/runs/run-1", always=slow)
    async with AsyncLetta(replay.base_url, timeout=0.2, max_retries=1) as client:
        with pytest.raises(APITimeoutError):
            await client.runs.retrieve("run-1")
        assert acquired(client) == 0
    assert len(replay.seen("GET", "/v1/runs/run-1")) == 2, "timeouts are retried"


async def test_hooks_see_requests_and_retries(replay: ReplayServer) -> None:
    busy = json_answer({"detail": "busy"}, status=503, headers={"retry-after-ms": "1"})
    replay.on("GET", "/v1/health/", busy, json_answer(fixture_bytes("health.json")))
    seen: list[tuple[str, ...]] = []

    async def on_retry(what: str, attempt: int, delay: float, error: BaseException) -> None:
        seen.append(("retry", what, str(attempt)))

    hooks = letta_async.Hooks(
        on_request=[lambda method, url: seen.append(("request", method, url))],
        on_retry=[on_retry],
    )
    async with AsyncLetta(replay.base_url, hooks=hooks) as client:
        await client.health()
    assert [s[0] for s in seen] == ["request", "retry", "request"]
    assert seen[1][1:] == ("GET /v1/health/", "1")


async def test_undecodable_frame_raises_after_the_events_before_it(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    frames = fixture_bytes("stream_steps.sse").split(b"\n\n")
    broken = b"\n\n".join([*frames[:2], b"data: {not json", *frames[2:]])
    replay.on("POST", STREAM, sse_answer(broken))
    seen: list[object] = []
    with pytest.raises(letta_async.MessageDecodeError) as info:
        async for event in client.agents.messages.stream(AGENT, messages=HI):
            seen.append(event)
    assert [type(e) for e in seen] == [LettaPing, AssistantMessage]
    assert info.value.payload == "{not json"


def test_base_url_with_whitespace_or_nul_is_refused() -> None:
    for bad in ["http://a b", "http://x\x00y", "http://host\n"]:
        with pytest.raises(ValueError, match="whitespace"):
            AsyncLetta(bad)


async def test_pagination_stops_when_the_server_ignores_the_cursor(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    page = json.loads(fixture_bytes("runs_list.json"))
    replay.on("GET", "/v1/runs/", always=json_answer(page))
    runs = [r async for r in client.runs.list(limit=len(page))]
    assert [r.id for r in runs] == [r["id"] for r in page]
    assert len(replay.seen("GET", "/v1/runs/")) == 2


def test_bare_import_does_not_load_the_http_stack() -> None:
    import subprocess
    import sys

    code = (
        "import sys, letta_async\n"
        "assert 'aiohttp' not in sys.modules, 'aiohttp loaded eagerly'\n"
        "letta_async.AsyncLetta\n"
        "assert 'aiohttp' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


async def test_pagination_skips_items_a_server_repeats_after_the_cursor(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    # Shaped like Letta 0.16.8's agent tools route, which answers after=<last id> with an
    # item from before the cursor.
    page = json.loads(fixture_bytes("runs_list.json"))
    replay.on("GET", "/v1/runs/", json_answer(page), json_answer(page[1:2]))
    runs = [r async for r in client.runs.list()]
    assert [r.id for r in runs] == [r["id"] for r in page]
    assert len(replay.seen("GET", "/v1/runs/")) == 2


async def test_send_fields_reach_the_body_and_unset_ones_stay_out(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("POST", MESSAGES, json_answer(fixture_bytes("nonstream_response.json")))
    replay.on("POST", STREAM, sse_answer(fixture_bytes("stream_steps.sse")))
    await client.agents.messages.create(AGENT, messages=HI, max_steps=3, override_model="m")
    await client.agents.messages.stream(
        AGENT, messages=HI, max_steps=2, enable_thinking="on"
    ).until_done()
    (create,) = (r.json() for r in replay.seen("POST", MESSAGES))
    (stream,) = (r.json() for r in replay.seen("POST", STREAM))
    assert {k for k in create if k != "messages"} == {"max_steps", "override_model"}
    assert (create["max_steps"], create["override_model"]) == (3, "m")
    # Only what was passed, plus the streaming flag the route needs.
    assert {k for k in stream if k != "messages"} == {"max_steps", "enable_thinking", "streaming"}
    assert (stream["max_steps"], stream["enable_thinking"]) == (2, "on")
