"""A non-streaming batch job: one request to each of many agents, a few at a time.

    python examples/batch.py           # 20 agents, 5 requests in flight
    python examples/batch.py 50 10

What it shows: when nobody watches the reply being written, ``client.agents.messages.create``
(one request, one JSON reply) is simpler than a stream. An :class:`anyio.CapacityLimiter` keeps
the number of requests in flight fixed however long the list; every item gets its own result
slot, so one failure is recorded next to the others' answers instead of aborting the job.
Retries are the client's: a failed attempt is sent again with the same message ``otid``, so
the server can tell a retry from a new message.

Each agent gets one message: concurrent messages to the *same* agent would interleave in its
single history. (For parallel threads on one agent, use ``client.conversations``.)
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import TextIO

import anyio
from _common import connect, create_agent

from letta_async import AsyncLetta, LettaError
from letta_async.types import AssistantMessage

PROMPT = "Summarise what you know about the user in one sentence."


@dataclass
class Result:
    """One item of the batch: its answer and token count, or its error."""

    agent_id: str
    answer: str | None = None
    total_tokens: int = 0
    stop_reason: str | None = None
    error: str | None = None


async def run_batch(client: AsyncLetta, jobs: dict[str, str], *, concurrency: int) -> list[Result]:
    """Send ``jobs`` (agent id -> prompt) with at most ``concurrency`` requests in flight."""
    limiter = anyio.CapacityLimiter(concurrency)
    results = [Result(agent_id) for agent_id in jobs]

    async def one(result: Result, prompt: str) -> None:
        async with limiter:
            try:
                response = await client.agents.messages.create(
                    result.agent_id, messages=[{"role": "user", "content": prompt}]
                )
            except LettaError as exc:
                result.error = f"{type(exc).__name__}: {exc}"
                return
        result.answer = "".join(
            m.content
            for m in response.messages
            if isinstance(m, AssistantMessage) and isinstance(m.content, str)
        )
        result.total_tokens = response.usage.total_tokens
        result.stop_reason = response.stop_reason.stop_reason

    async with anyio.create_task_group() as tg:
        for result, prompt in zip(results, jobs.values(), strict=True):
            tg.start_soon(one, result, prompt)
    return results


async def main(
    agents: int = 20,
    concurrency: int = 5,
    *,
    prompts: list[str] | None = None,
    base_url: str | None = None,
    out: TextIO | None = None,
) -> list[Result]:
    """Create ``agents`` agents, send each one prompt, print a table, delete the agents.

    ``prompts`` overrides the prompt per agent (its length then sets the number of agents).
    """
    out = out or sys.stdout
    texts = prompts if prompts is not None else [PROMPT] * agents
    async with connect(base_url) as client:
        agent_ids = [await create_agent(client, f"batch-{i}") for i in range(len(texts))]
        try:
            jobs = dict(zip(agent_ids, texts, strict=True))
            results = await run_batch(client, jobs, concurrency=concurrency)
        finally:
            for agent_id in agent_ids:
                await client.agents.delete(agent_id)
    for result in results:
        shown = result.answer if result.error is None else f"FAILED {result.error}"
        print(f"{result.agent_id}  {result.total_tokens:>5} tokens  {shown}", file=out)
    failed = sum(r.error is not None for r in results)
    total = sum(r.total_tokens for r in results)
    print(f"{len(results)} requests, {failed} failed, {total} tokens", file=out)
    return results


def run(argv: list[str]) -> int:
    agents = int(argv[0]) if argv else 20
    concurrency = int(argv[1]) if len(argv) > 1 else 5
    try:
        results = asyncio.run(main(agents, concurrency))
    except LettaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
