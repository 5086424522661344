"""The seam between the client and a tracer, free when no tracer is attached.

The client never imports a tracing library. An instrumentation (``letta_async.otel``) installs
an :class:`Observer` here; until then :data:`observer` is ``None`` and every hook in the
client is a single ``is None`` check: once per API call in the funnel, once per HTTP attempt
in the transport, once per network read in a stream (never per event).

What an observer is told, and where:

* the funnel asks it for a :class:`CallTrace` per API call and ends that trace with the
  call's outcome;
* a stream asks it for a :class:`StreamTrace` when it first connects, reports every batch of
  decoded events and every resume to it, and ends it when the caller has seen the end (or
  closed the stream);
* the transport reports each HTTP attempt (so the trace can add its context to the headers),
  each status answered, and each retry, to whichever trace the request carries.

A trace must never raise into the client: observability may not break a call or a stream.
"""

from __future__ import annotations

from collections import deque
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import yarl

    from ._stream import MessageStream

__all__ = [
    "ApiCallTrace",
    "CallTrace",
    "Observer",
    "StreamOrigin",
    "StreamTrace",
    "install",
    "observer",
    "uninstall",
]


@dataclass(frozen=True)
class StreamOrigin:
    """What a stream is, for naming its trace: the request that opened it and whose it is."""

    method: str
    route: str
    """The path that opened the stream; a :class:`~letta_async._urls.Route` knows its template."""
    agent_id: str | None = None
    conversation_id: str | None = None
    sends: bool = False
    """True when opening the stream sent a message (an agent run starts), False for a replay."""


class CallTrace(Protocol):
    """One API call (or one stream) as the transport reports it."""

    def attempt(
        self, url: yarl.URL, params: list[tuple[str, str]] | None, headers: MutableMapping[str, str]
    ) -> None:
        """An HTTP attempt is about to be sent; ``headers`` may receive trace context."""

    def answered(self, status: int) -> None:
        """The server answered an attempt with ``status`` (redirects included)."""

    def retry(self, attempt: int, delay: float, error: BaseException) -> None:
        """A failed attempt will be sent again (attempt number ``attempt``) after ``delay``."""


class ApiCallTrace(CallTrace, Protocol):
    """A non-streaming API call, ended by the funnel."""

    def end(self, error: BaseException | None) -> None:
        """The call returned (``error`` is None) or raised ``error``."""


class StreamTrace(CallTrace, Protocol):
    """A stream's whole life, across every connection and resume."""

    def received(self, queue: deque[Any], before: int) -> None:
        """One network read decoded ``queue[before:]`` (at least one event)."""

    def resumed(self, run_id: str, starting_after: int | None, attempt: int) -> None:
        """The stream reconnects to its run after ``starting_after``."""

    def finish(self, stream: MessageStream, error: BaseException | None) -> None:
        """The stream ended: the caller saw its end or its error, or closed it."""


class Observer(Protocol):
    """Makes the traces; returns None for a call it does not want (suppressed, say)."""

    def call(self, method: str, template: str | None, url: yarl.URL) -> ApiCallTrace | None:
        """A trace for one non-streaming call of ``method`` on route ``template``."""

    def stream(self, stream: MessageStream, origin: StreamOrigin | None) -> StreamTrace | None:
        """A trace for ``stream``, which is about to connect for the first time."""


observer: Observer | None = None
"""The installed observer, or None: read by the client at each hook point."""


def install(new: Observer) -> None:
    """Make ``new`` the observer every client reports to, from the next call or stream on."""
    global observer
    observer = new


def uninstall() -> None:
    """Stop reporting: calls and streams started from now on are not observed."""
    global observer
    observer = None
