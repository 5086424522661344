"""Counts gathered while the reliability tests run, for the table printed at the end.

Every figure is counted where the thing happens: a case when a test really tries one, a
fault when a server really injects one, a lost or duplicated event when a comparison of
delivered against expected events finds one. Nothing is estimated afterwards, so the table
cannot claim more than the run did.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from letta_async._models import to_plain
from letta_async.types import UnknownMessage

__all__ = ["TALLY", "Category", "Tally", "event_key", "wire_key"]


@dataclass
class Category:
    cases: int = 0
    faults: int = 0
    events: int = 0
    """Events compared against what the server really produced."""
    lost: int = 0
    duplicated: int = 0
    reordered: int = 0
    """Cases whose events all arrived once, but in the wrong order."""


@dataclass
class Tally:
    categories: dict[str, Category] = field(default_factory=dict)
    leaks: Counter[str] = field(default_factory=Counter)
    tests: int = 0

    def _cat(self, name: str) -> Category:
        cat = self.categories.get(name)
        if cat is None:
            cat = self.categories[name] = Category()
        return cat

    def case(self, category: str, n: int = 1) -> None:
        self._cat(category).cases += n

    def fault(self, category: str, n: int = 1) -> None:
        self._cat(category).faults += n

    def compare(
        self, category: str, expected: Sequence[Hashable], delivered: Sequence[Hashable]
    ) -> tuple[int, int]:
        """Record one delivered-vs-expected comparison; returns (lost, duplicated).

        Counted as multisets, so one missing and one repeated event are two findings, not a
        wash; a case with the right multiset in the wrong order counts as reordered.
        """
        want, got = Counter(expected), Counter(delivered)
        lost = sum((want - got).values())
        duplicated = sum((got - want).values())
        cat = self._cat(category)
        cat.events += len(expected)
        cat.lost += lost
        cat.duplicated += duplicated
        if not lost and not duplicated and list(expected) != list(delivered):
            cat.reordered += 1
        return lost, duplicated

    def leak(self, kind: str, n: int = 1) -> None:
        self.leaks[kind] += n

    def totals(self) -> Category:
        total = Category()
        for cat in self.categories.values():
            for name in ("cases", "faults", "events", "lost", "duplicated", "reordered"):
                setattr(total, name, getattr(total, name) + getattr(cat, name))
        return total

    def rows(self) -> Iterable[tuple[str, Category]]:
        yield from sorted(self.categories.items())

    def as_json(self) -> dict[str, Any]:
        return {
            "tests": self.tests,
            "categories": {name: asdict(cat) for name, cat in self.rows()},
            "totals": asdict(self.totals()),
            "leaks": dict(self.leaks),
        }

    def render(self, seconds: float | None = None) -> list[str]:
        head = f"{'category':<24}{'cases':>8}{'faults':>8}{'events':>9}{'lost':>6}{'dup':>5}"
        head += f"{'order':>7}"
        lines = [head, "-" * len(head)]

        def row(name: str, cat: Category) -> str:
            return (
                f"{name:<24}{cat.cases:>8}{cat.faults:>8}{cat.events:>9}{cat.lost:>6}"
                f"{cat.duplicated:>5}{cat.reordered:>7}"
            )

        lines += [row(name, cat) for name, cat in self.rows()]
        lines += ["-" * len(head), row("total", self.totals())]
        leaks = sum(self.leaks.values())
        detail = ", ".join(f"{k} {v}" for k, v in sorted(self.leaks.items()) if v) or "none"
        lines.append(f"leaks: {leaks} ({detail}); tests checked for leaks: {self.tests}")
        if seconds is not None:
            lines.append(f"wall time of the reliability tests: {seconds:.1f} s")
        return lines

    def dump(self) -> None:
        """Write the figures as JSON when ``LETTA_RELIABILITY_REPORT`` names a file."""
        target = os.environ.get("LETTA_RELIABILITY_REPORT")
        if target:
            with open(target, "w", encoding="utf-8") as fh:
                json.dump(self.as_json(), fh, indent=2)


TALLY = Tally()

_encoder = msgspec.json.Encoder(order="sorted")


def event_key(event: Any) -> bytes:
    """A hashable, field-complete identity for an event, comparable across decoders.

    ``event`` is either what the client delivered (a struct) or what the server sent, read
    with ``json.loads`` (a dict). Both become the same plain form: fields whose value is
    null dropped (a struct has every field, the wire only some), timestamps in one ISO
    form, keys sorted. Expected values are built from the wire with ``json.loads`` and never
    from this client's decoder, so a field the decoder loses or changes shows up as a
    mismatch instead of disappearing from both sides.
    """
    if isinstance(event, dict):
        plain = event
    elif isinstance(event, UnknownMessage):
        plain = event.data
    else:
        plain = to_plain(event, mode="json")
    return _encoder.encode(_normal(plain))


def wire_key(payload: str | bytes) -> bytes:
    """:func:`event_key` of one frame's data as the server sent it."""
    return event_key(json.loads(payload))


def _normal(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-" and value[10:11] == "T":
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
        except ValueError:
            return value
    return value
