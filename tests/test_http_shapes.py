"""Requests, responses and URLs handed out by errors, raw responses and streams read like httpx's.

Programs written for the official SDK read ``e.request.url.path``, ``raw.http_request.url.host``,
``e.response.headers.get_list(...)``. Expected values come from ``urllib.parse`` applied to the
URL the test itself requested, from the headers the test server sent, and (where httpx is
installed) from ``httpx.URL`` built from the same string.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from aiohttp import web

from letta_async import (
    URL,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncLetta,
    Headers,
    HTTPRequest,
    HTTPResponse,
    NotFoundError,
    QueryParams,
)
from letta_async.testing import bind_free_port, free_port
from tests.replay import ReplayServer, fixture_bytes, sse_answer

AGENT = "agent-00000000-0000-4000-8000-000000000000"
NOT_FOUND = b'{"detail":"Agent with ID agent-00000000-0000-4000-8000-000000000000 not found"}'
HAS_HTTPX = importlib.util.find_spec("httpx") is not None

pytestmark = pytest.mark.anyio


@pytest.fixture
async def server() -> AsyncIterator[str]:
    """Answers 404 for one agent (with a repeated header), 200 with an empty list otherwise."""

    async def handle(request: web.Request) -> web.Response:
        if AGENT in request.path:
            response = web.Response(status=404, body=NOT_FOUND, content_type="application/json")
            response.headers.add("Vary", "Origin")
            response.headers.add("Vary", "Accept")
            return response
        return web.Response(body=b"[]", content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = bind_free_port()
    port = sock.getsockname()[1]
    site = web.SockSite(runner, sock)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def expected_url_parts(url: str) -> dict[str, object]:
    """What httpx.URL gives for ``url``, derived with urllib (httpx is not a dependency)."""
    split = urlsplit(url)
    default = {"http": 80, "https": 443}.get(split.scheme)
    raw_path = (split.path or "/") + (f"?{split.query}" if split.query else "")
    return {
        "scheme": split.scheme,
        "host": split.hostname or "",
        "port": None if split.port == default else split.port,
        "path": unquote(split.path or "/"),
        "query": split.query.encode(),
        "raw_path": raw_path.encode(),
        "params": parse_qsl(split.query, keep_blank_values=True),
    }


def url_parts(url: URL) -> dict[str, object]:
    return {
        "scheme": url.scheme,
        "host": url.host,
        "port": url.port,
        "path": url.path,
        "query": url.query,
        "raw_path": url.raw_path,
        "params": url.params.multi_items(),
    }


async def test_error_request_and_response_are_httpx_shaped(server: str) -> None:
    async with AsyncLetta(server, api_key="secret", max_retries=0) as client:
        with pytest.raises(NotFoundError) as caught:
            await client.agents.retrieve(AGENT, extra_query={"include": "agent.tags", "n": 2})
    error = caught.value
    sent = f"{server}/v1/agents/{AGENT}?include=agent.tags&n=2"
    assert isinstance(error.request, HTTPRequest) and isinstance(error.request.url, URL)
    assert url_parts(error.request.url) == expected_url_parts(sent)
    assert error.request.url == sent and str(error.request.url) == sent
    assert error.request.url.params["include"] == "agent.tags"
    assert error.request.method == "GET"
    assert error.request.headers["accept"] == "application/json"
    assert "authorization" not in error.request.headers, "the key never travels in an error"
    assert error.response.request is error.request
    assert error.response.url == sent
    assert error.response.status_code == 404 and error.response.reason_phrase == "Not Found"
    assert error.response.is_client_error and not error.response.is_success
    assert error.response.headers.get_list("vary") == ["Origin", "Accept"]
    assert error.response.headers["Vary"] == "Origin, Accept", "joined as httpx joins them"
    assert error.response.json() == {"detail": f"Agent with ID {AGENT} not found"}
    assert error.response.content == NOT_FOUND and error.response.text == NOT_FOUND.decode()
    with pytest.raises(NotFoundError):
        error.response.raise_for_status()


async def test_raw_response_request_and_url(server: str) -> None:
    async with AsyncLetta(server, max_retries=0) as client:
        raw = await client.agents.with_raw_response.list(limit=3, name="a b")
    sent = f"{server}/v1/agents/?limit=3&name=a+b"
    assert raw.url.path == "/v1/agents/" and raw.url.host == "127.0.0.1"
    assert raw.url.port == int(server.rsplit(":", 1)[1])
    assert raw.url.params.get_list("name") == ["a b"]
    assert raw.http_request.url == raw.url
    assert raw.http_request.method == "GET" == raw.method
    assert raw.http_response.request is raw.http_request
    assert raw.http_response.raise_for_status() is raw.http_response
    assert raw.http_version == "HTTP/1.1" and raw.elapsed.total_seconds() >= 0
    assert dict(raw.url.params) == dict(parse_qsl(urlsplit(sent).query))


async def test_connection_error_reads_as_official_with_the_detail_kept() -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with AsyncLetta(dead, max_retries=0, timeout=5.0) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.agents.list(limit=1)
    error = caught.value
    assert error.message == "Connection error."
    assert str(error).startswith("Connection error. Connection failed during GET ")
    assert error.detail is not None and error.detail[1:] in str(error)
    assert error.__cause__ is not None, "the aiohttp exception is chained"
    assert error.body is None
    assert error.request.url.path == "/v1/agents/" and error.request.url.params["limit"] == "1"
    assert error.request.method == "GET"


def test_timeout_error_reads_as_official() -> None:
    error = APITimeoutError("timed out during GET http://x/v1/health/")
    assert error.message == "Request timed out."
    assert str(error) == "Request timed out. Timed out during GET http://x/v1/health/"
    assert APIConnectionError().message == str(APIConnectionError()) == "Connection error."


@pytest.mark.parametrize(
    "raw",
    [
        "http://127.0.0.1:8283/v1/agents/agent-1/messages?limit=10&order=desc",
        "https://api.letta.com/v1/agents/?tags=a&tags=b",
        "https://api.letta.com:443/v1/x",
        "http://[::1]:8080/v1/a%2Fb?q=hello%20world#frag",
        "http://localhost/",
        "http://LOCALHOST:80",
    ],
)
def test_url_attributes_match_httpx(raw: str) -> None:
    url = URL(raw)
    expected = expected_url_parts(raw)
    assert url.scheme == expected["scheme"]
    assert url.host == expected["host"]
    assert url.port == expected["port"]
    assert url.path == expected["path"]
    assert url.params.multi_items() == expected["params"]
    if HAS_HTTPX:  # the real thing, when the test environment happens to have it
        import httpx

        real = httpx.URL(raw)
        assert (url.scheme, url.host, url.port, url.path) == (
            real.scheme,
            real.host,
            real.port,
            real.path,
        )
        assert (url.query, url.raw_path, url.fragment) == (real.query, real.raw_path, real.fragment)
        assert url.params.multi_items() == real.params.multi_items()


def test_url_derivations_and_equality() -> None:
    url = URL("http://h:1/v1/agents/?limit=2")
    assert url == "http://h:1/v1/agents/?limit=2" and url != "http://h:1/v1/agents/"
    assert hash(url) == hash(URL(str(url)))
    assert url.copy_set_param("limit", 5).params["limit"] == "5"
    assert url.copy_add_param("tags", "a").params.get_list("tags") == ["a"]
    assert url.copy_remove_param("limit").query == b""
    assert url.copy_with(path="/v1/runs/").raw_path == b"/v1/runs/?limit=2"
    assert url.join("../tags/") == "http://h:1/v1/tags/"
    assert URL("http://u:pw@h/").password == "pw" and "pw" not in repr(URL("http://u:pw@h/"))
    assert url.is_absolute_url and URL("/v1/x").is_relative_url
    assert url.netloc == b"h:1" and url.raw_host == b"h"


def test_query_params_and_headers_behave_like_httpx() -> None:
    params = QueryParams("a=1&b=2&a=3")
    assert params["a"] == "1" and params.get_list("a") == ["1", "3"] and len(params) == 2
    assert str(params) == "a=1&b=2&a=3" and params == QueryParams({"a": ["1", "3"], "b": "2"})
    assert str(params.set("a", True)) == "b=2&a=true"
    assert str(params.merge({"b": 9})) == "a=1&a=3&b=9"
    headers = Headers([("Content-Type", "application/json"), ("Vary", "a"), ("vary", "b")])
    assert list(headers) == ["content-type", "vary"]
    assert headers["VARY"] == "a, b" and headers.get_list("Vary") == ["a", "b"]
    assert headers.multi_items()[0] == ("content-type", "application/json")
    assert headers.raw[0] == (b"Content-Type", b"application/json")


def test_response_without_request_raises_as_httpx_does() -> None:
    response = HTTPResponse(200)
    with pytest.raises(RuntimeError):
        _ = response.request
    assert repr(response) == "<Response [200 OK]>"
    assert repr(HTTPRequest("GET", "http://h/")) == "<Request('GET', 'http://h/')>"


async def test_stream_response_and_its_request(replay: ReplayServer) -> None:
    route = f"/v1/agents/{AGENT}/messages/stream"
    replay.on("POST", route, sse_answer(fixture_bytes("stream_steps.sse")))
    async with AsyncLetta(replay.base_url, max_retries=0) as client:
        stream = await client.agents.messages.stream(
            AGENT, messages=[{"role": "user", "content": "hi"}]
        )
        async for _ in stream:
            pass
    expected = expected_url_parts(f"{replay.base_url}{route}")
    assert url_parts(stream.response.url) == expected
    assert url_parts(stream.response.request.url) == expected
    assert stream.response.request.method == "POST"
    assert stream.response.status_code == 200 and stream.response.is_success
    assert stream.response.headers["content-type"].startswith("text/event-stream")


async def test_an_error_inside_a_stream_carries_the_stream_request(replay: ReplayServer) -> None:
    route = f"/v1/agents/{AGENT}/messages/stream"
    replay.on("POST", route, sse_answer(fixture_bytes("error_llm500_stream.sse")))
    async with AsyncLetta(replay.base_url, max_retries=0) as client:
        stream = await client.agents.messages.stream(
            AGENT, messages=[{"role": "user", "content": "hi"}]
        )
        with pytest.raises(APIStatusError) as caught:
            async for _ in stream:
                pass
    error = caught.value
    assert url_parts(error.request.url) == expected_url_parts(f"{replay.base_url}{route}")
    assert error.request.method == "POST" and error.response.request is error.request
    assert error.status_code == 200 == error.response.status_code
    assert error.response.headers["content-type"].startswith("text/event-stream")
