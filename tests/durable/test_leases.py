"""Leases and fencing on the Redis store: claims, take-overs, and refused stale writers."""

from __future__ import annotations

import time
from collections.abc import Sequence

import anyio
import pytest
import redis.asyncio as aioredis

from letta_async import AsyncLetta
from letta_async.durable import Batch, OtidLookup, RedisCursorStore
from letta_async.durable._cursor import decode_request
from letta_async.durable._deliver import Fenced, KeyRunner
from letta_async.durable._job import prepare
from letta_async.durable._lease import LeaseBook
from letta_async.durable._redis import Claim
from letta_async.testing import Fault, LettaTestServer

from .redis_server import RedisServer

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


async def test_scripts_a_restarted_redis_forgot_are_loaded_again(
    redis_store: RedisCursorStore,
) -> None:
    """Scripts run by digest; a server that lost them (restarted, or SCRIPT FLUSH) gets each
    one loaded again by the call that finds it missing, and the call still takes effect."""
    await record(redis_store, "a", "b")
    await redis_store.redis.script_flush()
    (claim,) = await redis_store.claim("w1", 1, 10)
    fence = claim.cursor.fence
    await redis_store.redis.script_flush()
    assert await redis_store.renew([("a", fence), ("a", fence + 1)], 10) == [True, False]
    await redis_store.redis.script_flush()
    assert await redis_store.ack("a", "run-1", 5, fence=fence)
    assert not await redis_store.ack("a", "run-1", 6, fence=fence + 1)
    cursor = await redis_store.get("a")
    assert cursor is not None and (cursor.run_id, cursor.seq_id) == ("run-1", 5)
    assert await redis_store.counts() == {"queued": 1, "held": 1, "parked": 0}


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


async def test_deliveries_ask_redis_only_in_the_last_third_of_the_lease(
    redis_store: RedisCursorStore, redis_server: RedisServer
) -> None:
    """The lease check before a delivery costs nothing while more than a third of the lease
    is left (renewals every third of the TTL keep it so): no command reaches Redis. With less
    left it confirms the lease with one round trip, which is then good for a whole TTL, and
    so is the renewal by an acknowledgement (a fenced write)."""
    ttl = 3.0
    await record(redis_store, "a")
    redis_store.lease_ttl = ttl  # what a fenced write extends the lease by
    since = time.monotonic()
    (claim,) = await redis_store.claim("w1", 1, ttl)
    fence = claim.cursor.fence
    book = LeaseBook(redis_store, ttl)
    hold(book, [(claim, since)])
    async with aioredis.Redis.from_url(redis_server.url) as admin:
        calls = await redis_calls(admin)
        await book.before_delivery("a")  # just claimed
        assert await redis_calls(admin) == calls
        await anyio.sleep(max(0.0, since + ttl * 0.7 - time.monotonic()))  # 0.3 TTL left
        scripts = await redis_calls(admin, "evalsha")
        await book.before_delivery("a")
        assert await redis_calls(admin, "evalsha") > scripts  # the confirmation
        calls = await redis_calls(admin)
        await book.before_delivery("a")  # a whole TTL from the confirmation
        assert await redis_calls(admin) == calls
        # An acknowledgement renews the lease in Redis; the worker notes it as it does
        # after every fenced write, so the next check needs no round trip either.
        await anyio.sleep(ttl * 0.7)
        acked = time.monotonic()
        assert await redis_store.ack("a", "run-1", 1, fence=fence)
        book.extended("a", acked)
        calls = await redis_calls(admin)
        await book.before_delivery("a")
        assert await redis_calls(admin) == calls
    assert not book.lost("a")


async def redis_calls(admin: aioredis.Redis, command: str | None = None) -> int:
    """Commands the Redis server has run so far (or only ``command``, e.g. the scripts a
    lease check runs: ``evalsha``), the ``INFO`` that asks left out."""
    stats = await admin.info("commandstats")
    if command is not None:
        return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))
    return sum(v["calls"] for k, v in stats.items() if k != "cmdstat_info")


def hold(book: LeaseBook, claims: list[tuple[Claim, float]]) -> dict[str, anyio.CancelScope]:
    """What a worker does with each claim: the lease goes into the book, its work gets a scope."""
    scopes = {}
    for claim, since in claims:
        key = claim.cursor.key
        scopes[key] = anyio.CancelScope()
        book.add(key, claim.cursor.fence, since, scopes[key])
    return scopes


async def test_a_renewal_round_keeps_the_keys_and_stops_the_work_of_one_taken_over(
    redis_store: RedisCursorStore, redis_server: RedisServer
) -> None:
    """The worker's renewal round (README: leases renewed every third of the TTL; a worker
    whose lease was taken over delivers nothing). Three keys held, the middle one taken over
    by another worker while this one could not renew it: one round keeps the other two
    this worker's past their claim's expiry, cancels the taken-over key's work and refuses
    its next delivery; a delivery for a key just renewed needs no round trip to Redis."""
    ttl = 1.0
    await record(redis_store, "a", "c")
    since = time.monotonic()
    a, c = await redis_store.claim("w1", 2, ttl)
    await record(redis_store, "b")
    since_b = time.monotonic()
    (b,) = await redis_store.claim("w1", 1, TTL)
    book = LeaseBook(redis_store, ttl)
    scopes = hold(book, [(a, since), (b, since_b), (c, since)])
    await anyio.sleep(TTL + 0.1)
    (taken,) = await redis_store.claim("w2", 5, 10)
    assert taken.cursor.key == "b"

    await book.renew_all()

    assert scopes["b"].cancel_called and book.lost("b")
    with pytest.raises(Fenced):
        await book.before_delivery("b")
    assert not scopes["a"].cancel_called and not scopes["c"].cancel_called
    assert not book.lost("a") and not book.lost("c")
    async with aioredis.Redis.from_url(redis_server.url) as admin:
        before = await redis_calls(admin)
        await book.before_delivery("a")
        await book.before_delivery("c")
        assert await redis_calls(admin) == before
    # Past the claim's own expiry, a and c are still this worker's.
    await anyio.sleep(max(0.0, since + ttl + 0.1 - time.monotonic()))
    assert await redis_store.claim("w3", 5, ttl) == []
    assert [r.key for r in await redis_store.claim_log()] == ["a", "c", "b", "b"]


class HeldRenewals(RedisCursorStore):
    """The real store, with each renewal's answer held until the test lets it through."""

    def __init__(self, url: str, namespace: str) -> None:
        super().__init__(url, namespace=namespace)
        self.asked = anyio.Event()
        self.answer = anyio.Event()

    async def renew(self, leases: Sequence[tuple[str, int]], lease_ttl: float) -> list[bool]:
        results = await super().renew(leases, lease_ttl)
        self.asked.set()
        await self.answer.wait()
        return results


async def test_a_key_that_ends_during_a_renewal_round_does_not_stop_the_round(
    redis_server: RedisServer,
) -> None:
    """A key's run ends, and its lease leaves the worker's book, while a renewal round waits
    for Redis's answer: the round still goes through every other key, stopping the work of
    one taken over meanwhile and keeping the rest."""
    ttl = 1.0
    store = HeldRenewals(redis_server.url, f"held{time.monotonic_ns()}")
    async with store:
        await record(store, "a", "c")
        since = time.monotonic()
        a, c = await store.claim("w1", 2, ttl)
        await record(store, "b")
        since_b = time.monotonic()
        (b,) = await store.claim("w1", 1, TTL)
        book = LeaseBook(store, ttl)
        scopes = hold(book, [(a, since), (b, since_b), (c, since)])
        await anyio.sleep(TTL + 0.1)
        (taken,) = await store.claim("w2", 5, 10)
        assert taken.cursor.key == "b"
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(book.renew_all)
                await store.asked.wait()
                book.remove("a")  # its run ended: the worker let the key go
                store.answer.set()
        assert scopes["b"].cancel_called and book.lost("b")
        assert not scopes["c"].cancel_called and not book.lost("c")
        await anyio.sleep(max(0.0, since + ttl + 0.1 - time.monotonic()))
        assert await store.claim("w3", 5, ttl) == []  # the answer came: a and c were renewed


async def test_a_key_claimed_again_keeps_its_new_lease_when_the_old_task_ends(
    redis_store: RedisCursorStore,
) -> None:
    """A worker paused past its lease may claim its own key again: two tasks of one worker
    for one key, under two fences. The first task's end forgets only its own lease, so the
    second one's is still renewed and the key stays the worker's."""
    ttl = 0.3
    await record(redis_store, "a")
    book = LeaseBook(redis_store, ttl)
    (first,) = await redis_store.claim("w1", 1, ttl)
    book.add("a", first.cursor.fence, time.monotonic(), anyio.CancelScope())
    await anyio.sleep(ttl * 1.5)  # paused past the lease
    (again,) = await redis_store.claim("w1", 1, ttl)
    assert again.cursor.fence != first.cursor.fence
    book.add("a", again.cursor.fence, time.monotonic(), anyio.CancelScope())
    book.remove("a", first.cursor.fence)  # the first task ends
    assert book.held() == [("a", again.cursor.fence)]
    assert book.lost("a", first.cursor.fence) and not book.lost("a", again.cursor.fence)
    await book.renew_all()
    assert book.held() == [("a", again.cursor.fence)]
    book.remove("a", again.cursor.fence)
    assert book.held() == [] and book.lost("a")


async def test_acknowledgements_keep_the_lease_in_hand_without_asking_redis(
    redis_store: RedisCursorStore,
) -> None:
    """Every acknowledgement is a fenced write that renews the lease in Redis; the worker
    notes it, so a delivery that goes on for several lease lengths, acknowledging as it goes,
    never stops to confirm its lease (no renewal round runs here at all)."""
    from letta_async import AsyncLetta
    from letta_async.durable import submit
    from letta_async.durable._deliver import KeyRunner
    from letta_async.testing import LettaTestServer

    ttl = 0.6
    redis_store.lease_ttl = ttl  # what a fenced write extends the lease by
    renewals: list[int] = []
    renew = redis_store.renew

    async def counted_renew(leases: Sequence[tuple[str, int]], lease_ttl: float) -> list[bool]:
        renewals.append(len(leases))
        return await renew(leases, lease_ttl)

    redis_store.renew = counted_renew  # type: ignore[method-assign]
    handed: list[int | None] = []

    async def handler(batch: Batch) -> None:
        handed.extend(batch.seq_ids)
        await anyio.sleep(ttl / 4)  # eight batches: about three lease lengths in all

    async with LettaTestServer() as server, AsyncLetta(base_url=server.base_url) as client:
        agent = server.create_agent()["id"]
        prompt = [{"role": "user", "content": "count [tokens=12]"}]
        await submit(redis_store, "a", agent, messages=prompt, stream_tokens=True)
        book = LeaseBook(redis_store, ttl)
        runner = KeyRunner(
            client, redis_store, handler, slots=anyio.Semaphore(4), max_batch=1, guard=book
        )
        since = time.monotonic()
        (claim,) = await redis_store.claim("w1", 1, ttl)
        hold(book, [(claim, since)])
        with anyio.fail_after(20):
            outcome = await runner.run(claim.cursor)
    assert outcome.status == "completed"
    assert len(handed) >= 8 and time.monotonic() - since > 2 * ttl
    assert renewals == [], "an acknowledged delivery asked Redis to confirm its lease"


class _Trusting:
    """A lease guard that never doubts: only the store's fenced writes can stop the run."""

    async def before_delivery(self, key: str) -> None:
        return None

    def extended(self, key: str, since: float) -> None:
        return None


GONE_RUN = "run-00000000-0000-4000-8000-000000000000"
DEAD_AGENT = "agent-00000000-0000-4000-8000-00000000dead"
SEND = r"/v1/agents/[^/]+/messages/stream$"


@pytest.mark.parametrize(
    "state",
    [
        "recorded",
        "sending unseen",
        "sending seen",
        "sending agent gone",
        "conversation gone",
        "run gone",
        "handler fails",
    ],
)
async def test_a_worker_whose_lease_was_taken_over_changes_nothing(
    redis_store: RedisCursorStore, state: str
) -> None:
    """A worker still running a key after its lease was taken over writes nothing the new
    holder would find changed: it does not send, park, or drop the key (not even one whose
    run or agent is gone), because every one of those writes carries its stale fence."""
    async with (
        LettaTestServer() as server,
        AsyncLetta(base_url=server.base_url, max_retries=0) as client,
    ):
        agent = server.create_agent()["id"]
        conversation = None
        if state == "sending agent gone":
            agent = DEAD_AGENT
        if state == "conversation gone":
            conversation = "conv-00000000-0000-4000-8000-00000000dead"
        cursor = prepare("a", agent, [{"role": "user", "content": "hi"}], {}, conversation)
        assert await redis_store.record(cursor)
        if state == "sending seen":  # the send did reach the server: its otid is there
            messages, _ = decode_request(cursor.request)
            await client.agents.messages.create(agent, messages=messages)
        if state.startswith("sending"):
            assert await redis_store.mark_sending("a", time.time() - 60)
        if state == "run gone":
            assert await redis_store.ack("a", GONE_RUN, 3)
        if state == "handler fails":  # a live run, acknowledged up to its first event
            stream = await client.agents.messages.create(
                agent, messages=[{"role": "user", "content": "hi"}], streaming=True, background=True
            )
            async for _ in stream:
                pass
            assert stream.run_id is not None
            assert await redis_store.ack("a", stream.run_id, 1)
        redis_store.lease_ttl = TTL
        (old,) = await redis_store.claim("w1", 1, TTL)
        await anyio.sleep(TTL + 0.1)
        (new,) = await redis_store.claim("w2", 1, 10)
        assert new.cursor.fence == old.cursor.fence + 1
        handled: list[Batch] = []

        async def handler(batch: Batch) -> None:
            if state == "handler fails":
                raise RuntimeError("sink down")
            handled.append(batch)

        runner = KeyRunner(
            client,
            redis_store,
            handler,
            slots=anyio.Semaphore(1),
            lookup=OtidLookup(grace=0),
            guard=_Trusting(),
        )
        with anyio.fail_after(10):
            outcome = await runner.run(old.cursor)
        assert handled == []
        assert server.requests_to(SEND, "POST") == []
        # Stopped where the lost lease left it, its failure not counted against the key; a
        # drop it could not make (its run or agent gone) is not reported as made.
        assert (outcome.key, outcome.status, outcome.run_id, outcome.seq_id) == (
            "a",
            "fenced",
            old.cursor.run_id,
            old.cursor.seq_id,
        )
        # The new holder finds the key exactly as it claimed it.
        now = await redis_store.get("a")
        assert now is not None
        assert (now.phase, now.run_id, now.seq_id, now.failures) == (
            new.cursor.phase,
            new.cursor.run_id,
            new.cursor.seq_id,
            new.cursor.failures,
        )
        assert await redis_store.ended() == []


async def test_a_send_refused_after_its_lease_was_taken_over_leaves_the_key_to_the_new_holder(
    redis_store: RedisCursorStore,
) -> None:
    """The lease lapses while the send is on its way, another worker claims the key, then
    the server refuses the send: the old worker's drop carries its stale fence and is
    refused, so the key stays in the store for the worker that holds it now."""
    async with (
        LettaTestServer() as server,
        AsyncLetta(base_url=server.base_url, max_retries=0) as client,
    ):
        agent = server.create_agent()["id"]
        missing = "conv-00000000-0000-4000-8000-00000000dead"
        cursor = prepare("a", agent, [{"role": "user", "content": "hi"}], {}, missing)
        assert await redis_store.record(cursor)
        redis_store.lease_ttl = TTL
        (old,) = await redis_store.claim("w1", 1, TTL)
        server.faults.add(
            Fault(method="POST", path=r"/v1/conversations/[^/]+/messages$", delay=TTL + 0.5)
        )
        runner = KeyRunner(
            client, redis_store, _no_handler, slots=anyio.Semaphore(1), guard=_Trusting()
        )
        claims: list[Claim] = []

        async def take_over() -> None:
            await anyio.sleep(TTL + 0.2)  # past the lease the send's mark extended
            claims.extend(await redis_store.claim("w2", 1, 10))

        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(take_over)
                outcome = await runner.run(old.cursor)
        (new,) = claims
        assert new.cursor.fence == old.cursor.fence + 1
        # The server refused the send, but the key is no longer this worker's to drop.
        assert (outcome.status, outcome.seq_id) == ("fenced", old.cursor.seq_id)
        now = await redis_store.get("a")
        assert now is not None and now.phase == "sending" == new.cursor.phase
        assert await redis_store.ended() == []


async def _no_handler(batch: Batch) -> None:
    raise AssertionError("nothing is delivered for a refused send")


class _Noting(_Trusting):
    """A lease guard that notes which keys' leases each fenced write renewed."""

    def __init__(self) -> None:
        self.renewed: list[str] = []

    def extended(self, key: str, since: float) -> None:
        self.renewed.append(key)


@pytest.mark.parametrize("state", ["recorded", "sending seen"])
async def test_every_fenced_write_of_a_key_renews_that_keys_lease(
    redis_store: RedisCursorStore, state: str
) -> None:
    """Each fenced write that lands (the send's mark, the run found by ``otid``, each
    acknowledgement) tells the guard the key's lease was renewed, under the key's name, so
    the worker need not ask Redis before the next delivery."""
    async with (
        LettaTestServer() as server,
        AsyncLetta(base_url=server.base_url, max_retries=0) as client,
    ):
        agent = server.create_agent()["id"]
        cursor = prepare("a", agent, [{"role": "user", "content": "hi"}], {})
        assert await redis_store.record(cursor)
        if state == "sending seen":
            messages, _ = decode_request(cursor.request)
            sent = await client.agents.messages.create(
                agent, messages=messages, streaming=True, background=True
            )
            async for _ in sent:
                pass
            assert await redis_store.mark_sending("a", time.time() - 60)
        (claim,) = await redis_store.claim("w1", 1, 10)
        guard = _Noting()
        delivered: list[Batch] = []

        async def handler(batch: Batch) -> None:
            delivered.append(batch)

        runner = KeyRunner(
            client,
            redis_store,
            handler,
            slots=anyio.Semaphore(1),
            lookup=OtidLookup(grace=0),
            guard=guard,
            max_batch=1,
        )
        with anyio.fail_after(10):
            outcome = await runner.run(claim.cursor)
    assert outcome.status == "completed" and delivered
    # The mark (or the run's id) and one acknowledgement per batch but the last.
    assert guard.renewed == ["a"] * len(delivered)
