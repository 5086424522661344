"""The chaos runs' sink, loaded by each worker process (``--handler``, ``--on-claim``,
``--on-outcome`` of ``letta-async worker``).

It records every delivery as it happens, raw, in the chaos Redis (not the namespace's keys):
one list per run, one entry per event, ``seq|fence|incarnation|batch|message_type``. Like a
real exactly-once sink it refuses a batch whose fence is older than one it already accepted
for that run (a writer that lost its lease while paused); refused batches are counted
separately so that the report can show them. Duplicates are *not* dropped here: the analysis
counts them, so that a bug that delivers twice cannot hide behind the sink.

Configuration comes from the environment: ``CHAOS_SINK`` (Redis URL) and
``CHAOS_INCARNATION`` (which process start this is).
"""

from __future__ import annotations

import itertools
import os
import time
from typing import Any

import redis.asyncio as aioredis

from letta_async.durable import Batch, Claim, Outcome

_RECORD = """
local newest = tonumber(redis.call('GET', KEYS[2]) or '0')
local fence = tonumber(ARGV[1])
if fence < newest then
  redis.call('RPUSH', KEYS[3], ARGV[2])
  return 0
end
if fence > newest then redis.call('SET', KEYS[2], fence) end
redis.call('RPUSH', KEYS[1], unpack(ARGV, 3))
return 1
"""

_client: aioredis.Redis | None = None
_batches = itertools.count(1)
INCARNATION = os.environ.get("CHAOS_INCARNATION", "0")


def _redis() -> aioredis.Redis:
    global _client
    if _client is None:
        _client = aioredis.Redis.from_url(os.environ["CHAOS_SINK"])
    return _client


async def handle(batch: Batch) -> None:
    fence = batch.fence if batch.fence is not None else int(INCARNATION)
    number = f"{INCARNATION}.{next(_batches)}"
    entries = [
        f"{seq}|{fence}|{INCARNATION}|{number}|{event.message_type}"
        for event, seq in zip(batch.events, batch.seq_ids, strict=True)
    ]
    run = batch.run_id
    await _redis().eval(
        _RECORD,
        3,
        f"chaos:sink:{run}",
        f"chaos:fence:{run}",
        "chaos:stale",
        fence,
        f"{run}|{fence}|{INCARNATION}|{len(entries)}",
        *entries,
    )


async def on_claim(claim: Claim) -> None:
    cursor = claim.cursor
    await _redis().rpush(
        "chaos:claims",
        f"{cursor.key}|{cursor.fence}|{INCARNATION}|{claim.claimed_at:.6f}",
    )


async def on_outcome(outcome: Outcome) -> None:
    entry: Any = (
        f"{outcome.key}|{outcome.status}|{outcome.run_id or ''}|{INCARNATION}|"
        f"{time.monotonic():.6f}"
    )
    await _redis().rpush("chaos:outcomes", entry)
