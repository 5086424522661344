"""Leases and fencing on the Redis store: claims, take-overs, and refused stale writers."""

from __future__ import annotations

import time

import anyio
import pytest

from letta_async.durable import RedisCursorStore
from letta_async.durable._job import prepare
from letta_async.durable._lease import LeaseBook

pytestmark = pytest.mark.anyio

AGENT = "agent-00000000-0000-4000-8000-000000000001"
TTL = 0.3


async def record(store: RedisCursorStore, *keys: str) -> None:
    for key in keys:
        assert await store.record(prepare(key, AGENT, [{"role": "user", "content": key}], {}))


async def test_claim_takes_each_key_once(redis_store: RedisCursorStore) -> None:
    await record(redis_store, "a", "b", "c")
    first = await redis_store.claim("w1", 2, 10)
    second = await redis_store.claim("w2", 5, 10)
    assert [c.cursor.key for c in first] == ["a", "b"]
    assert [c.cursor.key for c in second] == ["c"]
    assert all(c.cursor.fence == 1 and c.previous_owner is None for c in first + second)
    assert await redis_store.claim("w3", 5, 10) == []
    assert await redis_store.counts() == {"queued": 0, "held": 3, "parked": 0}


async def test_expired_lease_is_taken_over_with_a_new_fence(redis_store: RedisCursorStore) -> None:
    await record(redis_store, "a")
    redis_store.lease_ttl = TTL  # what a fenced write extends the lease by
    (old,) = await redis_store.claim("w1", 1, TTL)
    assert await redis_store.ack("a", "run-1", 3, fence=old.cursor.fence)
    await anyio.sleep(TTL + 0.1)
    (new,) = await redis_store.claim("w2", 1, 10)
    assert new.cursor.fence == old.cursor.fence + 1
    assert new.previous_owner == "w1" and new.expired_for is not None and new.expired_for > 0
    assert (new.cursor.run_id, new.cursor.seq_id) == ("run-1", 3)


async def test_a_fenced_writer_is_refused_atomically(redis_store: RedisCursorStore) -> None:
    await record(redis_store, "a")
    (old,) = await redis_store.claim("w1", 1, TTL)
    await anyio.sleep(TTL + 0.1)
    (new,) = await redis_store.claim("w2", 1, 10)
    stale, current = old.cursor.fence, new.cursor.fence
    # Every write of the old holder is refused, and leaves no field behind.
    assert not await redis_store.ack("a", "run-old", 99, fence=stale)
    assert not await redis_store.set_run("a", "run-old", fence=stale)
    assert not await redis_store.mark_sending("a", 1.0, fence=stale)
    assert not await redis_store.park("a", fence=stale)
    assert not await redis_store.finish("a", fence=stale)
    assert not await redis_store.release("a", stale)
    assert await redis_store.renew([("a", stale)], 10) == [False]
    got = await redis_store.get("a")
    assert got is not None and (got.phase, got.run_id, got.seq_id) == ("recorded", None, 0)
    assert await redis_store.ack("a", "run-new", 4, fence=current)
    assert await redis_store.finish("a", fence=current)
    assert await redis_store.get("a") is None


async def test_renewal_keeps_a_lease(redis_store: RedisCursorStore) -> None:
    await record(redis_store, "a")
    (claim,) = await redis_store.claim("w1", 1, TTL)
    for _ in range(4):
        await anyio.sleep(TTL / 2)
        assert await redis_store.renew([("a", claim.cursor.fence)], TTL) == [True]
    assert await redis_store.claim("w2", 1, TTL) == []


async def test_a_fenced_ack_renews_the_lease(redis_store: RedisCursorStore) -> None:
    await record(redis_store, "a")
    redis_store.lease_ttl = TTL
    (claim,) = await redis_store.claim("w1", 1, TTL)
    for seq in range(1, 5):
        await anyio.sleep(TTL / 2)
        assert await redis_store.ack("a", "run-1", seq, fence=claim.cursor.fence)
    assert await redis_store.claim("w2", 1, TTL) == []


async def test_release_hands_a_key_back(redis_store: RedisCursorStore) -> None:
    await record(redis_store, "a", "b")
    claims = await redis_store.claim("w1", 2, 10)
    assert await redis_store.release("a", claims[0].cursor.fence)
    assert await redis_store.release("b", claims[1].cursor.fence, delay=0.3)
    assert [c.cursor.key for c in await redis_store.claim("w2", 5, 10)] == ["a"]
    await anyio.sleep(0.35)
    assert [c.cursor.key for c in await redis_store.claim("w2", 5, 10)] == ["b"]


async def test_take_overs_come_before_new_keys(redis_store: RedisCursorStore) -> None:
    await record(redis_store, "old")
    await redis_store.claim("w1", 1, TTL)
    await anyio.sleep(TTL + 0.1)
    await record(redis_store, "new")
    (claim,) = await redis_store.claim("w2", 1, 10)
    assert claim.cursor.key == "old"


async def test_parked_keys_are_not_claimed(redis_store: RedisCursorStore) -> None:
    await record(redis_store, "a")
    (claim,) = await redis_store.claim("w1", 1, 10)
    assert await redis_store.park("a", fence=claim.cursor.fence)
    assert await redis_store.claim("w2", 1, 10) == []
    assert await redis_store.counts() == {"queued": 0, "held": 0, "parked": 1}
    assert await redis_store.resolve("a", resend=True)
    (again,) = await redis_store.claim("w2", 1, 10)
    assert again.cursor.phase == "recorded" and again.cursor.fence == claim.cursor.fence + 1


async def test_every_claim_is_logged_with_the_claim(redis_store: RedisCursorStore) -> None:
    await record(redis_store, "a")
    await redis_store.claim("w1", 1, TTL)
    await anyio.sleep(TTL + 0.1)
    await redis_store.claim("w2", 1, 10)
    log = await redis_store.claim_log()
    assert [(c.key, c.fence, c.owner, c.previous_owner) for c in log] == [
        ("a", 1, "w1", None),
        ("a", 2, "w2", "w1"),
    ]
    assert log[0].expired_at is None
    assert log[1].expired_at is not None and log[1].at - log[1].expired_at >= 0
    assert log[1].at - log[0].at >= TTL


async def test_a_dead_key_leaves_the_fleet_until_revived(redis_store: RedisCursorStore) -> None:
    await record(redis_store, "a", "b")
    (held, _) = await redis_store.claim("w1", 2, 10)
    fence = held.cursor.fence
    assert await redis_store.ack("a", "run-1", 4, fence=fence)
    assert await redis_store.fail("a", "e1", max_failures=2, fence=fence) == 1
    assert await redis_store.counts() == {"queued": 0, "held": 2, "parked": 0}
    assert await redis_store.fail("a", "e2", max_failures=2, fence=fence) == 2
    # Dead: no longer held or queued, so no worker claims it and its lease cannot expire
    # into a take-over; a release by the worker that held it does not requeue it.
    assert await redis_store.counts() == {"queued": 0, "held": 1, "parked": 1}
    assert not await redis_store.release("a", fence)
    await anyio.sleep(0.05)
    assert await redis_store.claim("w2", 5, 10) == []
    assert await redis_store.revive("a")
    (again,) = await redis_store.claim("w2", 5, 10)
    assert again.cursor.key == "a" and again.cursor.fence == fence + 1
    assert (again.cursor.phase, again.cursor.run_id, again.cursor.seq_id) == (
        "streaming",
        "run-1",
        4,
    )
    assert (again.cursor.failures, again.cursor.error) == (0, None)


async def test_a_claim_carries_the_failure_count(redis_store: RedisCursorStore) -> None:
    await record(redis_store, "a")
    (first,) = await redis_store.claim("w1", 1, 10)
    assert await redis_store.fail("a", "ValueError('bad event')", fence=first.cursor.fence) == 1
    assert await redis_store.release("a", first.cursor.fence)
    (second,) = await redis_store.claim("w2", 1, 10)
    assert (second.cursor.failures, second.cursor.error) == (1, "ValueError('bad event')")


async def test_a_claim_carries_the_conversation(redis_store: RedisCursorStore) -> None:
    body = [{"role": "user", "content": "x"}]
    assert await redis_store.record(prepare("c", AGENT, body, {}, "conv-3"))
    (claim,) = await redis_store.claim("w1", 1, 10)
    assert claim.cursor.conversation_id == "conv-3"


async def test_a_delivery_late_in_the_lease_first_confirms_it(
    redis_store: RedisCursorStore,
) -> None:
    """The renewals came late (a starved process, a slow Redis): with less than a third of
    the lease left, the worker confirms the lease with Redis before handing a batch over, so
    the key stays its own for a whole TTL while the handler runs, and nobody takes it over."""
    ttl = 2.0
    await record(redis_store, "a")
    since = time.monotonic()
    (claim,) = await redis_store.claim("w1", 1, ttl)
    book = LeaseBook(redis_store, ttl)
    book.add("a", claim.cursor.fence, since, anyio.CancelScope())
    await anyio.sleep(ttl * 0.75)  # no renewal meanwhile: a quarter of the lease is left
    await book.before_delivery("a")
    await anyio.sleep(ttl * 0.4)  # the handler runs past the claim's original expiry
    assert await redis_store.claim("w2", 1, ttl) == []
    assert not book.lost("a")
