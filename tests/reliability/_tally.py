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
from typing import Any

import msgspec

__all__ = ["TALLY", "Category", "Tally", "event_key"]


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

_encoder = msgspec.json.Encoder()


def event_key(event: Any) -> bytes:
    """A hashable, field-complete identity for an event: its JSON encoding."""
    return _encoder.encode(event)
