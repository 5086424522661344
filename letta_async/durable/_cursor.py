"""What a cursor store keeps per key, and what became of a key once its stream ended.

A :class:`Cursor` is everything a process that starts from nothing needs to carry on with a
run it did not start: the agent, the ``otid`` of every message that was sent (recorded
*before* the request went out, so a run whose id was never seen can still be found), the
request itself (so a send that provably never left can be made), the run id once known, and
the position of the last event the handler finished with. It is a frozen msgspec struct, so
stores can serialise it in one call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

__all__ = ["Cursor", "DuplicateKeyError", "Ended", "Outcome", "OutcomeStatus", "Phase"]

Phase = Literal["recorded", "sending", "streaming", "unconfirmed", "dead"]
"""Where a key stands; each phase decides how a restarted process picks the key up.

``recorded``
    The send is recorded and has provably not left: a store write moving the key to
    ``sending`` comes before any byte of the request. Recovery sends it (with the recorded
    ``otid`` values).
``sending``
    The request may be on the wire and no run id has been stored. Recovery looks the ``otid``
    values up in the agent's message history and adopts the run it finds; it never sends again.
``streaming``
    The run id is known: recovery resumes the run right after ``seq_id``.
``unconfirmed``
    A ``sending`` key whose ``otid`` the server does not know after the grace period. The
    server may never have received the request, or may have refused it; the client cannot
    tell which, so the key is parked for a decision (``resolve``) instead of being re-sent.
``dead``
    The handler raised on the same batch ``max_failures`` times in a row (a poison event, or a
    sink that stays down). The key is parked with its cursor and the last error, so it stops
    taking a slot and a retry budget from healthy keys; ``revive`` puts it back to work where
    it stopped, ``resolve(key, resend=False)`` drops it. Nothing is re-sent either way.
"""

OutcomeStatus = Literal["completed", "unconfirmed", "rejected", "gone", "fenced", "failed", "dead"]
"""How a key's work ended: ``completed`` (the run finished and every event was handled);
``unconfirmed`` (a send the server shows no trace of, parked for ``resolve()``); ``rejected``
(the server refused the send itself); ``gone`` (the run no longer exists); ``fenced`` (another
worker took the key over); ``failed`` (a handler, store or connection failure; tried again
later); ``dead`` (the handler failed ``max_failures`` times in a row on one batch; parked for
``revive()``)."""


class Cursor(msgspec.Struct, frozen=True, kw_only=True):
    """The durable state of one key: enough to resume, re-find or (provably) send its run."""

    key: str
    """The caller's name for this piece of work; unique within a store."""
    agent_id: str
    conversation_id: str | None = None
    """The conversation the messages go to (``conversations.messages.create``); None: the
    agent's default history (``agents.messages.stream``)."""
    otids: tuple[str, ...] = ()
    """The ``otid`` of every message sent, stored before the request goes out."""
    request: bytes = b""
    """The send as JSON (``{"messages": [...], "options": {...}}``), for sends not yet made."""
    phase: Phase = "recorded"
    run_id: str | None = None
    seq_id: int = 0
    """Position of the last event the handler finished with (0: none yet).

    It counts in the server's numbering of the run's frames, so it is exactly the
    ``starting_after`` that resumes the run after that event.
    """
    fence: int = 0
    """The lease generation that last claimed this key (Redis fleet); 0 when never claimed."""
    created_at: float = msgspec.field(default_factory=time.time)
    sent_at: float | None = None
    """Wall-clock time the key entered ``sending``; the ``otid`` grace period counts from it."""
    failures: int = 0
    """Handler failures in a row at this position; an acknowledgement that moves the cursor
    resets it, so a sink that recovers never accumulates old failures."""
    error: str | None = None
    """The last handler failure (its ``repr``), kept for whoever inspects a ``dead`` key."""


class Ended(msgspec.Struct, frozen=True, kw_only=True):
    """Why a key left the store without completing, kept after the key itself is gone.

    A ``rejected`` or ``gone`` key is removed from the store (nothing more can happen to it),
    and its cursor with it; the record is what is left for whoever asks later what became of
    it (``letta-async inflight --ended``). The store writes it in the same atomic step that
    removes the key and keeps only the latest ones (see each store).
    """

    key: str
    status: OutcomeStatus
    agent_id: str
    run_id: str | None = None
    seq_id: int = 0
    """How far the key had got (the last acknowledged position)."""
    error: str = ""
    """What the server answered, as :func:`describe_error` puts it."""
    at: float = msgspec.field(default_factory=time.time)


class DuplicateKeyError(KeyError):
    """``send``/``submit`` with a key the store already holds (the earlier one is unfinished)."""


@dataclass(frozen=True)
class Outcome:
    """How the work under one key ended, as far as this process is concerned.

    ``completed``: the run's stream ended (stop reason, ``[DONE]`` or an error event, each
    delivered) and the key left the store. ``unconfirmed``: see :data:`Phase`; the key stays,
    parked. ``rejected``: the server refused the send with a 4xx (no run was started); the key
    left the store. ``gone``: the server no longer has the run or the agent (a run's stream
    expires after some hours); the key left the store and ``seq_id`` says how far it got.
    ``fenced``: another worker holds the key now; this one stopped without delivering more.
    ``failed``: the handler raised, or the stream failed after its own retries; the key stays
    in the store at its last acknowledged position and is picked up again later. ``dead``: the
    handler raised for the ``max_failures``-th time in a row on the same batch; the key stays,
    parked at its last acknowledged position, until it is revived or dropped.
    """

    key: str
    status: OutcomeStatus
    run_id: str | None = None
    seq_id: int = 0
    stop_reason: str | None = None
    error: BaseException | None = None
    failures: int = 0
    """Handler failures in a row so far (for ``failed`` after a handler error), which the
    fleet's back-off grows with."""

    @property
    def final(self) -> bool:
        """Whether the key left the store (nothing more will happen to it by itself)."""
        return self.status in ("completed", "rejected", "gone")

    def __repr__(self) -> str:
        extra = f" error={self.error!r}" if self.error is not None else ""
        return (
            f"<Outcome {self.key!r} {self.status} run_id={self.run_id!r} seq_id={self.seq_id}"
            f" stop_reason={self.stop_reason!r}{extra}>"
        )


def describe_error(error: BaseException | None) -> str:
    """One line for a log or the ended record: the HTTP status and the server's reason when
    there is one (``HTTP 404: Agent ... not found``), else the exception's own text."""
    if error is None:
        return ""
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        detail = getattr(error, "detail", None) or str(error)
        return f"HTTP {status}: {detail}"
    cause = error.__cause__
    if cause is not None and isinstance(getattr(cause, "status_code", None), int):
        return f"{error} ({describe_error(cause)})"
    return str(error) or type(error).__name__


def encode_request(messages: list[Any], options: dict[str, Any]) -> bytes:
    """The recorded form of a send: JSON, whatever mix of dicts and structs it was given."""
    return msgspec.json.encode({"messages": messages, "options": options})


def decode_request(request: bytes) -> tuple[list[Any], dict[str, Any]]:
    data = msgspec.json.decode(request)
    return list(data.get("messages") or []), dict(data.get("options") or {})
