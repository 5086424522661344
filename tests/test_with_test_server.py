"""The client against ``letta_async.testing``: a whole Letta-shaped server with live runs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from letta_async import AsyncLetta, ResumeSettings, StreamError, Timeout
from letta_async.testing import Fault, LettaTestServer
from letta_async.types import (
    AssistantMessage,
    LettaPing,
    LettaStopReason,
    Run,
    ToolCallMessage,
    ToolReturnMessage,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
async def server() -> AsyncIterator[LettaTestServer]:
    async with LettaTestServer(keepalive_interval=0.05) as s:
        yield s


@pytest.fixture
async def client(server: LettaTestServer) -> AsyncIterator[AsyncLetta]:
    settings = ResumeSettings(initial_delay=0.01, max_delay=0.05)
    async with AsyncLetta(
        server.base_url, timeout=Timeout(stream_idle=2, request=5), resume=settings
    ) as c:
        yield c
        session = c.session
        assert session is not None and session.connector is not None
        assert not session.connector._acquired  # type: ignore[attr-defined]


def say(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


async def test_agent_lifecycle_and_stream(client: AsyncLetta) -> None:
    agent = await client.agents.create(name="t", model="openai-proxy/fake", embedding="e")
    assert (await client.agents.retrieve(agent.id)).name == "t"
    events = await client.agents.messages.stream(agent.id, messages=say("hi [tool]")).until_done()
    kinds = [type(e) for e in events]
    assert kinds[0] is LettaPing
    assert ToolCallMessage in kinds and ToolReturnMessage in kinds and AssistantMessage in kinds
    ids = [a.id async for a in client.agents.list()]
    assert agent.id in ids
    await client.agents.delete(agent.id)


async def test_background_run_cut_after_frames_resumes_exactly_once(
    server: LettaTestServer, client: AsyncLetta
) -> None:
    agent = server.create_agent(name="bg")
    server.faults.add(Fault(path=r"/messages/stream$", cut="after_frames", frames=3))
    stream = client.agents.messages.stream(
        agent["id"], messages=say("hi [tool] [tokens=20]"), stream_tokens=True, background=True
    )
    events = [e async for e in stream]
    assert stream.resumes == 1
    seqs = [e.seq_id for e in events if getattr(e, "seq_id", None) is not None]  # type: ignore[union-attr]
    assert seqs == list(range(1, len(seqs) + 1)), "every numbered frame once, in order"
    assert stream.stop_reason == "end_turn"
    replay = await client.runs.stream(stream.run_id or "", starting_after=0).until_done()
    replay_seqs = [e.seq_id for e in replay if getattr(e, "seq_id", None) is not None]  # type: ignore[union-attr]
    assert replay_seqs == seqs


async def test_cancel_mid_stream(server: LettaTestServer, client: AsyncLetta) -> None:
    agent = server.create_agent(name="c")
    stream = client.agents.messages.stream(
        agent["id"], messages=say("hi [tokens=200] [chunkdelay=0.02]"), stream_tokens=True
    )
    async with stream:
        seen = 0
        async for event in stream:
            if isinstance(event, AssistantMessage):
                seen += 1
                if seen == 3:
                    break
        await stream.cancel()
    assert stream.stop_reason == "cancelled"
    run = await client.runs.retrieve(stream.run_id or "")
    assert run.status == "cancelled"


async def test_cancel_during_long_wait_with_only_pings(
    server: LettaTestServer, client: AsyncLetta
) -> None:
    agent = server.create_agent(name="w")
    stream = client.agents.messages.stream(agent["id"], messages=say("hi [delay=30]"))
    with anyio.fail_after(10):
        first = await stream.__anext__()
        assert isinstance(first, LettaPing)
        await stream.cancel()
    assert stream.stop_reason == "cancelled"
    remaining = [e async for e in stream]
    assert isinstance(remaining[-1], LettaStopReason)


async def test_cancel_after_run_finished_is_a_no_op(
    server: LettaTestServer, client: AsyncLetta
) -> None:
    agent = server.create_agent(name="f")
    stream = client.agents.messages.stream(agent["id"], messages=say("hi"))
    await stream.until_done()
    await stream.cancel()
    assert stream.stop_reason == "end_turn"
    assert not server.requests_to(r"/messages/cancel$", "POST")


async def test_create_async_then_wait(server: LettaTestServer, client: AsyncLetta) -> None:
    agent = server.create_agent(name="a")
    run = await client.agents.messages.create_async(agent["id"], messages=say("hi"))
    assert isinstance(run, Run)
    finished = await client.runs.wait(run.id, poll_interval=0.05, timeout=10)
    assert finished.status == "completed"
    messages = [m async for m in client.runs.messages.list(run.id)]
    assert any(isinstance(m, AssistantMessage) for m in messages)


async def test_in_stream_llm_error(server: LettaTestServer, client: AsyncLetta) -> None:
    agent = server.create_agent(name="e")
    with pytest.raises(StreamError):
        await client.agents.messages.stream(agent["id"], messages=say("hi [error500]")).until_done()


async def test_conversation_stream_and_cancel(server: LettaTestServer, client: AsyncLetta) -> None:
    agent = server.create_agent(name="conv")
    conversation = await client.conversations.create(agent_id=agent["id"])
    # Sending in a conversation streams by default, as with the official SDK.
    first = await client.conversations.messages.create(conversation.id, messages=say("hi"))
    events = await first.until_done()
    assert any(isinstance(e, AssistantMessage) for e in events)
    stream = await client.conversations.messages.create(
        conversation.id, messages=say("hi [tokens=200] [chunkdelay=0.02]"), stream_tokens=True
    )
    async with stream:
        await stream.__anext__()
        await stream.cancel()
    assert stream.stop_reason == "cancelled"


async def test_resumable_falls_back_without_background_support(
    server: LettaTestServer, client: AsyncLetta
) -> None:

    agent = server.create_agent(name="r")
    server.faults.add(
        Fault.http_status(
            503,
            path=r"/messages/stream$",
            body={"detail": "INTERNAL_SERVER_ERROR: Background streaming requires Redis"},
        )
    )
    stream = client.agents.messages.stream(agent["id"], messages=say("hi"), resumable=True)
    events = await stream.until_done()
    assert any(isinstance(e, AssistantMessage) for e in events)
    posts = server.requests_to(r"/messages/stream$", "POST")
    # The retry leaves background out: the server's default (foreground) applies.
    assert [p.json.get("background", "absent") for p in posts] == [True, "absent"]


async def test_cancel_on_exit_fires_when_the_reader_is_cancelled(
    server: LettaTestServer, client: AsyncLetta
) -> None:
    agent = server.create_agent(name="x")
    stream = client.agents.messages.stream(
        agent["id"],
        messages=say("hi [tokens=500] [chunkdelay=0.02]"),
        stream_tokens=True,
        cancel_on_exit=True,
    )
    with anyio.move_on_after(0.5) as scope:
        async with stream:
            async for _ in stream:
                pass
    assert scope.cancelled_caught
    run = await server.wait_for_run(stream.run_id or "")
    assert run.status == "cancelled"


async def test_leaving_early_without_cancel_on_exit_lets_the_run_finish(
    server: LettaTestServer, client: AsyncLetta
) -> None:
    agent = server.create_agent(name="y")
    stream = client.agents.messages.stream(
        agent["id"], messages=say("hi [tokens=20] [chunkdelay=0.01]"), stream_tokens=True
    )
    async with stream:
        await stream.__anext__()
    run = await server.wait_for_run(stream.run_id or "")
    assert run.status == "completed"
