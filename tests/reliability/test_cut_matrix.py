"""Cut the real background stream at every byte offset; the caller must see every event once.

For each offset N of ``background_stream.sse`` (0 through its full length), a loopback
server sends the first N bytes of the message POST's response and drops the TCP connection.
The client must notice, find its run (by the message's otid when the cut came before the
first frame named it), resume through ``POST /v1/runs/{run_id}/stream`` from exactly the
right ``starting_after``, and hand the caller the run's events once each, in order.

A second sweep cuts the message stream once (after the first ping named the run) and then
cuts the *resume* stream at every fourth byte and around every block boundary, so the
client must resume a resume, still exactly once.

All cases of a sweep run concurrently against one server and one client, which keeps the
matrix to seconds and also exercises the pool under churn.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

from letta_async import AsyncLetta, ResumeSettings, Timeout
from tests.reliability._captures import (
    BEFORE_HEADERS,
    FIRST_PING_END,
    LIVE,
    CaptureServer,
    agent_for,
    case_of_agent,
    case_of_run,
    expected_events,
    last_seq_before,
    last_seq_in,
    replay_after,
    run_for,
)
from tests.reliability._tally import TALLY, event_key

pytestmark = pytest.mark.anyio

HI = [{"role": "user", "content": "hi [tool]"}]
CONCURRENCY = 48


@dataclass
class Outcome:
    events: list[Any] = field(default_factory=list)
    error: BaseException | None = None
    resumes: int = 0
    completed: bool = False
    stop_reason: str | None = None
    last_seq_id: int | None = None


async def run_cases(client: AsyncLetta, cases: Sequence[int]) -> dict[int, Outcome]:
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


@dataclass
class Matrix:
    """One sweep: where the cuts go, and what each case must have asked the server for."""

    name: str
    cases: Sequence[int]
    cut_of: Callable[[int], int | None]
    resume_cut_of: Callable[[int], int | None]
    resumes_of: Callable[[int], list[int]]
    """The ``starting_after`` of each resume request the case must send, in order."""
    looks_up: Callable[[int], bool]
    """Whether the case must look its run up by otid (cut before the run id arrived)."""


FIRST_CUT = FIRST_PING_END + 5  # mid-frame, after the first ping named the run
REPLAY_BODY = replay_after(last_seq_before(FIRST_CUT))
_REPLAY_ENDS = [i + 2 for i in range(len(REPLAY_BODY)) if REPLAY_BODY.startswith(b"\n\n", i)]
# The resume stream is swept more sparsely than the message stream (every fourth byte, plus
# every block boundary and the bytes either side of it), to keep the suite fast: the resume
# path shares its reading code with the first stream, which does get every offset.
RESUME_OFFSETS = sorted(
    {*range(0, len(REPLAY_BODY) + 1, 4), len(REPLAY_BODY)}
    | {o + d for o in _REPLAY_ENDS for d in (-1, 0, 1) if 0 <= o + d <= len(REPLAY_BODY)}
)

MATRICES = {
    "message-stream": Matrix(
        "cut matrix: message POST",
        range(len(LIVE) + 1),
        cut_of=lambda case: case,
        resume_cut_of=lambda case: None,
        # Past [DONE] the reply is whole: a cut there needs no resume at all.
        resumes_of=lambda case: [] if case == len(LIVE) else [last_seq_before(case)],
        looks_up=lambda case: case < FIRST_PING_END,
    ),
    "resume-stream": Matrix(
        "cut matrix: resume",
        RESUME_OFFSETS,
        cut_of=lambda case: FIRST_CUT,
        resume_cut_of=lambda case: case,
        resumes_of=lambda case: (
            [last_seq_before(FIRST_CUT)]
            + (
                []
                if case == len(REPLAY_BODY)
                else [last_seq_in(REPLAY_BODY, case) or last_seq_before(FIRST_CUT)]
            )
        ),
        looks_up=lambda case: False,
    ),
}


@pytest.mark.parametrize("which", list(MATRICES))
async def test_every_byte_offset_resumes_exactly_once(which: str) -> None:
    """Cut the message stream (or the resume stream after a first cut) at every offset."""
    matrix = MATRICES[which]
    capture = CaptureServer(cut_of=matrix.cut_of, resume_cut_of=matrix.resume_cut_of)
    await capture.server.start()
    settings = ResumeSettings(initial_delay=0.01, max_delay=0.05)
    timeout = Timeout(request=10, stream_idle=10)
    try:
        async with AsyncLetta(capture.server.base_url, timeout=timeout, resume=settings) as client:
            outcomes = await run_cases(client, matrix.cases)
    finally:
        await capture.server.close()
    TALLY.case(matrix.name, len(outcomes))
    TALLY.fault(matrix.name, capture.cuts)
    assert not capture.server.errors
    assert capture.cuts >= len(matrix.cases), "every case really had its connection cut"

    resumes: dict[int, list[int]] = defaultdict(list)
    lookups: Counter[int] = Counter()
    posts: Counter[int] = Counter()
    for request in capture.server.requests:
        parts = request.path.strip("/").split("/")
        if parts[1] == "runs" and request.method == "GET":
            continue  # a resumed stream quiet for a while (a loaded machine) asks about its run
        if parts[1] == "runs":
            resumes[case_of_run(parts[2])].append(request.json()["starting_after"])
        elif request.method == "GET":
            lookups[case_of_agent(parts[2])] += 1
        else:
            posts[case_of_agent(parts[2])] += 1

    failures: list[str] = []
    for case, outcome in sorted(outcomes.items()):
        expected = [event_key(e) for e in expected_events(case)]
        delivered = [event_key(e) for e in outcome.events]
        lost, duplicated = TALLY.compare(matrix.name, expected, delivered)
        problems = []
        if outcome.error is not None:
            problems.append(f"raised {outcome.error!r}")
        if delivered != expected:
            problems.append(f"events differ (lost {lost}, duplicated {duplicated})")
        if not outcome.completed or outcome.stop_reason != "end_turn":
            problems.append(f"ended {outcome.completed=} {outcome.stop_reason=}")
        if posts.get(case) != 1:
            problems.append(f"{posts.get(case)} message POSTs (the run must start once)")
        wanted = matrix.resumes_of(case)
        if resumes.get(case, []) != wanted:
            problems.append(f"resumed with starting_after {resumes.get(case)}, want {wanted}")
        if outcome.resumes != len(wanted):
            problems.append(f"stream.resumes == {outcome.resumes}")
        if matrix.looks_up(case) != (case in lookups):
            problems.append(f"{lookups.get(case, 0)} otid lookups")
        if problems:
            failures.append(f"offset {case} ({run_for(case)}): " + "; ".join(problems))
    assert not failures, f"{len(failures)} of {len(outcomes)} offsets failed:\n" + "\n".join(
        failures[:20]
    )


async def test_connection_lost_before_the_headers_after_the_run_started() -> None:
    """No status line at all, but the run exists: find it by otid and resume, never re-send."""
    capture = CaptureServer(cut_of=lambda case: BEFORE_HEADERS)
    await capture.server.start()
    settings = ResumeSettings(initial_delay=0.01, max_delay=0.05)
    try:
        async with AsyncLetta(capture.server.base_url, resume=settings) as client:
            outcomes = await run_cases(client, [7])
    finally:
        await capture.server.close()
    TALLY.case("cuts")
    TALLY.fault("cuts")
    outcome = outcomes[7]
    assert outcome.error is None
    expected = [event_key(e) for e in expected_events(7)]
    delivered = [event_key(e) for e in outcome.events]
    TALLY.compare("cuts", expected, delivered)
    assert delivered == expected
    methods = [(r.method, r.path.split("/")[2]) for r in capture.server.requests]
    # Sent once; the run found by otid, asked about, then resumed from its start.
    assert methods == [("POST", "agents"), ("GET", "agents"), ("GET", "runs"), ("POST", "runs")]
    assert capture.server.requests[-1].json()["starting_after"] == 0
