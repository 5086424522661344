"""Size limits: a server cannot make the client buffer without bound, and a refusal frees the
connection at once (checked right after the error, while the client is still open).
"""

from __future__ import annotations

import gzip
from typing import Any

import pytest

from letta_async import (
    APIStatusError,
    AsyncLetta,
    EventTooLargeError,
    Limits,
    LineTooLongError,
    ResponseTooLargeError,
)
from tests.reliability._captures import FIXTURES, SSE_HEADERS
from tests.reliability._rawhttp import Exchange, RawServer, Request
from tests.reliability._tally import TALLY
from tests.reliability.conftest import acquired

pytestmark = pytest.mark.anyio

AGENT = "agent-b05cfaca-a5c5-4c77-9066-a0c1994b3f13"
HI = [{"role": "user", "content": "hi"}]
STEPS = (FIXTURES / "stream_steps.sse").read_bytes()
AGENT_JSON = (FIXTURES / "agent_create.json").read_bytes()  # 19843 bytes


def sse_server(body: bytes, *, per_write: int = 4096) -> Any:
    async def handler(request: Request, ex: Exchange) -> None:
        ex.head(200, SSE_HEADERS)
        for i in range(0, len(body), per_write):
            ex.chunk(body[i : i + per_write])
            await ex.drain()
        ex.finish()

    return handler


def big_frame(size: int) -> bytes:
    payload = '{"message_type":"assistant_message","id":"m","date":"2026-11-22T02:01:15+00:00",'
    payload += '"content":"' + "x" * size + '"}'
    return b"data: " + payload.encode() + b"\n\n"


@pytest.mark.parametrize("per_write", [1 << 20, 4096, 7])
async def test_event_over_max_event_size_is_refused_and_frees_the_connection(
    serve: Any, per_write: int
) -> None:
    body = STEPS.split(b"\n\n", 1)[0] + b"\n\n" + big_frame(5000) + STEPS
    server: RawServer = await serve(sse_server(body, per_write=per_write))
    TALLY.case("limits")
    TALLY.fault("limits")
    limits = Limits(max_event_size=2048, max_line_length=1 << 20)
    async with AsyncLetta(server.base_url, limits=limits) as client:
        stream = client.agents.messages.stream(AGENT, messages=HI)
        seen = []
        with pytest.raises(EventTooLargeError) as info:
            async for event in stream:
                seen.append(event.message_type)
        assert acquired(client) == 0
    assert seen == ["ping"], "the events before the oversized one still arrive, whatever the split"
    assert info.value.limit == 2048
    assert stream.done


@pytest.mark.parametrize("per_write", [1 << 20, 4096, 7])
async def test_line_over_max_line_length_is_refused_and_frees_the_connection(
    serve: Any, per_write: int
) -> None:
    body = STEPS.split(b"\n\n", 1)[0] + b"\n\n" + big_frame(5000) + STEPS
    server: RawServer = await serve(sse_server(body, per_write=per_write))
    TALLY.case("limits")
    TALLY.fault("limits")
    limits = Limits(max_event_size=1 << 20, max_line_length=1024)
    async with AsyncLetta(server.base_url, limits=limits) as client:
        with pytest.raises(LineTooLongError) as info:
            async for _ in client.agents.messages.stream(AGENT, messages=HI, background=True):
                pass
        assert acquired(client) == 0
    assert info.value.limit == 1024
    assert len(server.requests) == 1, "a limit error is final: no resume, no retry"


async def test_line_without_end_is_refused_before_the_stream_ends(serve: Any) -> None:
    """A server that never sends a line break cannot make the client buffer it all."""

    async def handler(request: Request, ex: Exchange) -> None:
        ex.head(200, SSE_HEADERS)
        for _ in range(64):
            ex.chunk(b"data: " + b"y" * 1024)
            await ex.drain()
        ex.finish()

    server: RawServer = await serve(handler)
    TALLY.case("limits")
    TALLY.fault("limits")
    limits = Limits(max_line_length=8192)
    async with AsyncLetta(server.base_url, limits=limits) as client:
        with pytest.raises(LineTooLongError):
            await client.agents.messages.stream(AGENT, messages=HI).until_done()
        assert acquired(client) == 0


@pytest.mark.parametrize("framing", ["content-length", "chunked", "gzip-chunked"])
async def test_response_over_max_response_size_is_refused(serve: Any, framing: str) -> None:
    async def handler(request: Request, ex: Exchange) -> None:
        if framing == "content-length":
            ex.send(AGENT_JSON)
            return
        body = AGENT_JSON
        headers = {"Content-Type": "application/json"}
        if framing == "gzip-chunked":
            # Small on the wire, large once inflated: the limit counts what is buffered.
            body = gzip.compress(AGENT_JSON + b" " * 200_000)
            headers["Content-Encoding"] = "gzip"
        ex.head(200, headers)
        for i in range(0, len(body), 1000):
            ex.chunk(body[i : i + 1000])
            await ex.drain()
        ex.finish()

    server: RawServer = await serve(handler)
    TALLY.case("limits")
    TALLY.fault("limits")
    limit = 10_000 if framing != "gzip-chunked" else 50_000
    async with AsyncLetta(server.base_url, limits=Limits(max_response_size=limit)) as client:
        with pytest.raises(ResponseTooLargeError, match=f"{limit}-byte limit"):
            await client.agents.retrieve(AGENT)
        assert acquired(client) == 0
        # The pool is still usable afterwards.
        with pytest.raises(ResponseTooLargeError):
            await client.agents.retrieve(AGENT)
        assert acquired(client) == 0
    assert len(server.requests) == 2, "a body that is too large is not retried"


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_response_exactly_at_the_limit_is_accepted(serve: Any, framing: str) -> None:
    async def handler(request: Request, ex: Exchange) -> None:
        if framing == "content-length":
            ex.send(AGENT_JSON)
            return
        ex.head(200, {"Content-Type": "application/json"})
        ex.chunk(AGENT_JSON)
        ex.finish()

    server: RawServer = await serve(handler)
    TALLY.case("limits")
    limits = Limits(max_response_size=len(AGENT_JSON))
    async with AsyncLetta(server.base_url, limits=limits) as client:
        agent = await client.agents.retrieve(AGENT)
        assert agent.id
        assert acquired(client) == 0


async def test_huge_error_body_is_not_buffered(serve: Any) -> None:
    """An error page of several MiB still gives the typed status error, without its body."""
    page = b"<html>" + b"z" * (3 * 1024 * 1024) + b"</html>"

    async def handler(request: Request, ex: Exchange) -> None:
        ex.head(404, {"Content-Type": "text/html"})
        for i in range(0, len(page), 65536):
            ex.chunk(page[i : i + 65536])
            await ex.drain()
        ex.finish()

    server: RawServer = await serve(handler)
    TALLY.case("limits")
    TALLY.fault("limits")
    async with AsyncLetta(server.base_url) as client:
        with pytest.raises(APIStatusError) as info:
            await client.agents.retrieve(AGENT)
        assert acquired(client) == 0
    assert info.value.status_code == 404
    assert info.value.body is None
