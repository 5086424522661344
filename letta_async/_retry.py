"""The send-once rule: which failed requests are sent again, and which are asked about first.

A retry is only harmless when the first attempt changed nothing. For a ``GET`` that is always
so, and ``PUT``/``PATCH``/``DELETE`` set a state that a second attempt sets again. A ``POST``
that creates something (an agent, a tool, a run) is different: Letta answers a failed LLM call
with HTTP 500 *after* the agent step ran and stored a failed run, and it stores a message's
``otid`` without refusing a second message with the same one. Re-sending such a request on a
500 runs the agent again. So every request carries a :data:`RequestKind`, every failure gets a
:data:`Verdict` saying what the server may have done, and the two decide:

==============  ==========  ==========  ===============================================
kind            ``unsent``  ``final``   ``answered`` / ``pending``
==============  ==========  ==========  ===============================================
``read``        retry       raise       retry
``idempotent``  retry       raise       retry
``create``      retry       raise       raise, ``may_have_applied=True``
``send``        retry       raise       ask the server; re-send only if it holds no run
==============  ==========  ==========  ===============================================

A ``send`` (a message to an agent or a conversation) is asked about by its caller's
``locate`` function (see ``letta_async.resources._locate``), which looks for the run the
request started: by the message's ``otid`` in the history, then among the runs started since
the request went out. Found, the error is raised with the run's facts; not found, the request
is sent again with the same ``otid``; when the server cannot be asked, the error is raised and
says so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    RefusedRedirectError,
)

__all__ = [
    "Locator",
    "RequestKind",
    "RunFacts",
    "Verdict",
    "annotate",
    "decide",
    "is_no_redis",
    "kind_of",
    "verdict",
]

RequestKind = Literal["read", "idempotent", "create", "send"]
"""What a request does to the server, as far as sending it twice is concerned.

``read``: changes nothing (``GET``, and ``POST`` routes that only search or replay, such as
``/v1/runs/{id}/stream``). ``idempotent``: a second identical request leaves the same state
(``PUT``, ``PATCH``, ``DELETE``). ``create``: every request makes something new (the other
``POST`` routes). ``send``: a ``create`` that starts an agent run, which the server can be
asked about.
"""

Verdict = Literal["final", "unsent", "answered", "pending"]
"""What a failure says about the server's side.

``final``: the same request cannot succeed later (501, 505, a 503 saying the server has no
Redis, any 4xx but 408 and 429, a refused redirect, a body too large or malformed).
``unsent``: the server cannot have acted (no connection was ever made; 408; 429; a 503 with
``Retry-After``, a gateway's "come back later"). ``answered``: the server finished with an
error status, after possibly acting (500, 502, 503 without ``Retry-After``). ``pending``: the
request went out and the server may still be acting on it (a timeout, a connection dropped
before the answer, a gateway's 504).
"""

_FINAL_STATUSES = frozenset({501, 505})
_UNSENT_STATUSES = frozenset({408, 429})


def kind_of(method: str) -> RequestKind:
    """The kind a request has unless its resource says otherwise (only ``POST`` may)."""
    upper = method.upper()
    if upper in ("GET", "HEAD", "OPTIONS"):
        return "read"
    if upper in ("PUT", "PATCH", "DELETE"):
        return "idempotent"
    return "create"


def is_no_redis(exc: APIError) -> bool:
    """Letta's answer to a background request when it runs without Redis: never retryable."""
    return (
        isinstance(exc, APIStatusError)
        and exc.status_code == 503
        and "redis" in (exc.detail or "").lower()
    )


def verdict(exc: APIError) -> Verdict:
    """What ``exc`` tells about whether the server acted, and whether trying again can help."""
    if isinstance(exc, APIStatusError):
        status = exc.status_code
        if status in _UNSENT_STATUSES:
            return "unsent"
        if status < 500 or status in _FINAL_STATUSES or is_no_redis(exc):
            return "final"
        if status == 503 and _has_retry_after(exc):
            return "unsent"
        if status == 504:
            return "pending"
        return "answered"
    if isinstance(exc, RefusedRedirectError):
        return "final"
    if isinstance(exc, APIConnectionError):
        return "unsent" if exc.connect_failed else "pending"
    return "final"


def _has_retry_after(exc: APIStatusError) -> bool:
    headers = exc.headers
    return "retry-after" in headers or "retry-after-ms" in headers


@dataclass
class RunFacts:
    """What asking the server found out about the run a failed send may have started."""

    exists: bool | None
    """``True``: a run of this request exists; ``False``: none; ``None``: could not tell."""
    run_id: str | None = None
    status: str | None = None
    how: str = ""
    """How it was found (``otid`` in the history, or the runs started since the send)."""
    others: list[str] = field(default_factory=list)
    """Further runs that started meanwhile and may be this request's too."""


Locator = Callable[[float], Awaitable[RunFacts]]
"""Asks the server about the run a send started; takes ``time.monotonic()`` of the first send."""

Decision = Literal["retry", "ask", "raise"]


def decide(kind: RequestKind, found: Verdict, *, can_ask: bool) -> Decision:
    """The table in the module docstring, as a function."""
    if found == "final":
        return "raise"
    if found == "unsent" or kind in ("read", "idempotent"):
        return "retry"
    if kind == "send" and can_ask:
        return "ask"
    return "raise"


def annotate(exc: APIError, kind: RequestKind, facts: RunFacts | None) -> None:
    """Tell the caller that the request was not sent again, and what the server holds."""
    if facts is None:
        exc.may_have_applied = True
        exc.note(
            f"not sent again: a {exc.method or 'POST'} that creates something may already have "
            "been carried out; check before sending it again"
        )
        return
    exc.run_exists = facts.exists
    exc.run_id = facts.run_id
    exc.run_status = facts.status
    exc.may_have_applied = facts.exists is not False
    if facts.exists:
        others = (
            f"; other runs started meanwhile: {', '.join(facts.others)}" if facts.others else ""
        )
        exc.note(
            f"not sent again: the server holds run {facts.run_id} for this message "
            f"(status {facts.status or 'unknown'}, found by {facts.how}){others}"
        )
    elif facts.exists is False:
        exc.note("not sent again: the server holds no run for this message")
    else:
        exc.note(
            "not sent again: could not ask the server whether it started a run for this "
            "message; look before sending it again"
        )
