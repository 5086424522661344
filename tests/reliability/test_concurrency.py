"""Five hundred concurrent streams against one test server, with faults mixed in at random.

Each stream gets its own agent, so each fault can target exactly one stream: background
streams cut after a random frame (FIN or RST, between frames or mid-frame) must resume;
429/503 bursts before the first byte must be retried (with and without retry hints);
scripted LLM failures and injected ``event: error`` frames must end in ``StreamError`` from
``until_done()``. On top, a few resume requests are themselves cut, whichever streams hit
them. Every stream must end in its documented state, and its events must match the frames
the server logged for its run, each once and in order.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

from letta_async import AsyncLetta, Limits, ResumeSettings, StreamError, Timeout
from letta_async.testing import Fault, LettaTestServer
from letta_async.types import LettaErrorMessage
from tests.reliability._expect import delivered, run_events
from tests.reliability._tally import TALLY, event_key
from tests.reliability.conftest import acquired

pytestmark = pytest.mark.anyio

STREAMS = 500
KINDS = {
    "plain": 10,
    "plain-background": 8,
    "cut-background": 32,
    "burst": 20,
    "llm-error": 10,
    "error-event": 10,
    "cut-then-burst": 10,
}


@dataclass
class Plan:
    index: int
    kind: str
    background: bool
    agent_id: str
    tokens: int
    faults: list[Fault] = field(default_factory=list)
    burst: int = 0


@dataclass
class Result:
    events: list[Any] = field(default_factory=list)
    error: BaseException | None = None
    stream_error: StreamError | None = None
    run_id: str | None = None
    completed: bool = False
    stop_reason: str | None = None
    resumes: int = 0


def make_plan(server: LettaTestServer, index: int, rng: random.Random) -> Plan:
    kind = rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
    agent_id = server.create_agent(name=f"load-{index}")["id"]
    background = kind in ("plain-background", "cut-background", "cut-then-burst") or (
        kind in ("burst", "llm-error", "error-event") and rng.random() < 0.5
    )
    plan = Plan(index, kind, background, agent_id, tokens=rng.randint(6, 14))
    path = rf"^/v1/agents/{agent_id}/messages/stream$"
    if kind in ("burst", "cut-then-burst"):
        plan.burst = rng.randint(1, 2)
        hint = rng.choice(["none", "retry-after", "retry-after-ms"])
        plan.faults.append(
            Fault.http_status(
                rng.choice([429, 503]),
                times=plan.burst,
                method="POST",
                path=path,
                retry_after=0 if hint == "retry-after" else None,
                retry_after_ms=rng.randint(5, 40) if hint == "retry-after-ms" else None,
            )
        )
    if kind in ("cut-background", "cut-then-burst"):
        plan.faults.append(
            Fault(
                method="POST",
                path=path,
                cut=rng.choice(["after_frames", "mid_frame"]),
                frames=rng.randint(1, 8),
                reset=rng.random() < 0.3,
            )
        )
    if kind == "error-event":
        plan.faults.append(
            Fault(method="POST", path=path, error_event=True, frames=rng.randint(1, 6))
        )
    for fault in plan.faults:
        server.faults.add(fault)
    return plan


async def run_one(client: AsyncLetta, plan: Plan, result: Result) -> None:
    text = f"hi [tokens={plan.tokens}]" + (" [error500]" if plan.kind == "llm-error" else "")
    stream = client.agents.messages.stream(
        plan.agent_id,
        messages=[{"role": "user", "content": text}],
        stream_tokens=True,
        background=plan.background,
    )
    try:
        with anyio.fail_after(30):
            async with stream:
                try:
                    async for event in stream:
                        result.events.append(event)
                except StreamError as exc:
                    # Raised after every event before the error frame, which it carries.
                    result.stream_error = exc
    except Exception as exc:
        result.error = exc
    result.run_id = stream.run_id
    result.completed = stream.completed
    result.stop_reason = stream.stop_reason
    result.resumes = stream.resumes


def check(server: LettaTestServer, plan: Plan, result: Result) -> list[str]:
    problems: list[str] = []
    if result.error is not None:
        return [f"raised {result.error!r}"]
    run = server.state.runs.get(result.run_id or "")
    if run is None:
        return [f"no run for run_id {result.run_id!r}"]
    expected = run_events(run)
    got = delivered(result.events)
    error = result.stream_error
    if plan.kind == "error-event":
        # The injected error replaces the rest of the response: what came before it must be
        # the start of the run's frames, once each, and then the error is raised.
        TALLY.compare("500 streams", expected[: len(got)], got)
        if got != expected[: len(got)]:
            problems.append("events before the injected error are not the run's first frames")
        if error is None or not isinstance(error.error, LettaErrorMessage):
            problems.append("the injected error was not raised as StreamError")
        return problems
    if plan.kind == "llm-error" and error is not None:
        got.append(event_key(error.error))  # the run's error frame, delivered as the error
    lost, duplicated = TALLY.compare("500 streams", expected, got)
    if got != expected:
        problems.append(f"events differ from the run's frames (lost {lost}, dup {duplicated})")
    if plan.kind == "llm-error":
        if error is None:
            problems.append("the LLM error was not raised as StreamError")
        if result.stop_reason != "llm_api_error":
            problems.append(f"stop_reason {result.stop_reason!r}")
    else:
        if error is not None:
            problems.append(f"raised {error!r}")
        if not result.completed or result.stop_reason != "end_turn":
            problems.append(f"ended {result.completed=} {result.stop_reason=}")
    if plan.kind.startswith("cut") and result.resumes < 1:
        problems.append("a cut stream did not resume")
    posts = len(server.requests_to(rf"^/v1/agents/{plan.agent_id}/messages/stream$", "POST"))
    if posts != plan.burst + 1:
        problems.append(f"{posts} message POSTs for a burst of {plan.burst}")
    return problems


async def test_five_hundred_concurrent_streams_with_random_faults() -> None:
    seed = int(os.environ.get("LETTA_RELIABILITY_SEED", "20261122"))
    rng = random.Random(seed)
    settings = ResumeSettings(initial_delay=0.01, max_delay=0.2, max_attempts=8)
    timeout = Timeout(request=30, stream_idle=20)
    async with LettaTestServer(keepalive_interval=1.0, shutdown_timeout=0.5) as server:
        plans = [make_plan(server, i, rng) for i in range(STREAMS)]
        # Some resumes get cut too, whichever streams happen to send them.
        resume_cuts = server.faults.add(
            Fault(method="POST", path=r"^/v1/runs/[^/]+/stream$", cut="after_frames", frames=2)
        )
        resume_cuts.times = 25
        results = {plan.index: Result() for plan in plans}
        async with AsyncLetta(
            server.base_url,
            timeout=timeout,
            resume=settings,
            max_retries=2,
            limits=Limits(max_connections=STREAMS * 2),
        ) as client:
            async with anyio.create_task_group() as tg:
                for plan in plans:
                    tg.start_soon(run_one, client, plan, results[plan.index])
            assert acquired(client) == 0
        failures = []
        for plan in plans:
            problems = check(server, plan, results[plan.index])
            if problems:
                failures.append(f"#{plan.index} {plan.kind}: " + "; ".join(problems))
        injected = sum(f.hits for plan in plans for f in plan.faults) + resume_cuts.hits
    kinds = Counter(plan.kind for plan in plans)
    TALLY.case("500 streams", len(plans))
    TALLY.fault("500 streams", injected)
    assert all(kinds[k] > 0 for k in KINDS), kinds
    assert resume_cuts.hits > 0, "the resume cuts were exercised"
    assert not failures, f"{len(failures)} of {len(plans)} streams (seed {seed}):\n" + "\n".join(
        failures[:15]
    )
    assert len({event_key(e) for r in results.values() for e in r.events}) > STREAMS
