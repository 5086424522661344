"""The generated structs: fresh, decodable, and shaped by the rules the generator promises."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

from letta_async.types import _spec as models

codegen = pytest.importorskip("tools.codegen")

needs_ruff = pytest.mark.skipif(
    importlib.util.find_spec("ruff") is None, reason="ruff formats the generated module"
)


@needs_ruff
def test_checked_in_models_match_a_fresh_generation() -> None:
    fresh = codegen.generate()
    current = codegen.OUTPUT.read_text(encoding="utf-8")
    assert current == fresh, "letta_async/types/_spec.py is stale: run `nox -s codegen`"


@needs_ruff
def test_checked_in_official_layout_matches_a_fresh_generation() -> None:
    official_types = pytest.importorskip("tools.official_types")
    stale = [str(p.relative_to(official_types.ROOT)) for p in official_types.write(check=True)]
    assert stale == [], f"stale generated files (run `nox -s codegen`): {stale}"


def _check(script: str, *, seeds: tuple[str, ...] = ("0",)) -> None:
    """Run ``tools/<script> --check`` once per hash seed, side by side, and want all fresh."""
    root = Path(__file__).resolve().parent.parent
    runs = [
        subprocess.Popen(
            [sys.executable, str(root / "tools" / script), "--check"],
            cwd=root,
            env={**os.environ, "PYTHONHASHSEED": seed},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for seed in seeds
    ]
    for seed, run in zip(seeds, runs, strict=True):
        out, _ = run.communicate(timeout=120)
        assert run.returncode == 0, f"{script} --check (PYTHONHASHSEED={seed}): {out.decode()}"


@needs_ruff
def test_checked_in_resources_match_a_fresh_generation() -> None:
    # Two hash seeds: the output must not depend on set order.
    _check("gen_resources.py", seeds=("0", "1"))


def test_checked_in_method_table_matches_a_fresh_generation() -> None:
    _check("gen_method_table.py")


@pytest.mark.parametrize("name", models.__all__)
def test_every_generated_type_builds_a_decoder(name: str) -> None:
    msgspec.json.Decoder(getattr(models, name))


def test_hand_written_shapes_are_imported_not_duplicated() -> None:
    from letta_async.types import AgentState, LettaMessageContentUnion

    assert "AssistantMessage" not in models.__all__
    assert "AgentState" not in models.__all__
    # Generated structs refer to the hand-written classes themselves.
    assert models.AgentState is AgentState  # type: ignore[attr-defined]
    assert models.LettaMessageContentUnion is LettaMessageContentUnion  # type: ignore[attr-defined]


def test_optional_fields_default_to_none_and_are_left_out_when_encoding() -> None:
    block = models.CreateBlock(value="v", label="human")
    assert block.limit is None
    assert msgspec.json.decode(msgspec.json.encode(block)) == {"value": "v", "label": "human"}


def test_const_fields_default_to_their_constant() -> None:
    assert models.Annotation.__struct_defaults__[0] == "url_citation"


def test_tagged_union_members_decode_by_their_tag() -> None:
    rules = msgspec.json.decode(
        b'[{"type":"run_first","tool_name":"a"},{"type":"exit_loop","tool_name":"b"}]',
        type=list[models.ToolRuleUnion],
    )
    assert [type(r).__name__ for r in rules] == ["InitToolRule", "TerminalToolRule"]
    assert rules[0].type == "run_first"
    encoded = msgspec.json.decode(msgspec.json.encode(rules[1]))
    assert encoded == {"type": "exit_loop", "tool_name": "b"}


def test_enums_are_literals_and_date_times_are_datetimes() -> None:
    job = msgspec.json.decode(
        b'{"id":"job-1","status":"running","job_type":"batch","created_at":"2026-01-02T03:04:05Z"}',
        type=models.BatchJob,
    )
    assert job.status == "running"
    assert job.created_at is not None and job.created_at.year == 2026
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"id":"job-1","status":"sleeping"}', type=models.BatchJob)


# --- the generator's rules on small hand-made specs ----------------------------------------


def _spec(schemas: dict[str, Any], body: str) -> dict[str, Any]:
    return {
        "paths": {
            "/v1/things": {
                "post": {
                    "operationId": "make_thing",
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": body}}}},
                    "responses": {"200": {"content": {}}},
                }
            }
        },
        "components": {"schemas": schemas},
    }


def _render(schemas: dict[str, Any], root: str = "Root") -> str:
    text: str = codegen.Generator(_spec(schemas, f"#/components/schemas/{root}")).render()
    return text


def test_object_union_without_a_tag_falls_back_to_an_open_dict() -> None:
    text = _render(
        {
            "Root": {
                "type": "object",
                "properties": {
                    "x": {
                        "anyOf": [
                            {"$ref": "#/components/schemas/A"},
                            {"$ref": "#/components/schemas/B"},
                        ]
                    }
                },
            },
            "A": {"type": "object", "properties": {"a": {"type": "string"}}},
            "B": {"type": "object", "properties": {"b": {"type": "string"}}},
        }
    )
    assert "x: dict[str, Any] | None = None" in text


def test_object_union_with_const_property_becomes_tagged() -> None:
    text = _render(
        {
            "Root": {
                "type": "object",
                "required": ["x"],
                "properties": {
                    "x": {
                        "oneOf": [
                            {"$ref": "#/components/schemas/A"},
                            {"$ref": "#/components/schemas/B"},
                        ]
                    }
                },
            },
            "A": {
                "type": "object",
                "properties": {"kind": {"const": "a"}, "n": {"type": "integer"}},
            },
            "B": {"type": "object", "properties": {"kind": {"const": "b"}}},
        }
    )
    assert "x: A | B\n" in text
    assert 'tag_field="kind", tag="a"' in text
    assert 'kind: ClassVar[str] = "a"' in text


def test_string_like_members_collapse_to_str_and_lists_merge() -> None:
    text = _render(
        {
            "Root": {
                "type": "object",
                "properties": {
                    "when": {
                        "anyOf": [{"type": "string", "format": "date-time"}, {"type": "string"}]
                    },
                    "mode": {"anyOf": [{"enum": ["a", "b"]}, {"type": "string"}]},
                    "items": {
                        "anyOf": [
                            {"type": "array", "items": {"type": "integer"}},
                            {"type": "array", "items": {"type": "string"}},
                        ]
                    },
                },
            }
        }
    )
    assert "when: str | None = None" in text
    assert "mode: str | None = None" in text
    assert "items: list[int | str] | None = None" in text


def test_keywords_and_underscored_names_keep_their_wire_name() -> None:
    text = _render(
        {
            "Root": {
                "type": "object",
                "properties": {"from": {"type": "string"}, "_meta": {"type": "object"}},
            }
        }
    )
    assert 'from_: str | None = msgspec.field(default=None, name="from")' in text
    assert 'meta: dict[str, Any] | None = msgspec.field(default=None, name="_meta")' in text


def test_deprecated_required_fields_are_optional() -> None:
    text = _render(
        {
            "Root": {
                "type": "object",
                "required": ["old", "new"],
                "properties": {
                    "old": {"type": "string", "deprecated": True, "description": "Use new."},
                    "new": {"type": "string"},
                },
            }
        }
    )
    assert "old: str | None = None\n" in text
    assert '"""Deprecated. Use new."""' in text
    assert "new: str\n" in text


def test_generated_module_round_trips_a_real_capture() -> None:
    from pathlib import Path

    raw = (Path(__file__).parent / "fixtures" / "run_steps.json").read_bytes()
    steps = msgspec.json.decode(raw, type=list[models.Step])
    assert steps and steps[0].id.startswith("step-")
    assert json.loads(msgspec.json.encode(steps[0]))["id"] == steps[0].id
