"""The differential scenario script: the same steps against any Letta-compatible server.

Each scenario takes a :class:`Target` (one server, reached raw and through ``letta_async``) and
returns what it observed, already normalised (:mod:`.wire`), as plain JSON data. The suite runs
every scenario against the real Letta 0.16.8 server and against ``letta_async.testing`` and
compares the two results key by key. Scenarios record wire facts (status codes, frame sequences
with ``message_type`` / ``seq_id`` / ``stop_reason``, error bodies, page contents and order)
and, where a user would meet them, what the client made of them.

Run one scenario by hand against a running server::

    python -m tests.e2e.differential.scenarios http://127.0.0.1:8283 stream_steps
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import anyio

import letta_async

from .wire import Frame, IdMap, SSERead, Wire, close, read_more, summarise

__all__ = ["SCENARIOS", "Scenario", "Target", "run_scenario"]

AGENT_MODEL = "openai-proxy/fake-model"
AGENT_EMBEDDING = "openai/text-embedding-3-small"
GHOST = "00000000-0000-4000-8000-000000000000"
KEEPALIVE = 2.0
"""Seconds between pings on both servers (the e2e stack sets ``LETTA_KEEPALIVE_INTERVAL=2``)."""
PAST_END_READ = 5.0
"""How long a resume past a run's end is read before it is recorded as still open."""


@dataclass
class Target:
    """One server under test, as the scenarios reach it."""

    wire: Wire
    client: letta_async.AsyncLetta
    ids: IdMap = field(default_factory=IdMap)

    async def new_agent(self) -> str:
        status, body = await self.wire.call(
            "POST",
            "/v1/agents/",
            {
                "name": f"diff-{uuid.uuid4().hex[:8]}",
                "model": AGENT_MODEL,
                "embedding": AGENT_EMBEDDING,
                "memory_blocks": [
                    {"label": "human", "value": "The user is a differential test."},
                    {"label": "persona", "value": "I am a test agent."},
                ],
            },
        )
        assert status == 200, body
        agent_id = str(body["id"])
        self.ids.text(agent_id)  # agents are numbered first, in creation order
        return agent_id

    def norm(self, value: Any) -> Any:
        return self.ids.json(value)


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def send_body(text: str, **options: Any) -> dict[str, Any]:
    return {"messages": user(text), "streaming": True, **options}


def run_id_of(frames: list[Frame]) -> str | None:
    for frame in frames:
        data = frame.json
        if isinstance(data, dict) and data.get("run_id"):
            return str(data["run_id"])
    return None


def numbered(frames: list[Frame]) -> list[int]:
    out = []
    for frame in frames:
        data = frame.json
        if isinstance(data, dict) and isinstance(data.get("seq_id"), int):
            out.append(int(data["seq_id"]))
    return out


def keys_by_type(frames: list[Frame]) -> dict[str, list[str]]:
    """The key list (in order) of the first frame of each type: the frame's wire schema."""
    out: dict[str, list[str]] = {}
    for frame in frames:
        data = frame.json
        if isinstance(data, dict):
            kind = str(data.get("message_type"))
            if frame.event is not None:
                kind = f"event:{frame.event} {kind}"
            out.setdefault(kind, list(data))
    return out


def stream_facts(t: Target, read: SSERead, *, count_blind: bool = False) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "status": read.status,
        "content_type": read.content_type,
        "frames": summarise(read.frames, count_blind=count_blind),
        "ended": read.ended,
    }
    if read.body is not None:
        facts["body"] = t.norm(read.body)
    return facts


async def run_record(t: Target, run_id: str) -> dict[str, Any]:
    """The parts of a stored run a user reads: its status and how it stopped."""
    for _ in range(50):
        status, body = await t.wire.call("GET", f"/v1/runs/{run_id}")
        if status != 200 or body.get("status") not in ("created", "running"):
            break
        await asyncio.sleep(0.2)
    if status != 200:
        return {"status_code": status, "body": t.norm(body)}
    return {
        "status": body.get("status"),
        "stop_reason": body.get("stop_reason"),
        "background": body.get("background"),
        "agent_id": t.norm(body.get("agent_id")),
    }


# --- streams -------------------------------------------------------------------------------


async def stream_steps(t: Target) -> dict[str, Any]:
    agent = await t.new_agent()
    read = await t.wire.stream(f"/v1/agents/{agent}/messages", send_body("hi"))
    run = run_id_of(read.frames)
    return {
        "stream": stream_facts(t, read),
        "keys": keys_by_type(read.frames),
        "run": await run_record(t, run) if run else None,
    }


async def stream_steps_no_pings(t: Target) -> dict[str, Any]:
    agent = await t.new_agent()
    read = await t.wire.stream(f"/v1/agents/{agent}/messages", send_body("hi", include_pings=False))
    return {"stream": stream_facts(t, read)}


async def stream_tokens(t: Target) -> dict[str, Any]:
    agent = await t.new_agent()
    read = await t.wire.stream(f"/v1/agents/{agent}/messages", send_body("hi", stream_tokens=True))
    assistant = [f.json for f in read.frames if '"assistant_message"' in f.data]
    return {
        "stream": stream_facts(t, read),
        "keys": keys_by_type(read.frames),
        "token_frames_share_one_id": len({a["id"] for a in assistant}) == 1,
        "several_token_frames": len(assistant) > 1,
    }


async def stream_tool(t: Target) -> dict[str, Any]:
    agent = await t.new_agent()
    read = await t.wire.stream(f"/v1/agents/{agent}/messages", send_body("find it [tool]"))
    call = next((f.json for f in read.frames if '"tool_call_message"' in f.data), None)
    ret = next((f.json for f in read.frames if '"tool_return_message"' in f.data), None)
    usage = next((f.json for f in read.frames if '"usage_statistics"' in f.data), None)
    return {
        "stream": stream_facts(t, read),
        "keys": keys_by_type(read.frames),
        "tool_name": call["tool_call"]["name"] if call else None,
        "tool_calls_is_list": isinstance(call.get("tool_calls"), list) if call else None,
        "return_status": ret.get("status") if ret else None,
        "return_matches_call": bool(call and ret)
        and ret["tool_call_id"] == call["tool_call"]["tool_call_id"],
        "usage_step_count": usage.get("step_count") if usage else None,
    }


async def stream_tool_tokens(t: Target) -> dict[str, Any]:
    agent = await t.new_agent()
    read = await t.wire.stream(
        f"/v1/agents/{agent}/messages", send_body("find it [tool]", stream_tokens=True)
    )
    calls = [f.json for f in read.frames if '"tool_call_message"' in f.data]
    return {
        "stream": stream_facts(t, read),
        "token_tool_calls_is_object": all(isinstance(c.get("tool_calls"), dict) for c in calls),
    }


async def background_stream(t: Target) -> dict[str, Any]:
    agent = await t.new_agent()
    read = await t.wire.stream(f"/v1/agents/{agent}/messages", send_body("hi", background=True))
    run = run_id_of(read.frames)
    return {
        "stream": stream_facts(t, read),
        "keys": keys_by_type(read.frames),
        "seq_ids": numbered(read.frames),
        "run": await run_record(t, run) if run else None,
    }


async def background_tokens_tool(t: Target) -> dict[str, Any]:
    agent = await t.new_agent()
    read = await t.wire.stream(
        f"/v1/agents/{agent}/messages",
        send_body("find it [tool]", background=True, stream_tokens=True),
    )
    seqs = numbered(read.frames)
    return {
        "stream": stream_facts(t, read),
        "seq_ids_contiguous_from_1": seqs == list(range(1, len(seqs) + 1)),
    }


async def legacy_stream_endpoint(t: Target) -> dict[str, Any]:
    agent = await t.new_agent()
    read = await t.wire.stream(
        f"/v1/agents/{agent}/messages/stream", {"messages": user("hi"), "stream_tokens": False}
    )
    return {"stream": stream_facts(t, read)}


# --- resume --------------------------------------------------------------------------------


async def resume_every_position(t: Target) -> dict[str, Any]:
    """``POST /v1/runs/{id}/stream`` from every ``starting_after`` a reader can hold.

    Positions 0 .. last numbered frame are read to the end; the positions past it (last + 1
    and last + 5) are read for :data:`PAST_END_READ` seconds and recorded as they stood then:
    the real server keeps such a stream open with pings.
    """
    agent = await t.new_agent()
    first = await t.wire.stream(
        f"/v1/agents/{agent}/messages", send_body("find it [tool]", background=True)
    )
    run = run_id_of(first.frames)
    assert run is not None
    last = max(numbered(first.frames))
    out: dict[str, Any] = {"last_seq_id": last}
    positions = [*range(last + 1), last + 1, last + 5]
    for after in positions:
        past = after > last
        read = await t.wire.stream(
            f"/v1/runs/{run}/stream",
            {"starting_after": after},
            seconds=PAST_END_READ if past else 30.0,
        )
        facts = stream_facts(t, read)
        if past:
            # Only the shape counts here: how many pings fit in the window is timing.
            kinds = {line.split()[0] for line in facts["frames"]}
            facts["frames"] = sorted(kinds)
        out[f"after={after - last:+d}" if past else f"after={after}"] = facts
        close(read)
    return out


async def resume_running_run(t: Target) -> dict[str, Any]:
    """Join a background run while it is still producing, from its start and from a position."""
    agent = await t.new_agent()
    first = await t.wire.open_stream(
        f"/v1/agents/{agent}/messages",
        send_body("slow [chunkdelay=0.4]", background=True, stream_tokens=True),
    )
    await read_more(
        first, seconds=20, until=lambda fs: any('"assistant_message"' in f.data for f in fs)
    )
    run = run_id_of(first.frames)
    assert run is not None
    held = max(numbered(first.frames))
    close(first)
    joined = await t.wire.stream(f"/v1/runs/{run}/stream", {"starting_after": held})
    seqs = numbered(joined.frames)
    return {
        "held_frames": summarise(first.frames),
        "resumed": stream_facts(t, joined),
        "resumed_starts_after_held": bool(seqs) and seqs[0] == held + 1,
        "run": await run_record(t, run),
    }


async def resume_foreground_run(t: Target) -> dict[str, Any]:
    agent = await t.new_agent()
    read = await t.wire.stream(f"/v1/agents/{agent}/messages", send_body("hi"))
    run = run_id_of(read.frames)
    again = await t.wire.stream(f"/v1/runs/{run}/stream", {}, seconds=5)
    close(again)
    return {"resume": stream_facts(t, again)}


async def resume_async_run(t: Target) -> dict[str, Any]:
    """A ``messages/async`` run is background but never logs frames: its stream only pings."""
    agent = await t.new_agent()
    status, body = await t.wire.call(
        "POST", f"/v1/agents/{agent}/messages/async", {"messages": user("hi")}
    )
    created = {
        "status_code": status,
        "status": body.get("status"),
        "background": body.get("background"),
    }
    read = await t.wire.stream(f"/v1/runs/{body['id']}/stream", {}, seconds=PAST_END_READ)
    close(read)
    facts = stream_facts(t, read)
    facts["frames"] = sorted({line.split()[0] for line in facts["frames"]})
    return {"created": created, "resume": facts, "run": await run_record(t, body["id"])}


async def client_resume_positions(t: Target) -> dict[str, Any]:
    """What a user of the client sees: the stream's ``last_seq_id`` and resumes from it."""
    agent = await t.new_agent()
    stream = t.client.agents.messages.stream(agent, messages=user("hi"), background=True)
    events = [e.message_type async for e in stream]
    out: dict[str, Any] = {"events": events, "last_seq_id": stream.last_seq_id}
    run = stream.run_id
    for after in (0, 2, stream.last_seq_id):
        label = f"after={after}" if after != stream.last_seq_id else "after=last_seq_id"
        try:
            with anyio.fail_after(PAST_END_READ + 5):
                async with t.client.runs.messages.stream(run, starting_after=after) as resumed:
                    out[label] = [e.message_type async for e in resumed if e.message_type != "ping"]
        except TimeoutError:
            out[label] = f"no end within {PAST_END_READ + 5:g} s"
        except letta_async.LettaError as exc:
            out[label] = f"raised {type(exc).__name__}"
    return out


# --- cancel --------------------------------------------------------------------------------


def _has_assistant(frames: list[Frame]) -> bool:
    return any('"assistant_message"' in f.data for f in frames)


async def cancel_foreground(t: Target) -> dict[str, Any]:
    agent = await t.new_agent()
    read = await t.wire.open_stream(
        f"/v1/agents/{agent}/messages",
        send_body("slow [chunkdelay=0.6]", stream_tokens=True),
    )
    await read_more(read, seconds=20, until=_has_assistant)
    run = run_id_of(read.frames)
    status, body = await t.wire.call(
        "POST", f"/v1/agents/{agent}/messages/cancel", {"run_ids": [run]}
    )
    await read_more(read, seconds=20)
    return {
        "cancel": {"status": status, "body": t.norm(body)},
        "stream": stream_facts(t, read, count_blind=True),
        "tail": [f.data for f in read.frames[-1:]],
        "run": await run_record(t, str(run)),
    }


async def cancel_background(t: Target) -> dict[str, Any]:
    agent = await t.new_agent()
    read = await t.wire.open_stream(
        f"/v1/agents/{agent}/messages",
        send_body("slow [chunkdelay=0.6]", stream_tokens=True, background=True),
    )
    await read_more(read, seconds=20, until=_has_assistant)
    run = run_id_of(read.frames)
    joined = await t.wire.open_stream(f"/v1/runs/{run}/stream", {})
    status, body = await t.wire.call("POST", f"/v1/agents/{agent}/messages/cancel")
    await read_more(read, seconds=20)
    await read_more(joined, seconds=20)
    replay = await t.wire.stream(f"/v1/runs/{run}/stream", {}, seconds=20)
    return {
        "cancel": {"status": status, "body": t.norm(body)},
        "stream": stream_facts(t, read, count_blind=True),
        "joined_mid_run": {
            "tail": summarise(joined.frames, count_blind=True)[-2:],
            "ended": joined.ended,
        },
        "replay_tail": summarise(replay.frames, count_blind=True)[-2:],
        "replay_ended": replay.ended,
        "run": await run_record(t, str(run)),
    }


async def cancel_without_runs(t: Target) -> dict[str, Any]:
    agent = await t.new_agent()
    status, body = await t.wire.call("POST", f"/v1/agents/{agent}/messages/cancel")
    after_status, after_body = await t.wire.call(
        "POST", f"/v1/agents/{agent}/messages/cancel", {"run_ids": [f"run-{GHOST}"]}
    )
    return {
        "no_body": {"status": status, "body": t.norm(body)},
        "ghost_run": {"status": after_status, "body": t.norm(after_body)},
    }


async def client_cancel(t: Target) -> dict[str, Any]:
    agent = await t.new_agent()
    stream = t.client.agents.messages.stream(
        agent, messages=user("slow [chunkdelay=0.6]"), stream_tokens=True
    )
    kinds: list[str] = []
    async for event in stream:
        kinds.append(event.message_type)
        if event.message_type == "assistant_message" and kinds.count("assistant_message") == 1:
            await stream.cancel()
    return {
        "stop_reason": getattr(stream.stop_reason, "stop_reason", stream.stop_reason),
        "last_event": kinds[-1] if kinds else None,
    }


# --- errors --------------------------------------------------------------------------------


async def error500_stream(t: Target) -> dict[str, Any]:
    agent = await t.new_agent()
    read = await t.wire.stream(f"/v1/agents/{agent}/messages", send_body("hi [error500]"))
    err = next((f.json for f in read.frames if f.event == "error"), None)
    if err is not None:
        # The upstream's own error body (after "Error code: 500 - ") is the scripted LLM's.
        err["detail"] = str(err.get("detail")).split(" - {")[0]
    run = run_id_of(read.frames)
    return {
        "stream": stream_facts(t, read),
        "error": t.norm(err),
        "run": await run_record(t, run) if run else None,
    }


async def error500_background(t: Target) -> dict[str, Any]:
    agent = await t.new_agent()
    read = await t.wire.stream(
        f"/v1/agents/{agent}/messages", send_body("hi [error500]", background=True)
    )
    run = run_id_of(read.frames)
    replay = await t.wire.stream(f"/v1/runs/{run}/stream", {}, seconds=20)
    return {
        "stream": stream_facts(t, read),
        "replay": stream_facts(t, replay),
        "run": await run_record(t, run) if run else None,
    }


async def midgarbage_stream(t: Target) -> dict[str, Any]:
    agent = await t.new_agent()
    read = await t.wire.stream(
        f"/v1/agents/{agent}/messages", send_body("hi [midgarbage]", stream_tokens=True)
    )
    err = next((f.json for f in read.frames if f.event == "error"), None)
    run = run_id_of(read.frames)
    return {
        "stream": stream_facts(t, read),
        "error_type": err.get("error_type") if err else None,
        "error_keys": list(err) if err else None,
        "run": await run_record(t, run) if run else None,
    }


async def midgarbage_steps_and_blocking(t: Target) -> dict[str, Any]:
    """Without token streaming the server makes one plain LLM call: the marker does nothing."""
    agent = await t.new_agent()
    read = await t.wire.stream(f"/v1/agents/{agent}/messages", send_body("hi [midgarbage]"))
    bg = await t.wire.stream(
        f"/v1/agents/{agent}/messages", send_body("hi [midgarbage]", background=True)
    )
    status, body = await t.wire.call(
        "POST", f"/v1/agents/{agent}/messages", {"messages": user("hi [midgarbage]")}
    )
    _, runs = await t.wire.call("GET", f"/v1/runs/?agent_id={agent}&order=asc")
    return {
        "steps": stream_facts(t, read),
        "background": stream_facts(t, bg),
        "blocking": {
            "status": status,
            "message_types": [m["message_type"] for m in body.get("messages", [])],
            "stop_reason": body.get("stop_reason"),
        },
        "runs": [(r["status"], r["stop_reason"]) for r in runs],
    }


async def error500_async(t: Target) -> dict[str, Any]:
    agent = await t.new_agent()
    status, body = await t.wire.call(
        "POST", f"/v1/agents/{agent}/messages/async", {"messages": user("hi [error500]")}
    )
    return {"status": status, "run": await run_record(t, body["id"])}


async def error500_blocking(t: Target) -> dict[str, Any]:
    agent = await t.new_agent()
    status, body = await t.wire.call(
        "POST", f"/v1/agents/{agent}/messages", {"messages": user("hi [error500]")}
    )
    _, runs = await t.wire.call("GET", f"/v1/runs/?agent_id={agent}")
    client_error: Any = None
    try:
        await t.client.agents.messages.create(agent, messages=user("again [error500]"))
    except letta_async.APIStatusError as exc:
        client_error = {"type": type(exc).__name__, "status": exc.status_code}
    return {
        "status": status,
        "body_keys": sorted(body) if isinstance(body, dict) else body,
        "error_type": body.get("error", {}).get("type") if isinstance(body, dict) else None,
        "runs": [(r["status"], r["stop_reason"]) for r in runs],
        "client": client_error,
    }


async def blocking_send(t: Target) -> dict[str, Any]:
    agent = await t.new_agent()
    status, body = await t.wire.call(
        "POST", f"/v1/agents/{agent}/messages", {"messages": user("hi")}
    )
    return {
        "status": status,
        "keys": list(body),
        "message_types": [m["message_type"] for m in body["messages"]],
        "stop_reason": body["stop_reason"],
        "usage_keys": list(body["usage"]),
    }


# --- HTTP errors ---------------------------------------------------------------------------


async def http_errors(t: Target) -> dict[str, Any]:
    agent = await t.new_agent()
    fg = await t.wire.stream(f"/v1/agents/{agent}/messages", send_body("hi"))
    fg_run = run_id_of(fg.frames)
    ghost_agent, ghost_run, ghost_conv = f"agent-{GHOST}", f"run-{GHOST}", f"conv-{GHOST}"
    calls: dict[str, tuple[str, str, Any]] = {
        "404 agent": ("GET", f"/v1/agents/{ghost_agent}", None),
        "404 agent send": ("POST", f"/v1/agents/{ghost_agent}/messages", {"messages": user("hi")}),
        "404 agent history": ("GET", f"/v1/agents/{ghost_agent}/messages", None),
        "404 run": ("GET", f"/v1/runs/{ghost_run}", None),
        "404 run stream": ("POST", f"/v1/runs/{ghost_run}/stream", {}),
        "404 conversation": ("GET", f"/v1/conversations/{ghost_conv}", None),
        "422 malformed agent id": ("GET", "/v1/agents/not-an-id", None),
        "422 no messages": ("POST", f"/v1/agents/{agent}/messages", {}),
        "422 stream_tokens without streaming": (
            "POST",
            f"/v1/agents/{agent}/messages",
            {"messages": user("hi"), "stream_tokens": True},
        ),
        "422 include_pings false without streaming": (
            "POST",
            f"/v1/agents/{agent}/messages",
            {"messages": user("hi"), "include_pings": False},
        ),
        "422 background without streaming": (
            "POST",
            f"/v1/agents/{agent}/messages",
            {"messages": user("hi"), "background": True},
        ),
        "422 bad role": (
            "POST",
            f"/v1/agents/{agent}/messages",
            {"messages": [{"role": "robot", "content": "hi"}]},
        ),
        "422 bad order": ("GET", f"/v1/agents/{agent}/messages?order=sideways", None),
        "422 bad limit": ("GET", f"/v1/agents/{agent}/messages?limit=lots", None),
        "400 resume foreground run": ("POST", f"/v1/runs/{fg_run}/stream", {}),
        "405 GET run stream": ("GET", f"/v1/runs/{fg_run}/stream", None),
        "422 resume bad starting_after": (
            "POST",
            f"/v1/runs/{fg_run}/stream",
            {"starting_after": "x"},
        ),
    }
    out: dict[str, Any] = {}
    for label, (method, path, body) in calls.items():
        status, answer = await t.wire.call(method, path, body)
        out[label] = {"status": status, "body": t.norm(answer)}
    status, answer = await t.wire.call(
        "POST", f"/v1/agents/{agent}/messages", raw=b'{"messages": [', headers=None
    )
    out["422 broken JSON"] = {"status": status, "body": t.norm(answer)}
    # The SDK gate: a browser-like User-Agent may not stream.
    status, answer = await t.wire.call(
        "POST",
        f"/v1/agents/{agent}/messages",
        send_body("hi"),
        headers={"User-Agent": "curl/8.0"},
    )
    out["422 SDK gate"] = {"status": status, "body": t.norm(answer)}
    return out


async def client_http_errors(t: Target) -> dict[str, Any]:
    """The typed exceptions a user gets for the same answers."""
    out: dict[str, Any] = {}

    async def attempt(label: str, call: Callable[[], Awaitable[Any]]) -> None:
        try:
            await call()
            out[label] = "no error"
        except letta_async.APIStatusError as exc:
            out[label] = {"type": type(exc).__name__, "status": exc.status_code}

    agent = await t.new_agent()
    await attempt("agents.retrieve ghost", lambda: t.client.agents.retrieve(f"agent-{GHOST}"))
    await attempt("runs.retrieve ghost", lambda: t.client.runs.retrieve(f"run-{GHOST}"))
    await attempt(
        "messages.create stream_tokens",
        lambda: t.client.agents.messages.create(agent, messages=user("hi"), stream_tokens=True),
    )

    async def stream_ghost() -> None:
        async for _ in t.client.agents.messages.stream(f"agent-{GHOST}", messages=user("hi")):
            pass

    await attempt("stream ghost agent", stream_ghost)
    return out


# --- history pagination --------------------------------------------------------------------


async def _page(t: Target, agent: str, query: str) -> Any:
    status, body = await t.wire.call("GET", f"/v1/agents/{agent}/messages?{query}")
    if status != 200:
        return {"status": status, "body": t.norm(body)}
    return [f"{m['message_type']} {t.norm(m['id'])}" for m in body]


async def history_pagination(t: Target) -> dict[str, Any]:
    agent = await t.new_agent()
    for i in range(3):
        marker = " [tool]" if i == 1 else ""
        await t.wire.stream(f"/v1/agents/{agent}/messages", send_body(f"m{i}{marker}"))
    _, full = await t.wire.call("GET", f"/v1/agents/{agent}/messages?order=asc&limit=100")
    ids = [m["id"] for m in full]
    out: dict[str, Any] = {"asc all": [f"{m['message_type']} {t.norm(m['id'])}" for m in full]}
    mid = ids[len(ids) // 2]
    out["mid"] = t.norm(mid)
    for query in (
        "",
        "limit=3",
        "order=desc&limit=3",
        "order=asc&limit=3",
        f"order=desc&limit=3&before={mid}",
        f"order=asc&limit=3&before={mid}",
        f"order=desc&limit=3&after={mid}",
        f"order=asc&limit=3&after={mid}",
        f"order=asc&after={ids[0]}&before={ids[-1]}",
        f"order=asc&after=message-{GHOST}",
        "order=asc&limit=0",
    ):
        out[query.replace(mid, "MID") or "(default)"] = await _page(t, agent, query)
    # Walking back in desc pages, as the client's iterator does.
    walked: list[str] = []
    cursor = ""
    for _ in range(20):
        page = await t.wire.call("GET", f"/v1/agents/{agent}/messages?order=desc&limit=2{cursor}")
        items = page[1]
        if not items:
            break
        walked = [m["id"] for m in items] + walked
        cursor = f"&before={items[0]['id']}"
    out["desc walk by before=first"] = [t.norm(i) for i in walked]
    client_ids = [m.id async for m in t.client.agents.messages.list(agent, order="desc", limit=2)]
    out["client desc iteration"] = [t.norm(i) for i in client_ids]
    client_asc = [m.id async for m in t.client.agents.messages.list(agent, order="asc", limit=2)]
    out["client asc iteration"] = [t.norm(i) for i in client_asc]
    return out


# --- conversations -------------------------------------------------------------------------


async def conversations(t: Target) -> dict[str, Any]:
    agent = await t.new_agent()
    status, conv = await t.wire.call("POST", f"/v1/conversations/?agent_id={agent}", {})
    out: dict[str, Any] = {"create": {"status": status, "keys": sorted(conv)}}
    cid = conv["id"]
    out["create"]["id"] = t.norm(cid)
    out["create"]["in_context_message_ids"] = t.norm(conv["in_context_message_ids"])
    _, fetched = await t.wire.call("GET", f"/v1/conversations/{cid}")
    out["get"] = {"in_context_message_ids": t.norm(fetched["in_context_message_ids"])}
    read = await t.wire.stream(f"/v1/conversations/{cid}/messages", send_body("hi"))
    out["stream"] = stream_facts(t, read)
    bg = await t.wire.stream(
        f"/v1/conversations/{cid}/messages", send_body("again", background=True)
    )
    out["background"] = stream_facts(t, bg)
    resumed = await t.wire.stream(f"/v1/conversations/{cid}/stream", {}, seconds=10)
    close(resumed)
    out["conversation resume"] = stream_facts(t, resumed)
    for order in ("asc", "desc"):
        status, page = await t.wire.call(
            "GET", f"/v1/conversations/{cid}/messages?order={order}&limit=100"
        )
        out[f"messages {order}"] = (
            [f"{m['message_type']} {t.norm(m['id'])}" for m in page]
            if status == 200
            else {"status": status, "body": t.norm(page)}
        )
    _, full = await t.wire.call("GET", f"/v1/conversations/{cid}/messages?order=asc")
    mid = full[len(full) // 2]["id"]
    for query in (
        "limit=2",
        "order=asc&limit=2",
        f"order=desc&before={mid}",
        f"order=asc&before={mid}",
        f"order=desc&after={mid}",
        f"order=asc&after={mid}",
        f"order=asc&after=message-{GHOST}",
    ):
        status, page = await t.wire.call("GET", f"/v1/conversations/{cid}/messages?{query}")
        out[f"messages {query.replace(mid, 'MID')}"] = (
            [t.norm(m["id"]) for m in page]
            if status == 200
            else {"status": status, "body": t.norm(page)}
        )
    _, agent_history = await t.wire.call("GET", f"/v1/agents/{agent}/messages?order=asc")
    out["agent history"] = [m["message_type"] for m in agent_history]
    status, listing = await t.wire.call("GET", f"/v1/conversations/?agent_id={agent}")
    out["list"] = [t.norm(c["id"]) for c in listing] if status == 200 else status
    status, body = await t.wire.call("POST", f"/v1/conversations/{cid}/cancel")
    out["cancel idle"] = {"status": status, "body": t.norm(body)}
    return out


async def conversation_cancel(t: Target) -> dict[str, Any]:
    agent = await t.new_agent()
    _, conv = await t.wire.call("POST", f"/v1/conversations/?agent_id={agent}", {})
    cid = conv["id"]
    read = await t.wire.open_stream(
        f"/v1/conversations/{cid}/messages",
        send_body("slow [chunkdelay=0.6]", stream_tokens=True, background=True),
    )
    await read_more(read, seconds=20, until=_has_assistant)
    joined = await t.wire.open_stream(f"/v1/conversations/{cid}/stream", {})
    status, body = await t.wire.call("POST", f"/v1/conversations/{cid}/cancel")
    await read_more(read, seconds=20)
    await read_more(joined, seconds=20)
    run = run_id_of(read.frames)
    return {
        "cancel": {"status": status, "body": t.norm(body)},
        "stream": stream_facts(t, read, count_blind=True),
        "joined_mid_run": {
            "status": joined.status,
            "tail": summarise(joined.frames, count_blind=True)[-2:],
            "ended": joined.ended,
        },
        "run": await run_record(t, str(run)),
    }


async def run_details(t: Target) -> dict[str, Any]:
    """What ``runs.retrieve``, ``runs.messages.list``, ``runs.steps.list`` and ``runs.usage``
    read back about a finished two-step run."""
    agent = await t.new_agent()
    read = await t.wire.stream(f"/v1/agents/{agent}/messages", send_body("find it [tool]"))
    run = run_id_of(read.frames)
    out: dict[str, Any] = {}
    status, body = await t.wire.call("GET", f"/v1/runs/{run}")
    out["run keys"] = sorted(body) if status == 200 else status
    for query in ("", "?order=desc", "?limit=2"):
        status, page = await t.wire.call("GET", f"/v1/runs/{run}/messages{query}")
        out[f"messages{query}"] = (
            [m["message_type"] for m in page] if status == 200 else {"status": status}
        )
    status, steps = await t.wire.call("GET", f"/v1/runs/{run}/steps")
    out["steps"] = {"status": status, "count": len(steps) if status == 200 else None}
    status, usage = await t.wire.call("GET", f"/v1/runs/{run}/usage")
    out["usage keys"] = sorted(usage) if status == 200 else status
    return out


# --- runs listing --------------------------------------------------------------------------


async def runs_listing(t: Target) -> dict[str, Any]:
    agent = await t.new_agent()
    path = f"/v1/agents/{agent}/messages"
    await t.wire.stream(path, send_body("one"))  # completed, foreground
    await t.wire.stream(path, send_body("two", background=True))  # completed, background
    await t.wire.stream(path, send_body("three [error500]"))  # failed
    cancelled = await t.wire.open_stream(
        path, send_body("four [chunkdelay=0.6]", stream_tokens=True)
    )
    await read_more(cancelled, seconds=20, until=_has_assistant)
    await t.wire.call("POST", f"/v1/agents/{agent}/messages/cancel")
    await read_more(cancelled, seconds=20)
    _, asc = await t.wire.call("GET", f"/v1/runs/?agent_id={agent}&order=asc")
    for run in asc:
        t.norm(run["id"])  # number the runs in creation order

    async def listing(query: str) -> Any:
        status, body = await t.wire.call("GET", f"/v1/runs/?agent_id={agent}&{query}")
        if status != 200:
            return {"status": status, "body": t.norm(body)}
        return [
            f"{t.norm(r['id'])} {r['status']} {r['stop_reason']} bg={r['background']}" for r in body
        ]

    first, second = asc[0]["id"], asc[1]["id"]
    out: dict[str, Any] = {}
    for query in (
        "",
        "order=asc",
        "order=desc&limit=2",
        "order=asc&limit=2",
        f"order=asc&after={first}",
        f"order=desc&before={second}",
        f"order=asc&before={second}",
        "statuses=completed",
        "statuses=failed&statuses=cancelled",
        "background=true",
        "background=false",
        "stop_reason=end_turn",
        "stop_reason=cancelled",
        "active=true",
        "order=sideways",
        "statuses=bogus",
    ):
        out[query.replace(first, "FIRST").replace(second, "SECOND") or "(default)"] = await listing(
            query
        )
    _status, everything = await t.wire.call("GET", "/v1/runs/?limit=1000")
    mine = [r for r in everything if r.get("agent_id") == agent]
    out["unfiltered includes the agent's runs"] = len(mine) == len(asc)
    client_runs = [r.id async for r in t.client.runs.list(agent_id=agent, limit=2)]
    out["client runs.list"] = [t.norm(i) for i in client_runs]
    return out


# --- registry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    what: str
    run: Callable[[Target], Awaitable[dict[str, Any]]]


SCENARIOS: list[Scenario] = [
    Scenario("stream_steps", "foreground step stream: frames, keys, run record", stream_steps),
    Scenario(
        "stream_steps_no_pings", "foreground stream with include_pings false", stream_steps_no_pings
    ),
    Scenario("stream_tokens", "foreground token stream", stream_tokens),
    Scenario("stream_tool", "[tool]: call, return, second step", stream_tool),
    Scenario("stream_tool_tokens", "[tool] with token streaming", stream_tool_tokens),
    Scenario("background_stream", "background step stream: seq_id numbering", background_stream),
    Scenario(
        "background_tokens_tool", "background token stream with a tool call", background_tokens_tool
    ),
    Scenario("legacy_stream_endpoint", "POST .../messages/stream", legacy_stream_endpoint),
    Scenario("blocking_send", "non-streaming send: body shape", blocking_send),
    Scenario(
        "resume_every_position",
        "runs/{id}/stream from 0..last and past the end",
        resume_every_position,
    ),
    Scenario("resume_running_run", "resume a background run while it runs", resume_running_run),
    Scenario(
        "resume_foreground_run", "runs/{id}/stream of a foreground run", resume_foreground_run
    ),
    Scenario("resume_async_run", "runs/{id}/stream of a messages/async run", resume_async_run),
    Scenario(
        "client_resume_positions",
        "client: last_seq_id and resumes from it",
        client_resume_positions,
    ),
    Scenario("cancel_foreground", "cancel by run id mid foreground stream", cancel_foreground),
    Scenario(
        "cancel_background", "cancel without body mid background stream, replay", cancel_background
    ),
    Scenario(
        "cancel_without_runs", "cancel on an idle agent, cancel of a ghost run", cancel_without_runs
    ),
    Scenario("client_cancel", "client: stream.cancel()", client_cancel),
    Scenario("error500_stream", "[error500] in a foreground stream", error500_stream),
    Scenario(
        "error500_background",
        "[error500] in a background stream and its replay",
        error500_background,
    ),
    Scenario("midgarbage_stream", "[midgarbage] in a token stream", midgarbage_stream),
    Scenario(
        "midgarbage_steps_and_blocking",
        "[midgarbage] without token streaming (step, background, blocking)",
        midgarbage_steps_and_blocking,
    ),
    Scenario("error500_async", "[error500] in a messages/async run", error500_async),
    Scenario(
        "error500_blocking", "[error500] on a blocking send (raw and client)", error500_blocking
    ),
    Scenario("http_errors", "404/405/422/400 answers and their bodies", http_errors),
    Scenario("client_http_errors", "client: typed exceptions for the same", client_http_errors),
    Scenario(
        "history_pagination",
        "agents.messages.list both orders, before/after/limit",
        history_pagination,
    ),
    Scenario("conversations", "create, stream, background, resume, list, cancel", conversations),
    Scenario(
        "conversation_cancel",
        "cancel a conversation's background run; join it mid-run",
        conversation_cancel,
    ),
    Scenario("run_details", "a run's record, messages, steps and usage", run_details),
    Scenario("runs_listing", "runs.list and its filters, both orders", runs_listing),
]


async def run_scenario(base_url: str, scenario: Scenario) -> dict[str, Any]:
    """Run one scenario against the server at ``base_url``; its normalised observations."""
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with (
        aiohttp.ClientSession(skip_auto_headers=["User-Agent"], timeout=timeout) as http,
        letta_async.AsyncLetta(base_url=base_url, max_retries=0) as client,
    ):
        target = Target(Wire(http, base_url), client)
        result = await scenario.run(target)
        return json.loads(json.dumps(target.norm(result)))


def _main(argv: list[str]) -> int:
    base_url, *names = argv[1:]
    for scenario in SCENARIOS:
        if names and scenario.name not in names:
            continue
        result = asyncio.run(run_scenario(base_url, scenario))
        print(f"== {scenario.name}")
        print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(_main(sys.argv))
