"""``with_raw_response`` and ``with_streaming_response``: the HTTP answer behind any call.

Answers are the captures in ``tests/fixtures``, replayed byte for byte by a loopback server;
every check compares with those bytes or their JSON.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from letta_async import AsyncLetta, NotFoundError
from letta_async.resources._json_stream import JsonEventStream
from letta_async.types import AgentState, AssistantMessage, LettaResponse
from tests.replay import ReplayServer, fixture_bytes, json_answer, sse_answer

pytestmark = pytest.mark.anyio

RAW_AGENT = fixture_bytes("agent_create.json")
AGENT_JSON = json.loads(RAW_AGENT)
AGENT = AGENT_JSON["id"]
ROUTE = f"/v1/agents/{AGENT}"
HI = [{"role": "user", "content": "hi"}]


def acquired(client: AsyncLetta) -> int:
    session = client.session
    if session is None or session.connector is None:
        return 0
    return len(session.connector._acquired)  # type: ignore[attr-defined]


def agent_answer() -> web.StreamResponse:
    return web.Response(
        body=RAW_AGENT, content_type="application/json", headers={"X-Request-Id": "req-1"}
    )


@pytest.fixture
async def client(replay: ReplayServer) -> AsyncIterator[AsyncLetta]:
    async def handler(request: web.Request) -> web.StreamResponse:
        return agent_answer()

    replay.on("GET", ROUTE, always=handler)
    async with AsyncLetta(replay.base_url, api_key="sk-raw", max_retries=0) as c:
        yield c
        assert acquired(c) == 0, "a connection was left acquired"


async def test_raw_response_of_a_resource_method(client: AsyncLetta) -> None:
    raw = await client.agents.with_raw_response.retrieve(AGENT)
    assert raw.status_code == 200
    assert raw.headers["x-request-id"] == "req-1"
    assert raw.headers["Content-Type"].startswith("application/json")
    assert await raw.read() == RAW_AGENT
    assert await raw.text() == RAW_AGENT.decode()
    assert await raw.json() == AGENT_JSON
    agent = await raw.parse()
    assert isinstance(agent, AgentState)
    assert (agent.id, agent.name) == (AGENT_JSON["id"], AGENT_JSON["name"])
    assert await raw.parse() is agent, "parsed once"
    assert raw.url.path == ROUTE and raw.method == "GET"
    request = raw.http_request
    assert request is not None and "authorization" not in {k.lower() for k in request.headers}


async def test_raw_mode_covers_only_the_call_it_wraps(client: AsyncLetta) -> None:
    """A raw (or streaming) call does not leave its mode on: the same task's next ordinary
    calls get parsed models again."""
    raw = await client.agents.with_raw_response.retrieve(AGENT)
    assert raw.status_code == 200
    agent = await client.agents.retrieve(AGENT)
    assert isinstance(agent, AgentState) and agent.id == AGENT
    streamed = client.agents.with_streaming_response.retrieve(AGENT)
    async with streamed as response:
        assert response.status_code == 200
    again = await client.agents.retrieve(AGENT)
    assert isinstance(again, AgentState) and again.id == AGENT


async def test_raw_response_from_the_client(client: AsyncLetta) -> None:
    raw = await client.with_raw_response.agents.retrieve(AGENT)
    assert raw.status_code == 200 and raw.headers["x-request-id"] == "req-1"
    agent = await raw.parse()
    assert isinstance(agent, AgentState) and agent.id == AGENT


async def test_raw_response_of_a_listing_parses_into_its_page(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("GET", "/v1/agents/", json_answer(b"[" + RAW_AGENT + b"]"))
    raw = await client.agents.with_raw_response.list(limit=1)
    assert raw.status_code == 200
    page = await raw.parse()
    assert [a.id for a in page.items] == [AGENT]
    assert replay.seen("GET", "/v1/agents/")[0].query == {"limit": "1"}


async def test_raw_response_of_a_blocking_send(replay: ReplayServer, client: AsyncLetta) -> None:
    capture = fixture_bytes("nonstream_response.json")
    replay.on("POST", f"{ROUTE}/messages", json_answer(capture))
    raw = await client.agents.messages.with_raw_response.create(AGENT, messages=HI)
    assert raw.status_code == 200
    response = await raw.parse()
    assert isinstance(response, LettaResponse)
    expected = [m["id"] for m in json.loads(capture)["messages"]]
    assert [m.id for m in response.messages] == expected


async def test_an_error_status_still_raises(replay: ReplayServer, client: AsyncLetta) -> None:
    replay.on(
        "GET",
        "/v1/agents/agent-missing",
        always=json_answer(fixture_bytes("errors_404_agent_get.json"), status=404),
    )
    with pytest.raises(NotFoundError) as info:
        await client.agents.with_raw_response.retrieve("agent-missing")
    assert info.value.body == json.loads(fixture_bytes("errors_404_agent_get.json"))


async def test_streaming_response_reads_on_demand_and_releases_on_exit(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    body = fixture_bytes("stream_steps.sse")
    replay.on("GET", f"{ROUTE}/export", sse_answer(body, chunk=64, delay=0.01))
    async with client.agents.with_streaming_response.export_file(AGENT) as response:
        assert response.status_code == 200
        assert acquired(client) == 1, "the body is still arriving: the connection is held"
        chunks = [chunk async for chunk in response.iter_bytes()]
    assert b"".join(chunks) == body
    assert len(chunks) > 1, "read in pieces as they came"
    assert acquired(client) == 0


async def test_streaming_response_left_unread_is_released(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    body = fixture_bytes("stream_steps.sse")
    replay.on("GET", f"{ROUTE}/export", sse_answer(body, stall_at=10, stall=5))
    async with client.with_streaming_response.agents.export_file(AGENT) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert acquired(client) == 1
    assert acquired(client) == 0, "leaving the block released the connection at once"
    assert response.is_closed


async def test_streaming_response_lines_and_parse(replay: ReplayServer, client: AsyncLetta) -> None:
    body = fixture_bytes("stream_steps.sse")
    replay.on("GET", f"{ROUTE}/export", sse_answer(body, chunk=13))
    async with client.agents.with_streaming_response.export_file(AGENT) as response:
        lines = [line async for line in response.iter_lines()]
    assert lines == body.decode().splitlines()
    async with client.agents.with_streaming_response.retrieve(AGENT) as response:
        agent = await response.parse()
    assert isinstance(agent, AgentState) and agent.id == AGENT


async def test_raw_response_of_a_stream_carries_the_stream(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    body = fixture_bytes("stream_steps.sse")
    replay.on("POST", f"{ROUTE}/messages/stream", sse_answer(body))
    raw = await client.agents.messages.with_raw_response.stream(AGENT, messages=HI)
    assert raw.status_code == 200
    assert raw.headers["Content-Type"].startswith("text/event-stream")
    stream = await raw.parse()
    events = [event async for event in stream]
    texts = [e.content for e in events if isinstance(e, AssistantMessage)]
    expected = [
        json.loads(line[6:])["content"]
        for line in body.decode().splitlines()
        if line.startswith("data: {") and '"assistant_message"' in line
    ]
    assert texts == expected and texts


async def test_a_raw_response_is_read_before_it_is_handed_out(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    """``with_raw_response`` answers with the body read, however slowly it came: nothing is
    held, nothing to close (``with_streaming_response`` is the one that reads on demand)."""

    async def slow(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        half = len(RAW_AGENT) // 2
        await response.write(RAW_AGENT[:half])
        await asyncio.sleep(0.2)
        await response.write(RAW_AGENT[half:])
        return response

    replay.on("GET", ROUTE, slow)  # the next retrieve, then the fixture's quick answer
    raw = await client.agents.with_raw_response.retrieve(AGENT)
    assert raw.is_closed
    assert acquired(client) == 0
    assert await raw.read() == RAW_AGENT


async def test_the_raw_response_of_a_stream_is_the_open_connection(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    """A stream's raw response holds its connection unread, so ``iter_lines()`` reads the
    server-sent events as the server sent them; closing it lets the connection go."""
    body = fixture_bytes("stream_steps.sse")
    replay.on("POST", f"{ROUTE}/messages/stream", sse_answer(body, chunk=64, delay=0.01))
    raw = await client.agents.messages.with_raw_response.stream(AGENT, messages=HI)
    assert not raw.is_closed
    lines = [line async for line in raw.iter_lines()]
    assert lines == body.decode().splitlines()
    await raw.close()
    assert raw.is_closed


async def test_a_raw_proxy_reads_plain_attributes_through(client: AsyncLetta) -> None:
    """Only methods are wrapped: the client's settings read the same through its proxies."""
    assert client.with_raw_response.max_retries == 0
    assert client.with_streaming_response.base_url == client.base_url


async def test_a_method_that_sends_nothing_when_called_comes_back_as_it_is(
    client: AsyncLetta,
) -> None:
    """A chat completion stream sends its request on the first ``async for`` step, outside
    the wrapped call: through a proxy it comes back as the same unstarted stream."""
    stream = await client.chat.completions.with_raw_response.stream(model=AGENT, messages=HI)
    assert isinstance(stream, JsonEventStream)
    await stream.aclose()
