"""The cursor store on Redis, with leases: what lets a fleet of workers share the keys.

The cursor interface is the same as the SQLite store's; on top of it a worker can
``claim`` keys (each claim bumps the key's fence and sets a lease that expires on the Redis
server's clock), ``renew`` its leases, and ``release`` a key. A fenced write is one Lua
script that checks the fence and writes in one atomic step (see ``_lua``), so a worker that
was paused past its lease and taken over cannot move a cursor when it wakes.

Concurrent writes share round trips: they are queued and sent as one pipeline
(:class:`~._group.GroupCommit`). Needs the ``redis`` package (``letta-async[redis]``);
nothing else in the client imports this module.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import msgspec
import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from . import _lua
from ._cursor import Cursor, Ended, Phase
from ._group import GroupCommit
from ._store import CursorStore

__all__ = ["Claim", "ClaimRecord", "RedisCursorStore"]

_encode = msgspec.json.Encoder().encode

_FIELDS = (
    "agent_id",
    "otids",
    "request",
    "phase",
    "run_id",
    "seq",
    "created_at",
    "sent_at",
    "failures",
    "error",
    "conversation_id",
)


class Claim(NamedTuple):
    """A key this worker now holds: its cursor (with the new fence) and whose it was."""

    cursor: Cursor
    previous_owner: str | None
    """The worker that held the lease before, if it expired (a take-over); None for new keys."""
    expired_for: float | None
    """Seconds the previous lease had been expired when it was taken over (None: not one)."""
    claimed_at: float = 0.0
    """``time.monotonic()`` when the claim came back (for take-over metrics)."""


class ClaimRecord(NamedTuple):
    """One entry of the claim log; times are the Redis server's clock, in seconds."""

    key: str
    fence: int
    owner: str
    previous_owner: str | None
    expired_at: float | None
    """When the previous lease had expired (a take-over), else None (a queued key)."""
    at: float


class _Op(NamedTuple):
    """A queued write: a cursor write (``script`` None, ``args`` one APPLY operation) or a
    call of its own script."""

    script: AsyncScript | None
    keys: tuple[str, ...]
    args: tuple[Any, ...]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _cursor(key: str, values: Sequence[Any], fence: int = 0) -> Cursor:
    (
        agent_id,
        otids,
        request,
        phase,
        run_id,
        seq,
        created_at,
        sent_at,
        failures,
        error,
        conversation_id,
    ) = values
    sent = _text(sent_at)
    return Cursor(
        key=key,
        agent_id=_text(agent_id) or "",
        otids=tuple(json.loads(_text(otids) or "[]")),
        request=request if isinstance(request, bytes) else (request or "").encode(),
        phase=_phase(_text(phase)),
        run_id=_text(run_id) or None,
        seq_id=int(_text(seq) or 0),
        fence=fence,
        created_at=float(_text(created_at) or 0.0),
        sent_at=float(sent) if sent else None,
        failures=int(_text(failures) or 0),
        error=_text(error),
        conversation_id=_text(conversation_id) or None,
    )


_decode_ended = msgspec.json.Decoder(Ended).decode


def _flags(reply: Any) -> list[bool]:
    """APPLY's reply: one character per operation, ``1`` where it applied."""
    text = reply.decode() if isinstance(reply, bytes) else str(reply)
    return [c == "1" for c in text]


def _phase(value: str | None) -> Phase:
    if value in ("recorded", "sending", "streaming", "unconfirmed", "dead"):
        return value  # type: ignore[return-value]
    return "recorded"


class RedisCursorStore(CursorStore):
    """Cursors and leases in Redis under one ``namespace``.

    ``redis`` is a ``redis.asyncio.Redis`` client (kept open: its owner closes it) or a URL
    such as ``"redis://127.0.0.1:6379/0"`` (a client is made, and closed by :meth:`aclose`).
    Needs one Redis server (or one cluster slot: every key of a namespace shares a hash tag).
    """

    def __init__(self, redis: aioredis.Redis | str, *, namespace: str = "letta-durable") -> None:
        if isinstance(redis, str):
            self._redis = aioredis.Redis.from_url(redis)
            self._owned = True
        else:
            self._redis = redis
            self._owned = False
        self.namespace = namespace
        base = "{" + namespace + "}"
        self._prefix = f"{base}:cursor:"
        self._queue = f"{base}:queue"
        self._leases = f"{base}:leases"
        self._parked = f"{base}:parked"
        self._claim_log = f"{base}:claims"
        self._ended = f"{base}:ended"
        r = self._redis
        self._submit = r.register_script(_lua.SUBMIT)
        self._claim = r.register_script(_lua.CLAIM)
        self._renew = r.register_script(_lua.RENEW)
        self._apply = r.register_script(_lua.APPLY)
        self._release = r.register_script(_lua.RELEASE)
        self._resolve = r.register_script(_lua.RESOLVE)
        self._fail = r.register_script(_lua.FAIL)
        self._revive = r.register_script(_lua.REVIVE)
        self._group: GroupCommit[_Op, Any] = GroupCommit(self._flush, concurrency=4, linger=0.002)
        self.lease_ttl = 10.0
        """Seconds a fenced write extends its key's lease by (the worker sets its own TTL)."""

    def __repr__(self) -> str:
        return f"<RedisCursorStore namespace={self.namespace!r}>"

    @property
    def redis(self) -> aioredis.Redis:
        """The asyncio Redis client this store talks through (for metrics or cleanup)."""
        return self._redis

    def _hash(self, key: str) -> str:
        return self._prefix + key

    async def _eval(self, script: AsyncScript, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run ``script`` by its digest, loading it first only if Redis does not know it.

        What calling the script object does, without its per-call checks for a pipeline: on
        the worker's busiest path (every flush, claim and renewal) they cost about as much
        as the command itself.
        """
        try:
            return await self._redis.evalsha(script.sha, len(keys), *keys, *args)
        except NoScriptError:  # a restarted or flushed server: load it, run it again
            return await script(keys=keys, args=args)

    async def _flush(self, ops: Sequence[_Op]) -> list[Any]:
        """Cursor writes go to Redis as one APPLY call (one JSON argument), other scripts as
        commands of the same pipeline: one round trip for the whole group either way."""
        writes = [op.args for op in ops if op.script is None]
        apply_args: list[Any] = [
            _encode(writes),
            int(self.lease_ttl * 1000),
            self._prefix,
            self._queue,
            self._leases,
            self._parked,
            self._ended,
        ]
        others = [op for op in ops if op.script is not None]
        if not others:
            try:
                return _flags(await self._eval(self._apply, (), apply_args))
            except Exception as exc:
                return [exc] * len(ops)
        async with self._redis.pipeline(transaction=False) as pipe:
            if writes:
                await self._apply(args=apply_args, client=pipe)
            for op in others:
                assert op.script is not None
                await op.script(keys=list(op.keys), args=list(op.args), client=pipe)
            replies: list[Any] = await pipe.execute(raise_on_error=False)
        failed = replies[0] if writes and isinstance(replies[0], Exception) else None
        applied = iter(_flags(replies[0]) if writes and failed is None else [])
        rest = iter(replies[1:] if writes else replies)
        results: list[Any] = []
        for op in ops:
            if op.script is None:
                results.append(failed if failed is not None else next(applied))
            else:
                results.append(next(rest))
        return results

    async def _call(self, script: AsyncScript, keys: tuple[str, ...], *args: Any) -> Any:
        result = await self._group.submit(_Op(script, keys, args))
        if isinstance(result, Exception):
            raise result
        return result

    async def _cursor_write(
        self, name: str, key: str, fence: int | None, value: str = "", extra: str = ""
    ) -> bool:
        op = (name, key, "" if fence is None else str(fence), value, extra)
        result = await self._group.submit(_Op(None, (), op))
        if isinstance(result, Exception):
            raise result
        return bool(result)

    async def aclose(self) -> None:
        if self._owned:
            await self._redis.aclose()

    # --- the cursor interface ------------------------------------------------------------------

    async def record(self, cursor: Cursor) -> bool:
        fields: list[Any] = [
            "agent_id",
            cursor.agent_id,
            "otids",
            json.dumps(list(cursor.otids)),
            "request",
            cursor.request,
            "phase",
            cursor.phase,
            "seq",
            cursor.seq_id,
            "fence",
            cursor.fence,
            "created_at",
            repr(cursor.created_at),
        ]
        if cursor.run_id is not None:
            fields += ["run_id", cursor.run_id]
        if cursor.sent_at is not None:
            fields += ["sent_at", repr(cursor.sent_at)]
        if cursor.conversation_id is not None:
            fields += ["conversation_id", cursor.conversation_id]
        done = await self._call(
            self._submit, (self._hash(cursor.key), self._queue), cursor.key, *fields
        )
        return bool(done)

    async def mark_sending(self, key: str, sent_at: float, fence: int | None = None) -> bool:
        return await self._cursor_write("sending", key, fence, repr(sent_at))

    async def set_run(self, key: str, run_id: str, fence: int | None = None) -> bool:
        return await self._cursor_write("run", key, fence, run_id)

    async def ack(self, key: str, run_id: str, seq_id: int, fence: int | None = None) -> bool:
        return await self._cursor_write("ack", key, fence, str(seq_id), run_id)

    async def park(self, key: str, fence: int | None = None) -> bool:
        return await self._cursor_write("park", key, fence)

    async def finish(
        self, key: str, fence: int | None = None, *, ended: Ended | None = None
    ) -> bool:
        record = "" if ended is None else _encode(ended).decode()
        return await self._cursor_write("finish", key, fence, record)

    async def ended(self, limit: int = 100) -> list[Ended]:
        """The latest records of the ended log (a stream capped at about 1,000 entries)."""
        entries = await self._redis.xrevrange(self._ended, count=limit) or []
        records = []
        for _id, fields in reversed(entries):
            data = {_text(k): v for k, v in (fields or {}).items()}
            raw = data.get("record")
            if raw is not None:
                records.append(_decode_ended(raw))
        return records

    async def fail(
        self,
        key: str,
        error: str,
        *,
        run_id: str | None = None,
        max_failures: int | None = None,
        fence: int | None = None,
    ) -> int:
        keys = (self._hash(key), self._queue, self._leases, self._parked)
        args = (
            key,
            "" if fence is None else str(fence),
            error,
            "" if max_failures is None else str(max_failures),
            run_id or "",
        )
        return int(await self._call(self._fail, keys, *args))

    async def revive(self, key: str) -> bool:
        keys = (self._hash(key), self._queue, self._parked)
        return bool(await self._call(self._revive, keys, key))

    async def resolve(self, key: str, *, resend: bool) -> bool:
        keys = (self._hash(key), self._queue, self._parked)
        return bool(await self._call(self._resolve, keys, key, "1" if resend else "0"))

    async def get(self, key: str) -> Cursor | None:
        values = await self._redis.hmget(self._hash(key), [*_FIELDS, "fence"])
        if values[0] is None:
            return None
        return _cursor(key, values[:-1], int(_text(values[-1]) or 0))

    async def in_flight(self) -> list[Cursor]:
        r = self._redis
        queued = await r.zrange(self._queue, 0, -1)
        held = await r.zrange(self._leases, 0, -1)
        parked = await r.smembers(self._parked)
        keys = sorted({_text(k) or "" for k in [*queued, *held, *parked]})
        cursors: list[Cursor] = []
        async with r.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hmget(self._hash(key), [*_FIELDS, "fence"])
            rows = await pipe.execute()
        for key, values in zip(keys, rows, strict=True):
            if values[0] is not None:
                cursors.append(_cursor(key, values[:-1], int(_text(values[-1]) or 0)))
        cursors.sort(key=lambda c: (c.created_at, c.key))
        return cursors

    # --- leases --------------------------------------------------------------------------------

    async def claim(self, owner: str, count: int, lease_ttl: float) -> list[Claim]:
        """Take up to ``count`` keys: expired leases first (take-overs), then due queued keys.

        Each claimed key's fence grows by one, which makes every write of the previous holder
        fail from now on. The lease lasts ``lease_ttl`` seconds unless renewed.
        """
        if count < 1:
            return []
        rows = await self._eval(
            self._claim,
            (self._queue, self._leases, self._claim_log),
            (owner, count, int(lease_ttl * 1000), self._prefix),
        )
        claimed_at = time.monotonic()
        claims: list[Claim] = []
        for row in msgspec.json.decode(rows):
            key = str(row[0])
            fence = int(row[1])
            previous = row[2] or None
            expired_at = row[3]
            now = int(row[4])
            cursor = _cursor(key, [None if v is False else v for v in row[5:16]], fence)
            expired_for = (now - float(expired_at)) / 1000.0 if expired_at else None
            claims.append(Claim(cursor, previous if expired_at else None, expired_for, claimed_at))
        return claims

    async def renew(self, leases: Sequence[tuple[str, int]], lease_ttl: float) -> list[bool]:
        """Extend each ``(key, fence)`` lease still held; False for those taken over."""
        if not leases:
            return []
        args: list[Any] = [int(lease_ttl * 1000), self._prefix]
        for key, fence in leases:
            args += [key, str(fence)]
        # Straight to Redis, not through the group commit: a renewal must not queue behind a
        # burst of cursor writes while the leases run out.
        result = await self._eval(self._renew, (self._leases,), args)
        return [bool(x) for x in result]

    async def release(self, key: str, fence: int, *, delay: float = 0.0) -> bool:
        """Give a held key back to the queue, claimable after ``delay`` seconds."""
        keys = (self._hash(key), self._queue, self._leases)
        return bool(await self._call(self._release, keys, key, str(fence), int(delay * 1000)))

    async def claim_log(self, count: int = 1000) -> list[ClaimRecord]:
        """The latest claims, oldest first: who took which key, when, and from whom.

        Written by the claim itself, in the same atomic step, so a worker that dies right
        after claiming still leaves its record (the stream keeps about 100,000 entries).
        """
        entries = await self._redis.xrevrange(self._claim_log, count=count) or []
        records = []
        for _id, fields in reversed(entries):
            data = {_text(k): _text(v) or "" for k, v in (fields or {}).items()}
            expired = data.get("expired_at") or ""
            records.append(
                ClaimRecord(
                    key=data.get("key", ""),
                    fence=int(data.get("fence") or 0),
                    owner=data.get("owner", ""),
                    previous_owner=data.get("previous") or None,
                    expired_at=float(expired) / 1000 if expired else None,
                    at=float(data.get("at") or 0) / 1000,
                )
            )
        return records

    async def used(self) -> bool:
        """Whether anything was ever submitted to this namespace (keys, claims or ended
        records exist): tells a namespace whose work is all done from a mistyped one."""
        names = [self._queue, self._leases, self._parked, self._claim_log, self._ended]
        return bool(await self._redis.exists(*names))

    async def counts(self) -> dict[str, int]:
        """How many keys are queued, held and parked (unconfirmed or dead) right now."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self._queue)
            pipe.zcard(self._leases)
            pipe.scard(self._parked)
            queued, held, parked = await pipe.execute()
        return {"queued": int(queued), "held": int(held), "parked": int(parked)}

    async def now(self) -> float:
        """The Redis server's clock, in seconds (what lease expiry is measured against)."""
        seconds, micros = await self._redis.time()
        return float(seconds) + micros / 1e6
