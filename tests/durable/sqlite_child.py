"""The process the embedded chaos run kills and restarts: recover everything, run it, exit.

``python -m tests.durable.sqlite_child DB BASE_URL SINK INCARNATION LIMIT``. Every start
calls ``recover()``, which sends the recorded-but-unsent, looks up the maybe-sent by otid and
resumes the rest after their cursors. The sink appends one JSON line per batch with one
``write`` (O_APPEND), so a kill leaves whole lines only; the line is the handler's effect,
written before the handler returns and so before the acknowledgement.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys

from letta_async import AsyncLetta
from letta_async.durable import Batch, DurableStreams, OtidLookup, SQLiteCursorStore


async def main(db: str, base_url: str, sink: str, incarnation: int, limit: int) -> int:
    fd = os.open(sink, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    numbers = itertools.count(1)

    async def handler(batch: Batch) -> None:
        record = {
            "run": batch.run_id,
            "seqs": batch.seq_ids,
            "kinds": [e.message_type for e in batch.events],
            "incarnation": incarnation,
            "batch": f"{incarnation}.{next(numbers)}",
        }
        os.write(fd, (json.dumps(record) + "\n").encode())

    try:
        async with (
            AsyncLetta(base_url=base_url) as client,
            SQLiteCursorStore(db) as store,
            DurableStreams(
                client, store, handler, limit=limit, lookup=OtidLookup(grace=2.0)
            ) as durable,
        ):
            await durable.recover()
            print(f"incarnation {incarnation} recovered", file=sys.stderr, flush=True)
            outcomes = await durable.join()
            failed = [o for o in outcomes if o.status == "failed"]
            if failed:
                print(f"failed: {failed[:3]}", file=sys.stderr)
                return 3
    finally:
        os.close(fd)
    return 0


if __name__ == "__main__":
    db, base_url, sink, incarnation, limit = sys.argv[1:6]
    sys.exit(asyncio.run(main(db, base_url, sink, int(incarnation), int(limit))))
