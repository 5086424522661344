"""Stopping a stream at any moment, by any means, leaves no connection and no task behind.

A seeded random loop (the seed is printed on failure; ``LETTA_RELIABILITY_SEED`` replays one)
picks, for each round, a stream kind and a way to stop it at a random point: an anyio
deadline, a cancelled task group, ``asyncio.wait_for``, a ``break`` at a random event with
or without ``async with``, or ``aclose()`` from another task while a read is pending. After
every round the pool must have no acquired connection; the hygiene fixture checks tasks and
sessions at the end.
"""

from __future__ import annotations

import asyncio
import os
import random
from typing import Any

import anyio
import pytest

from letta_async import AsyncLetta, MessageStream, Timeout
from letta_async.testing import Fault, LettaTestServer
from letta_async.types import LettaPing
from tests.reliability._tally import TALLY
from tests.reliability.conftest import FAST_RESUME, acquired

pytestmark = pytest.mark.anyio

ROUNDS = 90
MODES = [
    "move_on_after",
    "task_group_cancel",
    "wait_for",
    "break_inline",
    "break_in_async_with",
    "aclose_from_another_task",
    "cancel_scope_in_async_with",
]


def say(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def open_stream(client: AsyncLetta, agent_id: str, rng: random.Random) -> MessageStream:
    background = rng.random() < 0.5
    # 60-120 ms of frames: longer than any deadline drawn below, so most stops land mid-stream.
    tokens = rng.randint(20, 40)
    return client.agents.messages.stream(
        agent_id,
        messages=say(f"hi [tokens={tokens}] [chunkdelay=0.003]"),
        stream_tokens=True,
        background=background,
    )


async def stop_somehow(client: AsyncLetta, agent_id: str, mode: str, rng: random.Random) -> str:
    """Run one stream and stop it the way ``mode`` says; returns how it ended."""
    deadline = rng.uniform(0.0, 0.06)
    index = rng.randint(0, 25)

    if mode == "move_on_after":
        with anyio.move_on_after(deadline) as scope:
            async with open_stream(client, agent_id, rng) as stream:
                async for _ in stream:
                    pass
        return "cancelled" if scope.cancelled_caught else "finished"

    if mode == "cancel_scope_in_async_with":
        async with open_stream(client, agent_id, rng) as stream:
            with anyio.move_on_after(deadline) as scope:
                async for _ in stream:
                    pass
        return "cancelled" if scope.cancelled_caught else "finished"

    if mode == "task_group_cancel":

        async def reader() -> None:
            async for _ in open_stream(client, agent_id, rng):
                pass

        async with anyio.create_task_group() as tg:
            tg.start_soon(reader)
            await anyio.sleep(deadline)
            tg.cancel_scope.cancel()
        return "cancelled"

    if mode == "wait_for":

        async def drain() -> None:
            async with open_stream(client, agent_id, rng) as stream:
                async for _ in stream:
                    pass

        try:
            await asyncio.wait_for(drain(), deadline)
        except asyncio.TimeoutError:
            return "cancelled"
        return "finished"

    if mode == "break_inline":
        # No `async with` and no name bound to the stream: leaving the loop drops the last
        # reference, and the stream closes its connection at once.
        n = 0
        async for _ in open_stream(client, agent_id, rng):
            n += 1
            if n > index:
                return "broke"
        return "finished"

    if mode == "break_in_async_with":
        n = 0
        async with open_stream(client, agent_id, rng) as stream:
            async for _ in stream:
                n += 1
                if n > index:
                    return "broke"
        return "finished"

    assert mode == "aclose_from_another_task"
    stream = open_stream(client, agent_id, rng)
    got: list[Any] = []
    outcome: dict[str, BaseException | None] = {"error": None}

    async def read() -> None:
        try:
            async for event in stream:
                got.append(event)
        except Exception as exc:
            outcome["error"] = exc

    async with anyio.create_task_group() as tg:
        tg.start_soon(read)
        await anyio.sleep(deadline)
        await stream.aclose()
    assert stream.done
    assert outcome["error"] is None, f"aclose() surfaced as {outcome['error']!r} in the reader"
    return "closed"


async def test_random_cancellation_points_leave_nothing_behind(letta: LettaTestServer) -> None:
    seed = int(os.environ.get("LETTA_RELIABILITY_SEED", "20261122"))
    rng = random.Random(seed)
    agent = letta.create_agent(name="cancel")
    endings: dict[str, int] = {}
    timeout = Timeout(stream_idle=5, request=5)
    async with AsyncLetta(letta.base_url, timeout=timeout, resume=FAST_RESUME) as client:
        for round_ in range(ROUNDS):
            mode = MODES[round_ % len(MODES)] if round_ < len(MODES) else rng.choice(MODES)
            with anyio.fail_after(10):
                ending = await stop_somehow(client, agent["id"], mode, rng)
            endings[ending] = endings.get(ending, 0) + 1
            await asyncio.sleep(0)
            assert acquired(client) == 0, f"round {round_} ({mode}, seed {seed}) leaked"
            TALLY.case("cancellation")
            if ending != "finished":
                TALLY.fault("cancellation")
    # The random points must really have landed mid-stream most of the time.
    assert endings.get("finished", 0) < ROUNDS // 3, endings


@pytest.mark.parametrize("background", [False, True], ids=["foreground", "background"])
async def test_aclose_while_a_read_is_pending_just_ends_the_stream(
    letta: LettaTestServer, background: bool
) -> None:
    """Closing from outside is the caller's decision: not a truncation, not a reason to resume."""
    agent = letta.create_agent(name="aclose")
    async with AsyncLetta(letta.base_url, resume=FAST_RESUME) as client:
        stream = client.agents.messages.stream(
            agent["id"], messages=say("hi [delay=2]"), background=background
        )
        first = await stream.__anext__()
        assert isinstance(first, LettaPing)
        errors: list[BaseException] = []

        async def read() -> None:
            try:
                async for _ in stream:
                    pass
            except Exception as exc:
                errors.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(read)
            await anyio.sleep(0.05)  # the reader is now waiting inside readany()
            await stream.aclose()
        assert not errors
        assert acquired(client) == 0
    TALLY.case("cancellation")
    TALLY.fault("cancellation")
    assert stream.done and stream.resumes == 0
    assert not letta.requests_to(r"/v1/runs/.*/stream$"), "no resume after a deliberate close"


@pytest.mark.parametrize("status", [409, 500])
async def test_cancel_on_exit_that_fails_still_closes_and_keeps_the_callers_exception(
    letta: LettaTestServer, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    """The cancel request is best effort: its failure must not leak the connection, nor
    replace the exception that made the caller leave."""
    agent = letta.create_agent(name="exit")
    letta.faults.add(Fault.http_status(status, times=3, path=r"/messages/cancel$"))

    class Leaving(Exception):
        pass

    async with AsyncLetta(letta.base_url, max_retries=0) as client:
        stream = client.agents.messages.stream(
            agent["id"], messages=say("hi [tokens=50] [chunkdelay=0.01]"), cancel_on_exit=True
        )
        with pytest.raises(Leaving):
            async with stream:
                async for _ in stream:
                    raise Leaving
        assert acquired(client) == 0
        assert stream.done
        # Leaving without an exception: the failed cancel is logged, not raised.
        again = client.agents.messages.stream(
            agent["id"], messages=say("hi [tokens=50] [chunkdelay=0.01]"), cancel_on_exit=True
        )
        async with again:
            async for _ in again:
                break
        assert acquired(client) == 0
    TALLY.case("cancellation", 2)
    TALLY.fault("cancellation", 2)
    assert len(letta.requests_to(r"/messages/cancel$", "POST")) == 2
    warnings = [r for r in caplog.records if "could not cancel run" in r.getMessage()]
    assert len(warnings) == 2
