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

from ..types import (
    LettaErrorMessage,
    LettaPing,
    LettaStopReason,
    LettaUsageStatistics,
    UnknownMessage,
)

if TYPE_CHECKING:
    from ..types import StreamEvent

__all__ = ["Batch", "Delivery", "number_events", "split_read"]

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

    Iterating gives the events; :attr:`seq_ids` numbers them and :meth:`deliveries` pairs
    each with its number (both worked out on first use, so a handler that only counts or
    forwards events does not pay for them). ``fence`` is the lease generation the events are
    delivered under (Redis fleet; None when embedded): it only grows for a key, so a sink
    that remembers the highest fence it accepted per key can refuse a writer that lost its
    lease while it was paused mid-handler.
    """

    __slots__ = ("_seq_ids", "after", "agent_id", "events", "fence", "key", "run_id")

    def __init__(
        self,
        key: str,
        agent_id: str,
        run_id: str,
        events: list[StreamEvent],
        *,
        after: int,
        seq_ids: list[int | None] | None = None,
        fence: int | None = None,
    ) -> None:
        self.key = key
        self.agent_id = agent_id
        self.run_id = run_id
        self.events = events
        self.after = after
        """The key's position before this batch (its cursor once the batch before was acked)."""
        self.fence = fence
        self._seq_ids = seq_ids

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[StreamEvent]:
        return iter(self.events)

    @property
    def seq_ids(self) -> list[int | None]:
        """Each event's number in its run (None for an unnumbered frame)."""
        if self._seq_ids is None:
            self._seq_ids = number_events(self.events, self.after)[1]
        return self._seq_ids

    def deliveries(self) -> Iterator[Delivery]:
        """Each event with its run and number (and so its idempotency key)."""
        run_id = self.run_id
        for event, seq in zip(self.events, self.seq_ids, strict=True):
            yield Delivery(event, run_id, seq)

    @property
    def last_seq_id(self) -> int | None:
        """The highest number in the batch."""
        numbers = [s for s in self.seq_ids if s is not None]
        return max(numbers) if numbers else None

    def __repr__(self) -> str:
        return (
            f"<Batch {self.key!r} run_id={self.run_id!r} {len(self.events)} events "
            f"after {self.after} fence={self.fence}>"
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


Planned = list[tuple[list["StreamEvent"], list[int | None] | None, int]]


def split_read(
    events: list[StreamEvent], after: int, stream_position: int | None, max_batch: int | None
) -> tuple[Planned, int, bool]:
    """What one read hands over: ``(events, numbers or None, position after)`` per batch,
    the position after the whole read, and whether it held an error event (the run's end).

    The usual read (known kinds, the stream's own count of its position, no batch size cap)
    takes the fast path: a read without pings is handed over whole and the numbers are left
    for :attr:`Batch.seq_ids` to work out if the handler asks. Anything else (a ping uses up a
    number without being delivered) is numbered here.
    """
    kinds = set(map(type, events))
    if (
        stream_position is not None
        and max_batch is None
        and UnknownMessage not in kinds
        and LettaErrorMessage not in kinds
        and LettaPing not in kinds
    ):
        # Counting forward from the batch's start gives every number: no ping (whose
        # number is used up although it is not handed over) sits in between.
        return ([(events, None, stream_position)] if events else []), stream_position, False
    ended = LettaErrorMessage in kinds
    kept, numbers, position = number_events(events, after)
    if not kept:
        return [], position, ended
    size = max_batch or len(kept)
    batches: Planned = []
    for start in range(0, len(kept), size):
        chunk_numbers = numbers[start : start + size]
        last = start + size >= len(kept)
        upto = position if last else _highest(chunk_numbers, after)
        batches.append((kept[start : start + size], chunk_numbers, upto))
    return batches, position, ended


def _highest(numbers: list[int | None], floor: int) -> int:
    value = floor
    for number in numbers:
        if number is not None and number > value:
            value = number
    return value
