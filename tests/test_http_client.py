"""``http_client=DefaultAsyncHttpxClient(...)``: each httpx setting takes effect on the wire.

Programs written for the official SDK configure its HTTP layer through an httpx client; each
test here passes one such setting and reads its effect off a loopback server (a proxy, a TLS
server, a slow or redirecting route). Expected behaviour is the official SDK's, as
``letta-client`` 1.12.1 with httpx behaves: the http_client's headers and query parameters
sit under the client's own, a hook that raises fails the call with ``APIConnectionError``,
a redirect not followed is a status error. Settings with no aiohttp counterpart are refused
when the stand-in is built.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from letta_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncLetta,
    DefaultAioHttpClient,
    DefaultAsyncHttpxClient,
    DefaultHttpxClient,
    Letta,
    Limits,
    NotFoundError,
    RefusedRedirectError,
)
from letta_async._http import HTTPRequest, HTTPResponse
from tests.py310 import asyncio_310_tls
from tests.replay import ReplayServer, fixture_bytes, json_answer, sse_answer
from tests.test_typing_idioms import mypy_errors

pytestmark = pytest.mark.anyio

HEALTH = json.loads(fixture_bytes("health.json"))
DEAD = "http://127.0.0.1:9"
"""Nothing listens here: a request that succeeds against it went through a proxy."""
AGENT = "agent-00000000-0000-4000-8000-000000000000"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LETTA_BASE_URL", "LETTA_API_KEY", "LETTA_CUSTOM_HEADERS"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


# --- headers, query, hooks -----------------------------------------------------------------


async def test_headers_params_and_event_hooks_apply_under_the_clients_own(
    replay: ReplayServer,
) -> None:
    seen: list[HTTPRequest | HTTPResponse] = []
    bodies: list[Any] = []

    async def on_request(request: HTTPRequest) -> None:
        seen.append(request)

    async def on_response(response: HTTPResponse) -> None:
        seen.append(response)
        await response.aread()
        bodies.append(response.json())

    replay.on("GET", "/v1/health/", json_answer(HEALTH))
    http = DefaultAsyncHttpxClient(
        headers={"X-From-Http": "h", "X-Shared": "http"},
        params={"p": "1"},
        event_hooks={"request": [on_request], "response": [on_response]},
    )
    async with AsyncLetta(
        replay.base_url, api_key="k", http_client=http, default_headers={"X-Shared": "arg"}
    ) as client:
        assert (await client.health()).status == "ok"
    (sent,) = replay.seen("GET", "/v1/health/")
    assert sent.headers["X-From-Http"] == "h"
    assert sent.headers["X-Shared"] == "arg", "the client's headers win, as over httpx's"
    assert sent.query == {"p": "1"}
    request, response = seen
    assert isinstance(request, HTTPRequest) and isinstance(response, HTTPResponse)
    assert (request.method, request.url.path, request.url.params["p"]) == (
        "GET",
        "/v1/health/",
        "1",
    )
    assert request.headers["x-from-http"] == "h"
    assert response.status_code == 200
    assert response.request.url.path == "/v1/health/"
    assert bodies == [HEALTH]


async def test_a_response_hook_sees_error_bodies_and_one_that_raises_fails_the_call(
    replay: ReplayServer,
) -> None:
    capture = fixture_bytes("errors_404_agent_get.json")
    statuses: list[tuple[int, bytes]] = []

    async def raise_on_4xx_5xx(response: HTTPResponse) -> None:
        statuses.append((response.status_code, await response.aread()))
        response.raise_for_status()

    replay.on("GET", f"/v1/agents/{AGENT}", json_answer(capture, status=404))
    http = DefaultAsyncHttpxClient(event_hooks={"response": [raise_on_4xx_5xx]})
    async with AsyncLetta(replay.base_url, http_client=http, max_retries=0) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.agents.retrieve(AGENT)
    assert statuses == [(404, capture)]
    assert info.value.message == "Connection error."
    assert isinstance(info.value.__cause__, NotFoundError)


async def test_a_stream_response_hook_sees_status_and_headers(replay: ReplayServer) -> None:
    answers: list[HTTPResponse] = []
    replay.on("POST", f"/v1/agents/{AGENT}/messages", sse_answer(fixture_bytes("stream_steps.sse")))
    http = DefaultAsyncHttpxClient(event_hooks={"response": [answers.append]})
    async with AsyncLetta(replay.base_url, http_client=http) as client:
        stream = await client.agents.messages.create(AGENT, input="hi", streaming=True)
        events = [event async for event in stream]
    assert events
    (answer,) = answers
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")


# --- timeouts and limits -------------------------------------------------------------------


async def test_the_http_clients_timeout_applies_unless_one_is_given(replay: ReplayServer) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(1.0)
        return web.json_response(HEALTH)

    replay.on("GET", "/v1/health/", always=slow)
    http = DefaultAsyncHttpxClient(timeout=0.2)
    async with AsyncLetta(replay.base_url, http_client=http, max_retries=0) as client:
        assert client.timeout == 0.2, "read back as the official client reads it"
        started = asyncio.get_running_loop().time()
        with pytest.raises(APITimeoutError):
            await client.health()
        assert asyncio.get_running_loop().time() - started < 0.9
    async with AsyncLetta(replay.base_url, http_client=http, timeout=5.0) as client:
        assert (await client.health()).status == "ok", "AsyncLetta(timeout=) wins"


async def test_limits_cap_concurrent_connections(replay: ReplayServer) -> None:
    active = peak = 0

    async def counted(request: web.Request) -> web.StreamResponse:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.15)
        active -= 1
        return web.json_response(HEALTH)

    replay.on("GET", "/v1/health/", always=counted)
    httpx_limits = SimpleNamespace(
        max_connections=2, max_keepalive_connections=None, keepalive_expiry=7.0
    )
    http = DefaultAsyncHttpxClient(limits=httpx_limits)
    async with AsyncLetta(replay.base_url, http_client=http) as client:
        await asyncio.gather(*(client.health() for _ in range(6)))
        assert client.limits == Limits(max_connections=2, keepalive_timeout=7.0)
    assert peak == 2


async def settle(replay: ReplayServer, expected: int) -> int:
    """The server's open connections once closures in flight have landed (1 s at most)."""
    for _ in range(50):
        if replay.open_connections() == expected:
            break
        await asyncio.sleep(0.02)
    return replay.open_connections()


@pytest.mark.parametrize(
    ("most", "idle", "concurrent", "left_open"),
    [
        (6, 2, 6, 2),
        (6, 0, 6, 0),
        (6, None, 6, 6),
        (100, 20, 25, 20),  # letta-client 1.12.1's own default limits
    ],
)
async def test_max_keepalive_connections_caps_idle_connections(
    replay: ReplayServer, most: int, idle: int | None, concurrent: int, left_open: int
) -> None:
    active = peak = 0

    async def counted(request: web.Request) -> web.StreamResponse:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.2)
        active -= 1
        return web.json_response(HEALTH)

    replay.on("GET", "/v1/health/", always=counted)
    httpx_limits = SimpleNamespace(
        max_connections=most, max_keepalive_connections=idle, keepalive_expiry=30.0
    )
    http = DefaultAsyncHttpxClient(limits=httpx_limits)
    async with AsyncLetta(replay.base_url, http_client=http) as client:
        assert client.limits == Limits(
            max_connections=most, keepalive_timeout=30.0, max_keepalive_connections=idle
        )
        await asyncio.gather(*(client.health() for _ in range(concurrent)))
        assert peak == concurrent, "every request had a connection of its own"
        assert await settle(replay, left_open) == left_open
        # The pooled ones are reused, and the cap still holds after a second burst.
        await asyncio.gather(*(client.health() for _ in range(concurrent)))
        assert await settle(replay, left_open) == left_open
    assert await settle(replay, 0) == 0


async def test_the_sync_client_applies_its_http_client_the_idle_cap_included(
    replay: ReplayServer,
) -> None:
    active = peak = 0

    async def counted(request: web.Request) -> web.StreamResponse:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.2)
        active -= 1
        return web.json_response(HEALTH)

    replay.on("GET", "/v1/health/", always=counted)
    httpx_limits = SimpleNamespace(
        max_connections=6, max_keepalive_connections=2, keepalive_expiry=30.0
    )
    http = DefaultHttpxClient(limits=httpx_limits, headers={"X-Team": "sync"})
    client = Letta(replay.base_url, http_client=http)

    def burst() -> list[str]:
        with ThreadPoolExecutor(6) as pool:
            return list(pool.map(lambda _: client.health().status, range(6)))

    try:
        # The sync calls block their threads, so this loop keeps serving meanwhile.
        assert await asyncio.to_thread(burst) == ["ok"] * 6
        assert peak == 6
        assert await settle(replay, 2) == 2
    finally:
        await asyncio.to_thread(client.close)
    assert {seen.headers.get("X-Team") for seen in replay.requests} == {"sync"}
    assert await settle(replay, 0) == 0


async def test_keepalive_expiry_closes_idle_connections(replay: ReplayServer) -> None:
    replay.on("GET", "/v1/health/", always=json_answer(HEALTH))
    httpx_limits = SimpleNamespace(
        max_connections=10, max_keepalive_connections=5, keepalive_expiry=0.3
    )
    async with AsyncLetta(
        replay.base_url, http_client=DefaultAsyncHttpxClient(limits=httpx_limits)
    ) as client:
        await client.health()
        assert replay.open_connections() == 1
        await asyncio.sleep(0.4)
        # aiohttp sweeps expired connections on a timer that may round up to a second.
        for _ in range(100):
            if replay.open_connections() == 0:
                break
            await asyncio.sleep(0.02)
        assert replay.open_connections() == 0


async def test_an_aiohttp_without_the_release_step_warns_and_still_works(
    replay: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from letta_async import _pool

    assert _pool._CAN_CAP_IDLE, "the installed aiohttp must have the step the cap relies on"
    monkeypatch.setattr(_pool, "_CAN_CAP_IDLE", False)
    replay.on("GET", "/v1/health/", always=json_answer(HEALTH))
    httpx_limits = SimpleNamespace(
        max_connections=10, max_keepalive_connections=0, keepalive_expiry=30.0
    )
    client = AsyncLetta(replay.base_url, http_client=DefaultAsyncHttpxClient(limits=httpx_limits))
    try:
        with pytest.warns(RuntimeWarning, match=r"max_keepalive_connections=0\) is not applied"):
            health = await client.health()  # the pool is made on the first request
        assert health.status == "ok"
        assert await settle(replay, 1) == 1, "pooled: the cap was not applied"
    finally:
        await client.close()


def test_the_default_pool_keeps_idle_connections_until_they_expire() -> None:
    # letta-client 1.12.1: 100 connections, 20 of them kept idle for 5 s; here: 1000
    # connections, idle ones kept for 15 s with no separate count cap (the README says why).
    client = AsyncLetta(DEAD)
    assert (
        client.limits.max_connections,
        client.limits.max_keepalive_connections,
        client.limits.keepalive_timeout,
    ) == (1000, None, 15.0)
    with pytest.raises(ValueError, match="must not be negative"):
        Limits(max_keepalive_connections=-1)


# --- proxies -------------------------------------------------------------------------------


def proxy_answer(seen: list[dict[str, str]]) -> Any:
    """A forward proxy's answer: record what reached it, then answer for the target."""

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(dict(request.headers))
        return web.json_response(HEALTH)

    return handler


async def test_an_explicit_proxy_carries_every_request_with_its_login(
    replay: ReplayServer,
) -> None:
    seen: list[dict[str, str]] = []
    replay.on("GET", "/v1/health/", always=proxy_answer(seen))
    proxy_url = replay.base_url.replace("http://", "http://user:pw@")
    for proxy in (proxy_url, SimpleNamespace(url=replay.base_url, auth=("user", "pw"))):
        async with AsyncLetta(
            DEAD, http_client=DefaultAsyncHttpxClient(proxy=proxy), max_retries=0
        ) as client:
            assert (await client.health()).status == "ok"
    login = "Basic " + base64.b64encode(b"user:pw").decode()
    assert [(h["Host"], h["Proxy-Authorization"]) for h in seen] == [("127.0.0.1:9", login)] * 2


def test_a_socks_proxy_is_refused() -> None:
    with pytest.raises(TypeError, match="http:// and https:// proxies only"):
        DefaultAsyncHttpxClient(proxy="socks5://127.0.0.1:1080")


async def test_proxy_variables_are_trusted_as_by_httpx_unless_trust_env_is_false(
    replay: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, str]] = []
    replay.on("GET", "/v1/health/", always=proxy_answer(seen))
    monkeypatch.setenv("HTTP_PROXY", replay.base_url)
    async with AsyncLetta(DEAD, max_retries=0) as client:
        assert (await client.health()).status == "ok", "the default client, as the official"
    async with AsyncLetta(DEAD, http_client=DefaultAsyncHttpxClient(), max_retries=0) as client:
        assert (await client.health()).status == "ok"
    assert len(seen) == 2
    async with AsyncLetta(
        DEAD, http_client=DefaultAsyncHttpxClient(trust_env=False), max_retries=0
    ) as client:
        with pytest.raises(APIConnectionError):
            await client.health()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    async with AsyncLetta(DEAD, max_retries=0) as client:
        with pytest.raises(APIConnectionError):
            await client.health()
    assert len(seen) == 2


# --- TLS -----------------------------------------------------------------------------------


def make_cert(folder: Path, name: str) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed, so no certificate can be made")
    cert, key = folder / f"{name}.pem", folder / f"{name}-key.pem"
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
async def tls_server(tmp_path: Path) -> AsyncIterator[SimpleNamespace]:
    """A TLS server on 127.0.0.1 that asks for a client certificate it trusts."""
    server_cert, server_key = make_cert(tmp_path, "server")
    client_cert, client_key = make_cert(tmp_path, "client")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(server_cert, server_key)
    context.load_verify_locations(cafile=str(client_cert))
    context.verify_mode = ssl.CERT_REQUIRED

    async def health(request: web.Request) -> web.StreamResponse:
        return web.json_response(HEALTH)

    app = web.Application()
    app.router.add_get("/v1/health/", health)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield SimpleNamespace(
            base_url=f"https://127.0.0.1:{port}",
            ca=str(server_cert),
            cert=(str(client_cert), str(client_key)),
        )
    finally:
        await runner.cleanup()


@asyncio_310_tls
async def test_verify_and_cert_decide_the_tls_handshake(tls_server: SimpleNamespace) -> None:
    trusted = DefaultAsyncHttpxClient(verify=tls_server.ca, cert=tls_server.cert)
    async with AsyncLetta(tls_server.base_url, http_client=trusted, max_retries=0) as client:
        assert (await client.health()).status == "ok"
    for http in (
        DefaultAsyncHttpxClient(cert=tls_server.cert),  # the server is not trusted
        DefaultAsyncHttpxClient(verify=tls_server.ca),  # no client certificate
    ):
        async with AsyncLetta(tls_server.base_url, http_client=http, max_retries=0) as client:
            with pytest.raises(APIConnectionError):
                await client.health()
    unverified = DefaultAsyncHttpxClient(verify=False, cert=tls_server.cert)
    async with AsyncLetta(tls_server.base_url, http_client=unverified, max_retries=0) as client:
        assert (await client.health()).status == "ok"


# --- redirects -----------------------------------------------------------------------------


def redirect_to(location: str) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": location})

    return handler


async def test_follow_redirects_and_max_redirects(replay: ReplayServer) -> None:
    replay.on("GET", "/v1/old/", always=redirect_to("/v1/health/"))
    replay.on("GET", "/v1/health/", always=json_answer(HEALTH))
    replay.on("GET", "/v1/loop/", always=redirect_to("/v1/loop/"))
    async with AsyncLetta(replay.base_url, max_retries=0) as client:
        assert (await client.get("/v1/old/", cast_to=object)) == HEALTH
        with pytest.raises(APIStatusError) as info:
            await client.get("/v1/old/", cast_to=object, options={"follow_redirects": False})
        assert info.value.status_code == 302
    http = DefaultAsyncHttpxClient(follow_redirects=False)
    async with AsyncLetta(replay.base_url, http_client=http, max_retries=0) as client:
        with pytest.raises(APIStatusError) as info:
            await client.get("/v1/old/", cast_to=object)
        assert info.value.status_code == 302
        assert (
            await client.get("/v1/old/", cast_to=object, options={"follow_redirects": True})
        ) == HEALTH
    http = DefaultAsyncHttpxClient(max_redirects=3)
    async with AsyncLetta(replay.base_url, http_client=http, max_retries=2) as client:
        with pytest.raises(RefusedRedirectError, match=r"(?i)too many redirects"):
            await client.get("/v1/loop/", cast_to=object)
    # One attempt and its three redirects: a redirect loop is no failure to try again.
    assert len(replay.seen("GET", "/v1/loop/")) == 4


# --- refused, in one line ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("transport", object()),
        ("mounts", {"all://": None}),
        ("auth", ("user", "pw")),
        ("cookies", {"a": "b"}),
        ("http2", True),
        ("http1", False),
        ("base_url", "http://127.0.0.1:1"),
        ("default_encoding", "latin-1"),
    ],
)
def test_what_aiohttp_cannot_honour_is_refused_by_name(argument: str, value: Any) -> None:
    for cls in (DefaultAsyncHttpxClient, DefaultAioHttpClient):
        with pytest.raises(TypeError, match=rf"\({argument}=\.\.\.\): .* cannot be honoured"):
            cls(**{argument: value})


def test_a_foreign_http_client_and_unknown_hooks_are_refused() -> None:
    with pytest.raises(TypeError, match=r"http_client=object\(\.\.\.\).*DefaultAsyncHttpxClient"):
        AsyncLetta(DEAD, http_client=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'request' and 'response' only"):
        DefaultAsyncHttpxClient(event_hooks={"requests": []})


async def test_settings_a_callers_session_would_override_are_refused() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ValueError, match="limits cannot apply"):
            AsyncLetta(DEAD, session=session, limits=Limits(max_connections=3))
        with pytest.raises(ValueError, match="limits cannot apply"):
            AsyncLetta(DEAD, session=session, limits=Limits(max_keepalive_connections=3))
        with pytest.raises(ValueError, match="TLS settings cannot apply"):
            AsyncLetta(DEAD, session=session, verify_ssl=False)
        with pytest.raises(ValueError, match="TLS settings"):
            AsyncLetta(DEAD, session=session, http_client=DefaultAsyncHttpxClient(verify=False))
        AsyncLetta(DEAD, session=session, limits=Limits(max_response_size=1024))  # not the pool
    with pytest.raises(ValueError, match="TLS is set twice"):
        AsyncLetta(DEAD, verify_ssl=False, http_client=DefaultAsyncHttpxClient(verify=False))
    pool = SimpleNamespace(max_connections=5, max_keepalive_connections=None, keepalive_expiry=5)
    with pytest.raises(ValueError, match="limits are set twice"):
        AsyncLetta(DEAD, limits=Limits(), http_client=DefaultAsyncHttpxClient(limits=pool))


async def test_every_request_option_of_the_client_methods_takes_effect(
    replay: ReplayServer,
) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(1.0)
        return web.json_response(HEALTH)

    busy = json_answer({"detail": "busy"}, status=503, headers={"retry-after-ms": "1"})
    replay.on("POST", "/v1/echo/", always=json_answer({"ok": True}))
    replay.on("GET", "/v1/slow/", always=slow)
    replay.on("GET", "/v1/busy/", always=busy)
    async with AsyncLetta(replay.base_url, max_retries=2, timeout=5.0) as client:
        await client.post(
            "/v1/echo/",
            cast_to=object,
            body={"a": 1},
            options={"extra_json": {"b": 2}, "headers": {"X-Call": "c"}, "params": {"q": "1"}},
        )
        with pytest.raises(APITimeoutError):
            await client.get("/v1/slow/", cast_to=object, options={"timeout": 0.2})
        with pytest.raises(APIStatusError):
            await client.get("/v1/busy/", cast_to=object, options={"max_retries": 0})
    (echo,) = replay.seen("POST", "/v1/echo/")
    assert (echo.json(), echo.headers["X-Call"], echo.query) == ({"a": 1, "b": 2}, "c", {"q": "1"})
    assert len(replay.seen("GET", "/v1/slow/")) == 3, "each attempt cut short, then retried"
    assert len(replay.seen("GET", "/v1/busy/")) == 1


async def test_an_idempotency_key_is_accepted_and_sends_nothing(replay: ReplayServer) -> None:
    # letta-client 1.12.1 takes the option and sends no header for it (checked on a loopback
    # server): both calls must reach the server as the same request.
    replay.on("POST", "/v1/echo/", always=json_answer({"ok": True}))
    async with AsyncLetta(replay.base_url, api_key="k") as client:
        await client.post(
            "/v1/echo/", cast_to=object, body={"a": 1}, options={"idempotency_key": "KEY-1"}
        )
        await client.post("/v1/echo/", cast_to=object, body={"a": 1})
    keyed, plain = replay.seen("POST", "/v1/echo/")
    assert dict(keyed.headers) == dict(plain.headers)
    assert (keyed.json(), keyed.query) == (plain.json(), plain.query) == ({"a": 1}, {})
    assert not any("KEY-1" in value for value in keyed.headers.values())


async def test_an_unknown_request_option_is_refused(replay: ReplayServer) -> None:
    async with AsyncLetta(replay.base_url) as client:
        with pytest.raises(TypeError, match=r"unknown request options \['retries'\]"):
            await client.get("/v1/health/", cast_to=object, options={"retries": 1})  # type: ignore[typeddict-unknown-key]
    assert replay.requests == []


# --- copies --------------------------------------------------------------------------------


async def test_copies_keep_the_http_client_or_take_a_new_one(replay: ReplayServer) -> None:
    first: list[str] = []
    second: list[str] = []
    replay.on("GET", "/v1/health/", always=json_answer(HEALTH))
    http = DefaultAsyncHttpxClient(event_hooks={"request": [lambda r: first.append(r.method)]})
    async with AsyncLetta(replay.base_url, http_client=http) as client:
        await client.with_options(max_retries=0).health()
        other = DefaultAsyncHttpxClient(
            headers={"X-Second": "2"},
            event_hooks={"request": [lambda r: second.append(r.method)]},
        )
        async with client.copy(http_client=other) as copy:
            await copy.health()
            assert copy.session is not client.session, "its own pool, as its own TLS may differ"
    assert (first, second) == (["GET"], ["GET"])
    assert [s.headers.get("X-Second") for s in replay.seen("GET", "/v1/health/")] == [None, "2"]


async def test_every_copy_argument_reaches_the_wire(replay: ReplayServer) -> None:
    replay.on("GET", "/v1/health/", always=json_answer(HEALTH))
    elsewhere = ReplayServer()
    await elsewhere.start()
    try:
        elsewhere.on("GET", "/v1/health/", always=json_answer(HEALTH))
        async with AsyncLetta(
            replay.base_url, api_key="k1", default_query={"a": "1", "b": "2"}
        ) as client:
            await client.copy(
                api_key="k2", project_id="p-2", project="proj", default_query={"b": "3"}
            ).health()
            await client.copy(set_default_query={"c": "4"}).health()
            await client.copy(base_url=elsewhere.base_url).health()
    finally:
        await elsewhere.close()
    merged, replaced = replay.seen("GET", "/v1/health/")
    assert merged.headers["Authorization"] == "Bearer k2"
    assert (merged.headers["X-Project-Id"], merged.headers["X-Project"]) == ("p-2", "proj")
    assert merged.query == {"a": "1", "b": "3"}
    assert replaced.query == {"c": "4"}
    assert replaced.headers["Authorization"] == "Bearer k1"
    (moved,) = elsewhere.seen("GET", "/v1/health/")
    assert moved.query == {"a": "1", "b": "2"}


def test_copies_of_a_client_with_pool_and_tls_settings() -> None:
    pool = SimpleNamespace(max_connections=5, max_keepalive_connections=None, keepalive_expiry=5)
    client = AsyncLetta(DEAD, http_client=DefaultAsyncHttpxClient(limits=pool, verify=False))
    assert client.with_options(max_retries=0).limits.max_connections == 5
    mine = AsyncLetta(DEAD, limits=Limits(max_connections=7), verify_ssl=False)
    assert mine.copy(timeout=1.0).limits.max_connections == 7
    other = mine.copy(http_client=DefaultAsyncHttpxClient(limits=pool, verify=True, cert=None))
    assert other.limits.max_connections == 5
    swapped = mine.copy(http_client=DefaultAsyncHttpxClient(verify=ssl.create_default_context()))
    assert isinstance(swapped._transport._ssl, ssl.SSLContext), "the new client's TLS"


def test_copy_with_an_environment_moves_the_copy_there() -> None:
    client = AsyncLetta("http://127.0.0.1:7001")
    assert str(client.copy(environment="local").base_url) == "http://localhost:8283"
    assert str(client.copy(environment="cloud").base_url) == "https://api.letta.com"
    moved = client.copy(environment="cloud", base_url="http://127.0.0.1:7002")
    assert str(moved.base_url) == "http://127.0.0.1:7002", "an explicit base_url still wins"
    with pytest.raises(ValueError, match="Unknown environment"):
        client.copy(environment="moon")  # type: ignore[arg-type]


# --- typing --------------------------------------------------------------------------------

TYPED_GOOD = """
from letta_async import AsyncLetta, DefaultAsyncHttpxClient, HTTPRequest, HTTPResponse


async def log_request(request: HTTPRequest) -> None:
    print(request.method, request.url.path, request.headers.get("x-a"))


async def log_response(response: HTTPResponse) -> None:
    await response.aread()
    print(response.status_code, response.request.url.host)


client = AsyncLetta(
    http_client=DefaultAsyncHttpxClient(
        event_hooks={"request": [log_request], "response": [log_response]},
        proxy="http://127.0.0.1:3128",
        timeout=30.0,
        verify=False,
        trust_env=False,
        headers={"X-A": "b"},
        follow_redirects=True,
    )
)
copy = client.copy(environment="local", http_client=DefaultAsyncHttpxClient(verify=False))
"""

TYPED_BAD = """
from letta_async import AsyncLetta, DefaultAsyncHttpxClient

DefaultAsyncHttpxClient(proxies="http://127.0.0.1:3128")
AsyncLetta(http_client=object())
"""


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")
def test_the_http_client_idioms_type_check_and_mistakes_do_not(tmp_path: Path) -> None:
    good, bad = mypy_errors(tmp_path, TYPED_GOOD, TYPED_BAD)
    assert good == [], "\n".join(good)
    assert any(":4: error:" in line and "proxies" in line for line in bad), "\n".join(bad)
    assert any(":5: error:" in line and "http_client" in line for line in bad), "\n".join(bad)
