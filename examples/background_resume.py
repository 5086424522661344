"""A background run that outlives the process reading it.

    python -m letta_async.testing --port 8283 &       # or any real Letta server
    export LETTA_BASE_URL=http://127.0.0.1:8283
    python examples/background_resume.py --stop-after 5   # reads 5 events, then "dies"
    python examples/background_resume.py                  # picks up exactly where it stopped

Without ``LETTA_BASE_URL`` both steps run in one process against a local server.

What it shows: a background run keeps going on the server whatever happens to its reader. The
reader saves ``run_id`` and ``last_seq_id`` together with its own progress after every event,
in one atomic file write, so a crash at any moment leaves a consistent checkpoint. A new process
continues with ``client.runs.stream(run_id, starting_after=last_seq_id)``: no event is lost,
none is handled twice. When the run is over, the example replays it from the start and checks
that what the two processes saw together is exactly the whole run.

``last_seq_id`` only advances as events are handed to the caller, so a checkpoint written after
handling an event never covers an event that was received but not handled. (Atomic replace
survives a killed process; add ``os.fsync`` before it to survive a power cut too.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from _common import connect, create_agent

from letta_async import LettaError
from letta_async.testing import LettaTestServer
from letta_async.types import AssistantMessage

PROMPT = "Count slowly from one to sixty, one number per token. [tokens=60] [chunkdelay=0.02]"


@dataclass
class Checkpoint:
    """Everything a restarted reader needs, saved after every event."""

    agent_id: str
    run_id: str | None = None
    last_seq_id: int | None = None
    text: str = ""
    """The reply so far: the reader's own progress, saved in the same write as the cursor."""
    seqs: list[int] = field(default_factory=list)
    """Every numbered event handled, in order: kept here only to prove exactly-once."""
    finished: bool = False
    verified: bool | None = None

    @classmethod
    def load(cls, path: Path) -> Checkpoint | None:
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        return cls(**data)

    def save(self, path: Path) -> None:
        """Write a temporary file and rename it over the old one: all or nothing."""
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(asdict(self)))
        os.replace(tmp, path)


async def main(
    state_file: str | os.PathLike[str] = "background_run.json",
    *,
    stop_after: int | None = None,
    base_url: str | None = None,
    out: TextIO | None = None,
) -> Checkpoint:
    """Start a background run or continue the one in ``state_file``.

    ``stop_after`` stops reading after that many events, the way a crash would (the run goes
    on without us). Returns the checkpoint as saved.
    """
    out = out or sys.stdout
    path = Path(state_file)
    checkpoint = Checkpoint.load(path)
    async with connect(base_url) as client:
        if checkpoint is None or checkpoint.finished:
            agent_id = await create_agent(client, "background-example")
            checkpoint = Checkpoint(agent_id=agent_id)
            stream = await client.agents.messages.create(
                agent_id,
                messages=[{"role": "user", "content": PROMPT}],
                streaming=True,
                stream_tokens=True,
                background=True,
            )
            print("started a new background run", file=out)
        else:
            assert checkpoint.run_id is not None
            stream = client.runs.stream(checkpoint.run_id, starting_after=checkpoint.last_seq_id)
            print(
                f"resuming run {checkpoint.run_id} after seq_id {checkpoint.last_seq_id}",
                file=out,
            )

        handled = 0
        async with stream:
            async for event in stream:
                # Handle the event...
                if isinstance(event, AssistantMessage) and isinstance(event.content, str):
                    checkpoint.text += event.content
                seq = getattr(event, "seq_id", None)
                if seq is not None:
                    checkpoint.seqs.append(seq)
                # ...then save the progress and the cursor in one write.
                checkpoint.run_id = stream.run_id
                checkpoint.last_seq_id = stream.last_seq_id
                checkpoint.save(path)
                handled += 1
                if stop_after is not None and handled >= stop_after:
                    print(
                        f"stopped after {handled} events at seq_id {stream.last_seq_id};"
                        " the run goes on without us",
                        file=out,
                    )
                    return checkpoint

        print(f"run finished ({stream.stop_reason}) after {handled} more events", file=out)
        assert checkpoint.run_id is not None
        replay = await client.runs.stream(checkpoint.run_id, starting_after=0).until_done()
        whole = [seq for e in replay if (seq := getattr(e, "seq_id", None)) is not None]
        whole_text = "".join(
            e.content
            for e in replay
            if isinstance(e, AssistantMessage) and isinstance(e.content, str)
        )
        checkpoint.verified = whole == checkpoint.seqs and whole_text == checkpoint.text
        checkpoint.finished = True
        checkpoint.save(path)
        await client.agents.delete(checkpoint.agent_id)
    verdict = "every event exactly once, in order" if checkpoint.verified else "MISMATCH"
    print(f"checked against a full replay of {len(whole)} numbered events: {verdict}", file=out)
    return checkpoint


async def _local_demo(state_file: str) -> Checkpoint:
    """Both halves in one process, against a local server that lives across them."""
    async with LettaTestServer() as server:
        await main(state_file, stop_after=5, base_url=server.base_url)
        return await main(state_file, base_url=server.base_url)


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--state",
        help="checkpoint file (default: background_run.json, or a temporary file when the "
        "example runs against its own local server)",
    )
    parser.add_argument("--stop-after", type=int, help="stop reading after N events")
    args = parser.parse_args(argv)
    try:
        if os.environ.get("LETTA_BASE_URL"):
            state = args.state or "background_run.json"
            checkpoint = asyncio.run(main(state, stop_after=args.stop_after))
        elif args.state:
            Path(args.state).unlink(missing_ok=True)
            checkpoint = asyncio.run(_local_demo(args.state))
        else:
            with tempfile.TemporaryDirectory() as tmp:
                checkpoint = asyncio.run(_local_demo(os.path.join(tmp, "background_run.json")))
    except LettaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 1 if checkpoint.verified is False else 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
