"""The official constructor: where the client talks to, what it sends with every request, and
what an error carries about the request and the answer."""

from __future__ import annotations

import json

import pytest

from letta_async import (
    AsyncLetta,
    DefaultAioHttpClient,
    NotFoundError,
    Timeout,
)
from tests.replay import ReplayServer, fixture_bytes, json_answer

pytestmark = pytest.mark.anyio

HEALTH = json.loads(fixture_bytes("health.json"))
SECRET = "sk-settings-secret"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LETTA_BASE_URL", "LETTA_API_KEY", "LETTA_CUSTOM_HEADERS"):
        monkeypatch.delenv(name, raising=False)


# --- which server ----------------------------------------------------------------------------


def test_base_url_environment_and_env_var_in_the_official_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert str(AsyncLetta().base_url) == "https://api.letta.com", "Letta Cloud by default"
    assert str(AsyncLetta(environment="local").base_url) == "http://localhost:8283"
    assert str(AsyncLetta(environment="cloud").base_url) == "https://api.letta.com"
    monkeypatch.setenv("LETTA_BASE_URL", "http://127.0.0.1:7001")
    assert str(AsyncLetta().base_url) == "http://127.0.0.1:7001"
    assert str(AsyncLetta(base_url="http://127.0.0.1:7002").base_url) == "http://127.0.0.1:7002"
    assert str(AsyncLetta("http://127.0.0.1:7003", environment="local").base_url) == (
        "http://127.0.0.1:7003"
    ), "an explicit base_url wins over environment"
    with pytest.raises(ValueError, match="Ambiguous"):
        AsyncLetta(environment="local")
    with pytest.raises(ValueError, match="environment"):
        AsyncLetta(base_url=None, environment="moon")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "given", ["http://127.0.0.1:7004/v1", "http://127.0.0.1:7004/v1/", "http://127.0.0.1:7004/"]
)
def test_a_v1_suffix_or_trailing_slash_is_dropped(given: str) -> None:
    assert str(AsyncLetta(given).base_url) == "http://127.0.0.1:7004"


def test_official_timeout_and_retry_defaults() -> None:
    client = AsyncLetta("http://127.0.0.1:1")
    transport_timeout = client._transport.timeout
    assert (transport_timeout.connect, transport_timeout.read) == (5.0, 60.0)
    assert client.max_retries == 2
    per_phase = AsyncLetta("http://127.0.0.1:1", timeout=12.5)._transport.timeout
    assert (per_phase.connect, per_phase.read) == (12.5, 12.5), "a float bounds each phase"
    assert Timeout.coerce(None).read is None


# --- what every request carries --------------------------------------------------------------


async def test_project_headers_custom_headers_and_default_query_reach_the_wire(
    replay: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LETTA_CUSTOM_HEADERS", "X-From-Env: one\nX-Shared: env")
    replay.on("GET", "/v1/health/", always=json_answer(HEALTH))
    async with AsyncLetta(
        replay.base_url,
        api_key=SECRET,
        project_id="proj-123",
        project="my-project",
        default_headers={"X-Shared": "arg"},
        default_query={"tenant": "t1"},
    ) as client:
        await client.health()
    (seen,) = replay.seen("GET", "/v1/health/")
    assert seen.headers["X-Project-Id"] == "proj-123"
    assert seen.headers["X-Project"] == "my-project"
    assert seen.headers["X-From-Env"] == "one"
    assert seen.headers["X-Shared"] == "arg", "default_headers win over the environment"
    assert seen.headers["Authorization"] == f"Bearer {SECRET}"
    assert seen.query == {"tenant": "t1"}


async def test_api_key_from_the_environment(
    replay: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LETTA_API_KEY", SECRET)
    replay.on("GET", "/v1/health/", always=json_answer(HEALTH))
    async with AsyncLetta(replay.base_url) as client:
        await client.health()
    assert replay.seen("GET", "/v1/health/")[0].headers["Authorization"] == f"Bearer {SECRET}"


async def test_an_httpx_client_is_refused_with_the_way_to_share_a_pool(
    replay: ReplayServer,
) -> None:
    with pytest.raises(TypeError, match=r"session=aiohttp\.ClientSession"):
        AsyncLetta(replay.base_url, http_client=object())
    replay.on("GET", "/v1/health/", json_answer(HEALTH))
    async with AsyncLetta(replay.base_url, http_client=DefaultAioHttpClient()) as client:
        assert (await client.health()).status == "ok"


# --- what an error carries -------------------------------------------------------------------


async def test_a_status_error_carries_the_request_and_the_answer(replay: ReplayServer) -> None:
    capture = fixture_bytes("errors_404_agent_get.json")
    agent = "agent-00000000-0000-4000-8000-000000000000"
    replay.on("GET", f"/v1/agents/{agent}", json_answer(capture, status=404))
    async with AsyncLetta(replay.base_url, api_key=SECRET, max_retries=0) as client:
        with pytest.raises(NotFoundError) as info:
            await client.agents.retrieve(agent)
    error = info.value
    assert error.request is not None
    assert error.request.method == "GET"
    assert error.request.url == f"{replay.base_url}/v1/agents/{agent}"
    sent = {name.lower() for name in error.request.headers}
    assert "authorization" not in sent, "the key never rides along on an error"
    assert SECRET not in repr(error.request.headers) and SECRET not in str(error)
    assert error.response.status_code == 404
    assert error.response.content == capture
    assert error.response.json() == json.loads(capture)
    assert error.response.headers["content-type"].startswith("application/json")
    assert error.response.request is error.request
