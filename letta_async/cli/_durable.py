"""The durable-stream commands: ``worker`` (consume a Redis namespace), ``submit`` (hand it
work), ``inflight`` (what a store holds) and ``revive`` (put a dead key back to work). They
import the Redis store only when run, so the rest of the command line works without the
``redis`` package.

A handler is named as ``module:function`` (an ``async def handler(batch)``, importable from
the current directory or ``PYTHONPATH``); without one, every event is printed as one JSON
line ``{"key", "run_id", "seq_id", "event"}``, which makes ``letta-async worker`` usable as
a pipe into another program.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import signal
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TextIO

import anyio
import msgspec

from ..types import UnknownMessage

if TYPE_CHECKING:
    from ..durable import Batch, CursorStore

__all__ = ["CommandFailed", "UsageError", "add_commands"]

_encoder = msgspec.json.Encoder()


class UsageError(Exception):
    """A bad ``module:function`` or store option, found after parsing."""


class CommandFailed(Exception):
    """The command could not do what it was asked (exit 1); the message says why."""


def load_object(spec: str) -> Any:
    """``package.module:attr.sub`` to the object it names."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise UsageError(f"expected module:function, got {spec!r}")
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")  # like `python -m`: modules in the current directory
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"cannot import {module_name!r}: {exc}") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise UsageError(f"{module_name!r} has no {attr!r}") from exc
    return obj


def print_handler(out: TextIO) -> Callable[[Batch], Any]:
    """The default handler: one JSON line per event, flushed once per batch."""

    async def handle(batch: Batch) -> None:
        lines = []
        for delivery in batch.deliveries():
            event: Any = delivery.event
            if isinstance(event, UnknownMessage):
                event = event.data
            record = {
                "key": batch.key,
                "run_id": delivery.run_id,
                "seq_id": delivery.seq_id,
                "event": event,
            }
            lines.append(_encoder.encode(record).decode())
        out.write("\n".join(lines) + "\n")
        out.flush()

    return handle


def add_commands(commands: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register ``worker``, ``submit``, ``inflight`` and ``revive`` on the subparsers."""
    worker = commands.add_parser(
        "worker",
        help="consume a Redis namespace of durable streams (one worker of a fleet)",
        description="Claim keys from a Redis namespace, stream their runs, hand every batch "
        "to a handler, acknowledge. Stops cleanly on SIGTERM or Ctrl-C, handing its keys "
        "back at once.",
    )
    common(worker)
    _redis_options(worker)
    worker.add_argument(
        "--handler",
        dest="handler_spec",
        metavar="MOD:FUNC",
        help="async def f(batch); default: print JSON lines",
    )
    worker.add_argument("--on-claim", metavar="MOD:FUNC", help="called with each Claim")
    worker.add_argument("--on-outcome", metavar="MOD:FUNC", help="called with each Outcome")
    worker.add_argument("--limit", type=int, default=50, help="keys held at once (50)")
    worker.add_argument("--buffer", type=int, default=100, help="batches out at once (100)")
    worker.add_argument("--lease-ttl", type=float, default=10.0, help="lease seconds (10)")
    worker.add_argument("--poll", type=float, default=0.5, help="claim poll seconds (0.5)")
    worker.add_argument(
        "--max-failures",
        type=int,
        default=10,
        metavar="N",
        help="handler failures in a row that park a key as dead (10; 0: never)",
    )
    worker.add_argument(
        "--until-empty", action="store_true", help="exit once nothing is queued or held"
    )
    worker.set_defaults(handler=cmd_worker)

    submit = commands.add_parser(
        "submit",
        help="hand a message to the worker fleet under a key",
        description="Record a send under KEY in a Redis namespace; a worker makes it.",
    )
    common(submit)
    _redis_options(submit)
    submit.add_argument("key", metavar="KEY")
    submit.add_argument("agent_id", metavar="AGENT_ID")
    submit.add_argument("text", metavar="TEXT")
    submit.add_argument("--tokens", action="store_true", help="stream token by token")
    submit.add_argument("--max-steps", type=int, metavar="N", help="cap the agent's steps")
    submit.add_argument(
        "--conversation", metavar="CONV_ID", help="send into one of the agent's conversations"
    )
    submit.set_defaults(handler=cmd_submit)

    inflight = commands.add_parser(
        "inflight",
        help="list the keys a cursor store holds",
        description="List every unfinished key of a store: phase, run, position, age. With "
        "--ended, list instead the latest keys that left the store without completing "
        "(refused by the server, or their run gone) and why. Reads only: a store that does "
        "not exist is an error, not an empty one.",
    )
    common(inflight)
    _store_options(inflight)
    inflight.add_argument(
        "--ended",
        action="store_true",
        help="the latest keys that ended without completing (rejected, gone), with the reason",
    )
    inflight.set_defaults(handler=cmd_inflight)

    revive = commands.add_parser(
        "revive",
        help="put a dead key back to work",
        description="Take KEY out of the dead phase (its handler failed too often in a row) "
        "so that it resumes where its cursor stands; nothing is sent again.",
    )
    common(revive)
    _store_options(revive)
    revive.add_argument("key", metavar="KEY")
    revive.set_defaults(handler=cmd_revive)


def _store_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--redis", metavar="URL", help="a Redis store (with --namespace)")
    group.add_argument("--sqlite", metavar="PATH", help="a SQLite store file")
    parser.add_argument("--namespace", default="letta-durable", help="Redis namespace")


async def _existing_store(args: Any) -> CursorStore:
    """The store ``inflight`` and ``revive`` work on, which must already exist: these commands
    never create one (a mistyped path or namespace would otherwise look like an empty store)."""
    from ..durable import SQLiteCursorStore

    if not args.redis:
        return SQLiteCursorStore(args.sqlite, create=False)
    store: CursorStore = _redis_store(args.redis, args.namespace)
    try:
        with _redis_errors():
            used = await store.used()  # type: ignore[attr-defined]
    except BaseException:
        await store.aclose()
        raise
    if not used:
        await store.aclose()
        raise CommandFailed(
            f"namespace {args.namespace!r} on {args.redis} holds nothing and never did "
            "(no keys, claims or ended records); check --namespace"
        )
    return store


@contextlib.contextmanager
def _redis_errors() -> Iterator[None]:
    """Redis unreachable (or refusing us) is an expected failure: one line, exit 1."""
    from redis.exceptions import RedisError

    try:
        yield
    except RedisError as exc:
        raise CommandFailed(f"Redis: {exc}") from exc


def _redis_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--redis", metavar="URL", required=True, help="the fleet's Redis, redis://host:port/db"
    )
    parser.add_argument("--namespace", default="letta-durable", help="key prefix the fleet shares")


def _redis_store(url: str, namespace: str) -> Any:
    try:
        from ..durable import RedisCursorStore
    except ImportError as exc:
        raise UsageError(
            "the Redis store needs the redis package: pip install 'letta-async[redis]'"
        ) from exc
    return RedisCursorStore(url, namespace=namespace)


async def cmd_worker(session: Any) -> int:
    args = session.args
    if args.max_failures < 0:
        raise UsageError("--max-failures must be 0 (never) or more")
    handler = load_object(args.handler_spec) if args.handler_spec else print_handler(session.stdout)
    on_claim = load_object(args.on_claim) if args.on_claim else None
    on_outcome = load_object(args.on_outcome) if args.on_outcome else None
    store = _redis_store(args.redis, args.namespace)
    with contextlib.ExitStack() as cleanup:
        if not args.verbose:
            # Keys the worker drops (refused sends, runs gone) and keys parked as dead are
            # logged as warnings by the library: shown by default, as the reason is not
            # written anywhere else the operator would look first.
            cleanup.enter_context(_warnings_to(session.stderr))
        return await _run_worker(session, store, handler, on_claim, on_outcome)


@contextlib.contextmanager
def _warnings_to(err: TextIO) -> Iterator[None]:
    """The library's warnings and errors on ``err``, one line each, for the block's duration."""
    handler = logging.StreamHandler(err)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("letta-async: %(levelname)s: %(message)s"))
    logger = logging.getLogger("letta_async")
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False  # not twice, through a root handler an embedding program set
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


async def _run_worker(
    session: Any, store: Any, handler: Any, on_claim: Any, on_outcome: Any
) -> int:
    from ..durable import Worker

    args = session.args
    try:
        async with session.client() as client:
            worker = Worker(
                client,
                store,
                handler,
                limit=args.limit,
                buffer=args.buffer,
                lease_ttl=args.lease_ttl,
                poll_interval=args.poll,
                max_failures=args.max_failures or None,
                on_claim=on_claim,
                on_outcome=on_outcome,
            )
            session.notice(
                f"worker {worker.worker_id} on namespace {args.namespace!r} "
                f"(limit {args.limit}, lease {args.lease_ttl:g} s)"
            )
            async with anyio.create_task_group() as group:

                async def stop_on_signal() -> None:
                    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                        async for _ in signals:
                            group.cancel_scope.cancel()
                            return

                group.start_soon(stop_on_signal)
                await worker.run(until_empty=args.until_empty)
                group.cancel_scope.cancel()
            summary = ", ".join(f"{n} {s}" for s, n in sorted(worker.outcomes.items()))
            dropped = sum(worker.outcomes.get(s, 0) for s in ("rejected", "gone"))
            session.notice(
                f"worker stopped: {worker.claimed} claimed ({worker.taken_over} taken over)"
                + (f"; {summary}" if summary else "")
                + (
                    " (why: letta-async inflight --ended, same --redis and --namespace)"
                    if dropped
                    else ""
                )
            )
    finally:
        await store.aclose()
    return 0


async def cmd_submit(session: Any) -> int:
    from ..durable import DuplicateKeyError, submit

    args = session.args
    store = _redis_store(args.redis, args.namespace)
    options: dict[str, Any] = {}
    if args.tokens:
        options["stream_tokens"] = True
    if args.max_steps is not None:
        options["max_steps"] = args.max_steps
    try:
        with _redis_errors():
            cursor = await submit(
                store,
                args.key,
                args.agent_id,
                messages=[{"role": "user", "content": args.text}],
                conversation_id=args.conversation,
                **options,
            )
    except DuplicateKeyError as exc:
        # Not a usage error (the command line was fine): one line, no pointer to --help.
        raise CommandFailed(
            f"key {args.key!r} is already in the store, unfinished (see letta-async inflight)"
        ) from exc
    finally:
        await store.aclose()
    session.stdout.write(f"{cursor.key}: submitted (otid {', '.join(cursor.otids)})\n")
    return 0


async def cmd_inflight(session: Any) -> int:
    args = session.args
    store = await _existing_store(args)
    try:
        if args.ended:
            return _print_ended(session, await store.ended())
        cursors = await store.in_flight()
        ended = len(await store.ended(limit=1000))
    finally:
        await store.aclose()
    now = time.time()
    for c in cursors:
        if session.args.json:
            session.stdout.write(
                _encoder.encode(msgspec.structs.replace(c, request=b"")).decode() + "\n"
            )
        else:
            failed = f"  {c.failures} failures, last {c.error}" if c.failures else ""
            session.stdout.write(
                f"{c.key}  {c.phase:<11}  {c.run_id or '-'}  after {c.seq_id}  "
                f"{now - c.created_at:.0f} s old{failed}\n"
            )
    if not cursors:
        session.notice("nothing in flight")
    if ended and not args.json:
        noun = "key" if ended == 1 else "keys"
        session.notice(f"{ended} {noun} ended without completing; see them with --ended")
    return 0


def _print_ended(session: Any, records: list[Any]) -> int:
    now = time.time()
    for r in records:
        if session.args.json:
            session.stdout.write(_encoder.encode(r).decode() + "\n")
        else:
            session.stdout.write(
                f"{r.key}  {r.status:<8}  {r.run_id or '-'}  after {r.seq_id}  "
                f"{now - r.at:.0f} s ago  {r.error}\n"
            )
    if not records:
        session.notice("no key ended without completing")
    return 0


async def cmd_revive(session: Any) -> int:
    args = session.args
    store = await _existing_store(args)
    try:
        revived = await store.revive(args.key)
        cursor = None if revived else await store.get(args.key)
    finally:
        await store.aclose()
    if not revived:
        state = "is not in the store" if cursor is None else f"is {cursor.phase}, not dead"
        raise CommandFailed(f"key {args.key!r} {state}; only a dead key can be revived")
    session.stdout.write(f"{args.key}: back to work\n")
    return 0
