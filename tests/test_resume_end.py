"""Resuming a background run from any position ends, with exactly the events after it.

Letta's ``POST /v1/runs/{id}/stream`` ends only by sending the run's final frame (``[DONE]``,
or a failed run's error event); asked for the frames after that one, it keeps the stream open
with pings. The bundled test server does the same, so these tests reproduce the hang: every
resume is bounded by ``fail_after``, and each case ends with a second resume from the first
one's ``last_seq_id``, the documented way to carry on from a saved position.

The expected events come from a raw replay of the whole run (plain aiohttp and ``json``,
without pings), numbered as Letta numbers them: a frame's own ``seq_id``, else one more than
the frame before.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from letta_async import AsyncLetta, ResumeSettings, StreamError, Timeout
from letta_async.testing import LettaTestServer
from tests._replay import events_after, full_replay

pytestmark = pytest.mark.anyio

#: Short enough to keep the matrix quick, long enough that pings (every 0.05 s) come first.
QUICK_END = ResumeSettings(
    initial_delay=0.01, max_delay=0.05, end_check_after=0.3, end_check_max_interval=0.6
)
BOUND = 10.0
PAST = 1000


@pytest.fixture
async def server() -> AsyncIterator[LettaTestServer]:
    async with LettaTestServer(keepalive_interval=0.05) as s:
        yield s


@pytest.fixture
async def client(server: LettaTestServer) -> AsyncIterator[AsyncLetta]:
    async with AsyncLetta(
        server.base_url, timeout=Timeout(stream_idle=5, request=5), resume=QUICK_END
    ) as c:
        yield c


@pytest.fixture
def agent_id(server: LettaTestServer) -> str:
    return str(server.create_agent(name="resume-end")["id"])


async def resume(
    client: AsyncLetta, run_id: str, position: int
) -> tuple[list[tuple[int, str, str | None]], Any]:
    """Every event after ``position`` with the number the stream gave it; bounded."""
    stream = client.runs.stream(run_id, starting_after=position, errors_as_events=True)
    got: list[tuple[int, str, str | None]] = []
    with anyio.fail_after(BOUND):
        async with stream:
            async for event in stream:
                if event.message_type == "ping" and getattr(event, "seq_id", None) is None:
                    continue  # a keep-alive of this connection, not a frame of the run
                assert stream.last_seq_id is not None
                got.append(
                    (stream.last_seq_id, event.message_type, getattr(event, "stop_reason", None))
                )
    return got, stream


async def start_background(
    client: AsyncLetta, agent_id: str, text: str, *, read: int | None = None
) -> str:
    """Start a background run; read ``read`` events (None: all of them) and leave."""
    stream = client.agents.messages.stream(
        agent_id,
        messages=[{"role": "user", "content": text}],
        background=True,
        stream_tokens=read is not None,
    )
    with anyio.fail_after(BOUND):
        async with stream:
            count = 0
            try:
                async for _ in stream:
                    count += 1
                    if read is not None and count >= read:
                        break
            except StreamError:
                pass
    assert stream.run_id is not None
    return stream.run_id


async def finished_run(
    client: AsyncLetta, server: LettaTestServer, agent_id: str, outcome: str
) -> str:
    if outcome == "completed":
        run_id = await start_background(client, agent_id, "hi [tool]")
    elif outcome == "failed":
        run_id = await start_background(client, agent_id, "hi [error500]")
    else:
        run_id = await start_background(
            client, agent_id, "hi [tokens=40] [chunkdelay=0.05]", read=3
        )
        run = server.state.runs[run_id]
        agent = run.agent_id
        await client.agents.messages.cancel(agent, run_ids=[run_id])
    run = await server.wait_for_run(run_id)
    assert run.status == outcome
    return run_id


POSITIONS = ["start", "middle", "last event", "final frame", "past the end"]


def position_of(name: str, frames: list[tuple[int, str, str | None]]) -> int:
    final = frames[-1][0]
    last_event = max(n for n, kind, _ in frames if kind != "[DONE]")
    return {
        "start": 0,
        "middle": frames[len(frames) // 2][0],
        "last event": last_event,
        "final frame": final,
        "past the end": final + PAST,
    }[name]


@pytest.mark.parametrize("where", POSITIONS)
@pytest.mark.parametrize("outcome", ["completed", "failed", "cancelled"])
async def test_resume_a_finished_run_from_any_position(
    client: AsyncLetta, server: LettaTestServer, agent_id: str, outcome: str, where: str
) -> None:
    run_id = await finished_run(client, server, agent_id, outcome)
    frames = await full_replay(server.base_url, run_id, bound=BOUND)
    assert frames[-1][1] == ("error_message" if outcome == "failed" else "[DONE]")
    position = position_of(where, frames)

    got, stream = await resume(client, run_id, position)
    assert got == events_after(frames, position)
    assert stream.completed
    expected_end = max([position, *(n for n, _, _ in got)])
    assert stream.last_seq_id == expected_end
    # The stop reason is the stream's own: set only when the resume brought that frame.
    stops = [reason for _, kind, reason in got if kind == "stop_reason"]
    assert stream.stop_reason == (stops[-1] if stops else None)

    # Carrying on from the saved position: nothing more, and an end.
    again, second = await resume(client, run_id, stream.last_seq_id)
    assert again == []
    assert second.completed and second.last_seq_id == stream.last_seq_id


@pytest.mark.parametrize("where", ["start", "middle", "past the end"])
async def test_resume_a_run_still_going(
    client: AsyncLetta, server: LettaTestServer, agent_id: str, where: str
) -> None:
    run_id = await start_background(client, agent_id, "go [tokens=30] [chunkdelay=0.03]", read=3)
    assert server.state.runs[run_id].active
    position = {"start": 0, "middle": 3, "past the end": PAST}[where]
    got, stream = await resume(client, run_id, position)
    run = await server.wait_for_run(run_id)
    assert run.status == "completed"
    frames = await full_replay(server.base_url, run_id, bound=BOUND)
    assert got == events_after(frames, position)
    assert stream.completed
    assert stream.stop_reason == ("end_turn" if where != "past the end" else None)

    again, second = await resume(client, run_id, stream.last_seq_id or 0)
    assert again == []
    assert second.completed


async def test_a_cancel_the_run_has_not_reached_yet_is_waited_for(
    client: AsyncLetta, server: LettaTestServer, agent_id: str
) -> None:
    """Cancelled in the database while the agent still waits for its LLM (the real server
    writes the cancelled stop reason only when the call returns): the run's stream has not
    ended, so a resume at the end of what was written waits for the rest."""
    run_id = await start_background(client, agent_id, "hi [delay=2]", read=1)
    run = server.state.runs[run_id]
    run.status, run.stop_reason = "cancelled", "cancelled"  # the cancel endpoint's first write

    async def agent_notices_later() -> None:
        await anyio.sleep(1.5)
        run.request_cancel()

    async with anyio.create_task_group() as tg:
        tg.start_soon(agent_notices_later)
        got, stream = await resume(client, run_id, 1)
    assert got == [(2, "stop_reason", "cancelled")]
    assert stream.completed and stream.stop_reason == "cancelled"
    # It did look (the run was already "cancelled") and chose to wait.
    assert server.requests_to(f"/v1/runs/{run_id}$", "GET")


async def test_a_messages_async_run_resumed_ends_with_the_run(
    client: AsyncLetta, server: LettaTestServer, agent_id: str
) -> None:
    """A ``messages/async`` run writes no stream at all: its resume ends once the run has."""
    run = await client.agents.messages.create_async(
        agent_id, messages=[{"role": "user", "content": "hi [delay=0.3]"}]
    )
    started = time.monotonic()
    got, stream = await resume(client, run.id, 0)
    assert got == []
    assert stream.completed and stream.stop_reason is None
    assert time.monotonic() - started < 5


async def test_default_settings_end_a_resume_past_the_end_within_the_documented_bound(
    server: LettaTestServer, agent_id: str
) -> None:
    """README: quiet for 2 s, then one status request and one replay."""
    async with AsyncLetta(server.base_url) as client:
        run_id = await start_background(client, agent_id, "hi")
        frames = await full_replay(server.base_url, run_id, bound=BOUND)
        started = time.monotonic()
        got, stream = await resume(client, run_id, frames[-1][0])
        took = time.monotonic() - started
    assert got == [] and stream.completed
    assert 2.0 <= took < 4.0


async def test_raised_error_then_resume_from_the_saved_position(
    client: AsyncLetta, server: LettaTestServer, agent_id: str
) -> None:
    """Without ``errors_as_events`` the error is raised, not handed out: the saved position
    stays before it, and a resume raises it again rather than hanging or skipping it."""
    run_id = await finished_run(client, server, agent_id, "failed")
    stream = client.runs.stream(run_id, starting_after=0)
    with anyio.fail_after(BOUND), pytest.raises(StreamError):
        await stream.until_done()
    saved = stream.last_seq_id
    assert saved is not None
    again = client.runs.stream(run_id, starting_after=saved)
    with anyio.fail_after(BOUND), pytest.raises(StreamError):
        await again.until_done()


async def test_cli_runs_tail_after_the_end_exits(
    client: AsyncLetta, server: LettaTestServer, agent_id: str
) -> None:
    """A process of its own, so that a tail that never ends is killed by the bound."""
    run_id = await finished_run(client, server, agent_id, "completed")
    frames = await full_replay(server.base_url, run_id, bound=BOUND)
    argv = [sys.executable, "-m", "letta_async", "--base-url", server.base_url, "--json"]
    with anyio.fail_after(BOUND):
        done = await anyio.run_process(
            [*argv, "runs", "tail", run_id, "--after", str(frames[-1][0])], check=False
        )
    assert done.returncode == 0, done.stderr
    kinds = {json.loads(line)["message_type"] for line in done.stdout.decode().splitlines()}
    assert kinds <= {"ping"}  # this connection's keep-alives, nothing of the run
