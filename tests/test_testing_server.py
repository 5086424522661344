"""Tests of ``letta_async.testing``: the local Letta server, driven with plain aiohttp requests.

The real captures in ``tests/fixtures`` are the reference: frames must have the same keys in the
same order, the same framing and the same control events. Ids and dates differ by nature, so the
comparisons are structural except where the real server's bytes are deterministic.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from letta_async.testing import (
    REPLY,
    SERVER_KEY,
    TOOL_ANSWER,
    Fault,
    LettaTestServer,
    create_app,
    parse_script,
)

pytestmark = pytest.mark.anyio

FIXTURES = Path(__file__).parent / "fixtures"
DONE = b"data: [DONE]\n\n"
CANCELLED = b'data: {"message_type": "stop_reason", "stop_reason": "cancelled"}\n\n'
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
AIOHTTP_UA = {"User-Agent": f"Python/3 aiohttp/{aiohttp.__version__}"}

Json = dict[str, Any]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def server() -> AsyncIterator[LettaTestServer]:
    async with LettaTestServer(keepalive_interval=0.3) as srv:
        yield srv


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    # No User-Agent, like the captures: the server then treats us as a v1.0+ SDK.
    async with aiohttp.ClientSession(
        skip_auto_headers=["User-Agent"], timeout=aiohttp.ClientTimeout(total=20)
    ) as session:
        yield session


@pytest.fixture
def agent_id(server: LettaTestServer) -> str:
    return str(server.create_agent(name="fixture-agent")["id"])


# --- helpers -----------------------------------------------------------------------------


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


def split_events(body: bytes) -> list[bytes]:
    """Raw events (each ending with the blank line)."""
    assert body.endswith(b"\n\n"), body[-80:]
    return [part + b"\n\n" for part in body[:-2].split(b"\n\n")]


def events(body: bytes) -> list[tuple[str | None, Any]]:
    """(event name, parsed data) per SSE event; ``[DONE]`` stays a string."""
    out: list[tuple[str | None, Any]] = []
    for raw in split_events(body):
        name: str | None = None
        data: str | None = None
        for line in raw.decode().split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
        assert data is not None, raw
        out.append((name, data if data == "[DONE]" else json.loads(data)))
    return out


def shape(value: Any) -> Any:
    """Keys (in order) all the way down; leaves become their JSON type name."""
    if isinstance(value, dict):
        return [(k, shape(v)) for k, v in value.items() if k not in ("tool_return",)]
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    if value is None:
        return None
    return type(value).__name__


def stream_shape(body: bytes) -> list[Any]:
    return [(name, data if isinstance(data, str) else shape(data)) for name, data in events(body)]


def dedup(items: list[Any]) -> list[Any]:
    """Collapse runs of equal items (token deltas of one message)."""
    out: list[Any] = []
    for item in items:
        if not out or out[-1] != item:
            out.append(item)
    return out


def msg(text: str, **extra: Any) -> Json:
    return {"messages": [{"role": "user", "content": text}], **extra}


async def post_stream(
    http: aiohttp.ClientSession, server: LettaTestServer, agent_id: str, body: Json
) -> bytes:
    url = f"{server.base_url}/v1/agents/{agent_id}/messages"
    async with http.post(url, json=body) as resp:
        assert resp.status == 200, await resp.text()
        assert resp.headers["Content-Type"] == "text/event-stream; charset=utf-8"
        return await resp.read()


async def read_until_error(resp: aiohttp.ClientResponse) -> tuple[bytes, BaseException | None]:
    """Everything the client got before the body ended or broke, and how it broke."""
    got = b""
    try:
        async for chunk in resp.content.iter_any():
            got += chunk
    except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as exc:
        return got, exc
    return got, None


def run_id_of(body: bytes) -> str:
    for _, data in events(body):
        if isinstance(data, dict) and data.get("run_id"):
            return str(data["run_id"])
    raise AssertionError("no run_id in stream")


# --- framing and shapes ------------------------------------------------------------------


async def test_health_and_json_headers(
    server: LettaTestServer, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{server.base_url}/v1/health/") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/json"
        assert await resp.read() == fixture_bytes("health.json")
    async with http.get(f"{server.base_url}/v1/health") as resp:
        assert resp.status == 200


async def test_step_stream_matches_capture(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    body = await post_stream(http, server, agent_id, msg("hi", streaming=True))
    ref = fixture_bytes("stream_steps.sse")
    assert b"\r" not in body
    assert stream_shape(body) == stream_shape(ref)
    ours, theirs = events(body), events(ref)
    # The control events are deterministic: byte-for-byte equal to the capture.
    assert split_events(body)[-3:] == split_events(ref)[-3:]
    ping, answer = ours[0][1], ours[1][1]
    assert re.fullmatch(f"ping-{UUID}", ping["id"])
    assert re.fullmatch(f"run-{UUID}", ping["run_id"])
    assert DATE.match(ping["date"])
    assert DATE.match(answer["date"])
    assert re.fullmatch(f"message-{UUID}", answer["id"])
    assert re.fullmatch(f"step-{UUID}", answer["step_id"])
    assert answer["content"] == theirs[1][1]["content"] == REPLY
    assert answer["run_id"] == ping["run_id"]
    assert answer["seq_id"] is None
    # otid: the message uuid with the low 7 bits of its last byte replaced by the part index.
    last = int(answer["id"][-2:], 16)
    assert answer["otid"] == answer["id"][8:-2] + f"{last & 0x80:02x}"


async def test_step_stream_without_pings_and_legacy_endpoint(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    body = await post_stream(http, server, agent_id, msg("hi", streaming=True, include_pings=False))
    assert stream_shape(body) == stream_shape(fixture_bytes("stream_steps_nopings.sse"))
    url = f"{server.base_url}/v1/agents/{agent_id}/messages/stream"
    async with http.post(url, json=msg("hi"), headers=AIOHTTP_UA) as resp:
        assert resp.status == 200  # the deprecated endpoint has no SDK gate
        legacy = await resp.read()
    assert stream_shape(legacy) == stream_shape(fixture_bytes("stream_legacy_endpoint.sse"))


async def test_tool_stream_shapes_step_and_token_mode(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    steps = await post_stream(http, server, agent_id, msg("hi [tool]", streaming=True))
    assert stream_shape(steps) == stream_shape(fixture_bytes("stream_steps_tool.sse"))
    call = events(steps)[1][1]
    assert isinstance(call["tool_calls"], list)
    assert call["tool_call"]["arguments"] == '{"query": "hi"}'
    assert split_events(steps)[-3:] == split_events(fixture_bytes("stream_steps_tool.sse"))[-3:]

    tokens = await post_stream(
        http, server, agent_id, msg("hi [tool]", streaming=True, stream_tokens=True)
    )
    ref = fixture_bytes("stream_tokens_tool.sse")
    assert stream_shape(tokens) == stream_shape(ref)
    ours = events(tokens)
    deltas = [
        d for _, d in ours if isinstance(d, dict) and d["message_type"] == "tool_call_message"
    ]
    assert all(isinstance(d["tool_calls"], dict) for d in deltas)
    assert len({d["id"] for d in deltas}) == 1
    assert "".join(d["tool_call"].get("arguments", "") for d in deltas) == '{"query": "hi"}'
    answer = [
        d for _, d in ours if isinstance(d, dict) and d["message_type"] == "assistant_message"
    ]
    theirs = [
        d
        for _, d in events(ref)
        if isinstance(d, dict) and d["message_type"] == "assistant_message"
    ]
    assert [d["content"] for d in answer] == [d["content"] for d in theirs]
    assert "".join(d["content"] for d in answer) == TOOL_ANSWER
    assert split_events(tokens)[-3:] == split_events(ref)[-3:]


async def test_token_stream_matches_capture(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    body = await post_stream(http, server, agent_id, msg("hi", streaming=True, stream_tokens=True))
    ref = fixture_bytes("stream_tokens.sse")
    assert stream_shape(body) == stream_shape(ref)
    assert [d.get("content") for _, d in events(body)[1:-3]] == [
        d.get("content") for _, d in events(ref)[1:-3]
    ]
    assert split_events(body)[-3:] == split_events(ref)[-3:]


async def test_nonstream_response_matches_capture(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    url = f"{server.base_url}/v1/agents/{agent_id}/messages"
    async with http.post(url, json=msg("hi")) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/json"
        raw = await resp.read()
    ref = fixture_bytes("nonstream_response.json")
    assert len(raw) == len(ref)
    assert shape(json.loads(raw)) == shape(json.loads(ref))
    async with http.post(url, json=msg("hi [tool]")) as resp:
        data = await resp.json()
    assert shape(data) == shape(fixture_json("nonstream_tool_response.json"))
    assert [m["message_type"] for m in data["messages"]] == [
        "tool_call_message",
        "tool_return_message",
        "assistant_message",
    ]


async def test_input_shorthand_and_reasoning(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    url = f"{server.base_url}/v1/agents/{agent_id}/messages"
    async with http.post(url, json={"input": "hello [reasoning]"}) as resp:
        data = await resp.json()
    reasoning, answer = data["messages"]
    assert reasoning["message_type"] == "reasoning_message"
    assert list(reasoning)[-3:] == ["source", "reasoning", "signature"]
    assert reasoning["id"] == answer["id"]
    assert int(answer["otid"][-2:], 16) & 0x7F == 1
    assert int(reasoning["otid"][-2:], 16) & 0x7F == 0


async def test_reasoning_stream_matches_memgpt_capture(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    for name, extra in (
        ("stream_steps_memgpt_v2.sse", {}),
        ("stream_tokens_memgpt_v2.sse", {"stream_tokens": True}),
    ):
        body = await post_stream(
            http,
            server,
            agent_id,
            msg("hi [reasoning]", streaming=True, include_pings=False, **extra),
        )
        ref = fixture_bytes(name)
        # Same kinds of events up to the usage (whose context_tokens is null for that agent
        # type); token deltas are cut at words here, at other places by that agent type.
        assert dedup(stream_shape(body)[:-2]) == dedup(stream_shape(ref)[:-2])
        parts = [d for _, d in events(body)[:-3]]
        assert len({p["id"] for p in parts}) == 1
        assert {p["otid"][-2:] for p in parts if p["message_type"] == "reasoning_message"} != {
            p["otid"][-2:] for p in parts if p["message_type"] == "assistant_message"
        }


async def test_tokens_marker_for_load(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    body = await post_stream(
        http,
        server,
        agent_id,
        msg("go [tokens=500]", streaming=True, stream_tokens=True, include_pings=False),
    )
    evs = events(body)
    assert (
        sum(
            1
            for _, d in evs
            if isinstance(d, dict) and d.get("message_type") == "assistant_message"
        )
        == 500
    )
    usage = evs[-2][1]
    assert usage["completion_tokens"] == 500


def test_parse_script_markers() -> None:
    script = parse_script("look [tool] [delay=1.5] [chunkdelay=0.2] [tokens=7] up [bogus]")
    assert script.tool
    assert script.delay == 1.5
    assert script.chunk_delay == 0.2
    assert script.tokens == 7
    assert script.text == "look up [bogus]"


# --- pings ---------------------------------------------------------------------------------


async def test_keepalive_pings_during_delay(http: aiohttp.ClientSession) -> None:
    async with LettaTestServer(keepalive_interval=0.1) as server:
        agent = server.create_agent()["id"]
        body = await post_stream(http, server, agent, msg("hi [delay=0.55]", streaming=True))
        kinds = [d["message_type"] for _, d in events(body) if isinstance(d, dict)]
        assert kinds[-3:] == ["assistant_message", "stop_reason", "usage_statistics"]
        assert kinds.count("ping") >= 3
        assert stream_shape(body)[0] == stream_shape(fixture_bytes("stream_pings.sse"))[0]

        quiet = await post_stream(
            http, server, agent, msg("hi [delay=0.35]", streaming=True, include_pings=False)
        )
        assert stream_shape(quiet) == stream_shape(fixture_bytes("stream_nopings_slow.sse"))


# --- background runs and resume ------------------------------------------------------------


async def test_background_seq_numbering_and_replay(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    body = await post_stream(
        http,
        server,
        agent_id,
        msg("hi [tool]", streaming=True, stream_tokens=True, background=True),
    )
    ref = fixture_bytes("background_stream.sse")
    assert stream_shape(body) == stream_shape(ref)
    seqs = [d.get("seq_id") for _, d in events(body) if isinstance(d, dict)]
    ref_seqs = [d.get("seq_id") for _, d in events(ref) if isinstance(d, dict)]
    assert seqs == ref_seqs == [*range(1, 14), None, None]
    assert split_events(body)[-3:] == split_events(ref)[-3:]

    run_id = run_id_of(body)
    url = f"{server.base_url}/v1/runs/{run_id}/stream"
    async with http.post(url, json={}) as resp:
        full = await resp.read()
    assert full == body  # a finished run replays in full, byte for byte

    async with http.post(url, json={"starting_after": 5}) as resp:
        after5 = await resp.read()
    assert stream_shape(after5) == stream_shape(fixture_bytes("background_replay_after5.sse"))
    assert events(after5)[0][1]["seq_id"] == 6
    assert after5 == b"".join(split_events(body)[5:])


async def test_resume_follows_a_live_run(http: aiohttp.ClientSession) -> None:
    async with LettaTestServer(keepalive_interval=0.05) as server:
        agent = server.create_agent()["id"]
        url = f"{server.base_url}/v1/agents/{agent}/messages"
        body = msg(
            "hi [tool] [chunkdelay=0.08]", streaming=True, stream_tokens=True, background=True
        )
        got = b""
        async with http.post(url, json=body) as resp:
            async for chunk in resp.content.iter_any():
                got += chunk
                seen = (
                    [d for _, d in events(got) if d.get("seq_id")] if got.endswith(b"\n\n") else []
                )
                if seen and seen[-1]["seq_id"] >= 4:
                    break
        last_seq = max(d["seq_id"] for _, d in events(got) if d.get("seq_id"))
        run_id = run_id_of(got)
        assert server.state.runs[run_id].active  # leaving did not stop the run

        async with http.post(
            f"{server.base_url}/v1/runs/{run_id}/stream",
            json={"starting_after": last_seq, "include_pings": True},
        ) as resp:
            rest = await resp.read()
        evs = [d for _, d in events(rest)]
        numbered = [d["seq_id"] for d in evs if isinstance(d, dict) and d.get("seq_id")]
        assert numbered == list(range(last_seq + 1, 14))
        # Keep-alive pings of the resume endpoint carry no number and consume none.
        pings = [d for d in evs if isinstance(d, dict) and d.get("message_type") == "ping"]
        assert pings
        assert all(p["seq_id"] is None for p in pings)
        assert rest.endswith(DONE)


async def test_run_stream_errors(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    body = await post_stream(http, server, agent_id, msg("hi", streaming=True))
    url = f"{server.base_url}/v1/runs/{run_id_of(body)}/stream"
    async with http.get(url) as resp:
        assert resp.status == 405
        assert resp.headers["Allow"] == "POST"
        assert await resp.read() == fixture_bytes("errors_405_runs_stream_get.json")
    async with http.post(url, json={}) as resp:
        assert resp.status == 400
        assert await resp.read() == fixture_bytes("errors_400_run_stream_not_background.json")
    async with http.post(f"{server.base_url}/v1/runs/run-nope/stream", json={}) as resp:
        assert resp.status == 404
        assert (await resp.json())["detail"].startswith("Run not found")


async def test_async_run_and_run_endpoints(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    url = f"{server.base_url}/v1/agents/{agent_id}/messages/async"
    async with http.post(url, json=msg("hi [tool]")) as resp:
        run = await resp.json()
    ref = fixture_json("async_run.json")
    assert shape(run) == shape(ref)
    assert run["status"] == "created"
    assert run["background"] is True
    assert run["metadata"] == {"run_type": "send_message_async", "lettuce": None}
    await server.wait_for_run(run["id"])

    base = f"{server.base_url}/v1/runs/{run['id']}"
    async with http.get(base) as resp:
        done = await resp.json()
    assert done["status"] == "completed"
    assert done["stop_reason"] == "end_turn"
    assert list(done) == list(fixture_json("run_retrieve.json"))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", done["completed_at"])
    async with http.get(f"{base}/messages") as resp:
        messages = await resp.json()
    assert [m["message_type"] for m in messages] == [
        m["message_type"] for m in fixture_json("run_messages.json")
    ]
    async with http.get(f"{base}/steps") as resp:
        steps = await resp.json()
    ref_steps = fixture_json("run_steps.json")
    assert [shape(s) for s in steps] == [shape(s) for s in ref_steps]
    assert [s["stop_reason"] for s in steps] == ["end_turn", None]  # newest first
    async with http.get(f"{base}/usage") as resp:
        assert await resp.read() == fixture_bytes("run_usage.json")

    # An async run never writes frames: its stream only pings (as on the real server).
    async with http.post(f"{base}/stream", json={}) as resp:
        first = await resp.content.readuntil(b"\n\n")
    assert json.loads(first[6:])["message_type"] == "ping"


async def test_runs_list_filters(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    other = server.create_agent()["id"]
    ids = []
    for target in (agent_id, agent_id, other):
        url = f"{server.base_url}/v1/agents/{target}/messages"
        async with http.post(url, json=msg("hi")) as resp:
            ids.append((await resp.json())["messages"][0]["run_id"])
    background = await post_stream(
        http, server, agent_id, msg("hi", streaming=True, background=True)
    )
    bg_id = run_id_of(background)
    runs = f"{server.base_url}/v1/runs/"
    async with http.get(runs, params={"agent_id": agent_id}) as resp:
        listed = [r["id"] for r in await resp.json()]
    assert listed == [bg_id, ids[1], ids[0]]  # newest first
    async with http.get(runs, params={"agent_id": agent_id, "order": "asc", "limit": "2"}) as resp:
        assert [r["id"] for r in await resp.json()] == [ids[0], ids[1]]
    async with http.get(runs, params={"background": "true"}) as resp:
        assert [r["id"] for r in await resp.json()] == [bg_id]
    # Letta 0.16.8 reads run cursors in time whatever the order (measured on the real
    # server, tests/e2e/differential): desc + after lists the newer runs, desc + before the
    # older ones, and asc swaps them (after = older, before = newer).
    async with http.get(runs, params={"statuses": "completed", "after": ids[2]}) as resp:
        assert [r["id"] for r in await resp.json()] == [bg_id]
    async with http.get(runs, params={"statuses": "completed", "before": ids[2]}) as resp:
        assert [r["id"] for r in await resp.json()] == [ids[1], ids[0]]
    async with http.get(runs, params={"order": "asc", "after": ids[2]}) as resp:
        assert [r["id"] for r in await resp.json()] == [ids[0], ids[1]]
    async with http.get(runs, params={"order": "asc", "before": ids[1]}) as resp:
        assert [r["id"] for r in await resp.json()] == [ids[2], bg_id]
    async with http.get(runs, params={"limit": "x"}) as resp:
        assert resp.status == 422
    async with http.get(runs, params={"limit": "0"}) as resp:
        assert resp.status == 422
    async with http.get(runs, params={"statuses": "bogus"}) as resp:
        assert resp.status == 400
        assert await resp.json() == {"detail": "'bogus' is not a valid RunStatus"}


# --- cancel --------------------------------------------------------------------------------


async def test_cancel_foreground_stream(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    url = f"{server.base_url}/v1/agents/{agent_id}/messages"
    body = msg("hi [tool] [chunkdelay=0.3]", streaming=True, stream_tokens=True)
    async with http.post(url, json=body) as resp:
        first = await resp.content.readuntil(b"\n\n")
        run_id = json.loads(first[6:])["run_id"]
        async with http.post(f"{url}/cancel", json={"run_ids": [run_id]}) as cancel:
            assert cancel.status == 200
            assert await cancel.json() == {run_id: "cancelled"}
        rest = await resp.read()
    assert rest.endswith(CANCELLED)
    assert DONE not in rest
    run = await server.wait_for_run(run_id)
    assert (run.status, run.stop_reason) == ("cancelled", "cancelled")
    async with http.get(f"{server.base_url}/v1/runs/{run_id}") as resp:
        data = await resp.json()
    assert [data["status"], data["stop_reason"]] == ["cancelled", "cancelled"]
    assert list(data) == list(fixture_json("cancel_run_after.json"))


async def test_cancel_without_body_and_conflict(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    cancel_url = f"{server.base_url}/v1/agents/{agent_id}/messages/cancel"
    async with http.post(cancel_url) as resp:
        assert resp.status == 409
        assert (await resp.json()) == {
            "detail": f"CONFLICT: No active runs to cancel for agent {agent_id}"
        }
    url = f"{server.base_url}/v1/agents/{agent_id}/messages"
    async with http.post(url, json=msg("hi [delay=5]", streaming=True)) as resp:
        run_id = json.loads((await resp.content.readuntil(b"\n\n"))[6:])["run_id"]
        async with http.post(cancel_url) as cancel:
            assert await cancel.json() == {run_id: "cancelled"}
        rest = await resp.read()
    # The cancel ends the stream at once (not when the 5 s "LLM call" returns).
    assert rest.endswith(CANCELLED)
    assert DONE not in rest
    # With nothing running, the last run is "cancelled" again (the real server with Redis).
    async with http.post(cancel_url) as resp:
        assert resp.status == 200
        assert await resp.json() == {run_id: "cancelled"}


async def test_cancel_background_run_via_resume(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    url = f"{server.base_url}/v1/agents/{agent_id}/messages"
    body = msg("hi [tool] [chunkdelay=0.2]", streaming=True, stream_tokens=True, background=True)
    async with http.post(url, json=body) as resp:
        run_id = json.loads((await resp.content.readuntil(b"\n\n"))[6:])["run_id"]
    async with http.post(f"{server.base_url}/v1/runs/{run_id}/stream", json={}) as resp:
        await resp.content.readuntil(b"\n\n")
        async with http.post(f"{url}/cancel", json={"run_ids": [run_id]}):
            pass
        rest = await resp.read()
    # A reader that joined while the run was going ends on the cancelled stop reason, before
    # the [DONE] the run's log holds (the real server; tests/e2e/differential) ...
    assert rest.endswith(CANCELLED)
    assert DONE not in rest
    # ... which the sender's own stream and a later replay do get.
    async with http.post(f"{server.base_url}/v1/runs/{run_id}/stream", json={}) as resp:
        assert (await resp.read()).endswith(CANCELLED + DONE)


async def test_client_disconnect_never_cancels(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    url = f"{server.base_url}/v1/agents/{agent_id}/messages"
    body = msg("hi [tool] [chunkdelay=0.05]", streaming=True, stream_tokens=True)
    async with http.post(url, json=body) as resp:
        run_id = json.loads((await resp.content.readuntil(b"\n\n"))[6:])["run_id"]
        await resp.content.readuntil(b"\n\n")
        resp.close()
    assert server.state.runs[run_id].active
    run = await server.wait_for_run(run_id)
    assert (run.status, run.stop_reason) == ("completed", "end_turn")
    texts = [r.text for r in server.state.agents[agent_id].messages]
    assert texts[-1] == TOOL_ANSWER


# --- message history ---------------------------------------------------------------------


async def test_message_list_cursor_rules(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    url = f"{server.base_url}/v1/agents/{agent_id}/messages"
    for i in range(3):
        async with http.post(url, json=msg(f"hi {i}")) as resp:
            assert resp.status == 200
    # History: system, (user, assistant) x 3.
    async with http.get(url, params={"limit": "4"}) as resp:
        page1 = await resp.json()
    assert [m["message_type"] for m in page1] == [
        "user_message",
        "assistant_message",
        "user_message",
        "assistant_message",
    ]
    assert [m.get("content") for m in page1] == ["hi 1", REPLY, "hi 2", REPLY]
    assert shape(page1[0]) == shape(fixture_json("messages_list_desc_page1.json")[0])
    async with http.get(url, params={"limit": "4", "before": page1[0]["id"]}) as resp:
        page2 = await resp.json()
    assert [m["message_type"] for m in page2] == [
        "system_message",
        "user_message",
        "assistant_message",
    ]
    assert page2[1]["content"] == "hi 0"

    async with http.get(url, params={"limit": "4", "order": "asc"}) as resp:
        asc1 = await resp.json()
    assert [m["message_type"] for m in asc1] == [
        m["message_type"] for m in fixture_json("messages_list_asc_page1.json")
    ]
    async with http.get(
        url, params={"limit": "4", "order": "asc", "after": asc1[-1]["id"]}
    ) as resp:
        asc2 = await resp.json()
    assert [m.get("content") for m in asc2] == [REPLY, "hi 2", REPLY]
    async with http.get(
        url, params={"limit": "4", "include_return_message_types": "assistant_message"}
    ) as resp:
        only = await resp.json()
    assert {m["message_type"] for m in only} == {"assistant_message"}
    assert len(only) == 2


async def test_one_stored_message_can_list_as_two_items(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    url = f"{server.base_url}/v1/agents/{agent_id}/messages"
    async with http.post(url, json=msg("hi [reasoning]")) as resp:
        assert resp.status == 200
    async with http.get(url, params={"limit": "1"}) as resp:
        page = await resp.json()
    assert [m["message_type"] for m in page] == ["reasoning_message", "assistant_message"]


async def test_otid_from_request_is_kept(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    url = f"{server.base_url}/v1/agents/{agent_id}/messages"
    otid = "0b8f6a4e-4c1e-4b8a-9d5e-1f2a3b4c5d6e"
    body = {"messages": [{"role": "user", "content": "hi", "otid": otid}]}
    for _ in range(2):
        async with http.post(url, json=body) as resp:
            assert resp.status == 200
    sent = [r.json["messages"][0]["otid"] for r in server.requests_to(r"/messages$", "POST")]
    assert sent == [otid, otid]
    async with http.get(url, params={"limit": "4"}) as resp:
        users = [m for m in await resp.json() if m["message_type"] == "user_message"]
    assert [m["otid"] for m in users] == [otid, otid]


# --- validation and the SDK gate -----------------------------------------------------------


async def test_validation_errors_match_captures(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    url = f"{server.base_url}/v1/agents/{agent_id}/messages"
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"data": b"{not json", "headers": {"Content-Type": "application/json"}},
            "errors_422_invalid_json.json",
        ),
        ({"json": {}}, "errors_422_missing_messages.json"),
        (
            {"json": msg("hi", stream_tokens=True)},
            "errors_422_stream_tokens_without_streaming.json",
        ),
    ]
    for kwargs, name in cases:
        async with http.post(url, **kwargs) as resp:
            assert resp.status == 422, name
            assert await resp.read() == fixture_bytes(name), name
    for extra in ({"background": True}, {"include_pings": False}):
        async with http.post(url, json=msg("hi", **extra)) as resp:
            assert resp.status == 422
            assert "without streaming enabled" in (await resp.json())["detail"]
    async with http.post(url, json={"messages": [{"role": "wizard", "content": "hi"}]}) as resp:
        assert resp.status == 422
        data = await resp.json()
        assert data["trace_id"] == ""
        assert "literal_error" in data["detail"]
    missing = "agent-00000000-0000-4000-8000-000000000000"
    async with http.post(f"{server.base_url}/v1/agents/{missing}/messages", json=msg("hi")) as resp:
        assert resp.status == 404
        assert await resp.read() == fixture_bytes("errors_404_agent.json")
    async with http.get(f"{server.base_url}/v1/agents/not-an-id") as resp:
        assert resp.status == 422
        assert await resp.read() == fixture_bytes("errors_422_agent_id_format.json")
    async with http.get(f"{server.base_url}/v1/nothing/here") as resp:
        assert resp.status == 404
        assert await resp.json() == {"detail": "Not Found"}


async def test_sdk_gate(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    url = f"{server.base_url}/v1/agents/{agent_id}/messages"
    body = msg("hi", streaming=True, include_pings=False)
    for headers in ({"User-Agent": "curl/8.5.0"}, AIOHTTP_UA, {"User-Agent": "letta-client/0.9.1"}):
        async with http.post(url, json=body, headers=headers) as resp:
            assert resp.status == 422, headers
            assert await resp.read() == fixture_bytes("errors_422_streaming_curl_user_agent.json")
    accepted: tuple[dict[str, str], ...] = (
        {"User-Agent": "letta-client/1.0.0"},
        {"User-Agent": "@letta-ai/letta-client/1.2.3"},
        {"User-Agent": "python-httpx/0.28.1", "X-Stainless-Package-Version": "1.0.0"},
        {},
    )
    for headers in accepted:
        async with http.post(url, json=body, headers=headers) as resp:
            assert resp.status == 200, headers
            assert stream_shape(await resp.read()) == stream_shape(
                fixture_bytes("stream_steps_ua_letta_client.sse")
            )
    # Not streaming: no gate.
    async with http.post(url, json=msg("hi"), headers=AIOHTTP_UA) as resp:
        assert resp.status == 200


async def test_sdk_gate_can_be_turned_off(http: aiohttp.ClientSession) -> None:
    async with LettaTestServer(sdk_gate=False) as server:
        agent = server.create_agent()["id"]
        url = f"{server.base_url}/v1/agents/{agent}/messages"
        async with http.post(url, json=msg("hi", streaming=True), headers=AIOHTTP_UA) as resp:
            assert resp.status == 200
            assert (await resp.read()).endswith(DONE)


async def test_api_key(http: aiohttp.ClientSession) -> None:
    async with LettaTestServer(api_key="fixture-password") as server:
        async with http.get(f"{server.base_url}/v1/agents/") as resp:
            assert resp.status == 401
            assert await resp.read() == fixture_bytes("errors_401_no_token.json")
        bad = {"Authorization": "Bearer wrong"}
        async with http.get(f"{server.base_url}/v1/agents/", headers=bad) as resp:
            assert resp.status == 401
        good = {"Authorization": "Bearer fixture-password"}
        async with http.get(f"{server.base_url}/v1/agents/", headers=good) as resp:
            assert resp.status == 200
        async with http.get(f"{server.base_url}/v1/health/") as resp:
            assert await resp.read() == fixture_bytes("secure_health_unauthenticated.json")


# --- in-stream errors ----------------------------------------------------------------------


async def test_llm_errors_in_stream_and_json(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    body = await post_stream(http, server, agent_id, msg("hi [error500]", streaming=True))
    ref = fixture_bytes("error_llm500_stream.sse")
    assert stream_shape(body) == stream_shape(ref)
    assert split_events(body)[1] == split_events(ref)[1]
    assert split_events(body)[2].startswith(b"event: error\ndata: ")
    assert events(body)[2][1]["detail"] == events(ref)[2][1]["detail"]

    garbage = await post_stream(
        http, server, agent_id, msg("hi [midgarbage]", streaming=True, stream_tokens=True)
    )
    assert stream_shape(garbage) == stream_shape(fixture_bytes("error_midstream.sse"))
    assert not garbage.endswith(DONE)

    background = await post_stream(
        http, server, agent_id, msg("hi [error500]", streaming=True, background=True)
    )
    bref = fixture_bytes("error_llm500_background.sse")
    assert stream_shape(background) == stream_shape(bref)
    assert events(background)[2][1]["seq_id"] == 3

    url = f"{server.base_url}/v1/agents/{agent_id}/messages"
    async with http.post(url, json=msg("hi [error500]")) as resp:
        assert resp.status == 500
        assert await resp.read() == fixture_bytes("error_llm500_nonstream.json")
    run = server.state.runs[run_id_of(body)]
    assert (run.status, run.stop_reason) == ("failed", "llm_api_error")


async def test_drop_marker_ends_turn_with_zero_usage(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    body = await post_stream(
        http, server, agent_id, msg("hi [drop]", streaming=True, stream_tokens=True)
    )
    ref = fixture_bytes("error_drop_midstream.sse")
    assert stream_shape(body) == stream_shape(ref)
    assert split_events(body)[-3:] == split_events(ref)[-3:]


async def test_approval_flow(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    url = f"{server.base_url}/v1/agents/{agent_id}/messages"
    async with http.post(url, json={"messages": [{"type": "approval", "approve": True}]}) as resp:
        assert resp.status == 400
    body = await post_stream(http, server, agent_id, msg("search [approval]", streaming=True))
    evs = [d for _, d in events(body)]
    request = evs[1]
    assert request["message_type"] == "approval_request_message"
    assert evs[2] == {"message_type": "stop_reason", "stop_reason": "requires_approval"}
    async with http.post(url, json=msg("hi")) as resp:
        assert resp.status == 409
    call_id = request["tool_call"]["tool_call_id"]
    approve = {
        "messages": [
            {
                "type": "approval",
                "approvals": [{"type": "approval", "tool_call_id": call_id, "approve": True}],
            }
        ]
    }
    async with http.post(url, json=approve) as resp:
        data = await resp.json()
    assert [m["message_type"] for m in data["messages"]] == [
        "tool_return_message",
        "assistant_message",
    ]
    assert data["messages"][0]["tool_call_id"] == call_id
    assert data["stop_reason"]["stop_reason"] == "end_turn"


async def test_max_steps_stops_the_tool_loop(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    url = f"{server.base_url}/v1/agents/{agent_id}/messages"
    async with http.post(url, json=msg("hi [tool]", max_steps=1)) as resp:
        data = await resp.json()
    assert data["stop_reason"]["stop_reason"] == "max_steps"
    assert data["usage"]["step_count"] == 1


# --- agents, conversations, housekeeping ---------------------------------------------------


async def test_agent_crud(server: LettaTestServer, http: aiohttp.ClientSession) -> None:
    body = fixture_json("_captures.json")["agent_create.json"]["request"]["body"]
    async with http.post(f"{server.base_url}/v1/agents/", json=body) as resp:
        created = await resp.json()
    ref = fixture_json("agent_create.json")
    ref_keys = list(ref)
    assert set(created) <= set(ref)
    assert [k for k in ref_keys if k in created] == list(created)
    for key in ("id", "name", "agent_type", "model", "embedding", "created_at"):
        assert type(created[key]) is type(ref[key])
    assert [b["label"] for b in created["memory"]["blocks"]] == ["human", "persona"]
    assert shape(created["memory"]["blocks"][0]) == shape(ref["memory"]["blocks"][0])
    assert [t["name"] for t in created["tools"]] == [t["name"] for t in ref["tools"]]
    agent = created["id"]
    second = server.create_agent(name="second")["id"]

    async with http.get(f"{server.base_url}/v1/agents/", params={"limit": "1"}) as resp:
        assert [a["id"] for a in await resp.json()] == [second]
    async with http.get(f"{server.base_url}/v1/agents/", params={"after": second}) as resp:
        assert [a["id"] for a in await resp.json()] == [agent]
    async with http.patch(f"{server.base_url}/v1/agents/{agent}", json={"name": "renamed"}) as resp:
        assert (await resp.json())["name"] == "renamed"
    async with http.get(f"{server.base_url}/v1/agents/{agent}/") as resp:
        assert (await resp.json())["name"] == "renamed"
    async with http.delete(f"{server.base_url}/v1/agents/{agent}") as resp:
        assert resp.status == 200
    async with http.get(f"{server.base_url}/v1/agents/{agent}") as resp:
        assert resp.status == 404


async def test_reset_and_summarize(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    url = f"{server.base_url}/v1/agents/{agent_id}"
    for _ in range(3):
        async with http.post(f"{url}/messages", json=msg("hi")) as resp:
            assert resp.status == 200
    async with http.post(f"{url}/summarize", json={}) as resp:
        summary = await resp.json()
    assert list(summary) == ["summary", "num_messages_before", "num_messages_after"]
    assert summary["num_messages_before"] == 7 > summary["num_messages_after"]
    async with http.patch(f"{url}/reset-messages", json={}) as resp:
        agent = await resp.json()
    assert len(agent["message_ids"]) == 1
    async with http.get(f"{url}/messages") as resp:
        assert [m["message_type"] for m in await resp.json()] == ["system_message"]


async def test_conversations(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    async with http.post(
        f"{server.base_url}/v1/conversations/", params={"agent_id": agent_id}, json={}
    ) as resp:
        conv = await resp.json()
    assert list(conv) == list(fixture_json("conversation_create.json"))
    base = f"{server.base_url}/v1/conversations/{conv['id']}"
    async with http.post(f"{base}/messages", json=msg("hi"), headers=AIOHTTP_UA) as resp:
        body = await resp.read()  # streams by default
    assert stream_shape(body) == stream_shape(fixture_bytes("conversation_stream.sse"))
    run = server.state.runs[run_id_of(body)]
    assert run.conversation_id == conv["id"]
    async with http.get(f"{base}/messages") as resp:
        # Newest first, down to the conversation's own system message.
        assert [m["message_type"] for m in await resp.json()] == [
            "assistant_message",
            "user_message",
            "system_message",
        ]
    async with http.get(f"{base}/messages", params={"order": "asc", "limit": "2"}) as resp:
        assert [m["message_type"] for m in await resp.json()] == [
            "system_message",
            "user_message",
        ]
    async with http.post(f"{base}/cancel") as resp:
        assert resp.status == 409
    async with http.post(f"{server.base_url}/v1/conversations/") as resp:
        assert resp.status == 422


# --- faults --------------------------------------------------------------------------------


async def test_fault_status_with_retry_hints(
    server: LettaTestServer, http: aiohttp.ClientSession
) -> None:
    fault = server.faults.add(
        Fault.http_status(503, times=2, path=r"^/v1/agents", retry_after=1, retry_after_ms=250)
    )
    url = f"{server.base_url}/v1/agents/"
    for _ in range(2):
        async with http.get(url) as resp:
            assert resp.status == 503
            assert resp.headers["Retry-After"] == "1"
            assert resp.headers["retry-after-ms"] == "250"
            assert await resp.json() == {"detail": "Service Unavailable"}
    async with http.get(f"{server.base_url}/v1/health/") as resp:
        assert resp.status == 200  # not matched by the path
    async with http.get(url) as resp:
        assert resp.status == 200
    assert fault.hits == 2
    assert len(server.faults) == 0
    logged = server.requests_to(r"^/v1/agents/$", "GET")
    assert [r.fault is fault for r in logged] == [True, True, False]


async def test_fault_html_and_empty_bodies(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    server.faults.add(Fault.html(502))
    async with http.get(f"{server.base_url}/v1/health/") as resp:
        assert resp.status == 502
        assert resp.headers["Content-Type"].startswith("text/html")
        assert (await resp.text()).startswith("<html>")
    server.faults.add(Fault(method="GET", path=r"/agents/agent-", body=b""))
    async with http.get(f"{server.base_url}/v1/agents/{agent_id}") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/json"
        assert await resp.read() == b""


async def test_fault_delay_before_headers(
    server: LettaTestServer, http: aiohttp.ClientSession
) -> None:
    server.faults.add(Fault(delay=0.4))
    start = time.monotonic()
    async with http.get(f"{server.base_url}/v1/health/") as resp:
        elapsed = time.monotonic() - start
        assert resp.status == 200
    assert elapsed >= 0.38


async def test_fault_cut_before_headers(
    server: LettaTestServer, http: aiohttp.ClientSession
) -> None:
    fault = server.faults.add(Fault(cut="before_headers", times=None))
    # aiohttp itself retries an idempotent request once after a disconnect: cut them all.
    with pytest.raises(aiohttp.ServerDisconnectedError):
        async with http.get(f"{server.base_url}/v1/health/") as resp:
            await resp.read()
    assert fault.hits >= 1
    server.faults.remove(fault)
    async with http.get(f"{server.base_url}/v1/health/") as resp:
        assert resp.status == 200


async def test_fault_cut_after_headers(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    server.faults.add(Fault(cut="after_headers", path=r"/messages$"))
    url = f"{server.base_url}/v1/agents/{agent_id}/messages"
    async with http.post(url, json=msg("hi", streaming=True)) as resp:
        assert resp.status == 200
        got, error = await read_until_error(resp)
    assert got == b""
    assert error is not None


async def test_fault_cut_after_frames_leaves_the_run_running(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    server.faults.add(Fault.cut_after(2, path=r"/messages$"))
    url = f"{server.base_url}/v1/agents/{agent_id}/messages"
    async with http.post(url, json=msg("hi [tool]", streaming=True, stream_tokens=True)) as resp:
        got, error = await read_until_error(resp)
    assert isinstance(error, aiohttp.ClientPayloadError)
    assert len(split_events(got)) == 2
    run = await server.wait_for_run(run_id_of(got))
    assert run.status == "completed"


async def test_fault_cut_mid_frame(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    server.faults.add(Fault(cut="mid_frame", frames=2))
    url = f"{server.base_url}/v1/agents/{agent_id}/messages"
    async with http.post(url, json=msg("hi", streaming=True)) as resp:
        got, error = await read_until_error(resp)
    assert isinstance(error, aiohttp.ClientPayloadError)
    head, tail = got.split(b"\n\n", 1)
    assert json.loads(head[6:])["message_type"] == "ping"
    assert tail.startswith(b'data: {"id":"message-')
    assert b"\n" not in tail


@pytest.mark.parametrize(
    ("cut", "last_kind"),
    [("before_done", "usage_statistics"), ("after_stop_reason", "stop_reason")],
)
async def test_fault_cut_near_the_end(
    server: LettaTestServer,
    http: aiohttp.ClientSession,
    agent_id: str,
    cut: Any,
    last_kind: str,
) -> None:
    server.faults.add(Fault(cut=cut))
    url = f"{server.base_url}/v1/agents/{agent_id}/messages"
    async with http.post(url, json=msg("hi", streaming=True)) as resp:
        got, error = await read_until_error(resp)
    assert isinstance(error, aiohttp.ClientPayloadError)
    assert events(got)[-1][1]["message_type"] == last_kind


async def test_fault_reset(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    server.faults.add(Fault(cut="after_frames", frames=1, reset=True))
    url = f"{server.base_url}/v1/agents/{agent_id}/messages"
    async with http.post(url, json=msg("hi", streaming=True)) as resp:
        _, error = await read_until_error(resp)
    assert error is not None


async def test_fault_stall_silences_even_pings(http: aiohttp.ClientSession) -> None:
    async with LettaTestServer(keepalive_interval=0.05) as server:
        agent = server.create_agent()["id"]
        server.faults.add(Fault(stall=0.5, frames=1))
        url = f"{server.base_url}/v1/agents/{agent}/messages"
        async with http.post(url, json=msg("hi", streaming=True)) as resp:
            await resp.content.readuntil(b"\n\n")
            start = time.monotonic()
            second = await resp.content.readuntil(b"\n\n")
            gap = time.monotonic() - start
            rest = await resp.read()
        assert gap >= 0.45
        assert json.loads(second[6:])["message_type"] == "assistant_message"
        assert rest.endswith(DONE)


async def test_fault_slow_loris(server: LettaTestServer, http: aiohttp.ClientSession) -> None:
    server.faults.add(Fault(slow_loris=0.01))
    start = time.monotonic()
    reads = 0
    got = b""
    async with http.get(f"{server.base_url}/v1/health/") as resp:
        async for chunk in resp.content.iter_any():
            got += chunk
            reads += 1
    assert got == fixture_bytes("health.json")
    assert time.monotonic() - start >= 0.3
    assert reads > 3


async def test_fault_error_event_mid_stream(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    server.faults.add(Fault(error_event=True, frames=1))
    body = await post_stream(http, server, agent_id, msg("hi", streaming=True))
    evs = events(body)
    assert [name for name, _ in evs] == [None, "error"]
    assert evs[1][1]["error_type"] == "internal_error"
    assert evs[1][1]["run_id"] == evs[0][1]["run_id"]


# --- lifecycle ---------------------------------------------------------------------------


async def test_close_ends_live_streams_and_tasks(http: aiohttp.ClientSession) -> None:
    server = LettaTestServer(keepalive_interval=0.05)
    await server.start()
    agent = server.create_agent()["id"]
    url = f"{server.base_url}/v1/agents/{agent}/messages"
    async with http.post(url, json=msg("hi [delay=30]", streaming=True)) as resp:
        await resp.content.readuntil(b"\n\n")
        start = time.monotonic()
        await server.close()
        _, error = await read_until_error(resp)
    assert error is not None
    assert time.monotonic() - start < 5
    assert not server._tasks
    run = server.last_run
    assert run is not None
    assert run.finished
    await server.close()  # idempotent


async def test_create_app_with_aiohttp_test_utils() -> None:
    app = create_app(keepalive_interval=0.1)
    server = app[SERVER_KEY]
    async with TestClient(TestServer(app)) as client:
        agent = server.create_agent()["id"]
        resp = await client.post(
            f"/v1/agents/{agent}/messages", json=msg("hi [delay=10]", streaming=True)
        )
        await resp.content.readuntil(b"\n\n")
        resp.close()
    assert not server._tasks


def test_module_entry_point() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "letta_async.testing", "--port", "0", "--agent"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert match, line
        assert proc.stdout.readline().startswith("agent: agent-")

        async def probe() -> Any:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{match.group(0)}/v1/health/") as resp,
            ):
                return await resp.json()

        assert asyncio.run(probe()) == {"version": "0.16.8", "status": "ok"}
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


async def test_without_redis(http: aiohttp.ClientSession) -> None:
    async with LettaTestServer(redis=False) as server:
        agent = server.create_agent()["id"]
        url = f"{server.base_url}/v1/agents/{agent}/messages"
        async with http.post(url, json=msg("hi", streaming=True, background=True)) as resp:
            assert resp.status == 503
            assert await resp.read() == fixture_bytes("errors_503_background_without_redis.json")
        body = await post_stream(http, server, agent, msg("hi", streaming=True))
        assert stream_shape(body) == stream_shape(fixture_bytes("nored_stream_steps.sse"))
        async with http.post(f"{server.base_url}/v1/runs/{run_id_of(body)}/stream") as resp:
            assert resp.status == 503
            assert await resp.read() == fixture_bytes("errors_503_runs_stream_without_redis.json")
        # Without Redis there is no "last run" to fall back on.
        async with http.post(f"{url}/cancel") as resp:
            assert resp.status == 409
            assert await resp.json() == {
                "detail": f"CONFLICT: No active runs to cancel for agent {agent}"
            }


async def test_include_return_message_types_filters_the_stream(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    body = await post_stream(
        http,
        server,
        agent_id,
        msg(
            "hi [tool]",
            streaming=True,
            include_pings=False,
            include_return_message_types=["assistant_message"],
        ),
    )
    kinds = [d["message_type"] for _, d in events(body) if isinstance(d, dict)]
    assert kinds == ["assistant_message", "stop_reason", "usage_statistics"]


async def test_conversation_background_resume(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    conv = server.create_conversation(agent_id)
    base = f"{server.base_url}/v1/conversations/{conv['id']}"
    slow = msg("hi [chunkdelay=0.2]", background=True, stream_tokens=True)
    async with http.post(f"{base}/messages", json=slow) as resp:
        # Joined while the run is still going: the rest of its frames, from position 1.
        async with http.post(f"{base}/stream", json={"starting_after": 1}) as joined:
            again = await joined.read()
        first = await resp.read()
    assert again == b"".join(split_events(first)[1:])
    # Once it ended, only /v1/runs/{id}/stream reads it (the real server's answer).
    async with http.post(f"{base}/stream", json={}) as resp:
        assert resp.status == 400
        assert await resp.json() == {
            "detail": "INVALID_ARGUMENT: No active runs found for this conversation."
        }


async def test_server_is_single_use() -> None:
    server = LettaTestServer()
    await server.start()
    await server.close()
    with pytest.raises(RuntimeError):
        await server.start()


# --- answers measured on a real Letta 0.16.8 server (tests/e2e/differential) ---------------


async def test_failed_and_broken_runs_are_stored_as_the_server_stores_them(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    url = f"{server.base_url}/v1/agents/{agent_id}/messages"
    broken = await post_stream(
        http, server, agent_id, msg("hi [midgarbage]", streaming=True, stream_tokens=True)
    )
    assert b"event: error" in broken
    async with http.post(url, json=msg("hi [error500]")) as resp:
        assert resp.status == 500
    async with http.post(f"{url}/async", json=msg("hi [error500]")) as resp:
        async_id = (await resp.json())["id"]
    await server.wait_for_run(async_id)
    # Without token streaming the LLM call is a plain one: [midgarbage] changes nothing.
    steps = await post_stream(http, server, agent_id, msg("hi [midgarbage]", streaming=True))
    assert b'"stop_reason":"end_turn"' in steps
    async with http.get(f"{server.base_url}/v1/runs/", params={"order": "asc"}) as resp:
        runs = [(r["status"], r["stop_reason"]) for r in await resp.json()]
    assert runs == [
        ("completed", "llm_api_error"),  # the stream said error, the record says completed
        ("failed", None),  # blocking send: no stop reason stored
        ("failed", "error"),  # messages/async
        ("completed", "end_turn"),
    ]


async def test_history_cursor_and_cancel_answers(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    ghost = "message-00000000-0000-4000-8000-000000000000"
    base = f"{server.base_url}/v1/agents/{agent_id}/messages"
    async with http.get(base, params={"after": ghost}) as resp:
        assert resp.status == 404
        assert await resp.json() == {
            "detail": f"No message found with id '{ghost}' for agent '{agent_id}'."
        }
    ghost_agent = "agent-00000000-0000-4000-8000-000000000000"
    async with http.get(f"{server.base_url}/v1/agents/{ghost_agent}/messages") as resp:
        assert (resp.status, await resp.json()) == (404, {"detail": "Agent not found"})
    ghost_run = "run-00000000-0000-4000-8000-000000000000"
    async with http.post(f"{base}/cancel", json={"run_ids": [ghost_run]}) as resp:
        assert await resp.json() == {ghost_run: "failed"}
    async with http.get(f"{server.base_url}/v1/runs/{ghost_run}") as resp:
        detail = (await resp.json())["detail"]
    assert detail.startswith(
        f"Run not found with id='['{ghost_run}']', access level in ['read'] for actor='id='"
    )
    assert detail.endswith("tzinfo=TzInfo(0)) is_deleted=False'")


async def test_resume_body_is_checked_first_with_lax_integers(
    server: LettaTestServer, http: aiohttp.ClientSession, agent_id: str
) -> None:
    run_id = run_id_of(await post_stream(http, server, agent_id, msg("hi", streaming=True)))
    url = f"{server.base_url}/v1/runs/{run_id}/stream"
    answers = {}
    for value in ("x", 1.5, None, "5", True, -3):
        async with http.post(url, json={"starting_after": value}) as resp:
            body = await resp.json()
            answers[repr(value)] = (resp.status, body["detail"][:40])
    not_background = "INVALID_ARGUMENT: Run was not created in"
    assert answers == {
        "'x'": (422, "[{'type': 'int_parsing', 'loc': ('body',"),
        "1.5": (422, "[{'type': 'int_from_float', 'loc': ('bod"),
        "None": (422, "[{'type': 'int_type', 'loc': ('body', 's"),
        "'5'": (400, not_background),  # a foreground run: refused only after validation
        "True": (400, not_background),
        "-3": (400, not_background),
    }
