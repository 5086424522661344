"""Judging a chaos run: the sink's raw record of deliveries against the server's frame log.

The expected events of a run come from the test server's own log of the frames it produced
(``RunRecord.frames``: sequence number and kind), never from the client. Pings and
``[DONE]`` are not delivered by design and are left out. For each run the sink's record, in
the order the sink received it, gives:

* ``lost``: frames of the log never delivered;
* ``out_of_order``: a first delivery numbered below an earlier first delivery;
* ``replayed``: a repeat that the guarantee allows, and that the idempotency key absorbs:
  the event was first delivered in the *last* batch of an older fence (the batch that was
  being handled or acknowledged when that holder died or was paused), and came again under a
  newer fence;
* ``duplicated``: any other repeat (same fence twice, or an older batch) — a bug;
* ``misnumbered``: a delivered kind that does not match the log's kind at that number (checks
  the implicit numbers of ``stop_reason`` and ``usage_statistics``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["Delivered", "Verdict", "judge_run", "percentile", "takeover_times"]

# Kinds of the test server's frame log that a handler receives, and the message_type each
# must arrive as (message frames carry many types; None means any).
_KINDS: dict[str, str | None] = {
    "message": None,
    "stop_reason": "stop_reason",
    "usage": "usage_statistics",
    "error": "error_message",
    "cancelled": "stop_reason",
}


@dataclass(frozen=True)
class Delivered:
    seq: int | None
    fence: int
    batch: str
    kind: str

    @classmethod
    def parse(cls, entry: bytes | str) -> Delivered:
        text = entry.decode() if isinstance(entry, bytes) else entry
        seq, fence, _incarnation, batch, kind = text.split("|")
        return cls(None if seq == "None" else int(seq), int(fence), batch, kind)


@dataclass
class Verdict:
    runs: int = 0
    events: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    replayed: int = 0
    out_of_order: int = 0
    misnumbered: int = 0
    unnumbered: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, other: Verdict) -> None:
        for name in (
            "runs",
            "events",
            "delivered",
            "lost",
            "duplicated",
            "replayed",
            "out_of_order",
            "misnumbered",
            "unnumbered",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems.extend(other.problems)

    @property
    def clean(self) -> bool:
        return not (
            self.lost or self.duplicated or self.out_of_order or self.misnumbered or self.unnumbered
        )


def judge_run(
    run_id: str, log: Iterable[tuple[int | None, str]], deliveries: Sequence[Delivered]
) -> Verdict:
    """One run: ``log`` is the server's ``(seq, kind)`` per frame, in order."""
    expected = {seq: kind for seq, kind in log if kind in _KINDS and seq is not None}
    verdict = Verdict(runs=1, events=len(expected), delivered=len(deliveries))
    last_batch_of: dict[int, str] = {}
    for d in deliveries:
        last_batch_of[d.fence] = d.batch
    first: dict[int, Delivered] = {}
    highest = 0
    for d in deliveries:
        if d.seq is None:
            verdict.unnumbered += 1
            continue
        earlier = first.get(d.seq)
        if earlier is not None:
            if d.fence > earlier.fence and earlier.batch == last_batch_of[earlier.fence]:
                verdict.replayed += 1
            else:
                verdict.duplicated += 1
                verdict.problems.append(f"{run_id}: seq {d.seq} again in {d} after {earlier}")
            continue
        first[d.seq] = d
        if d.seq < highest:
            verdict.out_of_order += 1
            verdict.problems.append(f"{run_id}: seq {d.seq} after {highest}")
        highest = max(highest, d.seq)
        kind = expected.get(d.seq)
        wanted = _KINDS.get(kind) if kind is not None else "<not in the log>"
        if kind is None or (wanted is not None and wanted != d.kind):
            verdict.misnumbered += 1
            verdict.problems.append(f"{run_id}: seq {d.seq} delivered as {d.kind}, log {kind}")
    missing = sorted(set(expected) - set(first))
    verdict.lost = len(missing)
    if missing:
        verdict.problems.append(f"{run_id}: lost seq {missing[:10]}")
    return verdict


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def takeover_times(
    claims: Iterable[tuple[str, int, str, float]],
    ends: Iterable[tuple[str, str, float]],
    failures: Iterable[tuple[float, float, str]],
) -> list[float]:
    """Seconds from each worker failure to the next claim of every key it held.

    ``claims``: ``(key, fence, incarnation, time)`` from the store's claim log (Redis clock);
    ``ends``: ``(key, incarnation, time)`` when an incarnation finished with a key (monotonic
    clock); ``failures``: ``(Redis time, monotonic time, incarnation)`` of each kill or stop.
    """
    by_key: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for key, _fence, incarnation, at in claims:
        by_key[key].append((at, incarnation))
    for events in by_key.values():
        events.sort()
    ended: dict[tuple[str, str], list[float]] = defaultdict(list)
    for key, incarnation, at in ends:
        ended[(key, incarnation)].append(at)
    times: list[float] = []
    for failed_at, failed_mono, incarnation in failures:
        for key, events in by_key.items():
            before = [e for e in events if e[0] <= failed_at]
            if not before or before[-1][1] != incarnation:
                continue
            if any(t <= failed_mono for t in ended.get((key, incarnation), [])):
                continue  # it had finished with the key before it failed
            after = [e for e in events if e[0] > failed_at]
            if after:
                times.append(after[0][0] - failed_at)
    return times
