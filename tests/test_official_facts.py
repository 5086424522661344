"""This client against facts recorded from the official SDK itself.

``tests/fixtures/official_facts.json`` was written by ``tools/record_official_facts.py`` run
with ``letta-client`` 1.12.1 (its ``source`` key says so): the base URL each combination of
``base_url``, ``environment`` and ``$LETTA_BASE_URL`` gives the official client, the path ids
each official method checks before sending, and the attributes of the official errors for
captured Letta 0.16 error answers. Nothing here comes from the code under test.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import letta_async
from letta_async import AsyncLetta, Timeout
from letta_async.testing import bind_free_port

FIXTURES = Path(__file__).parent / "fixtures"
FACTS = json.loads((FIXTURES / "official_facts.json").read_text())
ABSENT, UNSET = "<absent>", "<unset>"


def test_the_facts_come_from_the_official_sdk() -> None:
    assert FACTS["source"].startswith("letta-client 1.12.1")


# --- construction precedence --------------------------------------------------------------


def _row_id(row: dict[str, Any]) -> str:
    return f"base_url={row['base_url']!r} env={row['environment']!r} $={row['LETTA_BASE_URL']!r}"


@pytest.mark.parametrize("row", FACTS["precedence"], ids=_row_id)
def test_base_url_precedence_matches_the_official_client(
    row: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    if row["LETTA_BASE_URL"] == UNSET:
        monkeypatch.delenv("LETTA_BASE_URL", raising=False)
    else:
        monkeypatch.setenv("LETTA_BASE_URL", row["LETTA_BASE_URL"])
    kwargs: dict[str, Any] = {}
    if row["base_url"] != ABSENT:
        kwargs["base_url"] = row["base_url"]
    if row["environment"] != ABSENT:
        kwargs["environment"] = row["environment"]
    if "error" in row:
        with pytest.raises(ValueError) as caught:
            AsyncLetta(**kwargs)
        assert str(caught.value) == row["message"]
    elif row["chosen"] == "":
        # The official client takes an empty URL and then fails every request; this one
        # refuses it at once (a documented difference).
        with pytest.raises(ValueError, match=r"base_url|LETTA_BASE_URL"):
            AsyncLetta(**kwargs)
    else:
        assert str(AsyncLetta(**kwargs).base_url) == row["chosen"]
        assert AsyncLetta(**kwargs).base_url == row["chosen"], "compares with str, as httpx.URL"


def test_the_recorded_table_covers_the_explicit_none_case() -> None:
    (row,) = [
        r
        for r in FACTS["precedence"]
        if r["base_url"] is None
        and r["environment"] == "local"
        and r["LETTA_BASE_URL"].startswith("http")
    ]
    assert row["chosen"] == "http://localhost:8283"


class HttpxShapedTimeout:
    """What ``httpx.Timeout(30.0, connect=2.0, pool=7.0)`` looks like from outside."""

    def __init__(self) -> None:
        self.connect: float | None = 2.0
        self.read: float | None = 30.0
        self.write: float | None = 30.0
        self.pool: float | None = 7.0


def test_an_httpx_shaped_timeout_is_accepted_and_honoured() -> None:
    client = AsyncLetta("http://127.0.0.1:1", timeout=HttpxShapedTimeout())
    deadlines = client._transport.timeout
    assert (deadlines.connect, deadlines.read, deadlines.stream_idle) == (2.0, 30.0, 30.0)
    assert (deadlines.pool, deadlines.write) == (7.0, 30.0)
    from letta_async._transport import PreparedRequest

    aio = client._transport._client_timeout(PreparedRequest("GET", "/v1/health/"))
    assert (aio.sock_connect, aio.sock_read, aio.connect) == (2.0, 30.0, 9.0)
    with pytest.raises(TypeError, match=r"timeout\.read"):
        bad = HttpxShapedTimeout()
        bad.read = "soon"  # type: ignore[assignment]
        AsyncLetta("http://127.0.0.1:1", timeout=bad)
    assert Timeout.coerce(4.0).pool == 4.0


# --- client-side checks of path ids -------------------------------------------------------


def _method(client: AsyncLetta, dotted: str) -> Any:
    target: Any = client
    for part in dotted.split("."):
        target = getattr(target, part)
    return target


def _call_args(method: Any, ids: dict[str, str]) -> dict[str, Any]:
    """Every required argument: the ids as given, anything else a placeholder never sent."""
    args: dict[str, Any] = {}
    for name, param in inspect.signature(method).parameters.items():
        if name in ids:
            args[name] = ids[name]
        elif param.default is inspect.Parameter.empty and param.kind not in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        ):
            args[name] = None
    return args


@pytest.mark.anyio
@pytest.mark.parametrize("dotted", sorted(FACTS["path_checks"]))
async def test_empty_path_ids_are_refused_with_the_official_message(dotted: str) -> None:
    names = FACTS["path_checks"][dotted]
    async with AsyncLetta("http://127.0.0.1:1", max_retries=0) as client:
        method = _method(client, dotted)
        for position, name in enumerate(names):
            for empty in ("", None):
                ids = dict.fromkeys(names, "x-1")
                ids[name] = empty  # type: ignore[assignment]
                with pytest.raises(ValueError) as caught:
                    result = method(**_call_args(method, ids))
                    if inspect.isawaitable(result):
                        await result
                expected = f"Expected a non-empty value for `{name}` but received {empty!r}"
                assert str(caught.value) == expected, (dotted, position)


@pytest.mark.anyio
@pytest.mark.parametrize("value", [".", ".."])
async def test_dot_segment_ids_are_refused_with_the_official_message(value: str) -> None:
    async with AsyncLetta("http://127.0.0.1:1", max_retries=0) as client:
        with pytest.raises(ValueError) as caught:
            await client.agents.blocks.retrieve(value, agent_id="agent-1")
    assert str(caught.value) == FACTS["dot_segments"][value]


# --- error attributes for real Letta error answers -----------------------------------------


@pytest.fixture
async def answer_with() -> AsyncIterator[Any]:
    runners: list[web.AppRunner] = []

    async def start(status: int, body: bytes) -> str:
        async def handle(request: web.Request) -> web.Response:
            response = web.Response(status=status, body=body)
            response.headers["content-type"] = "application/json"
            response.headers["vary"] = "Origin"
            return response

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        sock = bind_free_port()
        await web.SockSite(runner, sock).start()
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    try:
        yield start
    finally:
        for runner in runners:
            await runner.cleanup()


@pytest.mark.anyio
@pytest.mark.parametrize("capture", sorted(FACTS["errors"]))
async def test_status_errors_carry_what_the_official_ones_carry(
    capture: str, answer_with: Any
) -> None:
    official = FACTS["errors"][capture]
    base = await answer_with(official["status_code"], (FIXTURES / capture).read_bytes())
    async with AsyncLetta(base, max_retries=0) as client:
        with pytest.raises(letta_async.APIStatusError) as caught:
            await client.agents.retrieve("agent-00000000-0000-4000-8000-000000000000")
    error = caught.value
    assert type(error).__name__ == official["class"]
    assert error.status_code == official["status_code"]
    assert error.message == official["message"]
    assert str(error) == official["str"]
    assert error.body == official["body"]
    headers = {k: v for k, v in error.response.headers.items() if k not in ("date", "server")}
    assert headers == official["headers"]
    assert error.request.method == official["request_method"]
    assert error.request.url.path == official["request_path"]


@pytest.mark.anyio
async def test_connection_error_text_is_the_official_one() -> None:
    official = FACTS["connection_error"]["refused"]
    async with AsyncLetta("http://127.0.0.1:9", max_retries=0) as client:
        with pytest.raises(letta_async.APIConnectionError) as caught:
            await client.health()
    assert caught.value.message == official["message"]
    assert str(caught.value).startswith(official["str"])
    assert caught.value.body == official["body"]
