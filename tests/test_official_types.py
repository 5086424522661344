"""``letta_async.types`` against the official SDK's surface and the server's own data.

The official names and kinds come from ``tools/official_surface.json`` (recorded from
letta-client 1.12.1), the schemas from the server's OpenAPI document, and the expected values
of decoded replies from the JSON the server actually sent (``tests/fixtures``). None of the
expectations is taken from the code under test.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import subprocess
import sys
import textwrap
import types
import typing
from pathlib import Path
from typing import Any

import msgspec
import pytest

from letta_async._models import BaseModel

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SURFACE = json.loads((ROOT / "tools" / "official_surface.json").read_text(encoding="utf-8"))
SCHEMAS = json.loads((FIXTURES / "openapi.json").read_text(encoding="utf-8"))["components"][
    "schemas"
]
official_types = pytest.importorskip("tools.official_types")


def _resolve(qualname: str) -> Any:
    package, _, name = qualname.rpartition(".")
    module = importlib.import_module(
        f"letta_async.types.{package}" if package else "letta_async.types"
    )
    return getattr(module, name)


# --- names and kinds ----------------------------------------------------------------------


@pytest.mark.parametrize("entry", SURFACE["types"], ids=lambda e: e["qualname"])
def test_every_official_name_imports_from_the_same_path_as_the_right_kind(
    entry: dict[str, Any],
) -> None:
    obj = _resolve(entry["qualname"])
    if entry["kind"] == "model":
        assert isinstance(obj, type)
        assert issubclass(obj, msgspec.Struct)
        assert issubclass(obj, BaseModel)
    elif entry["kind"] == "typeddict":
        assert typing.is_typeddict(obj)
        typing.get_type_hints(obj)  # every annotation resolves at run time too
    else:
        is_alias = typing.get_origin(obj) is not None or isinstance(obj, types.UnionType)
        # An alias of a single class (``X = SomeModel``) is that class at run time.
        assert is_alias or isinstance(obj, type), obj


def test_the_official_layout_adds_no_import_cost_until_a_name_is_used() -> None:
    code = (
        "import sys, letta_async.types, letta_async.types.agents;"
        "print(sorted(m for m in sys.modules if m.startswith('letta_async.types._')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"


def test_typeddicts_mark_required_keys_as_the_official_ones_do() -> None:
    from letta_async.types import CreateBlockParam

    hints = typing.get_type_hints(CreateBlockParam, include_extras=False)
    assert {"label", "value", "limit"} <= set(hints)
    assert CreateBlockParam.__total__ is False
    source = Path(importlib.import_module(CreateBlockParam.__module__).__file__ or "")
    text = source.read_text(encoding="utf-8")
    assert "    label: Required[str]" in text


# --- response models carry the whole schema ------------------------------------------------


def _wire_fields(cls: type[msgspec.Struct]) -> set[str]:
    names = {f.encode_name for f in msgspec.structs.fields(cls)}
    if cls.__struct_config__.tag_field is not None:
        names.add(cls.__struct_config__.tag_field)
    return names


def _matched_models() -> list[tuple[str, str]]:
    entries = official_types.load_surface()
    matches = official_types.match_schemas(entries, SCHEMAS)
    return sorted(
        (qualname, schema)
        for qualname, schema in matches.items()
        if schema is not None and entries[qualname].public
    )


@pytest.mark.parametrize(("qualname", "schema"), _matched_models(), ids=lambda v: str(v))
def test_each_response_model_has_every_property_of_its_schema(qualname: str, schema: str) -> None:
    cls = _resolve(qualname)
    missing = set(SCHEMAS[schema]["properties"]) - _wire_fields(cls)
    assert not missing, f"{qualname} lacks {sorted(missing)} of schema {schema}"


def test_official_attribute_names_with_wire_renames() -> None:
    from letta_async.types import AgentState, Tool

    # The server's schema spells it ``metadata_``; programs read ``tool.metadata``.
    tool_fields = {f.name: f.encode_name for f in msgspec.structs.fields(Tool)}
    assert tool_fields["metadata"] == "metadata_"
    assert "metadata_" not in tool_fields
    agent_fields = {f.name: f.encode_name for f in msgspec.structs.fields(AgentState)}
    assert agent_fields["api_model_settings"] == "model_settings"


# --- server captures decode without losing anything ----------------------------------------

CAPTURES: dict[str, str] = {
    "agent_create.json": "AgentState",
    "agent_create_memgpt_v2.json": "AgentState",
    "conversation_create.json": "Conversation",
    "health.json": "HealthResponse",
    "async_run.json": "agents.Run",
    "run_retrieve.json": "agents.Run",
    "background_run_after.json": "agents.Run",
    "cancel_run_after.json": "agents.Run",
    "cancel_background_run_after.json": "agents.Run",
    "cancel_during_llm_wait_run_after.json": "agents.Run",
    "foreground_disconnect_run_after.json": "agents.Run",
    "foreground_disconnect_run_during.json": "agents.Run",
    "runs_list.json": "list[agents.Run]",
    "run_steps.json": "list[Step]",
    "run_usage.json": "runs.UsageRetrieveResponse",
    "run_messages.json": "list[agents.Message]",
    "messages_list_types.json": "list[agents.Message]",
    "messages_list_asc_page1.json": "list[agents.Message]",
    "messages_list_desc_page1.json": "list[agents.Message]",
    "nonstream_response.json": "agents.LettaResponse",
    "nonstream_response_memgpt_v2.json": "agents.LettaResponse",
    "nonstream_tool_response.json": "agents.LettaResponse",
    "cancel_response.json": "agents.MessageCancelResponse",
}


def _type_of(spelling: str) -> Any:
    if spelling.startswith("list[") and spelling.endswith("]"):
        return list[_type_of(spelling[5:-1])]  # type: ignore[misc]
    return _resolve(spelling)


def _same(sent: Any, dumped: Any, where: str) -> None:
    """``dumped`` holds every key of ``sent`` with an equal value (datetimes by instant)."""
    if isinstance(sent, dict):
        assert isinstance(dumped, dict), where
        for key, value in sent.items():
            assert key in dumped, f"{where}.{key} was dropped"
            _same(value, dumped[key], f"{where}.{key}")
    elif isinstance(sent, list):
        assert isinstance(dumped, list) and len(dumped) == len(sent), where
        for index, (a, b) in enumerate(zip(sent, dumped, strict=True)):
            _same(a, b, f"{where}[{index}]")
    elif isinstance(sent, str) and isinstance(dumped, str) and sent != dumped:
        assert _instant(sent) == _instant(dumped), f"{where}: {sent!r} != {dumped!r}"
    else:
        assert sent == dumped, f"{where}: {sent!r} != {dumped!r}"


def _instant(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _dump(value: Any) -> Any:
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    return value


@pytest.mark.parametrize(("capture", "spelling"), sorted(CAPTURES.items()))
def test_decoding_a_capture_keeps_every_key_and_value_the_server_sent(
    capture: str, spelling: str
) -> None:
    raw = (FIXTURES / capture).read_bytes()
    decoded = msgspec.json.decode(raw, type=_type_of(spelling))
    _same(json.loads(raw), _dump(decoded), capture)


def test_agent_state_capture_keys_are_all_fields_not_leftovers() -> None:
    from letta_async.types import AgentState

    sent = json.loads((FIXTURES / "agent_create.json").read_bytes())
    agent = AgentState.model_validate(sent)
    assert set(sent) <= _wire_fields(AgentState)
    assert agent.id == sent["id"]
    assert agent.model_dump(mode="json")["api_model_settings"] == sent["model_settings"]


# --- type checkers narrow frames by message_type ------------------------------------------

NARROWING = """
from letta_async.types.agents import AssistantMessage, LettaStreamingResponse, Message


def text_of(chunk: LettaStreamingResponse) -> str:
    if chunk.message_type == "assistant_message":
        content = chunk.content
        return content if isinstance(content, str) else ""
    if chunk.message_type == "reasoning_message":
        return chunk.reasoning
    return ""


def first(message: Message) -> AssistantMessage | None:
    if message.message_type == "assistant_message":
        return message
    return None
"""

UNNARROWED = """
from letta_async.types.agents import LettaStreamingResponse


def text_of(chunk: LettaStreamingResponse) -> object:
    return chunk.content
"""


def _mypy(source: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "snippet.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="needs mypy")
def test_mypy_narrows_a_frame_union_by_message_type(tmp_path: Path) -> None:
    result = _mypy(NARROWING, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # And the check has teeth: without the comparison, ``content`` is not on every member.
    result = _mypy(UNNARROWED, tmp_path)
    assert result.returncode != 0
    assert "has no attribute" in result.stdout
