"""Secure defaults: verified TLS, a key that never leaks, no redirect or header tricks.

The API key is a bearer secret: anything that prints it (a repr, a DEBUG log line, an
exception message, a formatted traceback with its chained causes) can end up in a log
aggregator. So every error path the client has is driven here with a recognisable key, and
all of that text is searched for it.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import ssl
import subprocess
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from letta_async import (
    APIConnectionError,
    APIError,
    AsyncLetta,
    Limits,
    ResumeSettings,
    Timeout,
)
from tests.py310 import asyncio_310_tls
from tests.reliability._captures import FIXTURES, SSE_HEADERS
from tests.reliability._rawhttp import Exchange, RawServer, Request
from tests.reliability._tally import TALLY
from tests.reliability.conftest import SECRET, acquired

pytestmark = pytest.mark.anyio

AGENT = "agent-b05cfaca-a5c5-4c77-9066-a0c1994b3f13"
HI = [{"role": "user", "content": "hi"}]
RUN_JSON = (FIXTURES / "run_retrieve.json").read_bytes()
HEALTH = b'{"version":"0.16.8","status":"ok"}'


# --- TLS ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 made on the spot with the openssl CLI."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed, so no certificate can be made")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


@pytest.fixture
async def tls_server(
    serve: Callable[..., Awaitable[RawServer]], self_signed: tuple[Path, Path]
) -> RawServer:
    cert, key = self_signed
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def handler(request: Request, ex: Exchange) -> None:
        ex.send(HEALTH)

    return await serve(handler, ssl=context)


@asyncio_310_tls
async def test_tls_is_verified_by_default(tls_server: RawServer) -> None:
    TALLY.case("security")
    async with AsyncLetta(tls_server.base_url, api_key=SECRET) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.get("/v1/health/", cast_to=object)
        session = client.session
        assert session is not None
        assert session.connector._ssl is True  # type: ignore[attr-defined]
    assert isinstance(info.value.__cause__, aiohttp.ClientConnectorCertificateError)
    assert not tls_server.requests, "no request may go out over an unverified connection"
    assert_no_secret(info.value)


@asyncio_310_tls
async def test_tls_opt_out_is_explicit(tls_server: RawServer) -> None:
    TALLY.case("security")
    async with AsyncLetta(tls_server.base_url, verify_ssl=False) as client:
        assert (await client.get("/v1/health/", cast_to=object))["status"] == "ok"
        session = client.session
        assert session is not None
        assert session.connector._ssl is False  # type: ignore[attr-defined]


@asyncio_310_tls
async def test_tls_with_a_context_that_trusts_the_certificate(
    tls_server: RawServer, self_signed: tuple[Path, Path]
) -> None:
    TALLY.case("security")
    context = ssl.create_default_context(cafile=str(self_signed[0]))
    async with AsyncLetta(tls_server.base_url, ssl_context=context) as client:
        assert (await client.get("/v1/health/", cast_to=object))["status"] == "ok"


# --- the key never shows ------------------------------------------------------------------


def texts_of(exc: BaseException) -> list[str]:
    """Everything a logger or a crash report could print about an exception."""
    out = ["".join(traceback.format_exception(exc))]
    seen: BaseException | None = exc
    while seen is not None:
        out += [str(seen), repr(seen), repr(seen.args), repr(vars(seen))]
        seen = seen.__cause__ or seen.__context__
    return out


def assert_no_secret(exc: BaseException) -> None:
    for text in texts_of(exc):
        assert SECRET not in text


PING = (
    b'data: {"message_type":"ping","id":"p","date":"2026-11-22T02:01:14+00:00","seq_id":1,'
    b'"run_id":"run-92a0164b-8c60-49e2-859b-1b3ac5b2c43c"}\n\n'
)


async def _cut_stream(request: Request, ex: Exchange) -> None:
    ex.head(200, SSE_HEADERS)
    ex.chunk(PING)
    ex.chunk(PING[:20], declared=len(PING))
    await ex.cut()


async def _error_paths(request: Request, ex: Exchange) -> None:
    """One loopback server whose routes each fail in their own way."""
    route = request.path
    if route == "/unauthorized":
        ex.json({"detail": "Unauthorized"}, status=401)
    elif route == "/boom":
        ex.json({"detail": "boom"}, status=500, headers={"retry-after-ms": "1"})
    elif route == "/slow":
        ex.head(200, {"Content-Type": "application/json"}, length=len(HEALTH))
        await asyncio.sleep(30)  # past the request deadline; the server's close ends it
    elif route == "/big":
        ex.send(b"[" + b"0," * 5000 + b"0]")
    elif route == "/elsewhere":
        ex.send(b"", status=307, headers={"Location": "http://127.0.0.2:9/stolen"})
    elif route == "/html":
        ex.send(b"<html>hello</html>", content_type="text/html")
    elif route.startswith(f"/v1/agents/{AGENT}/messages"):
        await _cut_stream(request, ex)
    elif route.startswith("/v1/runs/"):
        ex.json({"detail": "INVALID_ARGUMENT: Run was not created in background mode"}, 400)
    else:
        ex.json({"detail": "no such route"}, status=404)


async def test_the_key_never_appears_in_reprs_logs_errors_or_tracebacks(
    serve: Callable[..., Awaitable[RawServer]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, aiohttp's included
    server = await serve(_error_paths)
    errors: list[BaseException] = []
    timeout = Timeout(request=0.3, stream_idle=0.3, connect=2)
    resume = ResumeSettings(max_attempts=1, initial_delay=0.01)
    async with AsyncLetta(
        server.base_url,
        api_key=SECRET,
        timeout=timeout,
        max_retries=1,
        limits=Limits(max_response_size=1000),
        resume=resume,
    ) as client:
        assert SECRET not in repr(client)
        for route in ["/unauthorized", "/boom", "/slow", "/big", "/elsewhere", "/html"]:
            with pytest.raises(APIError) as info:
                await client.get(route, cast_to=list[int])
            errors.append(info.value)
        stream = client.agents.messages.stream(AGENT, messages=HI)
        with pytest.raises(APIError) as info:
            await stream.until_done()
        errors.append(info.value)
        assert SECRET not in repr(stream)
        background = client.agents.messages.stream(AGENT, messages=HI, background=True)
        with pytest.raises(APIError) as info:
            await background.until_done()
        errors.append(info.value)
        assert acquired(client) == 0
    async with AsyncLetta("http://127.0.0.1:9", api_key=SECRET, max_retries=0) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.get("/v1/health/", cast_to=object)
        errors.append(info.value)
    with pytest.raises(ValueError) as bad_key:
        AsyncLetta("http://127.0.0.1:9", api_key=SECRET + "\r\nX-Evil: 1")
    errors.append(bad_key.value)
    TALLY.case("security", len(errors))
    kinds = {type(e).__name__ for e in errors}
    assert kinds == {
        "APIConnectionError",
        "APIResponseValidationError",
        "APITimeoutError",
        "AuthenticationError",
        "InternalServerError",
        "RefusedRedirectError",
        "ResponseTooLargeError",
        "StreamResumeError",
        "StreamTruncatedError",
        "ValueError",
    }
    for error in errors:
        assert_no_secret(error)
    assert "retrying" in caplog.text and "request GET" in caplog.text
    assert SECRET not in caplog.text
    for record in caplog.records:
        assert SECRET not in repr(record.args)
    # The key did reach the server, in the one place it belongs.
    assert server.requests[0].headers["authorization"] == f"Bearer {SECRET}"


# --- base URL, headers, redirects, path segments -----------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "ws://127.0.0.1",
        "127.0.0.1:8283",
        "//127.0.0.1",
        "http://",
        "http://user:pw@127.0.0.1",
        "http://127.0.0.1/?next=evil",
        "http://127.0.0.1/#frag",
        "http://127.0.0.1:99999",
        "http://127.0.0.1:1\r\nX-Evil: 1",
    ],
)
def test_base_url_must_be_plain_http_or_https(url: str) -> None:
    TALLY.case("security")
    with pytest.raises(ValueError):  # yarl and the client word it differently
        AsyncLetta(url)


@pytest.mark.parametrize(
    ("api_key", "headers"),
    [
        ("sk\r\nX-Evil: 1", None),
        ("sk\nX", None),
        ("sk\x00", None),
        (None, {"X-Trace": "a\r\nX-Evil: 1"}),
        (None, {"X-Trace": "a\nb"}),
        (None, {"X-Evil\r\nInjected": "v"}),
        (None, {"X-Evil: smuggled": "v"}),
        (None, {"X Space": "v"}),
        (None, {"": "v"}),
    ],
)
def test_header_injection_is_refused_when_the_client_is_made(
    api_key: str | None, headers: dict[str, str] | None
) -> None:
    TALLY.case("security")
    with pytest.raises(ValueError, match="header") as info:
        AsyncLetta("http://127.0.0.1:9", api_key=api_key, default_headers=headers)
    if api_key:
        assert api_key not in str(info.value)


async def test_ordinary_header_values_are_sent_verbatim(serve: Any) -> None:
    async def handler(request: Request, ex: Exchange) -> None:
        ex.send(HEALTH)

    server: RawServer = await serve(handler)
    value = 'tenant=acme; trace=ab:cd/ef (x) "q" \t tab'
    async with AsyncLetta(server.base_url, default_headers={"X-Trace": value}) as client:
        await client.get("/v1/health/", cast_to=object)
    assert f"\r\nX-Trace: {value}\r\n".encode() in server.requests[0].raw_head + b"\r\n"


@pytest.fixture
async def other_host(serve: Callable[..., Awaitable[RawServer]]) -> RawServer:
    async def handler(request: Request, ex: Exchange) -> None:
        ex.send(HEALTH)

    try:
        return await serve(handler, host="127.0.0.2")
    except OSError:
        pytest.skip("this machine's loopback does not answer on 127.0.0.2")


@pytest.mark.parametrize("target", ["127.0.0.2", "localhost", "other-port", "scheme-relative"])
async def test_redirect_to_another_origin_is_refused(
    serve: Any, other_host: RawServer, target: str
) -> None:
    async def handler(request: Request, ex: Exchange) -> None:
        location = {
            "127.0.0.2": f"{other_host.base_url}/v1/health/",
            "localhost": f"http://localhost:{server.port}/v1/health/",
            "other-port": f"http://127.0.0.1:{other_host.port}/v1/health/",
            "scheme-relative": f"//127.0.0.2:{other_host.port}/v1/health/",
        }[target]
        ex.send(b"", status=307, headers={"Location": location})

    server: RawServer = await serve(handler)
    TALLY.case("security")
    TALLY.fault("security")
    async with AsyncLetta(server.base_url, api_key=SECRET) as client:
        with pytest.raises(APIConnectionError, match="another origin"):
            await client.get("/v1/health/", cast_to=object)
        assert acquired(client) == 0
    assert not other_host.requests, "the key must not travel to another origin"
    assert len(server.requests) == 1


async def test_same_origin_redirect_is_followed_with_the_key(serve: Any) -> None:
    async def handler(request: Request, ex: Exchange) -> None:
        if request.path == "/v1/health":
            ex.send(b"", status=308, headers={"Location": "/v1/health/"})
        else:
            ex.send(HEALTH)

    server: RawServer = await serve(handler)
    TALLY.case("security")
    async with AsyncLetta(server.base_url, api_key=SECRET) as client:
        assert (await client.get("/v1/health", cast_to=object))["status"] == "ok"
    assert [r.headers["authorization"] for r in server.requests] == [f"Bearer {SECRET}"] * 2


@pytest.mark.parametrize(
    "location",
    [
        "http://user:pw@{host}/v1/health/",  # same origin, but with credentials to send
        "http://[::1/v1/health/",  # not a URL at all
        "/v1/loop",  # redirects forever
    ],
    ids=["credentials", "unparsable", "loop"],
)
async def test_odd_redirects_are_connection_errors(serve: Any, location: str) -> None:
    async def handler(request: Request, ex: Exchange) -> None:
        host = f"127.0.0.1:{server.port}"
        ex.send(b"", status=302, headers={"Location": location.format(host=host)})

    server: RawServer = await serve(handler)
    TALLY.case("security")
    TALLY.fault("security")
    async with AsyncLetta(server.base_url, api_key=SECRET, max_retries=0) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.get("/v1/loop", cast_to=object)
        assert acquired(client) == 0
    assert_no_secret(info.value)
    assert len(server.requests) <= 6


# Ids that are not dot-segments ("." and ".." are refused outright; see below).
_ids = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12
).filter(lambda s: s not in (".", ".."))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(run_id=_ids, agent_id=_ids)
async def test_ids_stay_one_path_segment(serve: Any, run_id: str, agent_id: str) -> None:
    async def handler(request: Request, ex: Exchange) -> None:
        ex.send(RUN_JSON if request.raw_path.startswith("/v1/runs/") else b"[]")

    server: RawServer = await serve(handler)
    async with AsyncLetta(server.base_url) as client:
        await client.runs.retrieve(run_id)
        await client.agents.messages.list(agent_id)
    for request, wanted, prefix, suffix in [
        (server.requests[0], run_id, "/v1/runs/", ""),
        (server.requests[1], agent_id, "/v1/agents/", "/messages"),
    ]:
        raw = request.raw_path
        assert raw.startswith(prefix) and raw.endswith(suffix)
        segment = raw[len(prefix) : len(raw) - len(suffix)]
        assert "/" not in segment and "?" not in segment and "#" not in segment
        assert unquote(segment) == wanted
    TALLY.case("security")


@pytest.mark.parametrize("run_id", [".", ".."])
def test_dot_segment_ids_are_refused(run_id: str) -> None:
    from letta_async._urls import path

    with pytest.raises(ValueError) as caught:
        path("/v1/runs/{}", run_id)
    # The official SDK's words (letta-client 1.12.1, _utils/_path.py).
    assert str(caught.value) == (
        f"Constructed path '/v1/runs/{run_id}' contains dot-segment '{run_id}' which is not allowed"
    )
