"""A fleet of workers on Redis: submit work under keys, let any worker deliver it.

    pip install 'letta-async[redis]'
    export LETTA_DURABLE_REDIS=redis://127.0.0.1:6379/0      # any Redis 6.2+
    python examples/durable_fleet.py --jobs 20 --workers 2

Without ``LETTA_BASE_URL`` it runs against a local server; Redis is always needed. The same
from the shell, with each worker a process of its own (start as many as you like, anywhere;
kill any of them and its keys move to the others after the lease expires):

    letta-async submit --redis $LETTA_DURABLE_REDIS job-1 AGENT_ID "Hello!"
    letta-async worker --redis $LETTA_DURABLE_REDIS --handler mysink:handle

What it shows: :func:`letta_async.durable.submit` records each send (its ``otid`` included)
in Redis and returns; workers claim keys as they have room, stream the background runs, hand
every batch to the handler and acknowledge it with a fenced write. Here the workers are tasks
of one process and the handler gathers each reply; the last lines say which worker delivered
which key and check the replies against the runs' own records.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

import anyio
from _common import connect, create_agent

from letta_async import LettaError
from letta_async.durable import Batch, Claim, RedisCursorStore, Worker, submit
from letta_async.types import AssistantMessage

PROMPT = "Count from one to twenty, one number per token. [tokens=20] [chunkdelay=0.01]"


@dataclass
class Report:
    replies: dict[str, str] = field(default_factory=dict)
    """The assembled reply of each key."""
    runs: dict[str, str] = field(default_factory=dict)
    delivered_by: dict[str, str] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)
    verified: bool | None = None


async def main(
    redis_url: str,
    *,
    jobs: int = 20,
    workers: int = 2,
    namespace: str = "letta-example",
    base_url: str | None = None,
    out: TextIO | None = None,
) -> Report:
    out = out or sys.stdout
    report = Report()

    async def handler(batch: Batch) -> None:
        report.runs[batch.key] = batch.run_id
        for event in batch:
            if isinstance(event, AssistantMessage) and isinstance(event.content, str):
                report.replies[batch.key] = report.replies.get(batch.key, "") + event.content

    async with (
        connect(base_url) as client,
        RedisCursorStore(redis_url, namespace=namespace) as store,
    ):
        agent_id = await create_agent(client, "fleet-example")
        # The producer's side: record the work; no connection to the agent is held for it.
        for i in range(jobs):
            await submit(
                store,
                f"job-{i}",
                agent_id,
                messages=[{"role": "user", "content": PROMPT}],
                stream_tokens=True,
            )
        print(f"submitted {jobs} jobs to namespace {namespace!r}", file=out)

        # The consumers' side: each worker claims keys until nothing is queued or held.
        def claimed_by(name: str) -> object:
            def note(claim: Claim) -> None:
                report.delivered_by[claim.cursor.key] = name

            return note

        fleet = [
            Worker(client, store, handler, limit=5, poll_interval=0.1, on_claim=claimed_by(f"w{n}"))
            for n in range(workers)
        ]
        with anyio.fail_after(120):
            async with anyio.create_task_group() as group:
                for worker in fleet:
                    group.start_soon(lambda w=worker: w.run(until_empty=True))
        for worker in fleet:
            report.outcomes.update(worker.outcomes)

        # Check each reply against what the run itself stored.
        verified = True
        for key, run_id in report.runs.items():
            stored = ""
            async for message in client.runs.messages.list(run_id):
                if isinstance(message, AssistantMessage) and isinstance(message.content, str):
                    stored += message.content
            verified = verified and stored == report.replies.get(key, "")
        report.verified = verified and len(report.runs) == jobs
        await client.agents.delete(agent_id)

    share = Counter(report.delivered_by.values())
    print(
        f"outcomes: {dict(report.outcomes)}; keys per worker: {dict(sorted(share.items()))}",
        file=out,
    )
    verdict = "match the runs' records" if report.verified else "MISMATCH"
    print(f"{len(report.replies)} replies {verdict}", file=out)
    return report


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis", default=os.environ.get("LETTA_DURABLE_REDIS"))
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if not args.redis:
        parser.error("give --redis URL or set LETTA_DURABLE_REDIS")
    try:
        report = asyncio.run(main(args.redis, jobs=args.jobs, workers=args.workers))
    except LettaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0 if report.verified else 1


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
