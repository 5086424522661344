"""Durable streams: background runs whose delivery survives the process reading them.

A cursor store records, per key you choose, everything needed to carry on after a crash: the
agent, the ``otid`` of each message sent (stored before the request goes out), the run id and
the position of the last event your handler finished with. The cursor moves only after the
handler returned (the acknowledgement), so a crash at any instant replays at most the batch
that was being handled, and never skips one. Each event comes with ``(run_id, seq_id)``, the
same on every replay, so a sink can apply it exactly once.

* Embedded: :class:`DurableStreams` with :class:`SQLiteCursorStore` (a file, no server).
* A fleet: :class:`RedisCursorStore` (leases with fencing) and :class:`Worker`; work is handed
  to the fleet with :func:`submit`. These need the ``redis`` package
  (``pip install letta-async[redis]``) and load it only when first used.

Modules, one job each: ``_cursor`` (the record), ``_batch`` (what a handler gets, numbering),
``_reading`` (one read from a stream), ``_group`` (group commit), ``_store`` (the interface),
``_sqlite`` and ``_redis`` (the stores; ``_lua`` holds the Redis scripts), ``_job`` (recording
a send), ``_lookup`` (finding a run by otid), ``_deliver`` (one key, start to finish),
``_runner`` (embedded), ``_lease`` and ``_worker`` (the fleet).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._batch import Batch, Delivery
from ._cursor import Cursor, DuplicateKeyError, Ended, Outcome, OutcomeStatus, Phase
from ._deliver import Handler
from ._job import submit
from ._lookup import OtidLookup
from ._runner import DurableStreams
from ._sqlite import SQLiteCursorStore
from ._store import CursorStore

if TYPE_CHECKING:
    from ._redis import Claim, RedisCursorStore
    from ._worker import Worker

_LAZY = {"RedisCursorStore": "._redis", "Claim": "._redis", "Worker": "._worker"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "Batch",
    "Claim",
    "Cursor",
    "CursorStore",
    "Delivery",
    "DuplicateKeyError",
    "DurableStreams",
    "Ended",
    "Handler",
    "OtidLookup",
    "Outcome",
    "OutcomeStatus",
    "Phase",
    "RedisCursorStore",
    "SQLiteCursorStore",
    "Worker",
    "submit",
]
