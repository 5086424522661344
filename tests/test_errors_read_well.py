"""Errors a person reads: one line each, saying what answered and what to check.

The server that is not Letta here is the standard library's ``http.server``, exactly what a
user who mistyped a port might hit: HTML error pages, 501 for POST.
"""

from __future__ import annotations

import asyncio
import http.server
import io
import socket
import sys
import threading
import warnings
from collections.abc import AsyncIterator, Iterator

import anyio
import pytest

from letta_async import AsyncLetta, InternalServerError, NotFoundError
from letta_async._config import resolve_base_url
from letta_async.cli import main_async
from letta_async.testing import LettaTestServer

pytestmark = pytest.mark.anyio


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def not_letta() -> Iterator[str]:
    """``python -m http.server`` on a free loopback port, in a thread."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
async def letta() -> AsyncIterator[LettaTestServer]:
    async with LettaTestServer(keepalive_interval=0.05, shutdown_timeout=0.2) as s:
        yield s


async def test_a_404_page_from_another_server_reads_as_one_line(not_letta: str) -> None:
    async with AsyncLetta(base_url=not_letta) as client:
        with pytest.raises(NotFoundError) as caught:
            await client.agents.retrieve("agent-1")
    error = caught.value
    assert "\n" not in str(error) and len(str(error)) < 400
    assert "text/html" in str(error) and "File not found" in str(error)
    assert "not a Letta answer" in str(error) and "<" not in str(error)
    assert error.from_letta is False
    assert error.detail is not None and "\n" not in error.detail and "<" not in error.detail


async def test_a_letta_404_is_from_letta(letta: LettaTestServer) -> None:
    async with AsyncLetta(base_url=letta.base_url) as client:
        with pytest.raises(NotFoundError) as caught:
            await client.agents.retrieve("agent-00000000-0000-4000-8000-000000000000")
    assert caught.value.from_letta is True
    assert "not a Letta answer" not in str(caught.value)


async def test_a_501_is_raised_at_once_on_one_line(not_letta: str) -> None:
    async with AsyncLetta(base_url=not_letta) as client:
        started = anyio.current_time()
        with pytest.raises(InternalServerError) as caught:
            await client.agents.create(name="x")
        assert anyio.current_time() - started < 0.4  # no backoff: 501 is final
    assert caught.value.status_code == 501 and "\n" not in str(caught.value)


async def test_cli_against_another_server_prints_one_line(not_letta: str) -> None:
    for argv in (["agents", "list"], ["stream", "agent-1", "hi"], ["runs", "get", "run-1"]):
        out, err = io.StringIO(), io.StringIO()
        code = await main_async(["--base-url", not_letta, *argv], stdout=out, stderr=err)
        assert code == 1, argv
        assert out.getvalue() == ""
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith("letta-async: error: Error code: ")
        assert "<" not in lines[0] and "text/html" in lines[0]


async def test_cli_refuses_an_empty_message_without_sending_it(letta: LettaTestServer) -> None:
    agent = letta.create_agent(name="cli")
    out, err = io.StringIO(), io.StringIO()
    code = await main_async(
        ["--base-url", letta.base_url, "stream", agent["id"], "   "], stdout=out, stderr=err
    )
    assert code == 2
    assert err.getvalue().count("\n") == 1 and "empty" in err.getvalue()
    assert not letta.requests_to(r"/messages", "POST")


@pytest.mark.parametrize(
    "argv",
    [["stream", "agent-1", "hi", "--max-steps", "0"], ["agents", "list", "--limit", "x"]],
)
async def test_cli_bad_numbers_are_one_line(argv: list[str]) -> None:
    done = await anyio.run_process([sys.executable, "-m", "letta_async", *argv], check=False)
    assert done.returncode == 2
    assert done.stderr.decode().count("\n") == 1


async def test_testing_server_on_a_busy_port_is_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with anyio.fail_after(30):
            done = await anyio.run_process(
                [sys.executable, "-m", "letta_async.testing", "--port", str(port)], check=False
            )
    text = done.stderr.decode()
    assert done.returncode == 1
    assert text.count("\n") == 1 and f"127.0.0.1:{port}" in text and "Traceback" not in text


def test_base_url_ending_in_v1_is_not_doubled() -> None:
    for given in ("http://host:8283/v1", "http://host:8283/v1/", "http://host:8283/api/v1"):
        url = resolve_base_url(given)
        assert not url.path.rstrip("/").endswith("/v1"), given
    assert str(resolve_base_url("http://host:8283/v1")) == "http://host:8283"


async def test_base_url_ending_in_v1_reaches_the_routes(letta: LettaTestServer) -> None:
    letta.create_agent(name="v1")
    async with AsyncLetta(base_url=letta.base_url + "/v1") as client:
        agents = [agent async for agent in client.agents.list()]
    assert agents
    assert {r.path for r in letta.requests} == {"/v1/agents/"}


async def test_a_large_body_goes_out_without_a_resource_warning(letta: LettaTestServer) -> None:
    agent = letta.create_agent(name="big")
    text = "x" * (10 * 1024 * 1024)
    async with AsyncLetta(base_url=letta.base_url) as client:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            await client.agents.messages.create(
                agent["id"], messages=[{"role": "user", "content": text}]
            )
            await asyncio.sleep(0)
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
    (sent,) = letta.requests_to(r"/messages$", "POST")
    assert sent.json["messages"][0]["content"] == text
