"""Asking the server whether a failed message send started a run, before sending it again.

Letta 0.16 does not refuse a message whose ``otid`` it already holds, so a second send of a
message that the server did receive runs the agent a second time. Two questions tell:

1. Is a message with one of our ``otid``\\ s in the history? Exact, but Letta stores the input
   message only when the run's first step succeeds: a run whose LLM call failed (HTTP 500)
   or is still waiting has none.
2. Did a run of this agent (or conversation) start since the request went out? Letta creates
   the run before anything else, so this covers a failed or still running one. The server's
   clock is read from the ``Date`` header of the very answer that lists the runs, and the
   time since the first send from our own monotonic clock, so no clock has to agree with
   another. ``Date`` has whole seconds: a run started up to a second *before* our send can
   look like ours; that errs toward not sending again.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import msgspec

from .._errors import APIError
from .._retry import Locator, RunFacts
from .._transport import PreparedRequest
from .._urls import path

if TYPE_CHECKING:
    from .._transport import Transport

__all__ = ["find_by_otid", "make_locator", "runs_since"]

_RUN_LIMIT = 20


class _RunRow(msgspec.Struct, kw_only=True):
    id: str
    status: str | None = None
    created_at: datetime | None = None


class _Item(msgspec.Struct, kw_only=True):
    otid: str | None = None
    run_id: str | None = None


_runs = msgspec.json.Decoder(list[_RunRow])
_items = msgspec.json.Decoder(list[_Item])
_run = msgspec.json.Decoder(_RunRow)


async def find_by_otid(transport: Transport, owner: str, otids: Sequence[str]) -> str | None:
    """The run of the newest history item carrying one of ``otids`` (``owner``: its route)."""
    request = PreparedRequest(
        "GET", owner + "/messages", params={"limit": 20, "order": "desc"}, max_retries=0
    )
    raw = await transport.request_bytes(request)
    wanted = set(otids)
    for item in _items.decode(raw):
        if item.otid in wanted and item.run_id:
            return item.run_id
    return None


async def runs_since(
    transport: Transport, owner_query: dict[str, str], first_sent: float
) -> list[_RunRow]:
    """Runs of the owner created at or after the first send, oldest first."""
    request = PreparedRequest(
        "GET",
        "/v1/runs/",
        params={**owner_query, "order": "desc", "limit": _RUN_LIMIT},
        max_retries=0,
    )
    raw, response = await transport.request_raw(request)
    elapsed = time.monotonic() - first_sent
    stamp = response.headers.get("date")
    server_now = email.utils.parsedate_to_datetime(stamp) if stamp else None
    rows = _runs.decode(raw)
    if server_now is None:
        # No clock to compare with: only what is still active can be ours for sure.
        return [r for r in reversed(rows) if r.status in ("created", "running")]
    # The server's clock read at least `elapsed` seconds after the send, and its Date header
    # rounds down: nothing created before `earliest` can come from this request.
    earliest = server_now - timedelta(seconds=elapsed)
    return [
        r for r in reversed(rows) if r.created_at is not None and _utc(r.created_at) >= earliest
    ]


def _utc(moment: datetime) -> datetime:
    """Letta writes some timestamps without an offset; they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def make_locator(
    transport: Transport, owner: str, owner_query: dict[str, str], otids: Sequence[str]
) -> Locator:
    """A :data:`~letta_async._retry.Locator` for sends to ``owner`` (a ``/v1/...`` route)."""

    async def locate(first_sent: float) -> RunFacts:
        try:
            run_id = await find_by_otid(transport, owner, otids) if otids else None
            if run_id is not None:
                status = await _status(transport, run_id)
                return RunFacts(True, run_id, status, how="its message's otid")
            rows = await runs_since(transport, owner_query, first_sent)
        except (APIError, msgspec.DecodeError, ValueError, TypeError):
            return RunFacts(None)
        if not rows:
            return RunFacts(False)
        first = rows[0]
        return RunFacts(
            True,
            first.id,
            first.status,
            how="the runs started since it was sent",
            others=[r.id for r in rows[1:]],
        )

    return locate


async def _status(transport: Transport, run_id: str) -> str | None:
    raw = await transport.request_bytes(
        PreparedRequest("GET", path("/v1/runs/{run_id}", run_id), max_retries=0)
    )
    return _run.decode(raw).status
