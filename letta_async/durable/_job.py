"""Turning "send these messages to this agent" into a recorded, replayable unit of work.

The ``otid`` of every message is chosen here, before anything is sent, and stored with the
key. Whoever sends the request later (this process, a restarted one, another worker) sends
those same ids, so the run it starts can always be found in the agent's history, even if the
sender dies before the server names the run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from ._cursor import Cursor, DuplicateKeyError, encode_request
from ._store import CursorStore

__all__ = ["prepare", "submit"]

# Options the durable layer decides itself: every durable send is a background stream (the
# only kind that can be resumed), with pings on (the first one names the run at once).
_RESERVED = frozenset({"background", "resumable", "cancel_on_exit", "include_pings"})


def _with_otid(message: Any) -> tuple[Any, str]:
    if isinstance(message, msgspec.Struct):
        data = msgspec.to_builtins(message)
    elif isinstance(message, Mapping):
        data = dict(message)
    else:
        raise TypeError(f"a message must be a dict or a request struct, got {type(message)!r}")
    otid = data.get("otid")
    if not isinstance(otid, str):
        otid = data["otid"] = str(uuid.uuid4())
    return data, otid


def prepare(
    key: str,
    agent_id: str,
    messages: Iterable[Any],
    options: Mapping[str, Any],
    conversation_id: str | None = None,
) -> Cursor:
    """A new cursor (phase ``recorded``) for sending ``messages`` to ``agent_id`` (in
    ``conversation_id`` when given)."""
    reserved = _RESERVED.intersection(options)
    if reserved:
        raise ValueError(f"durable sends set {', '.join(sorted(reserved))} themselves")
    prepared: list[Any] = []
    otids: list[str] = []
    for message in messages:
        data, otid = _with_otid(message)
        prepared.append(data)
        otids.append(otid)
    if not prepared:
        raise ValueError("a durable send needs at least one message")
    return Cursor(
        key=key,
        agent_id=agent_id,
        conversation_id=conversation_id,
        otids=tuple(otids),
        request=encode_request(prepared, dict(options)),
    )


async def submit(
    store: CursorStore,
    key: str,
    agent_id: str,
    *,
    messages: Iterable[Any],
    conversation_id: str | None = None,
    **options: Any,
) -> Cursor:
    """Record a send under ``key`` without making it; whoever runs the store's keys will.

    With the Redis store this is how work reaches a worker fleet: the key is queued and the
    first worker with a free slot claims it. ``options`` are passed on to
    ``client.agents.messages.stream`` (``stream_tokens=True``, ``max_steps=...``), or to
    ``client.conversations.messages.create`` when ``conversation_id`` names one of the agent's
    conversations, and must be JSON-serialisable. Raises :class:`DuplicateKeyError` when the
    key is already in the store.
    """
    cursor = prepare(key, agent_id, messages, options, conversation_id)
    if not await store.record(cursor):
        raise DuplicateKeyError(key)
    return cursor
