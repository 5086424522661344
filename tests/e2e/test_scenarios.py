"""The client's public API against a real Letta 0.16.8 server, one scenario per test.

Each scenario uses only what a user of ``letta_async`` can reach: no transport internals, no
raw HTTP. Replies are deterministic because the LLM behind the server is ``fake_llm.py``,
steered by markers in the message text (``[tool]``, ``[delay=N]``, ``[error500]``, ...).
Every test gets its own agent, so histories and runs never leak between scenarios.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import msgspec
import pytest

import letta_async
from letta_async import types as lt

from .conftest import agent_body, create_agent
from .fake_llm import AFTER_TOOL_TEXT, REPLY_TEXT
from .proxy import CuttingProxy
from .stack import LettaServer

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

GHOST_AGENT = "agent-00000000-0000-4000-8000-000000000000"


# --- helpers --------------------------------------------------------------------------------


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def kinds(events: Sequence[Any]) -> list[str]:
    return [event.message_type for event in events]


def of_kind(events: Sequence[Any], kind: str) -> list[Any]:
    return [event for event in events if event.message_type == kind]


def ids(items: Sequence[Any]) -> list[str]:
    """Ids of history items; a history holds only messages, and every message has one."""
    assert all(isinstance(m, lt.LettaMessage) for m in items), kinds(items)
    return [m.id for m in items]


def text_of(content: Any) -> str:
    """Assistant content is a string, or a list of text parts in some server versions."""
    if isinstance(content, str):
        return content
    return "".join(getattr(part, "text", "") or "" for part in content or [])


def wire(event: Any) -> Any:
    """An event as plain data, so two events compare by content rather than identity."""
    return msgspec.to_builtins(event)


def numbered(events: Sequence[Any]) -> list[Any]:
    """The frames a background run stored in Redis: everything with a ``seq_id``.

    Keep-alive pings added while a reader waits carry none and differ per reader, so a
    comparison between two readers of the same run leaves them out.
    """
    return [wire(e) for e in events if getattr(e, "seq_id", None) is not None]


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[letta_async.AsyncLetta]:
    async with letta_async.AsyncLetta(base_url=base_url) as c:
        yield c


@pytest.fixture
async def agent_id(client: letta_async.AsyncLetta) -> str:
    return await create_agent(client)


@pytest.fixture
async def proxy(base_url: str) -> AsyncIterator[CuttingProxy]:
    host, port = base_url.removeprefix("http://").split(":")
    relay = CuttingProxy(host, int(port))
    await relay.start()
    try:
        yield relay
    finally:
        await relay.close()


# --- agents and plain streaming -------------------------------------------------------------


async def test_create_agent(client: letta_async.AsyncLetta) -> None:
    body = agent_body()
    agent = await client.agents.create(
        name=body["name"],
        model=body["model"],
        embedding=body["embedding"],
        memory_blocks=body["memory_blocks"],
    )
    assert agent.id.startswith("agent-")
    assert agent.name == body["name"]
    again = await client.agents.retrieve(agent.id, include=["agent.blocks"])
    assert again.id == agent.id
    assert {b.label for b in again.blocks} >= {"human", "persona"}
    # Without include= the server leaves relationships out, as it does for the official SDK.
    plain = await client.agents.retrieve(agent.id)
    assert plain.blocks == []


async def test_stream_steps(client: letta_async.AsyncLetta, agent_id: str) -> None:
    stream = client.agents.messages.stream(agent_id, messages=user("hi"))
    events = [event async for event in stream]

    assert kinds(events) == ["ping", "assistant_message", "stop_reason", "usage_statistics"]
    assert isinstance(events[0], lt.LettaPing)
    assert isinstance(events[1], lt.AssistantMessage)
    assert text_of(events[1].content) == REPLY_TEXT
    assert stream.run_id is not None
    assert stream.run_id.startswith("run-")
    assert events[1].run_id == stream.run_id
    assert stream.stop_reason == "end_turn"
    assert stream.usage is not None
    assert stream.usage.step_count == 1
    assert stream.last_seq_id is None  # foreground streams are not numbered


async def test_stream_tokens(client: letta_async.AsyncLetta, agent_id: str) -> None:
    async with client.agents.messages.stream(
        agent_id, messages=user("hi"), stream_tokens=True
    ) as stream:
        events = [event async for event in stream]

    deltas = of_kind(events, "assistant_message")
    assert len(deltas) > 1, "token streaming should split the reply"
    assert len({d.id for d in deltas}) == 1, "token deltas of one message share its id"
    assert "".join(text_of(d.content) for d in deltas) == REPLY_TEXT
    assert stream.stop_reason == "end_turn"


async def test_pings_during_slow_reply(client: letta_async.AsyncLetta, agent_id: str) -> None:
    # The server pings at once, then after every 2 s of silence (LETTA_KEEPALIVE_INTERVAL=2);
    # the LLM waits 6 s, so at least two keep-alive pings must arrive before the reply.
    stream = client.agents.messages.stream(agent_id, messages=user("hi [delay=6]"))
    events = [event async for event in stream]

    before_reply = kinds(events)[: kinds(events).index("assistant_message")]
    assert before_reply.count("ping") >= 3, kinds(events)
    assert set(before_reply) == {"ping"}
    assert all(p.run_id == stream.run_id for p in of_kind(events, "ping"))
    assert stream.stop_reason == "end_turn"


async def test_tool_call_and_return(client: letta_async.AsyncLetta, agent_id: str) -> None:
    stream = client.agents.messages.stream(agent_id, messages=user("look it up [tool]"))
    events = [event async for event in stream]

    assert kinds(events) == [
        "ping",
        "tool_call_message",
        "tool_return_message",
        "assistant_message",
        "stop_reason",
        "usage_statistics",
    ]
    call, ret, answer = events[1], events[2], events[3]
    assert isinstance(call, lt.ToolCallMessage)
    assert isinstance(ret, lt.ToolReturnMessage)
    assert isinstance(answer, lt.AssistantMessage)
    assert call.tool_call is not None
    assert call.tool_call.name == "conversation_search"
    assert ret.tool_call_id == call.tool_call.tool_call_id
    assert ret.status == "success"
    assert text_of(answer.content) == AFTER_TOOL_TEXT
    assert stream.usage is not None
    assert stream.usage.step_count == 2


async def test_non_streaming_create(client: letta_async.AsyncLetta, agent_id: str) -> None:
    response = await client.agents.messages.create(agent_id, messages=user("hi"))

    answers = of_kind(response.messages, "assistant_message")
    assert [text_of(a.content) for a in answers] == [REPLY_TEXT]
    stop = response.stop_reason
    assert getattr(stop, "stop_reason", stop) == "end_turn"
    assert response.usage is not None
    assert response.usage.step_count == 1


async def test_create_async_and_wait(client: letta_async.AsyncLetta, agent_id: str) -> None:
    run = await client.agents.messages.create_async(agent_id, messages=user("hi [tool]"))
    assert run.id.startswith("run-")
    assert run.status in ("created", "running")

    finished = await client.runs.wait(run.id, poll_interval=0.25, timeout=60)
    assert finished.id == run.id
    assert finished.status == "completed"
    again = await client.runs.retrieve(run.id)
    assert again.status == "completed"


async def test_history_pagination_both_directions(
    client: letta_async.AsyncLetta, agent_id: str
) -> None:
    for word in ("one", "two", "three", "four"):
        await client.agents.messages.create(agent_id, messages=user(word))

    desc_pages = [
        ids(page.items)
        async for page in (await client.agents.messages.list(agent_id, limit=3)).iter_pages()
    ]
    oldest_first = [m async for m in client.agents.messages.list(agent_id, limit=3, order="asc")]
    ids_asc = ids(oldest_first)
    # Each desc page is the newest messages before the previous one, in the server's order
    # (oldest to newest within the page); together they are the asc walk, page by page.
    assert all(page for page in desc_pages[:-1])
    assert [i for page in reversed(desc_pages) for i in page] == ids_asc
    newest_first = [m async for m in client.agents.messages.list(agent_id, limit=3)]
    assert ids(newest_first) == [i for page in desc_pages for i in page]
    # One stored message can expand into several items sharing its id, never across pages.
    assert len(ids_asc) >= 8
    said = [text_of(m.content) for m in of_kind(oldest_first, "user_message")]
    assert [s for s in said if s in {"one", "two", "three", "four"}] == [
        "one",
        "two",
        "three",
        "four",
    ]

    # Cursor by hand: a first page, then the pages before and after a known item.
    page = await client.agents.messages.list(agent_id, limit=3)
    assert ids(page.items) == desc_pages[0]
    pivot = ids_asc[3]
    earlier = ids([m async for m in client.agents.messages.list(agent_id, before=pivot)])
    later = ids([m async for m in client.agents.messages.list(agent_id, after=pivot, order="asc")])
    assert earlier == ids_asc[:3]
    assert later == ids_asc[4:]


# --- background runs: resume and replay -----------------------------------------------------


async def test_background_stream_resumes_after_disconnect(
    proxy: CuttingProxy, agent_id: str
) -> None:
    """A connection cut mid-run is resumed by the client, with nothing lost or repeated."""
    async with letta_async.AsyncLetta(base_url=proxy.url) as via_proxy:
        stream = via_proxy.agents.messages.stream(
            agent_id,
            messages=user("hi [tool] [chunkdelay=0.3]"),
            stream_tokens=True,
            background=True,
        )
        seen: list[Any] = []
        async with stream:
            async for event in stream:
                seen.append(event)
                if len(numbered(seen)) == 4 and not proxy.severed:
                    assert proxy.sever() >= 1
        run_id = stream.run_id
        assert run_id is not None
        assert proxy.severed >= 1
        assert stream.resumes >= 1, "the stream should have reconnected to its run"
        assert stream.stop_reason == "end_turn"

        full = [event async for event in via_proxy.runs.stream(run_id)]

    seq_ids = [e["seq_id"] for e in numbered(seen)]
    assert seq_ids == sorted(set(seq_ids)), f"duplicates or disorder: {seq_ids}"
    assert numbered(seen) == numbered(full)
    answer = "".join(text_of(e.content) for e in of_kind(seen, "assistant_message"))
    assert answer == AFTER_TOOL_TEXT


async def test_runs_stream_starting_after(
    client: letta_async.AsyncLetta, proxy: CuttingProxy, agent_id: str
) -> None:
    """Persist (run_id, last_seq_id), drop the stream, carry on later from exactly there.

    The relay holds the server's bytes for a moment, so several frames reach the client in
    one read: ``last_seq_id`` must still name the last event *handed out*, not the last one
    received, or the events buffered behind it would be skipped on resume.
    """
    proxy.coalesce = 0.5
    async with letta_async.AsyncLetta(base_url=proxy.url) as via_proxy:
        first = via_proxy.agents.messages.stream(
            agent_id,
            messages=user("hi [tool] [chunkdelay=0.1]"),
            stream_tokens=True,
            background=True,
        )
        part1: list[Any] = []
        async with first:
            async for event in first:
                part1.append(event)
                if len(numbered(part1)) == 5:
                    break
    assert proxy.most_frames_per_write > 1, "the relay should have merged frames"
    run_id, last_seq_id = first.run_id, first.last_seq_id
    assert run_id is not None
    assert last_seq_id is not None
    assert last_seq_id == numbered(part1)[-1]["seq_id"]

    rest = client.runs.stream(run_id, starting_after=last_seq_id)
    part2 = [event async for event in rest]
    assert rest.stop_reason == "end_turn"

    full = [event async for event in client.runs.stream(run_id)]
    assert numbered(part1) + numbered(part2) == numbered(full)
    assert numbered(part2)[0]["seq_id"] == last_seq_id + 1


async def test_cancel_mid_run(client: letta_async.AsyncLetta, agent_id: str) -> None:
    stream = client.agents.messages.stream(
        agent_id, messages=user("hi [tool] [chunkdelay=0.5]"), stream_tokens=True
    )
    seen: list[Any] = []
    async with stream:
        async for event in stream:
            seen.append(event)
            if event.message_type == "tool_call_message" and stream.stop_reason is None:
                # Reads on until the server confirms; what arrived meanwhile stays iterable.
                await stream.cancel()
    assert stream.stop_reason == "cancelled"
    assert of_kind(seen, "stop_reason")[-1].stop_reason == "cancelled"
    answer = "".join(text_of(e.content) for e in of_kind(seen, "assistant_message"))
    assert answer != AFTER_TOOL_TEXT, "the run should stop before its answer is complete"
    assert stream.run_id is not None
    run = await client.runs.wait(stream.run_id, poll_interval=0.25, timeout=30)
    assert run.status == "cancelled"


async def test_foreground_disconnect_is_not_a_cancel(
    client: letta_async.AsyncLetta, agent_id: str
) -> None:
    stream = client.agents.messages.stream(
        agent_id, messages=user("hi [chunkdelay=0.2]"), stream_tokens=True
    )
    async with stream:
        async for event in stream:
            if event.message_type == "assistant_message":
                break
    assert stream.run_id is not None
    run = await client.runs.wait(stream.run_id, poll_interval=0.25, timeout=30)
    assert run.status == "completed"


# --- errors ---------------------------------------------------------------------------------


async def test_http_404(client: letta_async.AsyncLetta) -> None:
    with pytest.raises(letta_async.NotFoundError) as caught:
        await client.agents.retrieve(GHOST_AGENT)
    assert caught.value.status_code == 404
    assert caught.value.detail is not None
    assert GHOST_AGENT in caught.value.detail

    with pytest.raises(letta_async.NotFoundError):
        async for _ in client.agents.messages.stream(GHOST_AGENT, messages=user("hi")):
            pass


async def test_http_422(client: letta_async.AsyncLetta, agent_id: str) -> None:
    with pytest.raises(letta_async.UnprocessableEntityError) as caught:
        await client.agents.retrieve("not-an-id")
    assert caught.value.status_code == 422

    with pytest.raises(letta_async.UnprocessableEntityError):
        await client.agents.messages.create(
            agent_id, messages=[{"role": "wizard", "content": "hi"}]
        )


async def test_http_401_on_secure_server(secure_server: LettaServer) -> None:
    async with letta_async.AsyncLetta(base_url=secure_server.base_url, api_key="wrong") as bad:
        with pytest.raises(letta_async.AuthenticationError) as caught:
            await bad.agents.list(limit=1)
        assert caught.value.status_code == 401

    async with letta_async.AsyncLetta(
        base_url=secure_server.base_url, api_key=secure_server.password
    ) as good:
        page = await good.agents.list(limit=1)
        assert isinstance(page.items, list)


async def test_llm_500_is_a_typed_error_event(
    client: letta_async.AsyncLetta, agent_id: str
) -> None:
    # The official form: the events before the error, then StreamError (an APIStatusError).
    stream = client.agents.messages.stream(agent_id, messages=user("hi [error500]"))
    before: list[object] = []
    with pytest.raises(letta_async.StreamError) as raised:
        async for event in stream:
            before.append(event)
    assert isinstance(raised.value, letta_async.APIStatusError)
    assert raised.value.status_code == 200
    assert isinstance(raised.value.body, dict)
    assert raised.value.body["error_type"] == "llm_error"
    assert of_kind(before, "stop_reason") and not of_kind(before, "error_message")

    # The in-band form, on request.
    stream = client.agents.messages.stream(
        agent_id, messages=user("hi [error500]"), errors_as_events=True
    )
    events = [event async for event in stream]

    errors = of_kind(events, "error_message")
    assert len(errors) == 1
    assert isinstance(errors[0], lt.LettaErrorMessage)
    assert errors[0].error_type == "llm_error"
    assert stream.error is errors[0]
    assert stream.stop_reason == "llm_api_error"

    with pytest.raises(letta_async.StreamError) as caught:
        await client.agents.messages.stream(agent_id, messages=user("hi [error500]")).until_done()
    assert caught.value.run_id is not None

    with pytest.raises(letta_async.InternalServerError) as http_error:
        await client.agents.messages.create(agent_id, messages=user("hi [error500]"))
    assert http_error.value.status_code == 500


@pytest.mark.parametrize("marker", ["[midgarbage]", "[drop]"])
async def test_broken_llm_stream(
    client: letta_async.AsyncLetta, agent_id: str, marker: str
) -> None:
    stream = client.agents.messages.stream(
        agent_id, messages=user(f"hi {marker}"), stream_tokens=True, errors_as_events=True
    )
    events = [event async for event in stream]

    partial = "".join(text_of(e.content) for e in of_kind(events, "assistant_message"))
    assert partial
    assert REPLY_TEXT.startswith(partial)
    assert partial != REPLY_TEXT
    errors = of_kind(events, "error_message")
    assert [e.error_type for e in errors] == ["internal_error"]
    assert [e.stop_reason for e in of_kind(events, "stop_reason")] == ["error", "llm_api_error"]
    assert stream.completed, "an in-band error is a finished stream, not a truncated one"


# --- conversations --------------------------------------------------------------------------


async def test_conversation_stream(client: letta_async.AsyncLetta, agent_id: str) -> None:
    conversation = await client.conversations.create(agent_id=agent_id)
    assert conversation.id.startswith("conv-")
    assert conversation.agent_id == agent_id

    # The official create streams by default in a conversation.
    stream = await client.conversations.messages.create(conversation.id, messages=user("hi"))
    events = [event async for event in stream]

    assert [text_of(a.content) for a in of_kind(events, "assistant_message")] == [REPLY_TEXT]
    assert stream.stop_reason == "end_turn"
    assert stream.run_id is not None
