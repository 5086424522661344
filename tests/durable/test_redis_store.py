"""What a worker reads back from the Redis store: fences, leases, logs and the server clock.

Where the SQLite store has the same call, the test runs on both (the ``store`` fixture): the
two must answer alike.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import anyio
import pytest
import redis.asyncio as aioredis

from letta_async.durable import CursorStore, Ended, RedisCursorStore
from letta_async.durable._job import prepare

from .redis_server import RedisServer

pytestmark = pytest.mark.anyio

AGENT = "agent-00000000-0000-4000-8000-000000000001"
TTL = 0.3


async def record(store: CursorStore, keys: Sequence[str]) -> None:
    async def one(key: str) -> None:
        assert await store.record(prepare(key, AGENT, [{"role": "user", "content": key}], {}))

    async with anyio.create_task_group() as tg:
        for key in keys:
            tg.start_soon(one, key)


async def test_a_key_nobody_claimed_has_fence_zero(store: CursorStore) -> None:
    """Fence 0 is what an unfenced writer's cursor carries before any worker holds the key."""
    await record(store, ["a"])
    got = await store.get("a")
    assert got is not None and got.fence == 0
    assert [(c.key, c.fence) for c in await store.in_flight()] == [("a", 0)]


async def test_an_empty_key_is_a_key_like_any_other(store: CursorStore) -> None:
    await record(store, [""])
    got = await store.get("")
    assert got is not None and got.key == "" and got.agent_id == AGENT
    assert [c.key for c in await store.in_flight()] == [""]


async def test_get_and_in_flight_show_the_fence_of_the_latest_claim(
    redis_store: RedisCursorStore,
) -> None:
    """Every held key is listed with the fence its holder writes with, so a stale writer can be
    told from the current one."""
    await record(redis_store, ["a", "b", "c"])
    assert len(await redis_store.claim("w1", 3, TTL)) == 3
    await anyio.sleep(TTL + 0.1)
    taken = await redis_store.claim("w2", 3, 10)
    assert sorted((c.cursor.key, c.cursor.fence) for c in taken) == [("a", 2), ("b", 2), ("c", 2)]
    assert await redis_store.counts() == {"queued": 0, "held": 3, "parked": 0}
    for key in ("a", "b", "c"):
        got = await redis_store.get(key)
        assert got is not None and got.fence == 2
    listed = await redis_store.in_flight()
    assert sorted((c.key, c.fence) for c in listed) == [("a", 2), ("b", 2), ("c", 2)]


def _score_key(store: RedisCursorStore, name: str) -> str:
    return "{" + store.namespace + "}:" + name


async def test_a_renewal_sets_the_lease_to_its_ttl_on_the_server_clock(
    redis_store: RedisCursorStore,
) -> None:
    """The lease's expiry (what every other worker's claim compares with) is the renewal time
    plus exactly the TTL asked for."""
    await record(redis_store, ["a"])
    (claim,) = await redis_store.claim("w1", 1, 10)
    before = await redis_store.now()
    assert await redis_store.renew([("a", claim.cursor.fence)], 100.0) == [True]
    after = await redis_store.now()
    expiry = await redis_store.redis.zscore(_score_key(redis_store, "leases"), "a")
    assert expiry is not None
    assert before + 100.0 - 0.002 <= expiry / 1000 <= after + 100.0 + 0.002


async def test_a_released_key_is_due_after_exactly_its_delay(
    redis_store: RedisCursorStore,
) -> None:
    await record(redis_store, ["a"])
    (claim,) = await redis_store.claim("w1", 1, 10)
    before = await redis_store.now()
    assert await redis_store.release("a", claim.cursor.fence, delay=100.0)
    after = await redis_store.now()
    due = await redis_store.redis.zscore(_score_key(redis_store, "queue"), "a")
    assert due is not None
    assert before + 100.0 - 0.002 <= due / 1000 <= after + 100.0 + 0.002


async def test_the_claim_log_keeps_when_the_taken_over_lease_expired(
    redis_store: RedisCursorStore,
) -> None:
    await record(redis_store, ["a"])
    await redis_store.claim("w1", 1, TTL)
    await anyio.sleep(TTL + 0.1)
    (taken,) = await redis_store.claim("w2", 1, 10)
    first, second = await redis_store.claim_log()
    assert second.expired_at is not None and taken.expired_for is not None
    assert second.expired_at == pytest.approx(first.at + TTL, abs=0.0015)
    assert second.at - second.expired_at == pytest.approx(taken.expired_for, abs=0.0015)


async def test_the_claim_log_returns_the_latest_thousand_by_default(
    redis_store: RedisCursorStore,
) -> None:
    keys = [f"k{i:04d}" for i in range(1001)]
    await record(redis_store, keys)
    assert len(await redis_store.claim("w1", 1001, 10)) == 1001
    claimed = [c.key for c in await redis_store.claim_log(count=2000)]
    assert sorted(claimed) == keys
    log = await redis_store.claim_log()
    assert [c.key for c in log] == claimed[1:]
    assert [c.key for c in await redis_store.claim_log(count=2)] == claimed[-2:]


async def test_the_ended_log_returns_the_latest_hundred_by_default(store: CursorStore) -> None:
    keys = [f"k{i:03d}" for i in range(101)]
    await record(store, keys)
    for key in keys:
        assert await store.finish(key, ended=Ended(key=key, status="gone", agent_id=AGENT))
    assert [e.key for e in await store.ended()] == keys[1:]
    assert [e.key for e in await store.ended(limit=200)] == keys


async def test_now_is_the_redis_server_clock(redis_store: RedisCursorStore) -> None:
    """The test's Redis runs on this machine, so its clock is ours to within a round trip."""
    for _ in range(3):
        before = time.time()
        now = await redis_store.now()
        after = time.time()
        assert before - 0.001 <= now <= after + 0.001
        await anyio.sleep(0.0137)


async def test_a_client_that_decodes_replies_works_the_same(redis_server: RedisServer) -> None:
    """A caller may hand over its own client made with ``decode_responses=True``."""
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        store = RedisCursorStore(client, namespace="decoded-replies")
        await record(store, ["a"])
        assert await store.mark_sending("a", 1.5)
        (claim,) = await store.claim("w1", 1, 10)
        fence = claim.cursor.fence
        assert await store.set_run("a", "run-1", fence=fence)
        assert await store.ack("a", "run-1", 4, fence=fence)
        assert not await store.ack("a", "run-1", 5, fence=fence - 1)
        got = await store.get("a")
        assert got is not None and (got.phase, got.run_id, got.seq_id) == ("streaming", "run-1", 4)
        assert await store.finish("a", fence=fence)
        assert await store.in_flight() == []
        await store.aclose()
    finally:
        await client.aclose()
