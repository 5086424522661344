"""What a call puts on the wire: omitted vs null fields, per-call options, derived clients and
the client's own get/post/patch/put/delete.

Every check reads the request as a loopback server received it; expected answers come from
the captures in ``tests/fixtures``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from letta_async import APITimeoutError, AsyncLetta, InternalServerError, omit
from letta_async.types import AgentState, HealthResponse
from tests.replay import ReplayServer, fixture_bytes, json_answer, raw_answer, sse_answer

pytestmark = pytest.mark.anyio

AGENT_JSON = json.loads(fixture_bytes("agent_create.json"))
AGENT = AGENT_JSON["id"]
BLOCK = "block-3f1c0a5e-1d2b-4c3a-9e8f-7a6b5c4d3e2f"
BLOCK_JSON = {"id": BLOCK, "value": "likes tea", "label": "human", "limit": 5000}
HEALTH = json.loads(fixture_bytes("health.json"))


@pytest.fixture
async def client(replay: ReplayServer) -> AsyncIterator[AsyncLetta]:
    async with AsyncLetta(replay.base_url, api_key="sk-test", max_retries=0) as c:
        yield c


# --- omit vs None ----------------------------------------------------------------------------


async def test_a_field_left_out_is_absent_and_none_sends_null(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    route = f"/v1/blocks/{BLOCK}"
    replay.on("PATCH", route, always=json_answer(BLOCK_JSON))
    await client.blocks.update(BLOCK, value="likes tea")
    await client.blocks.update(BLOCK, description=None)
    await client.blocks.update(BLOCK, description=omit, limit=omit)
    bodies = [r.body for r in replay.seen("PATCH", route)]
    assert bodies == [b'{"value":"likes tea"}', b'{"description":null}', b"{}"]


async def test_an_omitted_query_parameter_is_not_sent(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("GET", "/v1/agents/", always=json_answer([AGENT_JSON]))
    await client.agents.list()
    await client.agents.list(limit=3, name=omit, tags=["a", "b"])
    first, second = replay.seen("GET", "/v1/agents/")
    assert first.query == {}
    assert second.raw_query == "limit=3&tags=a&tags=b"


# --- per-call options ------------------------------------------------------------------------


async def test_extra_headers_are_sent_and_omit_removes_a_client_header(
    replay: ReplayServer,
) -> None:
    replay.on("GET", f"/v1/agents/{AGENT}", always=json_answer(AGENT_JSON))
    async with AsyncLetta(
        replay.base_url, api_key="sk-test", project_id="proj-1", max_retries=0
    ) as client:
        await client.agents.retrieve(AGENT, extra_headers={"X-Trace": "t-1"})
        await client.agents.retrieve(AGENT, extra_headers={"X-Project-Id": omit})
        await client.agents.retrieve(AGENT)
    traced, without, plain = replay.seen("GET", f"/v1/agents/{AGENT}")
    assert traced.headers["X-Trace"] == "t-1" and traced.headers["X-Project-Id"] == "proj-1"
    assert "X-Project-Id" not in without.headers
    assert plain.headers["X-Project-Id"] == "proj-1", "the omit was for that call only"
    assert "X-Trace" not in plain.headers


async def test_extra_query_is_merged_over_the_method_query(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("GET", "/v1/agents/", always=json_answer([AGENT_JSON]))
    await client.agents.list(limit=2, name="a", extra_query={"limit": 5, "x-debug": "1"})
    (seen,) = replay.seen("GET", "/v1/agents/")
    assert seen.query == {"limit": "5", "name": "a", "x-debug": "1"}


async def test_extra_body_is_merged_over_the_method_body(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    route = f"/v1/blocks/{BLOCK}"
    replay.on("PATCH", route, always=json_answer(BLOCK_JSON))
    await client.blocks.update(BLOCK, value="v", label="l", extra_body={"value": "w", "k": 1})
    (seen,) = replay.seen("PATCH", route)
    assert seen.json() == {"value": "w", "label": "l", "k": 1}


async def test_a_per_call_timeout_fires_where_the_client_timeout_would_not(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(1.0)
        return web.json_response(HEALTH)

    replay.on("GET", "/v1/health/", slow, json_answer(HEALTH))
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(APITimeoutError):
        await client.health(timeout=0.2)
    assert loop.time() - started < 0.9
    assert isinstance(await client.health(), HealthResponse), "the next call has no such limit"


# --- derived clients -------------------------------------------------------------------------


async def test_with_options_overrides_only_what_it_names_and_shares_the_pool(
    replay: ReplayServer,
) -> None:
    busy = json_answer({"detail": "busy"}, status=503, headers={"retry-after-ms": "1"})
    replay.on("GET", "/v1/health/", busy, busy, always=json_answer(HEALTH))
    async with AsyncLetta(
        replay.base_url, api_key="sk-test", max_retries=2, default_headers={"X-Team": "a"}
    ) as client:
        await client.health()  # two 503s, then the answer: the client retries twice
        assert len(replay.seen("GET", "/v1/health/")) == 3

        replay.on("GET", "/v1/health/", busy)
        quick = client.with_options(max_retries=0, timeout=7.5)
        with pytest.raises(InternalServerError):
            await quick.health()
        assert len(replay.seen("GET", "/v1/health/")) == 4, "no retry on the derived client"
        assert (quick.max_retries, client.max_retries) == (0, 2)
        assert quick.timeout == 7.5, "reads back what was passed, as the official client"
        assert client.timeout.read == 60.0  # type: ignore[union-attr]
        assert quick.session is client.session, "one connection pool"
        assert quick.api_key == client.api_key
        await quick.health()
        last = replay.seen("GET", "/v1/health/")[-1]
        assert last.headers["X-Team"] == "a"
        assert last.headers["Authorization"] == "Bearer sk-test"
        # The derived client is never closed: the pool is the original's to close.
    assert client.is_closed()


async def test_copy_merges_default_headers_and_leaves_the_original_alone(
    replay: ReplayServer,
) -> None:
    replay.on("GET", "/v1/health/", always=json_answer(HEALTH))
    async with AsyncLetta(
        replay.base_url, api_key="sk-test", default_headers={"X-Team": "a", "X-Keep": "k"}
    ) as client:
        other = client.copy(default_headers={"X-Team": "b"})
        await other.health()
        await client.health()
        replaced = client.copy(set_default_headers={"X-Only": "o"})
        await replaced.health()
        assert other.session is client.session and replaced.session is client.session
    via_copy, via_original, via_replaced = replay.seen("GET", "/v1/health/")
    assert (via_copy.headers["X-Team"], via_copy.headers["X-Keep"]) == ("b", "k")
    assert (via_original.headers["X-Team"], via_original.headers["X-Keep"]) == ("a", "k")
    assert via_replaced.headers["X-Only"] == "o" and "X-Team" not in via_replaced.headers
    assert via_copy.headers["Authorization"] == "Bearer sk-test"
    with pytest.raises(ValueError, match="mutually exclusive"):
        client.copy(default_headers={"a": "1"}, set_default_headers={"b": "2"})


# --- the client's own calls ------------------------------------------------------------------


async def test_client_get_post_patch_put_delete(replay: ReplayServer, client: AsyncLetta) -> None:
    replay.on("GET", f"/v1/agents/{AGENT}", json_answer(fixture_bytes("agent_create.json")))
    replay.on("POST", "/v1/tags/", json_answer({"ok": True}))
    replay.on("PATCH", f"/v1/blocks/{BLOCK}", json_answer(BLOCK_JSON))
    replay.on("PUT", "/v1/tools/", json_answer('"text answer"'))
    replay.on("DELETE", f"/v1/agents/{AGENT}", raw_answer(b"", status=200))

    agent = await client.get(f"/v1/agents/{AGENT}", cast_to=AgentState)
    assert isinstance(agent, AgentState) and agent.id == AGENT and agent.name == "fixture-agent"
    posted = await client.post(
        "/v1/tags/",
        cast_to=object,
        body={"name": "x", "skip": omit},
        options={"params": {"q": 1}, "headers": {"X-Call": "c"}},
    )
    assert posted == {"ok": True}
    assert await client.patch(f"/v1/blocks/{BLOCK}", cast_to=object, body={"value": None}) == (
        BLOCK_JSON
    )
    assert await client.put("/v1/tools/", cast_to=str, body={"a": 1}) == '"text answer"'
    assert await client.delete(f"/v1/agents/{AGENT}", cast_to=type(None)) is None

    post = replay.seen("POST", "/v1/tags/")[0]
    assert post.json() == {"name": "x"}
    assert post.query == {"q": "1"} and post.headers["X-Call"] == "c"
    assert replay.seen("PATCH", f"/v1/blocks/{BLOCK}")[0].json() == {"value": None}
    assert replay.seen("PUT", "/v1/tools/")[0].json() == {"a": 1}
    assert [r.method for r in replay.requests] == ["GET", "POST", "PATCH", "PUT", "DELETE"]
    with pytest.raises(ValueError, match="relative to base_url"):
        await client.get("http://elsewhere.invalid/v1/agents/", cast_to=object)


async def test_client_post_with_stream_answers_with_the_events(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    """``client.post(..., stream=True)`` is the official way to stream any route."""
    route = f"/v1/agents/{AGENT}/messages/stream"
    body = fixture_bytes("stream_steps.sse")
    replay.on("POST", route, sse_answer(body))
    stream = await client.post(
        route, cast_to=object, body={"messages": [{"role": "user", "content": "hi"}]}, stream=True
    )
    kinds = [event.message_type async for event in stream]
    # The capture's own frames, read without the library's decoder.
    expected = [
        json.loads(line[len(b"data: ") :])["message_type"]
        for line in body.splitlines()
        if line.startswith(b"data: {")
    ]
    assert kinds == expected
    assert replay.seen("POST", route)[0].json() == {"messages": [{"role": "user", "content": "hi"}]}


async def test_a_put_and_a_delete_send_their_per_call_options_and_body(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    """Per-call headers and a DELETE's body reach the server on every verb, not only on the
    GET, POST and PATCH checked above."""
    token_route = "/v1/client-side-access-tokens/tok-1"
    replay.on("PUT", "/v1/identities/", always=json_answer({"id": "identity-1"}))
    replay.on("DELETE", token_route, always=json_answer({}))
    await client.identities.upsert(
        identifier_key="k", name="n", identity_type="user", extra_headers={"X-Trace": "put"}
    )
    await client.access_tokens.delete(
        "tok-1", body={"reason": "rotated"}, extra_headers={"X-Trace": "delete"}
    )
    (put,) = replay.seen("PUT", "/v1/identities/")
    (delete,) = replay.seen("DELETE", token_route)
    assert put.headers["X-Trace"] == "put"
    assert put.json() == {"identifier_key": "k", "name": "n", "identity_type": "user"}
    assert delete.headers["X-Trace"] == "delete"
    assert delete.json() == {"reason": "rotated"}
