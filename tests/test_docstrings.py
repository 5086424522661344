"""The generated methods document at least what the official SDK's docstrings document.

``tests/fixtures/official_docs.json`` holds, for every official method, the names of its
docstring's ``Args:`` entries (recorded from ``letta-client`` 1.12.1 by
``tools/record_official_docs.py``). Every such name must have an entry in the ``Args:``
section of the same method here, on the async client and on the sync one, so that ``help()``
and an IDE's hover never tell less than they did before the switch.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
from pathlib import Path
from typing import Any

import pytest

from letta_async import AsyncLetta, Letta

ROOT = Path(__file__).resolve().parent.parent
FACTS: dict[str, dict[str, Any]] = json.loads(
    (ROOT / "tests" / "fixtures" / "official_docs.json").read_text()
)["methods"]
SURFACE = {
    entry["path"]: entry
    for entry in json.loads((ROOT / "tools" / "official_surface.json").read_text())["methods"]
}
# The resource methods: the client-level ones (``copy``, ``get``...) are written by hand.
RESOURCE_METHODS = sorted(path for path in FACTS if not SURFACE[path].get("client_level"))
ENTRY = re.compile(r"^    (\w+): \S", re.MULTILINE)


def documented(doc: str) -> list[str]:
    """The names of the entries of a Google-style ``Args:`` section, in order."""
    _, found, section = doc.partition("\nArgs:\n")
    section = re.split(r"\n\S", section, maxsplit=1)[0]  # up to the next section, if any
    return ENTRY.findall(section) if found else []


def resolve(client: object, dotted: str) -> Any:
    target: Any = client
    for part in dotted.split("."):
        target = getattr(target, part)
    return target


@pytest.fixture(scope="module")
def clients() -> Any:
    sync = Letta(base_url="http://127.0.0.1:9")
    yield AsyncLetta("http://127.0.0.1:9"), sync
    sync.close()


def test_the_fixture_records_what_the_official_methods_document() -> None:
    # The recording worked: most methods document arguments, agents.create fully.
    assert len(RESOURCE_METHODS) > 100
    with_args = [path for path in RESOURCE_METHODS if FACTS[path]["args"]]
    assert len(with_args) >= len(RESOURCE_METHODS) - 5
    assert "memory_blocks" in FACTS["agents.create"]["args"]
    assert FACTS["agents.create"]["chars"] > 5000


def test_documented_reads_the_entries_and_stops_at_the_next_section() -> None:
    doc = "Summary.\n\nArgs:\n    a: x\n        more: not an entry\n    b: y\n\nReturns:\n    c: z"
    assert documented(doc) == ["a", "b"]


@pytest.mark.parametrize("path", RESOURCE_METHODS)
def test_every_official_argument_is_documented(path: str, clients: Any) -> None:
    for client in clients:
        doc = inspect.getdoc(resolve(client, path)) or ""
        ours = documented(doc)
        missing = [name for name in FACTS[path]["args"] if name not in ours]
        assert not missing, f"{type(client).__name__}.{path} does not document {missing}"


@pytest.mark.parametrize("path", RESOURCE_METHODS)
def test_every_parameter_has_one_entry_in_signature_order(path: str, clients: Any) -> None:
    for client in clients:
        method = resolve(client, path)
        names = [name for name in inspect.signature(method).parameters if name != "self"]
        assert documented(inspect.getdoc(method) or "") == names


def test_the_largest_official_docstring_is_matched() -> None:
    client = AsyncLetta("http://127.0.0.1:9")
    doc = inspect.getdoc(client.agents.create) or ""
    assert len(doc) >= 0.9 * FACTS["agents.create"]["chars"]
    assert "memory_blocks: The blocks to create in the agent's in-context memory." in doc


# --- the models --------------------------------------------------------------------------------

SPEC_SCHEMAS: dict[str, Any] = json.loads(
    (ROOT / "tests" / "fixtures" / "openapi.json").read_text()
)["components"]["schemas"]
SCHEMA_NAMED = re.compile(r"\(schema ``([^`]+)``\)")


def attribute_docs(tree: ast.Module) -> dict[str, tuple[str, dict[str, str]]]:
    """Each class of a module: its docstring and the docstring under each annotated field."""
    found: dict[str, tuple[str, dict[str, str]]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        fields: dict[str, str] = {}
        for statement, after in zip(node.body, [*node.body[1:], None], strict=True):
            if not (
                isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
            ):
                continue
            if (
                isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                fields[statement.target.id] = after.value.value
        found[node.name] = (ast.get_docstring(node) or "", fields)
    return found


def test_official_models_carry_the_schema_descriptions() -> None:
    classes = attribute_docs(ast.parse((ROOT / "letta_async/types/_official.py").read_text()))
    official = importlib.import_module("letta_async.types._official")
    undocumented = []
    checked = 0
    for name, (doc, fields) in classes.items():
        match = SCHEMA_NAMED.search(" ".join(doc.split()))
        schema = SPEC_SCHEMAS.get(match.group(1), {}) if match else {}
        if not schema:
            continue  # no schema in the document (a platform route's model): nothing to carry
        about = " ".join(str(schema.get("description", "")).split()[:6])
        if about and about not in " ".join(doc.split()):
            undocumented.append(f"{name} (class)")
        cls = getattr(official, name)
        attrs = dict(zip(cls.__struct_encode_fields__, cls.__struct_fields__, strict=True))
        for wire, prop in schema.get("properties", {}).items():
            text = " ".join(str(prop.get("description") or "").split()[:6])
            if not text or wire not in attrs:
                continue  # undescribed, or the class's tag (a class attribute)
            checked += 1
            if text not in " ".join(fields.get(attrs[wire], "").split()):
                undocumented.append(f"{name}.{attrs[wire]}")
    assert checked > 700
    assert not undocumented, f"fields without the schema's description: {undocumented[:20]}"


def test_agent_state_reads_as_the_schema_says() -> None:
    _, fields = attribute_docs(ast.parse((ROOT / "letta_async/types/_official.py").read_text()))[
        "AgentState"
    ]
    assert fields["id"] == "The id of the agent. Assigned by the database."
    assert fields["llm_config"].startswith("Deprecated: Use `model` field instead.")


def test_request_shapes_carry_the_request_schema_descriptions() -> None:
    classes = attribute_docs(ast.parse((ROOT / "letta_async/types/_params.py").read_text()))
    _, fields = classes["AgentCreateParams"]
    schema = SPEC_SCHEMAS["CreateAgentRequest"]
    keys = importlib.import_module("letta_async.types._params").AgentCreateParams.__annotations__
    described = {
        name: " ".join(prop["description"].split()[:6])
        for name, prop in schema["properties"].items()
        if prop.get("description") and name in keys
    }
    assert len(described) > 40
    for name, start in described.items():
        assert start in " ".join(fields.get(name, "").split()), name
    # Most request shapes match a schema of the document and document their keys.
    assert sum(1 for _, keys in classes.values() if keys) > 100
