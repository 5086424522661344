"""Cancelling a run from another task: a supervisor stops an agent that runs too long.

    python examples/cancel_run.py          # cancels after 1 second
    python examples/cancel_run.py 0.2      # ... or after 0.2 seconds

What it shows: the task reading a stream and the task deciding to stop it need not be the same.
Here a supervisor task waits until the stream has told us its ``run_id``, gives the run a time
budget, then calls ``client.agents.messages.cancel(agent_id, run_ids=[run_id])``. The reading
task needs no change at all: the stream ends by itself with the ``cancelled`` stop reason.

Two shorter forms exist when the reader itself decides: ``await stream.cancel()``, and
``cancel_on_exit=True`` (leaving ``async with stream:`` early cancels the run). Closing a
stream without either only stops *watching*: the run carries on on the server.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import TextIO

import anyio
from _common import connect, create_agent

from letta_async import LettaError
from letta_async.types import AssistantMessage

PROMPT = "Write a very long story about a lighthouse keeper. [tokens=2000] [chunkdelay=0.01]"


@dataclass
class Outcome:
    """How the run ended, as the reader saw it and as the server recorded it."""

    run_id: str | None
    stop_reason: str | None
    run_status: str | None
    tokens_received: int
    cancel_answer: dict[str, str] | None


async def main(
    budget: float = 1.0, *, base_url: str | None = None, out: TextIO | None = None
) -> Outcome:
    """Stream a long reply and cancel its run from a second task after ``budget`` seconds."""
    out = out or sys.stdout
    async with connect(base_url) as client:
        agent_id = await create_agent(client, "cancel-example")
        try:
            stream = await client.agents.messages.create(
                agent_id,
                messages=[{"role": "user", "content": PROMPT}],
                streaming=True,
                stream_tokens=True,
            )
            run_known = anyio.Event()
            answer: dict[str, str] | None = None
            cancelling = False
            received = 0

            async def supervisor() -> None:
                nonlocal answer, cancelling
                await run_known.wait()
                await anyio.sleep(budget)
                assert stream.run_id is not None
                cancelling = True
                print(f"\n[supervisor] over budget: cancelling {stream.run_id}", file=out)
                answer = await client.agents.messages.cancel(agent_id, run_ids=[stream.run_id])

            async with anyio.create_task_group() as tg:
                tg.start_soon(supervisor)
                async with stream:
                    async for event in stream:
                        if stream.run_id is not None:
                            run_known.set()  # the first ping already names the run
                        if isinstance(event, AssistantMessage):
                            received += 1
                            print(event.content, end="", file=out, flush=True)
                if not cancelling:
                    # The run ended within its budget: the supervisor has nothing to do.
                    tg.cancel_scope.cancel()

            run = await client.runs.retrieve(stream.run_id) if stream.run_id else None
            outcome = Outcome(
                run_id=stream.run_id,
                stop_reason=stream.stop_reason,
                run_status=run.status if run else None,
                tokens_received=received,
                cancel_answer=answer,
            )
        finally:
            await client.agents.delete(agent_id)
    print(f"\nstream ended with {outcome.stop_reason}; the run is {outcome.run_status}", file=out)
    return outcome


def run(argv: list[str]) -> int:
    budget = float(argv[0]) if argv else 1.0
    try:
        asyncio.run(main(budget))
    except LettaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
