"""What a handler receives: one batch of events, each with the key that makes it unique.

Numbering. The server numbers every frame of a background run (1, 2, 3, ...). Most frames
carry their number as ``seq_id``; ``stop_reason`` and ``usage_statistics`` use one up without
carrying it, so their number is the one after the frame before them (the same count
``MessageStream.last_seq_id`` keeps). That makes ``(run_id, seq_id)`` a stable name for every
event a handler sees, identical on every replay: a sink that records it can apply each event
exactly once however often a crash makes it come again.

Pings are never handed to a handler: they carry no content, and the keep-alive ones a reader
gets while waiting have no number at all (each reader gets its own), so they could not be
named. They still move the position. A frame with neither a number nor a known place in the
numbering (an unknown kind from a newer server without ``seq_id``) is delivered with
``seq_id=None``: it has no idempotency key, and a replay may deliver it again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple

from ..types import LettaPing, LettaStopReason, LettaUsageStatistics, UnknownMessage

if TYPE_CHECKING:
    from ..types import StreamEvent

__all__ = ["Batch", "Delivery", "number_events"]

_COUNTED = (LettaStopReason, LettaUsageStatistics)


class Delivery(NamedTuple):
    """One event with its place in its run."""

    event: StreamEvent
    run_id: str
    seq_id: int | None

    @property
    def idempotency_key(self) -> str | None:
        """``"<run_id>:<seq_id>"``, the same on every delivery; None for unnumbered events."""
        return None if self.seq_id is None else f"{self.run_id}:{self.seq_id}"


class Batch:
    """Events of one run handed over together; the cursor moves past all of them at once.

    Iterating gives the events; :meth:`deliveries` pairs each with its ``seq_id``. ``fence``
    is the lease generation the events are delivered under (Redis fleet; None when embedded):
    it only grows for a key, so a sink that remembers the highest fence it accepted per key can
    refuse a writer that lost its lease while it was paused mid-handler.
    """

    __slots__ = ("agent_id", "events", "fence", "key", "run_id", "seq_ids")

    def __init__(
        self,
        key: str,
        agent_id: str,
        run_id: str,
        events: list[StreamEvent],
        seq_ids: list[int | None],
        fence: int | None = None,
    ) -> None:
        self.key = key
        self.agent_id = agent_id
        self.run_id = run_id
        self.events = events
        self.seq_ids = seq_ids
        self.fence = fence

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[StreamEvent]:
        return iter(self.events)

    def deliveries(self) -> Iterator[Delivery]:
        """Each event with its run and number (and so its idempotency key)."""
        run_id = self.run_id
        for event, seq in zip(self.events, self.seq_ids, strict=True):
            yield Delivery(event, run_id, seq)

    @property
    def last_seq_id(self) -> int | None:
        """The highest number in the batch: where the cursor moves once it is acknowledged."""
        numbers = [s for s in self.seq_ids if s is not None]
        return max(numbers) if numbers else None

    def __repr__(self) -> str:
        return (
            f"<Batch {self.key!r} run_id={self.run_id!r} {len(self.events)} events "
            f"seq_ids={self.seq_ids[:1]}..{self.seq_ids[-1:]} fence={self.fence}>"
        )


def _own_seq(event: object) -> int | None:
    if type(event) is UnknownMessage:
        value = event.data.get("seq_id")
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    value = getattr(event, "seq_id", None)
    return value if isinstance(value, int) else None


def number_events(
    events: Sequence[StreamEvent], after: int
) -> tuple[list[StreamEvent], list[int | None], int]:
    """Split a read into what a handler gets and the number of each, from position ``after``.

    Returns the events to deliver (pings and frames at or below ``after`` left out), their
    numbers, and the position after the whole read, pings included.
    """
    kept: list[StreamEvent] = []
    numbers: list[int | None] = []
    position = after
    for event in events:
        cls = type(event)
        seq = _own_seq(event)
        if cls is LettaPing:
            if seq is not None and seq > position:
                position = seq
            continue
        if seq is not None:
            if seq <= position:
                continue  # a replayed frame this key already handled
            position = seq
            own: int | None = seq
        elif cls in _COUNTED:
            position += 1
            own = position
        else:
            own = None
        kept.append(event)
        numbers.append(own)
    return kept, numbers, position
