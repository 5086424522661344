"""The cursor store interface on both stores: the same answers from SQLite and Redis."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import pytest

from letta_async.durable import (
    Cursor,
    CursorStore,
    DuplicateKeyError,
    Ended,
    SQLiteCursorStore,
    submit,
)
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


async def test_a_key_dropped_with_a_reason_leaves_a_record(store: CursorStore) -> None:
    """What became of a key outlives the key: in the same write, and only when it applied."""
    for key in ("a", "b", "c"):
        await store.record(job(key))
    assert await store.finish("a")  # completed: no record
    refused = Ended(key="b", status="rejected", agent_id=AGENT, error="HTTP 422: bad", at=1.5)
    assert not await store.finish("b", fence=7, ended=refused)  # fenced out: nothing at all
    assert await store.ended() == []
    assert await store.finish("b", ended=refused)
    gone = Ended(key="c", status="gone", agent_id=AGENT, run_id="run-1", seq_id=9, error="x")
    assert await store.finish("c", ended=gone)
    assert await store.in_flight() == []
    assert await store.ended() == [refused, gone]
    assert await store.ended(limit=1) == [gone]


async def test_sqlite_keeps_the_latest_ended_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from letta_async.durable import _sqlite

    monkeypatch.setattr(_sqlite, "ENDED_KEPT", 3)
    async with SQLiteCursorStore(tmp_path / "c.db") as store:
        for i in range(5):
            await store.record(job(f"k{i}"))
            ended = Ended(key=f"k{i}", status="rejected", agent_id=AGENT, error=str(i))
            assert await store.finish(f"k{i}", ended=ended)
        assert [e.key for e in await store.ended()] == ["k2", "k3", "k4"]


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


# --- handler failures and dead keys -------------------------------------------------------------


async def test_failures_count_in_a_row_and_park_the_key_at_the_limit(store: CursorStore) -> None:
    await store.record(job("a"))
    await store.mark_sending("a", time.time())
    assert await store.fail("a", "RuntimeError('sink down')", max_failures=3) == 1
    got = await store.get("a")
    assert got is not None and (got.phase, got.failures, got.error) == (
        "sending",
        1,
        "RuntimeError('sink down')",
    )
    # The first failure can come before any acknowledgement named the run: it names it.
    assert await store.fail("a", "e2", run_id="run-1", max_failures=3) == 2
    got = await store.get("a")
    assert got is not None and (got.phase, got.run_id, got.failures) == ("streaming", "run-1", 2)
    assert await store.fail("a", "e3", max_failures=3) == 3
    got = await store.get("a")
    assert got is not None and (got.phase, got.failures, got.error) == ("dead", 3, "e3")
    assert [(c.key, c.phase) for c in await store.in_flight()] == [("a", "dead")]


async def test_no_limit_never_parks(store: CursorStore) -> None:
    await store.record(job("a"))
    for n in range(1, 13):
        assert await store.fail("a", "boom") == n
    got = await store.get("a")
    assert got is not None and got.phase == "recorded" and got.failures == 12


async def test_an_acknowledgement_that_moves_the_cursor_clears_the_failures(
    store: CursorStore,
) -> None:
    await store.record(job("a"))
    await store.ack("a", "run-1", 5)
    await store.fail("a", "boom", max_failures=3)
    await store.fail("a", "boom", max_failures=3)
    assert await store.ack("a", "run-1", 5)  # the same position again: no progress
    got = await store.get("a")
    assert got is not None and (got.failures, got.error) == (2, "boom")
    assert await store.ack("a", "run-1", 6)
    got = await store.get("a")
    assert got is not None and (got.failures, got.error, got.seq_id) == (0, None, 6)
    assert await store.fail("a", "again", max_failures=3) == 1  # counting starts over


async def test_a_fenced_out_failure_is_refused(store: CursorStore) -> None:
    await store.record(job("a"))
    assert await store.fail("a", "boom", fence=7) == 0
    assert await store.fail("missing", "boom") == 0
    got = await store.get("a")
    assert got is not None and got.failures == 0


async def test_revive_puts_a_dead_key_back_where_it_stopped(store: CursorStore) -> None:
    await store.record(job("with-run"))
    await store.ack("with-run", "run-1", 9)
    await store.fail("with-run", "boom", max_failures=1)
    await store.record(job("no-run"))
    await store.mark_sending("no-run", time.time())
    await store.fail("no-run", "boom", max_failures=1)
    assert not await store.revive("missing")
    await store.record(job("alive"))
    assert not await store.revive("alive")  # only dead keys
    assert await store.revive("with-run")
    assert await store.revive("no-run")
    assert not await store.revive("with-run")  # not dead any more
    with_run, no_run = await store.get("with-run"), await store.get("no-run")
    assert with_run is not None and no_run is not None
    # Resumed after its cursor; never sent again: the run-less key is looked up by otid.
    assert (with_run.phase, with_run.run_id, with_run.seq_id, with_run.failures) == (
        "streaming",
        "run-1",
        9,
        0,
    )
    assert (no_run.phase, no_run.run_id, no_run.failures, no_run.error) == (
        "sending",
        None,
        0,
        None,
    )


async def test_resolve_drops_a_dead_key_but_never_resends_it(store: CursorStore) -> None:
    await store.record(job("a"))
    await store.ack("a", "run-1", 3)
    await store.fail("a", "boom", max_failures=1)
    assert not await store.resolve("a", resend=True)
    got = await store.get("a")
    assert got is not None and got.phase == "dead"
    assert await store.resolve("a", resend=False)
    assert await store.get("a") is None


async def test_sqlite_adds_the_failure_columns_to_an_older_file(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE letta_cursors (key TEXT PRIMARY KEY, agent_id TEXT NOT NULL, otids TEXT "
        "NOT NULL, request BLOB NOT NULL, phase TEXT NOT NULL, run_id TEXT, seq_id INTEGER NOT "
        "NULL DEFAULT 0, fence INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, sent_at REAL)"
    )
    conn.execute(
        "INSERT INTO letta_cursors VALUES ('a', ?, '[\"otid-1\"]', x'7b7d', 'streaming', "
        "'run-4', 17, 0, 1.5, 1.6)",
        (AGENT,),
    )
    conn.commit()
    conn.close()
    async with SQLiteCursorStore(path) as store:
        got = await store.get("a")
        assert got is not None
        assert (got.run_id, got.seq_id, got.otids, got.failures, got.error) == (
            "run-4",
            17,
            ("otid-1",),
            0,
            None,
        )
        assert await store.fail("a", "boom", max_failures=2) == 1


async def test_a_conversation_key_keeps_its_conversation(store: CursorStore) -> None:
    await store.record(prepare("c", AGENT, [{"role": "user", "content": "hi"}], {}, "conv-7"))
    await store.record(job("a"))
    got = {c.key: c.conversation_id for c in await store.in_flight()}
    assert got == {"c": "conv-7", "a": None}


# --- what a store hands back, and how many ended records by default -----------------------------


async def test_a_recorded_cursor_reads_back_whole(store: CursorStore) -> None:
    """A process that starts from nothing gets back every field that was recorded: the fence
    that guards its writes and the creation time that orders the keys included."""
    cursor = Cursor(
        key="a",
        agent_id=AGENT,
        conversation_id="conv-3",
        otids=("otid-1", "otid-2"),
        request=b'{"messages": []}',
        phase="streaming",
        run_id="run-1",
        seq_id=41,
        fence=3,
        created_at=1_700_000_000.25,
        sent_at=1_700_000_001.5,
    )
    assert await store.record(cursor)
    assert await store.get("a") == cursor
    assert await store.in_flight() == [cursor]
    assert not await store.ack("a", "run-1", 42, fence=2)  # a fence not current: refused
    assert await store.ack("a", "run-1", 42, fence=3)


async def test_ended_keeps_the_latest_hundred_by_default(store: CursorStore) -> None:
    for i in range(101):
        await store.record(job(f"k{i}"))
        assert await store.finish(f"k{i}", ended=Ended(key=f"k{i}", status="gone", agent_id=AGENT))
    assert [e.key for e in await store.ended()] == [f"k{i}" for i in range(1, 101)]


# --- the SQLite file ------------------------------------------------------------------------------


async def test_sqlite_a_closed_store_refuses_writes_and_leaves_the_file_alone(
    tmp_path: Path,
) -> None:
    """A write after ``aclose`` fails loudly: it must not silently reopen the file."""
    path = tmp_path / "c.db"
    store = SQLiteCursorStore(path)
    assert repr(store) == f"<SQLiteCursorStore {str(path)!r}>"
    await store.record(job("a"))
    await store.aclose()
    with pytest.raises(RuntimeError, match=r"^the cursor store is closed$"):
        await store.ack("a", "run-1", 5)
    with pytest.raises(RuntimeError, match=r"^the cursor store is closed$"):
        await store.record(job("b"))
    async with SQLiteCursorStore(path) as again:
        assert [(c.key, c.seq_id) for c in await again.in_flight()] == [("a", 0)]


async def test_sqlite_a_failed_write_changes_nothing_and_the_store_goes_on(
    tmp_path: Path,
) -> None:
    """Writes that share a transaction with one that fails fail with it, none of them lands,
    and the store keeps working."""
    path = tmp_path / "c.db"
    broken = Cursor(key="broken", agent_id=AGENT, request=object())  # type: ignore[arg-type]
    async with SQLiteCursorStore(path) as store:
        await store.record(job("a"))
        results: list[BaseException | bool] = []

        async def write(call: Awaitable[bool]) -> None:
            try:
                results.append(await call)
            except sqlite3.Error as exc:
                results.append(exc)

        async with anyio.create_task_group() as tasks:  # queued together: one transaction
            tasks.start_soon(write, store.ack("a", "run-1", 5))
            tasks.start_soon(write, store.record(broken))
        assert len(results) == 2
        # Each caller is told of the error that broke the transaction (a value SQLite cannot
        # store), not of some later one.
        assert all("binding parameter" in str(r) for r in results), results
        assert await store.ack("a", "run-1", 6)
        assert await store.record(job("b"))
    async with SQLiteCursorStore(path) as again:
        assert [(c.key, c.run_id, c.seq_id) for c in await again.in_flight()] == [
            ("a", "run-1", 6),
            ("b", None, 0),
        ]


async def test_sqlite_refuses_another_programs_file_by_its_name(tmp_path: Path) -> None:
    foreign = tmp_path / "app.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    before = foreign.read_bytes()
    async with SQLiteCursorStore(foreign, create=False) as store:
        expected = f"{str(foreign)!r} is not a cursor store (no letta_cursors table)"
        with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
            await store.in_flight()
    assert foreign.read_bytes() == before


def _setting(name: str) -> Callable[[sqlite3.Connection], object]:
    """Ask SQLite, on the store's own connection, how it is set up."""
    return lambda conn: conn.execute(f"PRAGMA {name}").fetchone()[0]


async def test_sqlite_runs_with_the_durability_and_waiting_it_was_given(tmp_path: Path) -> None:
    """NORMAL by default (a commit survives a killed process), FULL when asked (a power cut
    too), in WAL mode; a write waits 10 s for another process's lock unless told otherwise.
    SQLite's own defaults differ (FULL, and Python's 5 s), so each setting must be applied."""
    path = tmp_path / "c.db"
    async with SQLiteCursorStore(path) as store:
        assert await store._run(_setting("synchronous")) == 1  # NORMAL
        assert await store._run(_setting("busy_timeout")) == 10_000  # milliseconds
    async with SQLiteCursorStore(path, synchronous="FULL", busy_timeout=0.25) as store:
        assert await store._run(_setting("synchronous")) == 2  # FULL
        assert await store._run(_setting("busy_timeout")) == 250
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # kept in the file
    finally:
        conn.close()


async def test_sqlite_a_write_waits_for_another_process_then_gives_up(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    other = sqlite3.connect(path, isolation_level=None)  # another process writing the file
    try:
        async with (
            SQLiteCursorStore(path, busy_timeout=0.3) as impatient,
            SQLiteCursorStore(path) as patient,
        ):
            await impatient.record(job("a"))
            other.execute("BEGIN IMMEDIATE")
            started = time.monotonic()
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                await impatient.ack("a", "run-1", 5)
            assert time.monotonic() - started < 3  # its own 0.3 s, not the 5 s of a default

            async def finish_the_other_write() -> None:
                await anyio.sleep(0.2)
                other.execute("COMMIT")

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(finish_the_other_write)
                assert await patient.ack("a", "run-1", 6)  # waited, then landed
            assert await impatient.ack("a", "run-1", 7)  # the lock gone, it works again
            got = await patient.get("a")
            assert got is not None and got.seq_id == 7
    finally:
        other.close()


async def test_sqlite_aclose_lets_a_write_in_flight_land(tmp_path: Path) -> None:
    """An acknowledgement already handed to the database when the store closes is committed
    before the connection goes: closing never cuts a transaction in half."""
    path = tmp_path / "c.db"
    entered, release = threading.Event(), threading.Event()

    def slow_disk(conn: sqlite3.Connection) -> None:  # holds the transaction open a moment
        entered.set()
        release.wait(5)

    store = SQLiteCursorStore(path)
    await store.record(job("a"))
    acked: list[bool] = []

    async def ack() -> None:
        acked.append(await store.ack("a", "run-1", 5))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(store._run, slow_disk)
            tasks.start_soon(ack)  # queued behind it: the same transaction
            await anyio.to_thread.run_sync(entered.wait, 5)
            tasks.start_soon(store.aclose)
            await anyio.sleep(0.2)  # a close that does not wait would happen meanwhile
            release.set()
    assert acked == [True]
    async with SQLiteCursorStore(path) as again:
        got = await again.get("a")
    assert got is not None and (got.run_id, got.seq_id) == ("run-1", 5)
