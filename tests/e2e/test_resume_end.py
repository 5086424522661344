"""Resuming a background run from any position on the real server: the right events, an end.

Letta 0.16.8 ends ``POST /v1/runs/{id}/stream`` only by sending the run's final Redis entry
(``[DONE]``, or a failed run's error event). Asked for what follows that entry, it polls
Redis and pings for as long as 1800 s. Each case here resumes a run completed, failed,
cancelled or still going, from its start, its middle, its last event, its final frame and
far past its end, and then once more from the ``last_seq_id`` the first resume ended with
(the README's way of carrying on). Every resume is bounded, so a hang fails the test.

The expected events come from a raw replay of the run (aiohttp and ``json``, no pings),
numbered the way the server numbers its Redis entries.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import AsyncIterator

import anyio
import pytest

import letta_async
from tests._replay import Frame, events_after, full_replay

from .conftest import create_agent

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


BOUND = 30.0
PAST = 1000
#: The documented default: quiet for this long, then one status request and one replay.
END_CHECK_AFTER = letta_async.ResumeSettings().end_check_after


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[letta_async.AsyncLetta]:
    async with letta_async.AsyncLetta(base_url=base_url) as c:
        yield c


@pytest.fixture
async def agent_id(client: letta_async.AsyncLetta) -> str:
    return await create_agent(client)


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


async def resume(
    client: letta_async.AsyncLetta, run_id: str, position: int
) -> tuple[list[Frame], letta_async.MessageStream, float]:
    """The events after ``position``, numbered by the stream's ``last_seq_id``; bounded."""
    started = time.monotonic()
    stream = client.runs.stream(run_id, starting_after=position, errors_as_events=True)
    got: list[Frame] = []
    with anyio.fail_after(BOUND):
        async with stream:
            async for event in stream:
                if event.message_type == "ping" and getattr(event, "seq_id", None) is None:
                    continue  # this connection's keep-alive, not an entry of the run
                assert stream.last_seq_id is not None
                got.append(
                    (stream.last_seq_id, event.message_type, getattr(event, "stop_reason", None))
                )
    return got, stream, time.monotonic() - started


async def start(
    client: letta_async.AsyncLetta, agent_id: str, text: str, *, read: int | None = None
) -> str:
    """Start a background run; read ``read`` events (None: to its end) and leave."""
    stream = client.agents.messages.stream(
        agent_id, messages=user(text), background=True, stream_tokens=True, errors_as_events=True
    )
    count = 0
    with anyio.fail_after(BOUND):
        async with stream:
            async for _ in stream:
                count += 1
                if read is not None and count >= read:
                    break
    assert stream.run_id is not None
    return stream.run_id


async def wait_terminal(client: letta_async.AsyncLetta, run_id: str) -> str:
    with anyio.fail_after(BOUND):
        while True:
            run = await client.runs.retrieve(run_id)
            if run.status not in ("created", "running"):
                return str(run.status)
            await anyio.sleep(0.2)


async def check_position(
    client: letta_async.AsyncLetta, run_id: str, frames: list[Frame], name: str, position: int
) -> list[str]:
    """Resume from ``position`` and again from where that ended; the problems found."""
    problems: list[str] = []
    got, stream, took = await resume(client, run_id, position)
    want = events_after(frames, position)
    if got != want:
        problems.append(f"{name} ({position}): got {got}, want {want}")
    if not stream.completed:
        problems.append(f"{name} ({position}): not completed")
    end = max([position, *(n for n, _, _ in got)])
    if stream.last_seq_id != end:
        problems.append(f"{name} ({position}): last_seq_id {stream.last_seq_id}, want {end}")
    if took > END_CHECK_AFTER + 5:
        problems.append(f"{name} ({position}): took {took:.1f}s")
    again, second, took = await resume(client, run_id, stream.last_seq_id or 0)
    if again or not second.completed or took > END_CHECK_AFTER + 5:
        problems.append(f"{name} then from {stream.last_seq_id}: {again} in {took:.1f}s")
    return problems


def positions(frames: list[Frame]) -> dict[str, int]:
    final = frames[-1][0]
    return {
        "start": 0,
        "middle": frames[len(frames) // 2][0],
        "last event": max(n for n, kind, _ in frames if kind != "[DONE]"),
        "final frame": final,
        "past the end": final + PAST,
    }


@pytest.mark.parametrize("outcome", ["completed", "failed", "cancelled"])
async def test_resume_a_finished_run_from_every_position(
    client: letta_async.AsyncLetta, base_url: str, agent_id: str, outcome: str
) -> None:
    if outcome == "completed":
        run_id = await start(client, agent_id, "hi [tool]")
    elif outcome == "failed":
        run_id = await start(client, agent_id, "hi [error500]")
    else:
        run_id = await start(client, agent_id, "hi [tool] [chunkdelay=0.4]", read=3)
        await client.agents.messages.cancel(agent_id, run_ids=[run_id])
    assert await wait_terminal(client, run_id) == outcome
    frames = await full_replay(base_url, run_id, bound=BOUND)
    assert frames[-1][1] == ("error_message" if outcome == "failed" else "[DONE]"), frames
    problems: list[str] = []
    for name, position in positions(frames).items():
        problems += await check_position(client, run_id, frames, name, position)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("where", ["start", "middle", "past the end"])
async def test_resume_a_run_still_going(
    client: letta_async.AsyncLetta, base_url: str, agent_id: str, where: str
) -> None:
    run_id = await start(client, agent_id, "hi [tool] [chunkdelay=0.3]", read=3)
    assert (await client.runs.retrieve(run_id)).status in ("created", "running")
    position = {"start": 0, "middle": 3, "past the end": PAST}[where]
    got, stream, _ = await resume(client, run_id, position)
    assert await wait_terminal(client, run_id) == "completed"
    frames = await full_replay(base_url, run_id, bound=BOUND)
    assert got == events_after(frames, position)
    assert stream.completed
    again, second, took = await resume(client, run_id, stream.last_seq_id or 0)
    assert again == [] and second.completed
    assert took < END_CHECK_AFTER + 5


async def test_resume_a_run_whose_llm_waits_after_a_cancel(
    client: letta_async.AsyncLetta, base_url: str, agent_id: str
) -> None:
    """The cancel is in the database at once, but the agent writes its cancelled stop reason
    only when the LLM answers (8 s here): a resume from the first ping must wait for it."""
    run_id = await start(client, agent_id, "hi [delay=8]", read=1)
    await client.agents.messages.cancel(agent_id, run_ids=[run_id])
    assert (await client.runs.retrieve(run_id)).status == "cancelled"
    got, stream, took = await resume(client, run_id, 1)
    assert [kind for _, kind, _ in got] == ["stop_reason"]
    assert stream.stop_reason == "cancelled" and stream.completed
    assert took > END_CHECK_AFTER  # it did not stop early at the first quiet check
    frames = await full_replay(base_url, run_id, bound=BOUND)
    assert frames[-1][1] == "[DONE]"


async def test_cli_runs_tail_past_the_end_exits(
    client: letta_async.AsyncLetta, base_url: str, agent_id: str
) -> None:
    """A process of its own, so that a tail that never ends is killed by the bound."""
    run_id = await start(client, agent_id, "hi")
    frames = await full_replay(base_url, run_id, bound=BOUND)
    argv = [sys.executable, "-m", "letta_async", "--base-url", base_url, "--json"]
    started = time.monotonic()
    with anyio.fail_after(BOUND):
        done = await anyio.run_process(
            [*argv, "runs", "tail", run_id, "--after", str(frames[-1][0])], check=False
        )
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    kinds = {json.loads(line)["message_type"] for line in done.stdout.decode().splitlines()}
    assert kinds <= {"ping"}
    assert took < END_CHECK_AFTER + 5
