"""The embedded cursor store: one SQLite file, no server, good for one machine.

Why SQLite: it ships with Python, a write is atomic and survives a killed process, and WAL
mode lets readers (another process listing what is in flight, say) work beside the writer.
All blocking work runs in a worker thread (``anyio.to_thread``), one statement group at a
time on one connection, so the event loop never waits for the disk. Concurrent writes from
many streams share one transaction (:class:`~._group.GroupCommit`).

Durability: ``synchronous="NORMAL"`` (the default) makes each commit survive the process
being killed at any instant; ``"FULL"`` also survives a power cut, at the price of an fsync
per transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.to_thread

from ._cursor import Cursor, Ended
from ._group import GroupCommit
from ._store import CursorStore

__all__ = ["SQLiteCursorStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS letta_cursors (
    key TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    otids TEXT NOT NULL,
    request BLOB NOT NULL,
    phase TEXT NOT NULL,
    run_id TEXT,
    seq_id INTEGER NOT NULL DEFAULT 0,
    fence INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    sent_at REAL,
    failures INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    conversation_id TEXT
)
"""
_ENDED_SCHEMA = """
CREATE TABLE IF NOT EXISTS letta_ended (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    status TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    run_id TEXT,
    seq_id INTEGER NOT NULL,
    error TEXT NOT NULL,
    at REAL NOT NULL
)
"""
ENDED_KEPT = 1000
"""Records of keys that ended without completing kept per store; older ones are dropped."""
# Columns added after the first release of the table, for files an older version created.
_ADDED = {
    "failures": "INTEGER NOT NULL DEFAULT 0",
    "error": "TEXT",
    "conversation_id": "TEXT",
}
_COLUMNS = (
    "key, agent_id, otids, request, phase, run_id, seq_id, fence, created_at, sent_at, "
    "failures, error, conversation_id"
)
# A fenced write applies only while the stored fence matches; NULL writes unconditionally.
# Parameters are named (``:fence``) and bound from dicts: Python 3.12.0 and 3.12.1 warn about
# numbered ones (``?1``) bound from a sequence.
_FENCE = "(:fence IS NULL OR fence = :fence)"

Op = Callable[[sqlite3.Connection], Any]


def _row(row: tuple[Any, ...]) -> Cursor:
    (
        key,
        agent_id,
        otids,
        request,
        phase,
        run_id,
        seq_id,
        fence,
        created_at,
        sent_at,
        failures,
        error,
        conversation_id,
    ) = row
    return Cursor(
        key=key,
        agent_id=agent_id,
        otids=tuple(json.loads(otids)),
        request=bytes(request),
        phase=phase,
        run_id=run_id,
        seq_id=seq_id,
        fence=fence,
        created_at=created_at,
        sent_at=sent_at,
        failures=failures,
        error=error,
        conversation_id=conversation_id,
    )


class SQLiteCursorStore(CursorStore):
    """Cursors in a SQLite file (WAL mode); the table is created on first use.

    ``async with SQLiteCursorStore("cursors.db") as store: ...``, or call :meth:`aclose`.
    Several processes may open the same file (SQLite serialises their writes), but only one
    should run the keys: there are no leases here. For a fleet, use the Redis store.
    ``busy_timeout`` is how many seconds a write waits while another process holds the
    file's write lock before it fails with :class:`sqlite3.OperationalError` ("database is
    locked"), so that a stuck neighbour makes writes fail instead of hang.

    ``create=False`` opens an existing store only, for tools that inspect one: a missing file
    raises :class:`FileNotFoundError` and a file that is not a cursor store raises
    :class:`ValueError` (at the first call), instead of an empty store being made.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        busy_timeout: float = 10.0,
        create: bool = True,
    ) -> None:
        self.path = Path(path)
        self._create = create
        self._synchronous = synchronous
        self._busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        # One thread at a time uses the connection.
        self._thread = anyio.CapacityLimiter(1)
        self._group: GroupCommit[Op, Any] = GroupCommit(self._flush)

    def __repr__(self) -> str:
        return f"<SQLiteCursorStore {str(self.path)!r}>"

    # --- plumbing ------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if not self._create and not self.path.is_file():
            raise FileNotFoundError(f"no cursor store at {str(self.path)!r}: no such file")
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            if not self._create:
                self._check_store(conn)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            conn.execute(_SCHEMA)
            conn.execute(_ENDED_SCHEMA)
            have = {row[1] for row in conn.execute("PRAGMA table_info(letta_cursors)")}
            for name, kind in _ADDED.items():
                if name not in have:
                    conn.execute(f"ALTER TABLE letta_cursors ADD COLUMN {name} {kind}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _check_store(self, conn: sqlite3.Connection) -> None:
        """Refuse a file that is not a cursor store before anything is written to it."""
        try:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'letta_cursors'"
            ).fetchone()
        except sqlite3.DatabaseError as exc:  # not an SQLite file at all
            raise ValueError(f"{str(self.path)!r} is not a cursor store: {exc}") from exc
        if found is None:
            raise ValueError(f"{str(self.path)!r} is not a cursor store (no letta_cursors table)")

    def _apply(self, ops: Sequence[Op]) -> list[Any]:
        if self._closed:
            raise RuntimeError("the cursor store is closed")
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            results = [op(conn) for op in ops]
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return results

    async def _flush(self, ops: Sequence[Op]) -> list[Any]:
        return await anyio.to_thread.run_sync(self._apply, ops, limiter=self._thread)

    async def _run(self, op: Op) -> Any:
        return await self._group.submit(op)

    async def aclose(self) -> None:
        self._closed = True
        conn, self._conn = self._conn, None
        if conn is not None:
            await anyio.to_thread.run_sync(conn.close, limiter=self._thread)

    # --- the interface -------------------------------------------------------------------------

    async def record(self, cursor: Cursor) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            done = conn.execute(
                f"INSERT OR IGNORE INTO letta_cursors ({_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    cursor.key,
                    cursor.agent_id,
                    json.dumps(list(cursor.otids)),
                    cursor.request,
                    cursor.phase,
                    cursor.run_id,
                    cursor.seq_id,
                    cursor.fence,
                    cursor.created_at,
                    cursor.sent_at,
                    cursor.failures,
                    cursor.error,
                    cursor.conversation_id,
                ),
            )
            return done.rowcount == 1

        return bool(await self._run(op))

    async def _update(self, sql: str, params: dict[str, Any]) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            return conn.execute(sql, params).rowcount == 1

        return bool(await self._run(op))

    async def mark_sending(self, key: str, sent_at: float, fence: int | None = None) -> bool:
        return await self._update(
            "UPDATE letta_cursors SET phase = 'sending', sent_at = :sent_at "
            f"WHERE key = :key AND {_FENCE}",
            {"fence": fence, "sent_at": sent_at, "key": key},
        )

    async def set_run(self, key: str, run_id: str, fence: int | None = None) -> bool:
        return await self._update(
            "UPDATE letta_cursors SET phase = 'streaming', run_id = :run_id "
            f"WHERE key = :key AND {_FENCE}",
            {"fence": fence, "run_id": run_id, "key": key},
        )

    async def ack(self, key: str, run_id: str, seq_id: int, fence: int | None = None) -> bool:
        return await self._update(
            "UPDATE letta_cursors SET phase = 'streaming', run_id = :run_id, "
            "failures = CASE WHEN :seq_id > seq_id THEN 0 ELSE failures END, "
            "error = CASE WHEN :seq_id > seq_id THEN NULL ELSE error END, "
            "seq_id = max(seq_id, :seq_id) "
            f"WHERE key = :key AND {_FENCE}",
            {"fence": fence, "run_id": run_id, "seq_id": seq_id, "key": key},
        )

    async def park(self, key: str, fence: int | None = None) -> bool:
        return await self._update(
            f"UPDATE letta_cursors SET phase = 'unconfirmed' WHERE key = :key AND {_FENCE}",
            {"fence": fence, "key": key},
        )

    async def fail(
        self,
        key: str,
        error: str,
        *,
        run_id: str | None = None,
        max_failures: int | None = None,
        fence: int | None = None,
    ) -> int:
        def op(conn: sqlite3.Connection) -> int:
            # Inside the group's transaction: the update and the read are one atomic step.
            # (No RETURNING: older SQLite builds that Python may ship lack it.)
            done = conn.execute(
                "UPDATE letta_cursors SET failures = failures + 1, error = :error, "
                "run_id = coalesce(:run_id, run_id), "
                "phase = CASE WHEN :run_id IS NOT NULL THEN 'streaming' ELSE phase END "
                f"WHERE key = :key AND {_FENCE}",
                {"fence": fence, "error": error, "run_id": run_id, "key": key},
            )
            if done.rowcount != 1:
                return 0
            row = conn.execute("SELECT failures FROM letta_cursors WHERE key = ?", (key,))
            count = int(row.fetchone()[0])
            if max_failures is not None and count >= max_failures:
                conn.execute("UPDATE letta_cursors SET phase = 'dead' WHERE key = ?", (key,))
            return count

        result: int = await self._run(op)
        return result

    async def revive(self, key: str) -> bool:
        return await self._update(
            "UPDATE letta_cursors SET failures = 0, error = NULL, "
            "phase = CASE WHEN run_id IS NULL THEN 'sending' ELSE 'streaming' END "
            "WHERE key = :key AND phase = 'dead'",
            {"key": key},
        )

    async def finish(
        self, key: str, fence: int | None = None, *, ended: Ended | None = None
    ) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            done = conn.execute(
                f"DELETE FROM letta_cursors WHERE key = :key AND {_FENCE}",
                {"fence": fence, "key": key},
            )
            if done.rowcount != 1:
                return False
            if ended is not None:
                conn.execute(
                    "INSERT INTO letta_ended (key, status, agent_id, run_id, seq_id, error, at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        ended.key,
                        ended.status,
                        ended.agent_id,
                        ended.run_id,
                        ended.seq_id,
                        ended.error,
                        ended.at,
                    ),
                )
                conn.execute(
                    "DELETE FROM letta_ended WHERE id <= (SELECT max(id) FROM letta_ended) - ?",
                    (ENDED_KEPT,),
                )
            return True

        return bool(await self._run(op))

    async def ended(self, limit: int = 100) -> list[Ended]:
        def op(conn: sqlite3.Connection) -> list[Ended]:
            rows = conn.execute(
                "SELECT key, status, agent_id, run_id, seq_id, error, at FROM letta_ended "
                "ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
            return [
                Ended(
                    key=key,
                    status=status,
                    agent_id=agent_id,
                    run_id=run_id,
                    seq_id=seq_id,
                    error=error,
                    at=at,
                )
                for key, status, agent_id, run_id, seq_id, error, at in reversed(rows)
            ]

        result: list[Ended] = await self._run(op)
        return result

    async def resolve(self, key: str, *, resend: bool) -> bool:
        if resend:
            return await self._update(
                "UPDATE letta_cursors SET phase = 'recorded', sent_at = NULL "
                "WHERE key = :key AND phase = 'unconfirmed'",
                {"key": key},
            )
        return await self._update(
            "DELETE FROM letta_cursors WHERE key = :key AND phase IN ('unconfirmed', 'dead')",
            {"key": key},
        )

    async def get(self, key: str) -> Cursor | None:
        def op(conn: sqlite3.Connection) -> Cursor | None:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM letta_cursors WHERE key = ?", (key,)
            ).fetchone()
            return None if row is None else _row(row)

        result: Cursor | None = await self._run(op)
        return result

    async def in_flight(self) -> list[Cursor]:
        def op(conn: sqlite3.Connection) -> list[Cursor]:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM letta_cursors ORDER BY created_at, key"
            ).fetchall()
            return [_row(row) for row in rows]

        result: list[Cursor] = await self._run(op)
        return result
