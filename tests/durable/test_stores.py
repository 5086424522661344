"""The cursor store interface on both stores: the same answers from SQLite and Redis."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

from letta_async.durable import Cursor, CursorStore, DuplicateKeyError, SQLiteCursorStore, submit
from letta_async.durable._job import prepare

pytestmark = pytest.mark.anyio

AGENT = "agent-00000000-0000-4000-8000-000000000001"


def job(key: str) -> Cursor:
    return prepare(key, AGENT, [{"role": "user", "content": "hi"}], {"stream_tokens": True})


async def test_record_then_read_back(store: CursorStore) -> None:
    cursor = job("a")
    assert await store.record(cursor)
    got = await store.get("a")
    assert got is not None
    assert (got.key, got.agent_id, got.otids, got.phase, got.run_id, got.seq_id) == (
        "a",
        AGENT,
        cursor.otids,
        "recorded",
        None,
        0,
    )
    assert got.request == cursor.request
    assert await store.get("missing") is None


async def test_a_key_is_recorded_once(store: CursorStore) -> None:
    assert await store.record(job("a"))
    assert not await store.record(job("a"))
    with pytest.raises(DuplicateKeyError):
        await submit(store, "a", AGENT, messages=[{"role": "user", "content": "again"}])


async def test_phases_and_cursor(store: CursorStore) -> None:
    await store.record(job("a"))
    sent_at = time.time()
    assert await store.mark_sending("a", sent_at)
    got = await store.get("a")
    assert got is not None and got.phase == "sending" and got.sent_at == pytest.approx(sent_at)
    assert await store.set_run("a", "run-1")
    assert await store.ack("a", "run-1", 7)
    got = await store.get("a")
    assert got is not None and (got.phase, got.run_id, got.seq_id) == ("streaming", "run-1", 7)


async def test_the_cursor_never_moves_back(store: CursorStore) -> None:
    await store.record(job("a"))
    assert await store.ack("a", "run-1", 9)
    assert await store.ack("a", "run-1", 4)  # a replayed batch, acknowledged again
    got = await store.get("a")
    assert got is not None and got.seq_id == 9


async def test_writes_to_a_missing_key_are_refused(store: CursorStore) -> None:
    assert not await store.ack("nope", "run-1", 3)
    assert not await store.set_run("nope", "run-1")
    assert not await store.finish("nope")


async def test_finish_drops_the_key(store: CursorStore) -> None:
    await store.record(job("a"))
    await store.record(job("b"))
    assert await store.finish("a")
    assert [c.key for c in await store.in_flight()] == ["b"]


async def test_in_flight_lists_oldest_first(store: CursorStore) -> None:
    for key in ("c", "a", "b"):
        await store.record(job(key))
        await anyio.sleep(0.002)
    await store.park("a")
    assert [(c.key, c.phase) for c in await store.in_flight()] == [
        ("c", "recorded"),
        ("a", "unconfirmed"),
        ("b", "recorded"),
    ]


async def test_resolve_an_unconfirmed_key(store: CursorStore) -> None:
    await store.record(job("a"))
    await store.record(job("b"))
    await store.mark_sending("a", time.time())
    assert not await store.resolve("a", resend=True)  # only unconfirmed keys
    await store.park("a")
    await store.park("b")
    assert await store.resolve("a", resend=True)
    got = await store.get("a")
    assert got is not None and got.phase == "recorded" and got.sent_at is None
    assert await store.resolve("b", resend=False)
    assert await store.get("b") is None


async def test_fenced_writes_apply_only_under_the_current_fence(store: CursorStore) -> None:
    """Without a claim the fence is 0: a write naming another fence changes nothing."""
    await store.record(job("a"))
    assert not await store.ack("a", "run-1", 5, fence=3)
    assert not await store.finish("a", fence=3)
    got = await store.get("a")
    assert got is not None and got.seq_id == 0 and got.run_id is None
    assert await store.ack("a", "run-1", 5, fence=0)


async def test_concurrent_writes_share_transactions(store: CursorStore) -> None:
    for i in range(50):
        await store.record(job(f"k{i}"))
    group = store._group  # type: ignore[attr-defined]
    before = group.flushes
    async with anyio.create_task_group() as tasks:
        for i in range(50):
            tasks.start_soon(store.ack, f"k{i}", "run-1", i + 1)
    assert group.flushes - before < 50
    assert [c.seq_id for c in sorted(await store.in_flight(), key=lambda c: c.key)] == sorted(
        range(1, 51), key=lambda n: f"k{n - 1}"
    )


async def test_sqlite_survives_a_reopen(tmp_path: Path) -> None:
    path = f"{tmp_path}/c.db"
    async with SQLiteCursorStore(path) as first:
        await first.record(job("a"))
        await first.ack("a", "run-9", 12)
    async with SQLiteCursorStore(path, synchronous="FULL") as second:
        got = await second.get("a")
    assert got is not None and (got.run_id, got.seq_id) == ("run-9", 12)


async def test_prepare_assigns_otids_and_keeps_given_ones() -> None:
    cursor = prepare(
        "k",
        AGENT,
        [{"role": "user", "content": "a"}, {"role": "user", "content": "b", "otid": "mine"}],
        {},
    )
    assert len(cursor.otids) == 2 and cursor.otids[1] == "mine"
    with pytest.raises(ValueError, match="background"):
        prepare("k", AGENT, [{"role": "user", "content": "a"}], {"background": False})
    with pytest.raises(ValueError, match="at least one"):
        prepare("k", AGENT, [], {})
