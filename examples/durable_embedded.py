"""A background run delivered exactly once across a crash, with the SQLite cursor store.

    python -m letta_async.testing --port 8283 &       # or any real Letta server
    export LETTA_BASE_URL=http://127.0.0.1:8283
    python examples/durable_embedded.py --state ./state --crash-after 12   # dies mid-run
    python examples/durable_embedded.py --state ./state                    # carries on

Without ``LETTA_BASE_URL`` both steps run in one process against a local server.

What it shows: ``DurableStreams`` records the send (with the message's ``otid``) before it
goes out, hands each batch of events to the handler, and moves the cursor only when the
handler returned. The handler here applies each event to a small "database" (a JSON file
written atomically), keyed by the event's idempotency key ``run_id:seq_id``. ``--crash-after``
makes the process die right after applying a batch and before its acknowledgement, the worst
moment: the restarted process recovers the key from the store, the server replays that one
batch, and the key makes the replay a no-op. At the end the database is checked against a
full replay of the run: every event applied exactly once, in order. Running the second step
once more finds the work done and says so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import anyio
import anyio.to_thread
from _common import connect, create_agent

from letta_async import AsyncLetta, LettaError
from letta_async.durable import Batch, DurableStreams, SQLiteCursorStore
from letta_async.testing import LettaTestServer
from letta_async.types import AssistantMessage

PROMPT = "Count slowly from one to forty, one number per token. [tokens=40] [chunkdelay=0.02]"
KEY = "count-to-forty"


class Crash(BaseException):
    """The process dying: nothing catches it, so nothing is acknowledged after it."""


@dataclass
class Database:
    """The handler's side effect: events applied by idempotency key, saved atomically."""

    path: Path
    applied: dict[str, Any] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    replays_ignored: int = 0

    @classmethod
    def open(cls, path: Path) -> Database:
        if not path.exists():
            return cls(path)
        data = json.loads(path.read_text())
        return cls(path, data["applied"], data["order"], data["replays_ignored"])

    def apply(self, batch: Batch) -> None:
        for delivery in batch.deliveries():
            key = delivery.idempotency_key
            if key is None:
                continue
            if key in self.applied:
                self.replays_ignored += 1  # a replay after a crash: already applied
                continue
            event = delivery.event
            text = event.content if isinstance(event, AssistantMessage) else None
            self.applied[key] = {"type": event.message_type, "text": text}
            self.order.append(key)
        data = {
            "applied": self.applied,
            "order": self.order,
            "replays_ignored": self.replays_ignored,
        }
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.path)  # all or nothing, like a database transaction


@dataclass
class Result:
    crashed: bool = False
    run_id: str | None = None
    applied: int = 0
    replays_ignored: int = 0
    verified: bool | None = None


async def main(
    state: str | os.PathLike[str],
    *,
    crash_after: int | None = None,
    base_url: str | None = None,
    out: TextIO | None = None,
) -> Result:
    """Send (or recover) the run under ``KEY``; with ``crash_after``, die after that many
    events were applied, before their acknowledgement."""
    out = out or sys.stdout
    folder = Path(state)
    db = await anyio.to_thread.run_sync(_open_database, folder)
    seen = len(db.order)
    result = Result()

    async def handler(batch: Batch) -> None:
        await anyio.to_thread.run_sync(db.apply, batch)  # file I/O off the event loop
        if crash_after is not None and len(db.order) - seen >= crash_after:
            raise Crash  # after the effect, before the acknowledgement

    async with connect(base_url) as client, SQLiteCursorStore(folder / "cursors.db") as store:
        try:
            async with DurableStreams(client, store, handler) as durable:
                found = await durable.recover()
                if found:
                    for cursor in found:
                        print(
                            f"recovering {cursor.key}: {cursor.phase} after {cursor.seq_id}",
                            file=out,
                        )
                elif not db.order:
                    agent_id = await create_agent(client, "durable-example")
                    await durable.send(
                        KEY,
                        agent_id,
                        messages=[{"role": "user", "content": PROMPT}],
                        stream_tokens=True,
                    )
                    print(f"sent {KEY}", file=out)
                outcomes = await durable.join()
        except BaseException as exc:
            if not _crashed(exc):
                raise
            print(f"crashed after applying {len(db.order)} events", file=out)
            result.crashed = True
            return result
        if not found and db.order:
            # A re-run after the work was done: nothing was in the store and nothing was sent.
            # The run (and its agent) were deleted at the end of the run that finished it, so
            # there is nothing left on the server to check the database against again.
            print(f"{KEY} was delivered already ({len(db.order)} events); nothing to do", file=out)
            result.applied = len(db.order)
            result.replays_ignored = db.replays_ignored
            return result
        for outcome in outcomes:
            print(f"{outcome.key}: {outcome.status} ({outcome.stop_reason})", file=out)
            result.run_id = outcome.run_id
        if result.run_id is not None:
            result.verified = await _verify(client, result.run_id, db)
            agent = (await client.runs.retrieve(result.run_id)).agent_id
            if agent is not None:
                await client.agents.delete(agent)
    result.applied = len(db.order)
    result.replays_ignored = db.replays_ignored
    verdict = "every event exactly once, in order" if result.verified else "MISMATCH"
    print(
        f"{result.applied} events applied, {db.replays_ignored} replayed ones ignored; "
        f"checked against a full replay: {verdict}",
        file=out,
    )
    return result


def _open_database(folder: Path) -> Database:
    folder.mkdir(parents=True, exist_ok=True)
    return Database.open(folder / "database.json")


def _crashed(exc: BaseException) -> bool:
    if isinstance(exc, Crash):
        return True
    return any(_crashed(e) for e in getattr(exc, "exceptions", ()))


async def _verify(client: AsyncLetta, run_id: str, db: Database) -> bool:
    """The database must hold exactly the run's numbered events, in the server's order."""
    replay = client.runs.stream(run_id, starting_after=0)
    wanted: list[str] = []
    position = 0
    async for event in replay:
        seq = getattr(event, "seq_id", None)
        if event.message_type == "ping":
            position = seq or position
            continue
        position = seq if seq is not None else position + 1
        wanted.append(f"{run_id}:{position}")
    return db.order == wanted


async def _local_demo(state: str, out: TextIO | None = None) -> Result:
    """Both halves in one process, against a local server that lives across them."""
    async with LettaTestServer() as server:
        await main(state, crash_after=12, base_url=server.base_url, out=out)
        return await main(state, base_url=server.base_url, out=out)


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state", help="folder for the cursor store and the database")
    parser.add_argument("--crash-after", type=int, help="die after applying N events")
    args = parser.parse_args(argv)
    try:
        if os.environ.get("LETTA_BASE_URL"):
            result = asyncio.run(main(args.state or "durable-state", crash_after=args.crash_after))
            return 3 if result.crashed else (0 if result.verified is not False else 1)
        with tempfile.TemporaryDirectory() as tmp:
            result = asyncio.run(_local_demo(args.state or tmp))
    except LettaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0 if result.verified else 1


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
