"""Which operations of the server's OpenAPI document the client can call, checked both ways.

Every resource method records the operation it calls with ``@endpoint(method, route)``; this
test walks a real :class:`AsyncLetta` for those marks and compares them with
``tests/fixtures/openapi.json``. It fails when:

* a non-deprecated operation is neither covered nor listed, with a reason, in the "Left out"
  table of ``docs/api-coverage.md``;
* a mark names an operation the document does not have (a typo in a route);
* the document's summary figures are stale, or it lists as left out something now covered.

Run ``pytest tests/test_api_coverage.py -s`` to see the figures and the uncovered list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from letta_async import AsyncLetta
from letta_async.resources._base import Resource
from letta_async.resources._common import endpoints_of

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "tests" / "fixtures" / "openapi.json"
DOC = ROOT / "docs" / "api-coverage.md"
METHODS = ("get", "post", "put", "patch", "delete")

Operation = tuple[str, str]


def spec_operations() -> dict[Operation, dict[str, Any]]:
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    return {
        (method.upper(), route): operation
        for route, operations in spec["paths"].items()
        for method, operation in operations.items()
        if method in METHODS
    }


def _resources(obj: Any, prefix: str, seen: set[int]) -> Iterator[tuple[str, Resource]]:
    for name, value in sorted(vars(obj).items()):
        if isinstance(value, Resource) and not name.startswith("_") and id(value) not in seen:
            seen.add(id(value))
            dotted = f"{prefix}{name}"
            yield dotted, value
            yield from _resources(value, dotted + ".", seen)


def client_operations() -> dict[Operation, list[str]]:
    """Operation -> the public client methods that call it (``agents.blocks.list``...)."""
    client = AsyncLetta("http://127.0.0.1:9")
    found: dict[Operation, list[str]] = {}
    for dotted, resource in _resources(client, "", set()):
        for name in dir(type(resource)):
            if name.startswith("_"):
                continue
            for mark in endpoints_of(getattr(type(resource), name)):
                found.setdefault(mark, []).append(f"{dotted}.{name}")
    return found


def left_out() -> dict[Operation, str]:
    """Rows of the "Left out" table: ``| METHOD | `route` | operationId | reason |``."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Left out", 1)[1].split("\n## ", 1)[0]
    rows: dict[Operation, str] = {}
    for line in section.splitlines():
        match = re.match(
            r"\|\s*(GET|POST|PUT|PATCH|DELETE)\s*\|\s*`([^`]+)`\s*\|[^|]*\|(.*)\|", line
        )
        if match:
            rows[(match.group(1), match.group(2))] = match.group(3).strip()
    return rows


def figures() -> dict[str, int]:
    operations = spec_operations()
    covered = client_operations()
    live = {op for op, spec in operations.items() if not spec.get("deprecated")}
    return {
        "total": len(operations),
        "covered": len(set(covered) & set(operations)),
        "live": len(live),
        "live_covered": len(set(covered) & live),
        "deprecated": len(operations) - len(live),
    }


def test_every_mark_names_a_real_operation() -> None:
    operations = spec_operations()
    unknown = {op: names for op, names in client_operations().items() if op not in operations}
    assert not unknown, f"methods marked with routes the server does not have: {unknown}"


def test_every_live_operation_is_covered_or_left_out_with_a_reason() -> None:
    operations = spec_operations()
    covered = client_operations()
    excluded = left_out()
    missing = []
    for op, spec in sorted(operations.items(), key=lambda item: (item[0][1], item[0][0])):
        if op in covered or spec.get("deprecated"):
            continue
        if not excluded.get(op):
            missing.append(f"{op[0]} {op[1]} ({spec.get('operationId')})")
    numbers = figures()
    print(
        f"\ncovered {numbers['covered']} of {numbers['total']} operations; "
        f"{numbers['live_covered']} of {numbers['live']} non-deprecated"
    )
    uncovered = sorted(set(operations) - set(covered), key=lambda op: (op[1], op[0]))
    print(f"not covered ({len(uncovered)}):")
    for method, route in uncovered:
        spec = operations[(method, route)]
        why = "deprecated" if spec.get("deprecated") else excluded.get((method, route), "?")
        print(f"  {method:6} {route}  [{why}]")
    assert not missing, "neither covered nor left out with a reason:\n" + "\n".join(missing)


def test_left_out_table_lists_only_uncovered_live_operations() -> None:
    operations = spec_operations()
    covered = client_operations()
    for op, reason in left_out().items():
        assert op in operations, f"{op} is in the left-out table but not in the document"
        assert op not in covered, f"{op} is covered now: drop it from the left-out table"
        assert not operations[op].get("deprecated"), f"{op} is deprecated: no row needed"
        assert reason, f"{op} is left out without a reason"


def test_summary_figures_in_the_document_are_current() -> None:
    numbers = figures()
    text = DOC.read_text(encoding="utf-8")
    expected = (
        f"**{numbers['covered']} of {numbers['total']} operations** are covered, "
        f"**{numbers['live_covered']} of the {numbers['live']} non-deprecated** ones"
    )
    assert expected in text, f"update the summary of docs/api-coverage.md to: {expected}"


def covered_table() -> str:
    """The "Covered" table of docs/api-coverage.md as it should read."""
    covered = client_operations()
    rows = [
        f"| {method} | `{route}` | " + ", ".join(f"`{n}`" for n in sorted(names)) + " |"
        for (method, route), names in sorted(covered.items(), key=lambda i: (i[0][1], i[0][0]))
    ]
    return "\n".join(rows)


def test_covered_table_in_the_document_is_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Covered", 1)[1]
    current = "\n".join(
        line for line in section.splitlines() if line.startswith("| ") and "`" in line
    )
    assert current == covered_table(), (
        "the Covered table of docs/api-coverage.md is stale: "
        "regenerate it with `python tests/test_api_coverage.py`"
    )


if __name__ == "__main__":
    print(covered_table())
