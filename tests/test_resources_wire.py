"""Resources the local test server does not model, against a scripted loopback server.

Each test scripts the server's answer, calls the typed method, and checks both directions:
the request as it arrived (method, path, query, headers, body) and the decoded result.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

import pytest
from aiohttp import web

from letta_async import AsyncLetta, StreamError
from letta_async.resources._chat import ChatCompletionChunk
from letta_async.types import (
    AssistantMessage,
    SseMcpServer,
    StdioMcpServer,
    ToolReturnMessage,
    ToolSearchResult,
    UserMessage,
)
from letta_async.types.steps import MetricRetrieveResponse
from tests.replay import Handler, ReplayServer, fixture_bytes, json_answer, sse_answer

pytestmark = pytest.mark.anyio

AGENT = "agent-0b5a9d7e-6c3a-4c1b-9f2e-3d4c5b6a7f80"
CONV = "conv-0b5a9d7e-6c3a-4c1b-9f2e-3d4c5b6a7f81"
DATE = "2026-11-22T02:01:15+00:00"


@pytest.fixture
async def client(replay: ReplayServer) -> AsyncIterator[AsyncLetta]:
    async with AsyncLetta(replay.base_url, max_retries=0) as c:
        yield c


def agent_json(**extra: Any) -> dict[str, Any]:
    # The fields the server's AgentState schema requires (and always sends).
    required = {"agent_type": "letta_v1_agent", "system": "", "tags": [], "blocks": []}
    return {"id": AGENT, "name": "a", **required, "tools": [], **extra}


def capture(answer: Handler, into: list[str]) -> Handler:
    """Wrap an answer so the raw query string (repeated keys included) is recorded."""

    async def handler(request: web.Request) -> web.StreamResponse:
        into.append(request.query_string)
        return await answer(request)

    return handler


def message(kind: str, ident: str, **extra: Any) -> dict[str, Any]:
    return {"id": ident, "date": DATE, "message_type": kind, **extra}


def sse(*events: Any, done: bool = True) -> bytes:
    body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
    return body + (b"data: [DONE]\n\n" if done else b"")


# --- agents --------------------------------------------------------------------------------


async def test_agent_update_count_and_retrieve_include(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    route = f"/v1/agents/{AGENT}"
    replay.on("PATCH", route, json_answer(agent_json(name="b")))
    count_queries: list[str] = []
    replay.on("GET", "/v1/agents/count", capture(json_answer(3), count_queries))
    state = await client.agents.update(
        AGENT, name="b", tags=["x"], tool_rules=[{"type": "exit_loop", "tool_name": "done"}]
    )
    assert state.name == "b"
    assert replay.seen("PATCH", route)[0].json() == {
        "name": "b",
        "tags": ["x"],
        "tool_rules": [{"type": "exit_loop", "tool_name": "done"}],
    }
    assert await client.agents.count(tags=["x", "y"], match_all_tags=True) == 3
    assert count_queries == ["tags=x&tags=y&match_all_tags=true"]
    retrieve_queries: list[str] = []
    replay.on("GET", route, capture(json_answer(agent_json()), retrieve_queries))
    await client.agents.retrieve(AGENT, include=["agent.tools", "agent.blocks"])
    assert retrieve_queries == ["include=agent.tools&include=agent.blocks"]


async def test_agent_export_get_and_post_with_skills(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    route = f"/v1/agents/{AGENT}/export"
    # The schema says "string"; the real server sends the agent file as a JSON object.
    agent_file = b'{\n  "agents": [],\n  "tools": []\n}'
    replay.on("GET", route, json_answer(agent_file))
    replay.on("POST", route, json_answer(agent_file))
    text = await client.agents.export_file(AGENT, scrub_messages=True)
    assert text == agent_file.decode(), "the file's text, byte for byte"
    assert replay.seen("GET", route)[0].query == {"scrub_messages": "true"}
    with_skills = await client.agents.export_with_skills(
        AGENT, skills=[{"name": "s", "files": {"SKILL.md": "x"}}]
    )
    assert with_skills == agent_file.decode()
    assert replay.seen("POST", route)[0].json() == {
        "skills": [{"name": "s", "files": {"SKILL.md": "x"}}]
    }


async def test_agent_import_is_multipart_with_json_secrets(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("POST", "/v1/agents/import", json_answer({"agent_ids": [AGENT]}))
    result = await client.agents.import_file(
        file=b'{"agents": []}', name="copy", strip_messages=True, secrets=json.dumps({"KEY": "v"})
    )
    assert result.agent_ids == [AGENT]
    seen = replay.seen("POST", "/v1/agents/import")[0]
    assert seen.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    body = seen.body
    assert b'name="file"; filename="agent.af"' in body and b'{"agents": []}' in body
    assert b'name="name"\r\n\r\ncopy\r\n' in body
    assert b'name="strip_messages"\r\n\r\ntrue\r\n' in body
    assert b'name="secrets"\r\n\r\n{"KEY": "v"}\r\n' in body


async def test_agent_generate_recompile_search_and_preview(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on(
        "POST",
        f"/v1/agents/{AGENT}/generate",
        json_answer({"content": "hi", "model": "m", "usage": {"total_tokens": 3}}),
    )
    replay.on("POST", f"/v1/agents/{AGENT}/recompile", json_answer('"new prompt"'))
    replay.on(
        "POST",
        "/v1/agents/messages/search",
        json_answer(
            [
                {
                    "embedded_text": "hello",
                    "message": {"id": "message-1", "role": "user"},
                    "rrf_score": 0.5,
                }
            ]
        ),
    )
    replay.on(
        "POST",
        f"/v1/agents/{AGENT}/messages/preview-raw-payload",
        json_answer({"model": "m", "messages": []}),
    )
    # Routes outside the official SDK answer with the server's JSON.
    generated = await client.agents.generate(AGENT, prompt="say hi", override_model="x/y")
    assert generated == {"content": "hi", "model": "m", "usage": {"total_tokens": 3}}
    assert replay.seen("POST", f"/v1/agents/{AGENT}/generate")[0].json() == {
        "prompt": "say hi",
        "override_model": "x/y",
    }
    # A ``str`` answer is the body's text, JSON quotes included, as the official SDK gives it.
    assert await client.agents.recompile(AGENT, dry_run=True) == '"new prompt"'
    assert replay.seen("POST", f"/v1/agents/{AGENT}/recompile")[0].query == {"dry_run": "true"}
    found = await client.agents.messages.search(query="hello", roles=["user"], limit=5)
    assert found[0] == {
        "embedded_text": "hello",
        "message": {"id": "message-1", "role": "user"},
        "rrf_score": 0.5,
    }
    assert replay.seen("POST", "/v1/agents/messages/search")[0].json() == {
        "query": "hello",
        "roles": ["user"],
        "limit": 5,
    }
    payload = await client.agents.messages.preview_raw_payload(
        AGENT, body={"messages": [{"role": "user", "content": "hi"}]}
    )
    assert payload["model"] == "m"
    assert replay.seen("POST", f"/v1/agents/{AGENT}/messages/preview-raw-payload")[0].json() == {
        "messages": [{"role": "user", "content": "hi"}]
    }


async def test_agent_tools_identities_groups(replay: ReplayServer, client: AsyncLetta) -> None:
    base = f"/v1/agents/{AGENT}"
    replay.on("PATCH", f"{base}/tools/approval/send_email", json_answer(agent_json()))
    replay.on(
        "POST",
        f"{base}/tools/web search/run",
        json_answer({"status": "success", "func_return": "42"}),
    )
    replay.on("PATCH", f"{base}/identities/attach/identity-1", json_answer({}))
    replay.on("PATCH", f"{base}/identities/detach/identity-1", json_answer({}))
    replay.on(
        "GET",
        f"{base}/groups",
        json_answer(
            [{"id": "group-1", "manager_type": "round_robin", "agent_ids": [], "description": "g"}]
        ),
    )
    state = await client.agents.tools.update_approval(
        "send_email", agent_id=AGENT, body_requires_approval=True
    )
    assert state is not None and state.id == AGENT
    assert replay.seen("PATCH", f"{base}/tools/approval/send_email")[0].json() == {
        "requires_approval": True
    }
    result = await client.agents.tools.run("web search", agent_id=AGENT, args={"q": "x"})
    assert result.status == "success" and result.func_return == "42"
    assert replay.seen("POST", f"{base}/tools/web search/run")[0].raw_path.endswith(
        "/tools/web%20search/run"
    )
    await client.agents.identities.attach("identity-1", agent_id=AGENT)
    await client.agents.identities.detach("identity-1", agent_id=AGENT)
    groups = await client.agents.groups.list(AGENT, manager_type="round_robin")
    assert groups.items[0]["manager_type"] == "round_robin"  # type: ignore[index]
    assert replay.seen("GET", f"{base}/groups")[0].query == {"manager_type": "round_robin"}


async def test_agent_files_follow_next_cursor(replay: ReplayServer, client: AsyncLetta) -> None:
    route = f"/v1/agents/{AGENT}/files"

    def attachment(n: int) -> dict[str, Any]:
        return {
            "id": f"file_agent-{n}",
            "file_id": f"file-{n}",
            "file_name": f"f{n}.txt",
            "folder_id": "source-1",
            "folder_name": "docs",
            "is_open": n == 0,
        }

    replay.on(
        "GET",
        route,
        json_answer(
            {"files": [attachment(0), attachment(1)], "next_cursor": "c1", "has_more": True}
        ),
        json_answer({"files": [attachment(2)], "next_cursor": None, "has_more": False}),
    )
    names = [f.file_name async for f in client.agents.files.list(AGENT, limit=2, is_open=False)]
    assert names == ["f0.txt", "f1.txt", "f2.txt"]
    queries = [r.query for r in replay.seen("GET", route)]
    # The next page is after=<last id>, as the official AsyncNextFilesPage asks for it
    # (``cursor`` is deprecated on this route); has_more=false ends the walk.
    assert queries == [
        {"limit": "2", "is_open": "false"},
        {"limit": "2", "is_open": "false", "after": "file_agent-1"},
    ]
    replay.on("PATCH", f"{route}/file-1/open", json_answer(["f0.txt"]))
    replay.on("PATCH", f"{route}/file-1/close", json_answer({}))
    replay.on("PATCH", f"{route}/close-all", json_answer(["f1.txt"]))
    assert await client.agents.files.open("file-1", agent_id=AGENT) == ["f0.txt"]
    await client.agents.files.close("file-1", agent_id=AGENT)
    assert await client.agents.files.close_all(AGENT) == ["f1.txt"]


# --- conversations -------------------------------------------------------------------------


def conversation(**extra: Any) -> dict[str, Any]:
    return {"id": CONV, "agent_id": AGENT, **extra}


async def test_conversation_fork_compact_recompile_preview(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    base = f"/v1/conversations/{CONV}"
    replay.on("POST", f"{base}/fork", json_answer(conversation(id="conv-2")))
    compacted = {"summary": "s", "num_messages_before": 9, "num_messages_after": 2}
    replay.on("POST", f"{base}/compact", json_answer(compacted), json_answer(compacted))
    replay.on("POST", f"{base}/recompile", json_answer('"prompt"'))
    replay.on("POST", f"{base}/messages/preview-raw-payload", json_answer({"ok": True}))
    forked = await client.conversations.fork(CONV, agent_id=AGENT)
    assert forked.id == "conv-2"
    assert replay.seen("POST", f"{base}/fork")[0].query == {"agent_id": AGENT}
    result = await client.conversations.messages.compact(
        CONV, compaction_settings={"model": "openai/gpt-4o-mini"}
    )
    assert result.num_messages_after == 2
    assert replay.seen("POST", f"{base}/compact")[0].json() == {
        "compaction_settings": {"model": "openai/gpt-4o-mini"}
    }
    assert (await client.conversations.messages.compact(CONV)).summary == "s"
    assert await client.conversations.recompile(CONV, dry_run=True) == '"prompt"'
    assert replay.seen("POST", f"{base}/recompile")[0].query == {"dry_run": "true"}
    assert await client.conversations.messages.preview_raw_payload(CONV, input="hi") == {"ok": True}


async def test_conversation_create_update_and_list_send_typed_fields(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("POST", "/v1/conversations/", json_answer(conversation()))
    replay.on("PATCH", f"/v1/conversations/{CONV}", json_answer(conversation(summary="t")))
    replay.on("GET", "/v1/conversations/", json_answer([conversation()]))
    await client.conversations.create(
        agent_id=AGENT, summary="s", extra_body={"isolated_block_labels": ["todo"]}
    )
    created = replay.seen("POST", "/v1/conversations/")[0]
    assert created.query == {"agent_id": AGENT}
    assert created.json() == {"summary": "s", "isolated_block_labels": ["todo"]}
    updated = await client.conversations.update(CONV, summary="t", extra_body={"custom": "kept"})
    assert updated.summary == "t"
    assert replay.seen("PATCH", f"/v1/conversations/{CONV}")[0].json() == {
        "summary": "t",
        "custom": "kept",
    }
    listed = await client.conversations.list(agent_id=AGENT, order_by="last_message_at", limit=1)
    assert [c.id for c in listed] == [CONV]
    assert replay.seen("GET", "/v1/conversations/")[0].query == {
        "agent_id": AGENT,
        "limit": "1",
        "order_by": "last_message_at",
    }


async def test_conversation_stream_replays_the_background_run(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    route = f"/v1/conversations/{CONV}/stream"
    replay.on("POST", route, sse_answer(fixture_bytes("background_replay_full.sse")))
    stream = client.conversations.messages.stream(CONV, agent_id=AGENT)
    events = await stream.until_done()
    assert stream.run_id == "run-92a0164b-8c60-49e2-859b-1b3ac5b2c43c"
    assert stream.stop_reason == "end_turn" and stream.resumes == 0
    assert any(isinstance(e, AssistantMessage) for e in events)
    request = replay.seen("POST", route)[0]
    assert request.json() == {"agent_id": AGENT}, "only what was passed"
    assert "User-Agent" not in request.headers


# --- the message store, steps, runs --------------------------------------------------------


async def test_global_messages_list_retrieve_search(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    page1 = [
        message("user_message", "m-3", content="c"),
        message("user_message", "m-4", content="d"),
    ]
    page2 = [
        message("user_message", "m-1", content="a"),
        message("user_message", "m-2", content="b"),
    ]
    replay.on("GET", "/v1/messages/", json_answer(page1), json_answer(page2))
    # The official messages.list is one plain list, in the server's order.
    first = await client.messages.list(limit=2)
    assert [m.id for m in first] == ["m-3", "m-4"]  # type: ignore[union-attr]
    older = await client.messages.list(limit=2, before=first[0].id)  # type: ignore[union-attr]
    assert [m.id for m in older] == ["m-1", "m-2"]  # type: ignore[union-attr]
    cursors = [r.query.get("before") for r in replay.seen("GET", "/v1/messages/")]
    assert cursors == [None, "m-3"]

    replay.on(
        "GET",
        "/v1/messages/message-9",
        json_answer([message("assistant_message", "message-9", content="hi")]),
    )
    (one,) = await client.messages.retrieve("message-9")
    assert isinstance(one, AssistantMessage) and one.content == "hi"

    replay.on(
        "POST",
        "/v1/messages/search",
        json_answer(
            [
                {
                    "message_type": "assistant_message",
                    "content": "hi",
                    "message_id": "message-9",
                    "agent_id": AGENT,
                    "created_at": DATE,
                }
            ]
        ),
    )
    found = await client.messages.search(
        query="hi", search_mode="hybrid", start_date=datetime(2026, 1, 1, tzinfo=timezone.utc)
    )
    assert type(found[0]).__name__ == "MessageSearchResponseItemAssistantMessageListResult"
    assert found[0].content == "hi" and found[0].message_id == "message-9"  # type: ignore[union-attr]
    assert replay.seen("POST", "/v1/messages/search")[0].json() == {
        "query": "hi",
        "search_mode": "hybrid",
        "start_date": "2026-01-01T00:00:00Z",
    }


async def test_steps_messages_trace_transaction_and_run_trace(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on(
        "GET",
        "/v1/steps/step-1/messages",
        json_answer([message("user_message", "m-1", content="a")]),
        json_answer([]),
    )
    replay.on("GET", "/v1/steps/step-1/trace", json_answer(None))
    replay.on("GET", "/v1/steps/step-1/metrics", json_answer({"id": "step-1", "step_ns": 5}))
    replay.on("PATCH", "/v1/steps/step-1/transaction/tx-9", json_answer({"id": "step-1"}))
    replay.on("GET", "/v1/runs/run-1/trace", json_answer([{"name": "span"}]))
    replay.on("GET", "/v1/runs/run-1/metrics", json_answer({"id": "run-1", "num_steps": 2}))
    messages = [m async for m in client.steps.messages.list("step-1")]
    assert isinstance(messages[0], UserMessage)
    assert await client.steps.trace.retrieve("step-1") is None
    metrics = await client.steps.metrics.retrieve("step-1")
    assert isinstance(metrics, MetricRetrieveResponse) and metrics.step_ns == 5
    assert (await client.steps.update_transaction_id("tx-9", step_id="step-1")).id == "step-1"
    assert await client.runs.trace.retrieve("run-1", limit=10) == [{"name": "span"}]
    assert replay.seen("GET", "/v1/runs/run-1/trace")[0].query == {"limit": "10"}
    run_metrics = await client.runs.metrics.retrieve("run-1")
    assert run_metrics == {"id": "run-1", "num_steps": 2}  # outside the official SDK: JSON


# --- chat completions ----------------------------------------------------------------------


def chunk(text: str | None, finish: str | None = None, role: str | None = None) -> dict[str, Any]:
    delta: dict[str, Any] = {"content": text, "role": role}
    return {
        "id": "chatcmpl-run-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "fake-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }


async def test_chat_completion_stream_yields_typed_chunks(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    body = sse(chunk("Hel", role="assistant"), chunk("lo"), chunk(None, finish="stop"))
    replay.on("POST", "/v1/chat/completions", sse_answer(body, chunk=7))
    async with client.chat.completions.stream(
        model=AGENT, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        chunks = [c async for c in stream]
    assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
    assert "".join(c.text for c in chunks) == "Hello"
    assert chunks[-1].choices[0].finish_reason == "stop" and stream.completed
    request = replay.seen("POST", "/v1/chat/completions")[0]
    assert request.json() == {
        "model": AGENT,
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
    }
    assert request.headers["Accept"] == "text/event-stream"


async def test_chat_completion_create_assembles_the_stream(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    body = sse(chunk("Hel", role="assistant"), chunk("lo"), chunk(None, finish="stop"))
    replay.on("POST", "/v1/chat/completions", sse_answer(body))
    completion = await client.chat.completions.create(
        model=AGENT, messages=[{"role": "user", "content": "hi"}], temperature=0.2
    )
    assert completion.id == "chatcmpl-run-1" and completion.object == "chat.completion"
    assert completion.choices[0].message.content == "Hello"
    assert completion.choices[0].finish_reason == "stop"
    assert replay.seen("POST", "/v1/chat/completions")[0].json()["temperature"] == 0.2


async def test_chat_completion_in_band_error_raises(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    body = sse(
        chunk("Hel", role="assistant"),
        {"error": {"message": "boom", "type": "server_error"}},
        done=False,
    )
    replay.on("POST", "/v1/chat/completions", sse_answer(body))
    stream = client.chat.completions.stream(
        model=AGENT, messages=[{"role": "user", "content": "x"}]
    )
    received: list[ChatCompletionChunk] = []
    with pytest.raises(StreamError, match="server_error: boom"):
        async for c in stream:
            received.append(c)
    assert [c.text for c in received] == ["Hel"]


# --- MCP servers ---------------------------------------------------------------------------

STDIO = {
    "id": "mcp_server-1",
    "server_name": "local",
    "mcp_server_type": "stdio",
    "command": "npx",
    "args": ["server"],
}


async def test_mcp_servers(replay: ReplayServer, client: AsyncLetta) -> None:
    sse_server = {
        "id": "mcp_server-2",
        "server_name": "remote",
        "mcp_server_type": "sse",
        "server_url": "http://x",
    }
    replay.on("POST", "/v1/mcp-servers/", json_answer(STDIO))
    replay.on("GET", "/v1/mcp-servers/", json_answer([STDIO, sse_server]))
    replay.on("GET", "/v1/mcp-servers/mcp_server-2", json_answer(sse_server))
    replay.on("PATCH", "/v1/mcp-servers/mcp_server-1", json_answer(STDIO))
    replay.on("DELETE", "/v1/mcp-servers/mcp_server-1", json_answer(None, status=204))
    replay.on("PATCH", "/v1/mcp-servers/mcp_server-1/refresh", json_answer({}))
    replay.on(
        "GET", "/v1/mcp-servers/mcp_server-1/tools", json_answer([{"id": "tool-1", "name": "t"}])
    )
    replay.on("GET", "/v1/mcp-servers/mcp_server-1/tools/tool-1", json_answer({"id": "tool-1"}))
    replay.on(
        "POST",
        "/v1/mcp-servers/mcp_server-1/tools/tool-1/run",
        json_answer({"status": "success", "func_return": {"x": 1}}),
    )
    created = await client.mcp_servers.create(
        server_name="local",
        config={"mcp_server_type": "stdio", "command": "npx", "args": ["server"]},
    )
    assert isinstance(created, StdioMcpServer) and created.command == "npx"
    listed = await client.mcp_servers.list()
    assert [type(s) for s in listed] == [StdioMcpServer, SseMcpServer]
    assert isinstance(await client.mcp_servers.retrieve("mcp_server-2"), SseMcpServer)
    await client.mcp_servers.update(
        "mcp_server-1", config={"mcp_server_type": "stdio", "command": "uvx"}
    )
    assert replay.seen("PATCH", "/v1/mcp-servers/mcp_server-1")[0].json() == {
        "config": {"mcp_server_type": "stdio", "command": "uvx"}
    }
    await client.mcp_servers.refresh("mcp_server-1", agent_id=AGENT)
    assert replay.seen("PATCH", "/v1/mcp-servers/mcp_server-1/refresh")[0].query == {
        "agent_id": AGENT
    }
    assert [t.name for t in await client.mcp_servers.tools.list("mcp_server-1")] == ["t"]
    assert (await client.mcp_servers.tools.retrieve("tool-1", mcp_server_id="mcp_server-1")).id
    ran = await client.mcp_servers.tools.run("tool-1", mcp_server_id="mcp_server-1", args={"a": 1})
    assert ran.func_return == {"x": 1}
    await client.mcp_servers.delete("mcp_server-1")
    assert len(replay.seen("DELETE", "/v1/mcp-servers/mcp_server-1")) == 1


async def test_mcp_connect_is_an_event_stream(replay: ReplayServer, client: AsyncLetta) -> None:
    events = [{"event": "connection_attempt"}, {"event": "success", "tools": []}]
    replay.on("GET", "/v1/mcp-servers/connect/mcp_server-1", sse_answer(sse(*events, done=False)))
    received = await client.mcp_servers.connect("mcp_server-1").until_done()
    assert received == events


async def test_legacy_mcp_routes_by_server_name(replay: ReplayServer, client: AsyncLetta) -> None:
    config = {"server_name": "local", "type": "stdio", "command": "npx", "args": []}
    replay.on("GET", "/v1/tools/mcp/servers", json_answer({"local": config}))
    replay.on("PUT", "/v1/tools/mcp/servers", json_answer([config]))
    replay.on("POST", "/v1/tools/mcp/servers/test", json_answer({"status": "success"}))
    replay.on(
        "GET", "/v1/tools/mcp/servers/local/tools", json_answer([{"name": "t", "inputSchema": {}}])
    )
    replay.on("POST", "/v1/tools/mcp/servers/local/t", json_answer({"id": "tool-1", "name": "t"}))
    replay.on("POST", "/v1/tools/mcp/servers/local/resync", json_answer({}))
    replay.on("POST", "/v1/tools/mcp/servers/local/tools/t/execute", json_answer({"result": 1}))
    replay.on("DELETE", "/v1/tools/mcp/servers/local", json_answer([]))
    legacy = client.tools.mcp_servers
    assert (await legacy.list_servers())["local"]["command"] == "npx"
    assert await legacy.add_server(body=config) == [config]
    assert replay.seen("PUT", "/v1/tools/mcp/servers")[0].json() == config
    assert await legacy.test_server(body=config) == {"status": "success"}
    assert (await legacy.list_tools("local"))[0] == {"name": "t", "inputSchema": {}}
    assert (await legacy.add_tool("t", mcp_server_name="local")).id == "tool-1"
    await legacy.resync_tools("local", agent_id=AGENT)
    assert await legacy.execute_tool("t", mcp_server_name="local", args={"a": 1}) == {"result": 1}
    assert replay.seen("POST", "/v1/tools/mcp/servers/local/tools/t/execute")[0].json() == {
        "args": {"a": 1}
    }
    assert await legacy.delete_server("local") == []


# --- tools, blocks, passages, folders, embeddings, providers -------------------------------


async def test_tool_helpers(replay: ReplayServer, client: AsyncLetta) -> None:
    tool = {"id": "tool-1", "name": "roll"}
    replay.on("POST", "/v1/tools/search", json_answer([{"tool": tool, "combined_score": 0.9}]))
    replay.on("POST", "/v1/tools/add-base-tools", json_answer([tool]))
    replay.on(
        "POST",
        "/v1/tools/run",
        json_answer(
            message(
                "tool_return_message", "m-1", tool_return="4", status="success", tool_call_id="c"
            )
        ),
    )
    replay.on("POST", "/v1/tools/generate-schema", json_answer({"name": "roll"}))
    replay.on(
        "POST",
        "/v1/tools/generate-tool",
        json_answer({"tool": tool, "sample_args": {}, "response": "ok"}),
    )
    hits = await client.tools.search(query="dice", search_mode="fts", limit=3)
    assert isinstance(hits[0], ToolSearchResult)
    assert hits[0].tool.name == "roll" and hits[0].combined_score == 0.9
    assert replay.seen("POST", "/v1/tools/search")[0].json() == {
        "query": "dice",
        "search_mode": "fts",
        "limit": 3,
    }
    assert [t.name for t in await client.tools.add_base_tools()] == ["roll"]
    ran = await client.tools.run_from_source(source_code="def roll(): ...", args={})
    assert isinstance(ran, ToolReturnMessage) and ran.tool_return == "4"
    assert await client.tools.generate_json_schema(code="def roll(): ...") == {"name": "roll"}
    made = await client.tools.generate(tool_name="roll", prompt="roll dice", validation_errors=[])
    assert made == {"tool": tool, "sample_args": {}, "response": "ok"}


async def test_block_identities_and_passage_search(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    block = {"id": "block-1", "value": "v"}
    replay.on("PATCH", "/v1/blocks/block-1/identities/attach/identity-1", json_answer(block))
    replay.on("PATCH", "/v1/blocks/block-1/identities/detach/identity-1", json_answer(block))
    assert (await client.blocks.identities.attach("identity-1", block_id="block-1")).id == "block-1"
    assert (await client.blocks.identities.detach("identity-1", block_id="block-1")).id == "block-1"
    passage = {"text": "t", "embedding": None, "embedding_config": None}
    replay.on("POST", "/v1/passages/search", json_answer([{"passage": passage, "score": 0.7}]))
    results = await client.passages.search(
        query="t", archive_id="archive-1", end_date=datetime(2026, 5, 1, tzinfo=timezone.utc)
    )
    assert results[0].score == 0.7 and results[0].passage.text == "t"
    assert replay.seen("POST", "/v1/passages/search")[0].json() == {
        "query": "t",
        "archive_id": "archive-1",
        "end_date": "2026-05-01T00:00:00Z",
    }


async def test_folder_metadata_storage_size_and_provider_check(
    replay: ReplayServer, client: AsyncLetta
) -> None:
    replay.on("GET", "/v1/folders/metadata", json_answer({"total_sources": 2, "total_files": 3}))
    replay.on("GET", "/v1/embeddings/total_storage_size", json_answer(1.5))
    replay.on("POST", "/v1/providers/provider-1/check", json_answer({"message": "Valid"}))
    stats = await client.folders.retrieve_metadata(include_detailed_per_source_metadata=True)
    assert stats == {"total_sources": 2, "total_files": 3}
    assert await client.embeddings.total_storage_size(storage_unit="MB") == 1.5
    assert (
        replay.seen("GET", "/v1/embeddings/total_storage_size")[0].headers["storage-unit"] == "MB"
    )
    await client.providers.check_existing("provider-1")


# --- sandbox configuration, jobs -----------------------------------------------------------


async def test_sandbox_config_and_env_vars(replay: ReplayServer, client: AsyncLetta) -> None:
    config = {"id": "sandbox-1", "type": "local", "config": {"use_venv": True}}
    var = {"id": "env-1", "key": "K", "value": "V", "sandbox_config_id": "sandbox-1"}
    replay.on("POST", "/v1/sandbox-config/", json_answer(config))
    replay.on("GET", "/v1/sandbox-config/", json_answer([config]), json_answer([]))
    replay.on("POST", "/v1/sandbox-config/local/default", json_answer(config))
    replay.on("POST", "/v1/sandbox-config/e2b/default", json_answer(config))
    replay.on("POST", "/v1/sandbox-config/local", json_answer(config))
    replay.on("POST", "/v1/sandbox-config/local/recreate-venv", json_answer(config))
    replay.on("PATCH", "/v1/sandbox-config/sandbox-1", json_answer(config))
    replay.on("DELETE", "/v1/sandbox-config/sandbox-1", json_answer(None, status=204))
    env = "/v1/sandbox-config/sandbox-1/environment-variable"
    replay.on("POST", env, json_answer(var))
    replay.on("GET", env, json_answer([var]), json_answer([]))
    replay.on("PATCH", "/v1/sandbox-config/environment-variable/env-1", json_answer(var))
    replay.on(
        "DELETE", "/v1/sandbox-config/environment-variable/env-1", json_answer(None, status=204)
    )

    # Routes outside the official SDK: plain JSON both ways.
    made = await client.sandbox_config.create(config={"use_venv": True})
    assert made == config
    assert replay.seen("POST", "/v1/sandbox-config/")[0].json() == {"config": {"use_venv": True}}
    assert [c["id"] async for c in client.sandbox_config.list(sandbox_type="local")] == [  # type: ignore[index]
        "sandbox-1"
    ]
    assert [r.query for r in replay.seen("GET", "/v1/sandbox-config/")] == [
        {"sandbox_type": "local"},
        {"sandbox_type": "local", "after": "sandbox-1"},
    ]
    await client.sandbox_config.create_default_local()
    await client.sandbox_config.create_default_e2b()
    await client.sandbox_config.create_local(pip_requirements=[{"name": "numpy"}])
    assert replay.seen("POST", "/v1/sandbox-config/local")[0].json() == {
        "pip_requirements": [{"name": "numpy"}]
    }
    await client.sandbox_config.recreate_local_venv()
    await client.sandbox_config.update("sandbox-1", config={"use_venv": False})
    await client.sandbox_config.delete("sandbox-1")
    created = await client.sandbox_config.environment_variables.create(
        "sandbox-1", key="K", value="V"
    )
    assert created == var
    listed = client.sandbox_config.environment_variables.list("sandbox-1")
    keys = [v["key"] async for v in listed]  # type: ignore[index]
    assert keys == ["K"]
    await client.sandbox_config.environment_variables.update("env-1", value="W")
    assert replay.seen("PATCH", "/v1/sandbox-config/environment-variable/env-1")[0].json() == {
        "value": "W"
    }
    await client.sandbox_config.environment_variables.delete("env-1")


async def test_jobs(replay: ReplayServer, client: AsyncLetta) -> None:
    job = {"id": "job-1", "status": "running", "job_type": "job"}
    replay.on("GET", "/v1/jobs/", json_answer([job]), json_answer([]))
    replay.on("GET", "/v1/jobs/job-1", json_answer(job))
    replay.on("PATCH", "/v1/jobs/job-1/cancel", json_answer({**job, "status": "cancelled"}))
    replay.on("DELETE", "/v1/jobs/job-1", json_answer(job))
    assert [j async for j in client.jobs.list(active=True)] == [job]
    assert replay.seen("GET", "/v1/jobs/")[0].query == {"active": "true"}
    assert await client.jobs.retrieve("job-1") == job
    assert await client.jobs.cancel("job-1") == {**job, "status": "cancelled"}
    assert await client.jobs.delete("job-1") == job
