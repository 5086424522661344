"""An orchestrator: one question to 100 agents at once, at most 20 streams at a time.

    python examples/orchestrator.py            # 100 agents, 20 concurrent streams
    python examples/orchestrator.py 500 50     # 500 agents, 50 concurrent streams

What it shows: :func:`letta_async.fan_out` turning many streams into one sequence of
``(agent_id, event)`` pairs. The limit caps open streams (and so connections and server load);
the bounded buffer means a slow consumer slows the streams down instead of letting events pile
up in memory; a failing agent arrives as ``(agent_id, exception)`` while the others carry on.
Usage is summed from each stream's ``usage_statistics`` event.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TextIO

import anyio
from _common import connect, create_agent

from letta_async import AsyncLetta, LettaError, fan_out
from letta_async.types import AssistantMessage, LettaStopReason, LettaUsageStatistics

PROMPT = "In one short sentence: what is the most useful thing you can do? [tokens=20]"


@dataclass
class Report:
    """What came back from the fan-out."""

    agents: int
    replies: dict[str, str] = field(default_factory=dict)
    stop_reasons: Counter[str] = field(default_factory=Counter)
    failed: dict[str, str] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    steps: int = 0
    max_active: int = 0
    """The most streams seen running at once (never above the limit)."""

    def add_usage(self, usage: LettaUsageStatistics) -> None:
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.total_tokens += usage.total_tokens
        self.steps += usage.step_count


async def _for_each(count: int, limit: int, job: Callable[[int], Awaitable[None]]) -> None:
    """Run ``job(i)`` for every i, at most ``limit`` at a time (agent set-up and clean-up)."""
    limiter = anyio.CapacityLimiter(limit)

    async def one(i: int) -> None:
        async with limiter:
            await job(i)

    async with anyio.create_task_group() as tg:
        for i in range(count):
            tg.start_soon(one, i)


async def ask_everyone(
    client: AsyncLetta, agent_ids: list[str], *, limit: int, buffer: int
) -> Report:
    """Stream one answer from every agent, aggregating as events arrive."""
    report = Report(agents=len(agent_ids))
    requests = {
        agent_id: functools.partial(
            client.agents.messages.create,
            agent_id,
            messages=[{"role": "user", "content": PROMPT}],
            streaming=True,
            stream_tokens=True,
        )
        for agent_id in agent_ids
    }
    async with fan_out(requests, limit=limit, buffer=buffer) as events:
        async for agent_id, event in events:
            report.max_active = max(report.max_active, events.active)
            if isinstance(event, Exception):
                report.failed[agent_id] = f"{type(event).__name__}: {event}"
            elif isinstance(event, AssistantMessage) and isinstance(event.content, str):
                report.replies[agent_id] = report.replies.get(agent_id, "") + event.content
            elif isinstance(event, LettaStopReason):
                report.stop_reasons[event.stop_reason] += 1
            elif isinstance(event, LettaUsageStatistics):
                report.add_usage(event)
    return report


async def main(
    agents: int = 100,
    limit: int = 20,
    *,
    buffer: int = 200,
    base_url: str | None = None,
    out: TextIO | None = None,
) -> Report:
    """Create ``agents`` agents, ask them all, print a summary, delete the agents."""
    out = out or sys.stdout
    async with connect(base_url) as client:
        agent_ids = [""] * agents

        async def make(i: int) -> None:
            agent_ids[i] = await create_agent(client, f"orchestrator-{i}")

        async def remove(i: int) -> None:
            if agent_ids[i]:
                await client.agents.delete(agent_ids[i])

        await _for_each(agents, limit, make)
        try:
            started = anyio.current_time()
            report = await ask_everyone(client, agent_ids, limit=limit, buffer=buffer)
            elapsed = anyio.current_time() - started
        finally:
            await _for_each(agents, limit, remove)

    print(f"{report.agents} agents, at most {report.max_active} streams at once", file=out)
    print(f"stop reasons: {dict(report.stop_reasons)}; failed: {len(report.failed)}", file=out)
    print(
        f"usage: {report.prompt_tokens} prompt + {report.completion_tokens} completion"
        f" = {report.total_tokens} tokens over {report.steps} steps, in {elapsed:.2f}s",
        file=out,
    )
    for agent_id, error in sorted(report.failed.items()):
        print(f"  {agent_id}: {error}", file=out)
    return report


def run(argv: list[str]) -> int:
    agents = int(argv[0]) if argv else 100
    limit = int(argv[1]) if len(argv) > 1 else 20
    try:
        report = asyncio.run(main(agents, limit))
    except LettaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
