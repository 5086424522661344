"""Cut the real background stream at every byte offset; the caller must see every event once.

For each offset N of ``background_stream.sse`` (0 through its full length), a loopback
server sends the first N bytes of the message POST's response and drops the TCP connection.
The client must notice, find its run (by the message's otid when the cut came before the
first frame named it), resume through ``POST /v1/runs/{run_id}/stream`` from exactly the
right ``starting_after``, and hand the caller the run's events once each, in order.

All offsets run concurrently against one server and one client, which keeps the whole
matrix to a few seconds and also exercises the pool under churn.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

from letta_async import AsyncLetta, ResumeSettings, Timeout
from tests.reliability._captures import (
    FIRST_PING_END,
    LIVE,
    CaptureServer,
    agent_for,
    case_of_agent,
    case_of_run,
    expected_events,
    last_seq_before,
    run_for,
)
from tests.reliability._tally import TALLY, event_key

pytestmark = pytest.mark.anyio

HI = [{"role": "user", "content": "hi [tool]"}]
OFFSETS = range(len(LIVE) + 1)
CONCURRENCY = 48


@dataclass
class Outcome:
    events: list[Any] = field(default_factory=list)
    error: BaseException | None = None
    resumes: int = 0
    completed: bool = False
    stop_reason: str | None = None
    last_seq_id: int | None = None


@pytest.fixture
async def capture() -> AsyncIterator[CaptureServer]:
    server = CaptureServer(cut_of=lambda case: case)
    await server.server.start()
    try:
        yield server
    finally:
        await server.server.close()


async def run_cases(client: AsyncLetta, cases: range | list[int]) -> dict[int, Outcome]:
    outcomes: dict[int, Outcome] = {}
    limiter = anyio.CapacityLimiter(CONCURRENCY)

    async def one(case: int) -> None:
        outcome = outcomes[case] = Outcome()
        async with limiter:
            stream = client.agents.messages.stream(
                agent_for(case), messages=HI, stream_tokens=True, background=True
            )
            try:
                with anyio.fail_after(20):
                    async with stream:
                        async for event in stream:
                            outcome.events.append(event)
            except Exception as exc:
                outcome.error = exc
            outcome.resumes = stream.resumes
            outcome.completed = stream.completed
            outcome.stop_reason = stream.stop_reason
            outcome.last_seq_id = stream.last_seq_id

    async with anyio.create_task_group() as tg:
        for case in cases:
            tg.start_soon(one, case)
    return outcomes


async def test_every_byte_offset_resumes_exactly_once(capture: CaptureServer) -> None:
    settings = ResumeSettings(initial_delay=0.01, max_delay=0.05)
    timeout = Timeout(request=10, stream_idle=10)
    async with AsyncLetta(capture.server.base_url, timeout=timeout, resume=settings) as client:
        outcomes = await run_cases(client, OFFSETS)
    TALLY.case("cut matrix", len(outcomes))
    TALLY.fault("cut matrix", capture.cuts)
    assert capture.cuts == len(OFFSETS), "every case really had its connection cut"
    assert not capture.server.errors

    resumes: dict[int, list[int]] = defaultdict(list)
    lookups: Counter[int] = Counter()
    posts: Counter[int] = Counter()
    for request in capture.server.requests:
        parts = request.path.strip("/").split("/")
        if parts[1] == "runs":
            resumes[case_of_run(parts[2])].append(request.json()["starting_after"])
        elif request.method == "GET":
            lookups[case_of_agent(parts[2])] += 1
        else:
            posts[case_of_agent(parts[2])] += 1

    failures: list[str] = []
    for offset, outcome in sorted(outcomes.items()):
        expected = [event_key(e) for e in expected_events(offset)]
        delivered = [event_key(e) for e in outcome.events]
        lost, duplicated = TALLY.compare("cut matrix", expected, delivered)
        problems = []
        if outcome.error is not None:
            problems.append(f"raised {outcome.error!r}")
        if delivered != expected:
            problems.append(f"events differ (lost {lost}, duplicated {duplicated})")
        if not outcome.completed or outcome.stop_reason != "end_turn":
            problems.append(f"ended {outcome.completed=} {outcome.stop_reason=}")
        if posts.get(offset) != 1:
            problems.append(f"{posts.get(offset)} message POSTs (the run must start once)")
        # Past [DONE] the reply is whole: a cut there needs no resume at all.
        wanted = [] if offset == len(LIVE) else [last_seq_before(offset)]
        if resumes.get(offset, []) != wanted:
            problems.append(f"resumed with starting_after {resumes.get(offset)}, want {wanted}")
        if outcome.resumes != len(wanted):
            problems.append(f"stream.resumes == {outcome.resumes}")
        if (offset < FIRST_PING_END) != (offset in lookups):
            problems.append(f"{lookups.get(offset, 0)} otid lookups")
        if problems:
            failures.append(f"offset {offset} ({run_for(offset)}): " + "; ".join(problems))
    assert not failures, f"{len(failures)} of {len(outcomes)} offsets failed:\n" + "\n".join(
        failures[:20]
    )
