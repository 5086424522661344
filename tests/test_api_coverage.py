"""Which operations of the server's OpenAPI document the client can call, checked both ways.

The resource layer is generated (``tools/gen_resources.py``), so what it covers is read from
the generator's own sources: every method of ``tools/official_surface.json`` names its HTTP
route, :data:`tools.resource_map.EXTRA_METHODS` names an operation id for each route the
official SDK lacks, and :data:`HAND_WRITTEN` lists the few methods written by hand in
``letta_async/resources``. This test compares that with ``tests/fixtures/openapi.json`` and
with ``docs/api-coverage.md``. It fails when:

* a name does not resolve to a method of a real :class:`AsyncLetta`, or a generated method's
  docstring names another route than its source says;
* a covered route is not in the document (only the official methods newer than the 0.16.8
  server may be, and then the test server must serve them);
* a non-deprecated operation is neither covered nor listed, with a reason, in the "Left out"
  table, or a deprecated one neither covered nor in the "Deprecated" table;
* the page's summary figures or its "Covered" table are stale.

``pytest tests/test_api_coverage.py -s`` prints the figures and everything not covered;
``python tests/test_api_coverage.py`` rewrites the generated parts of the page.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from letta_async import AsyncLetta  # noqa: E402
from letta_async.testing._platform import PlatformRoutes  # noqa: E402
from tools import resource_map  # noqa: E402

SPEC = ROOT / "tests" / "fixtures" / "openapi.json"
SURFACE = ROOT / "tools" / "official_surface.json"
DOC = ROOT / "docs" / "api-coverage.md"
METHODS = ("get", "post", "put", "patch", "delete")

Operation = tuple[str, str]

HAND_WRITTEN: dict[str, Operation] = {
    # Methods of the hand-written mixins that reach a route no generated method names. Each
    # is exercised on the wire: batches.create in test_resources.py, chat completions and
    # runs.stream in test_resources_wire.py and test_with_test_server.py.
    "batches.create": ("POST", "/v1/messages/batches"),
    "chat.completions.create": ("POST", "/v1/chat/completions"),
    "chat.completions.stream": ("POST", "/v1/chat/completions"),
    "runs.stream": ("POST", "/v1/runs/{run_id}/stream"),
}


def spec_operations() -> dict[Operation, dict[str, Any]]:
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    return {
        (method.upper(), route): operation
        for route, operations in spec["paths"].items()
        for method, operation in operations.items()
        if method in METHODS
    }


def surface_methods() -> dict[str, Operation]:
    """Official method name -> the route it calls, for the methods that call one."""
    surface = json.loads(SURFACE.read_text(encoding="utf-8"))
    return {
        m["path"]: (m["http"]["method"], m["http"]["route"])
        for m in surface["methods"]
        if (m.get("http") or {}).get("route")
    }


def extra_methods() -> dict[str, Operation]:
    """This client's names for routes the official SDK lacks, by operation id."""
    by_id = {spec["operationId"]: op for op, spec in spec_operations().items()}
    return {name: by_id[op_id] for name, op_id in resource_map.EXTRA_METHODS.items()}


def named_methods() -> dict[str, Operation]:
    return {**surface_methods(), **extra_methods(), **HAND_WRITTEN}


def client_operations() -> dict[Operation, list[str]]:
    """Operation -> the public client methods that call it (``agents.blocks.list``...)."""
    found: dict[Operation, list[str]] = defaultdict(list)
    for name, op in named_methods().items():
        found[op].append(name)
    return dict(found)


def resolve(client: AsyncLetta, dotted: str) -> Any:
    target: Any = client
    for part in dotted.split("."):
        target = getattr(target, part)
    return target


def _shape(route: str) -> str:
    return re.sub(r"{[^}]+}", "{}", route)


def platform_operations() -> set[Operation]:
    """The routes newer than the 0.16.8 server that ``LettaTestServer`` serves itself."""
    routes = PlatformRoutes.__new__(PlatformRoutes).routes()
    return {(method, _shape(route)) for method, route, _ in routes}


def _table(section: str) -> dict[Operation, str]:
    """Rows ``| METHOD | `route` | operationId | reason |`` of one section of the page."""
    text = DOC.read_text(encoding="utf-8")
    body = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    rows: dict[Operation, str] = {}
    for line in body.splitlines():
        match = re.match(
            r"\|\s*(GET|POST|PUT|PATCH|DELETE)\s*\|\s*`([^`]+)`\s*\|[^|]*\|(.*)\|", line
        )
        if match:
            rows[(match.group(1), match.group(2))] = match.group(3).strip()
    return rows


def figures() -> dict[str, int]:
    operations = spec_operations()
    covered = set(client_operations()) & set(operations)
    live = {op for op, spec in operations.items() if not spec.get("deprecated")}
    return {
        "total": len(operations),
        "covered": len(covered),
        "live": len(live),
        "live_covered": len(covered & live),
        "deprecated_covered": len(covered - live),
        "newer": len(set(client_operations()) - set(operations)),
    }


def summary() -> str:
    n = figures()
    return (
        f"**{n['covered']} of {n['total']} operations** are covered, "
        f"**{n['live_covered']} of the {n['live']} non-deprecated** ones"
    )


def covered_table() -> str:
    """The "Covered" table of docs/api-coverage.md as it should read."""
    rows = [
        f"| {method} | `{route}` | " + ", ".join(f"`{n}`" for n in sorted(names)) + " |"
        for (method, route), names in sorted(
            client_operations().items(), key=lambda i: (i[0][1], i[0][0])
        )
    ]
    return "\n".join(rows)


def _current_covered_table(text: str) -> str:
    section = text.split("## Covered", 1)[1]
    return "\n".join(line for line in section.splitlines() if line.startswith("| ") and "`" in line)


# --- the names -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(named_methods()))
def test_every_name_is_a_method_of_the_client(name: str) -> None:
    client = AsyncLetta("http://127.0.0.1:9")
    assert callable(resolve(client, name)), f"client.{name} is not a method"


def test_generated_methods_document_the_route_their_source_names() -> None:
    client = AsyncLetta("http://127.0.0.1:9")
    wrong = []
    for name, (method, route) in {**surface_methods(), **extra_methods()}.items():
        if name == "health":
            continue  # the client-level call, written by hand in _client.py
        doc = inspect.getdoc(resolve(client, name)) or ""
        if f"``{method} {route}``" not in doc:
            wrong.append(f"{name}: {doc.splitlines()[0] if doc else '(no docstring)'}")
    assert not wrong, "docstrings that disagree with the generator's source:\n" + "\n".join(wrong)


# --- both ways against the server's document -----------------------------------------------


def test_every_covered_route_is_in_the_document_or_served_by_the_test_server() -> None:
    operations = spec_operations()
    newer = {
        (method, _shape(route))
        for method, route in client_operations()
        if (method, route) not in operations
    }
    assert newer == platform_operations(), (
        "routes outside the 0.16.8 document must be the platform routes LettaTestServer serves"
    )
    assert len(newer) == 16


def test_every_live_operation_is_covered_or_left_out_with_a_reason() -> None:
    operations = spec_operations()
    covered = client_operations()
    excluded = _table("Left out")
    missing = [
        f"{op[0]} {op[1]} ({spec.get('operationId')})"
        for op, spec in sorted(operations.items(), key=lambda item: (item[0][1], item[0][0]))
        if op not in covered and not spec.get("deprecated") and not excluded.get(op)
    ]
    numbers = figures()
    print(
        f"\ncovered {numbers['covered']} of {numbers['total']} operations; "
        f"{numbers['live_covered']} of {numbers['live']} non-deprecated; "
        f"{numbers['newer']} routes newer than the document"
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
    for op, reason in _table("Left out").items():
        assert op in operations, f"{op} is in the left-out table but not in the document"
        assert op not in covered, f"{op} is covered now: drop it from the left-out table"
        assert not operations[op].get("deprecated"), f"{op} is deprecated: move its row"
        assert reason, f"{op} is left out without a reason"


def test_deprecated_table_lists_exactly_the_uncovered_deprecated_operations() -> None:
    operations = spec_operations()
    covered = client_operations()
    rows = _table("Deprecated")
    wanted = {op for op, spec in operations.items() if spec.get("deprecated") and op not in covered}
    assert set(rows) == wanted, (
        f"add rows for {sorted(wanted - set(rows))}, drop rows for {sorted(set(rows) - wanted)}"
    )
    assert all(rows.values()), "every deprecated row says what replaces it, or why it is gone"


# --- the page itself -----------------------------------------------------------------------


def test_summary_figures_in_the_document_are_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert summary() in text, (
        f"update the summary of docs/api-coverage.md (`python {Path(__file__).name}`)"
    )


def test_covered_table_in_the_document_is_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert _current_covered_table(text) == covered_table(), (
        "the Covered table of docs/api-coverage.md is stale: "
        "regenerate it with `python tests/test_api_coverage.py`"
    )


def write() -> None:
    """Rewrite the summary figures and the Covered table of docs/api-coverage.md."""
    text = DOC.read_text(encoding="utf-8")
    text = re.sub(
        r"\*\*\d+ of \d+ operations\*\* are covered, \*\*\d+ of the \d+ non-deprecated\*\* ones",
        summary(),
        text,
    )
    text = text.replace(_current_covered_table(text), covered_table())
    DOC.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    write()
    print(f"{DOC.relative_to(ROOT)}: {summary()}")
