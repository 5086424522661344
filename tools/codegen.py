"""Generate ``letta_async/types/_spec.py`` from the Letta server's OpenAPI document.

Run ``python tools/codegen.py`` (or ``nox -s codegen``) after updating
``tests/fixtures/openapi.json``; ``--check`` exits non-zero when the checked-in module is stale.
The generator is a development tool: the installed package never imports it or reads the spec.

What gets generated
    Every schema reachable from an operation the client may call: all operations that are not
    deprecated and not under an internal prefix (:data:`EXCLUDED_PREFIXES`), following
    ``$ref`` chains from their parameters, JSON request bodies and JSON responses.

What is imported instead
    A schema whose name the hand-written modules in ``letta_async.types`` already define (the
    message union, content parts, ``AgentState``, ``Run``...) is imported from there, never
    duplicated, so one class stands for one server shape across the package. Those modules
    are authoritative: the generator does not descend into their schemas.

How schemas map to msgspec
    * objects become ``msgspec.Struct`` classes with ``kw_only=True`` and ``omit_defaults=True``
      (unset optional fields are left out of request bodies, so server defaults apply);
    * a property the schema does not require defaults to ``None``, and so does a deprecated
      one (a newer server may stop sending it); a ``const`` property defaults to its constant;
    * ``enum`` and ``const`` become ``Literal[...]``; ``date-time`` strings become ``datetime``;
    * objects without properties (open maps) and inline object schemas become
      ``dict[str, Any]``;
    * ``anyOf`` / ``oneOf`` become unions when msgspec can tell the members apart. Several
      object schemas need a tag: a property whose value is a ``const`` in every member (the
      spec's discriminator, when it has one). Members get ``tag_field``/``tag`` and a
      ``ClassVar`` naming their tag, like the hand-written structs.
    * Fallbacks, for what msgspec cannot express: object unions without a usable tag become
      ``dict[str, Any]``; several string-like members (``str`` and a ``Literal``, ``str`` and
      ``datetime``) collapse to ``str``; several list members become one list of the union of
      their items; anything else that cannot be a union becomes ``Any``.
"""

from __future__ import annotations

import argparse
import json
import keyword
import re
import subprocess
import sys
import textwrap
import types
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # doc_text, however this is imported
from doc_text import docstring

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "tests" / "fixtures" / "openapi.json"
OUTPUT = ROOT / "letta_async" / "types" / "_spec.py"

EXCLUDED_PREFIXES = ("/v1/_internal_", "/v1/admin/", "/v1/auth")
"""Operations under these paths are not part of the client (see docs/api-coverage.md)."""

SKIPPED = frozenset(
    {
        # Multipart form bodies: the resources build them from keyword arguments.
        "Body_import_agent",
        "Body_upload_file_to_folder",
        "Body_upload_file_to_source",
        # The legacy JSON body of ``GET /v1/agents/{id}/export``, which the client never sends.
        "Body_export_agent",
        # FastAPI's 422 body: the client raises UnprocessableEntityError with the raw detail.
        "HTTPValidationError",
        "ValidationError",
    }
)

RENAMES = {
    # pydantic qualifies a class name with its module when two models share it.
    "letta__schemas__agent_file__AgentSchema": "AgentFileAgent",
    "letta__schemas__agent_file__MessageSchema": "AgentFileMessage",
    "letta__schemas__agent_file__ToolSchema": "AgentFileTool",
    "letta__schemas__mcp__UpdateSSEMCPServer": "LegacyUpdateSSEMCPServer",
    "letta__schemas__mcp__UpdateStdioMCPServer": "LegacyUpdateStdioMCPServer",
    "letta__schemas__mcp__UpdateStreamableHTTPMCPServer": "LegacyUpdateStreamableHTTPMCPServer",
    "letta__schemas__mcp_server__ToolExecuteRequest": "ToolExecuteRequest",
    "letta__schemas__mcp_server__UpdateSSEMCPServer": "UpdateSSEMCPServer",
    "letta__schemas__mcp_server__UpdateStdioMCPServer": "UpdateStdioMCPServer",
    "letta__schemas__mcp_server__UpdateStreamableHTTPMCPServer": "UpdateStreamableHTTPMCPServer",
    "letta__schemas__message__ToolReturn": "MessageToolReturn",
    "letta__serialize_schemas__pydantic_agent_schema__AgentSchema": "LegacyAgentSchema",
    "letta__serialize_schemas__pydantic_agent_schema__MessageSchema": "LegacyMessageSchema",
    "letta__serialize_schemas__pydantic_agent_schema__ToolSchema": "LegacyToolSchema",
    "letta__server__rest_api__routers__v1__agents__CompactionRequest": "AgentCompactionRequest",
    "letta__server__rest_api__routers__v1__conversations__CompactionRequest": (
        "ConversationCompactionRequest"
    ),
    "letta__server__rest_api__routers__v1__tools__ToolExecuteRequest": "McpToolExecuteRequest",
    "openai__types__chat__chat_completion__ChoiceLogprobs": "OpenAIChoiceLogprobs",
    "openai__types__chat__chat_completion_message_function_tool_call__Function": (
        "ToolCallFunction"
    ),
    "openai__types__chat__chat_completion_message_function_tool_call_param__Function": (
        "ToolCallFunctionParam"
    ),
    "openai__types__chat__chat_completion_token_logprob__ChatCompletionTokenLogprob": (
        "OpenAITokenLogprob"
    ),
    "openai__types__chat__chat_completion_token_logprob__TopLogprob": "OpenAITopLogprob",
}

HAND_WRITTEN_ALIASES = {
    # Qualified spec names whose shape a hand-written class already has.
    "letta__schemas__letta_message__ToolReturn": "ToolReturn",
    "letta__schemas__openai__chat_completion_response__ChatCompletionTokenLogprob": (
        "ChatCompletionTokenLogprob"
    ),
    "letta__schemas__openai__chat_completion_response__ChoiceLogprobs": "ChoiceLogprobs",
    "letta__schemas__openai__chat_completion_response__TopLogprob": "TopLogprob",
}

UNION_NAMES = {
    # Inline unions the spec repeats, named so signatures and fields stay readable.
    "ChatCompletionMessageParamUnion": (
        "ChatCompletionDeveloperMessageParam",
        "ChatCompletionSystemMessageParam",
        "ChatCompletionUserMessageParam",
        "ChatCompletionAssistantMessageParam",
        "ChatCompletionToolMessageParam",
        "ChatCompletionFunctionMessageParam",
    ),
    "CreateMCPServerUnion": (
        "CreateStdioMCPServer",
        "CreateSSEMCPServer",
        "CreateStreamableHTTPMCPServer",
    ),
    "MCPServerUnion": ("StdioMCPServer", "SSEMCPServer", "StreamableHTTPMCPServer"),
    "MessageListResultUnion": (
        "SystemMessageListResult",
        "UserMessageListResult",
        "ReasoningMessageListResult",
        "AssistantMessageListResult",
    ),
    "ModelSettingsUnion": (
        "OpenAIModelSettings",
        "SGLangModelSettings",
        "AnthropicModelSettings",
        "GoogleAIModelSettings",
        "GoogleVertexModelSettings",
        "AzureModelSettings",
        "XAIModelSettings",
        "ZAIModelSettings",
        "GroqModelSettings",
        "DeepseekModelSettings",
        "TogetherModelSettings",
        "BedrockModelSettings",
        "BasetenModelSettings",
        "OpenRouterModelSettings",
        "ChatGPTOAuthModelSettings",
    ),
    "ResponseFormatUnion": (
        "TextResponseFormat",
        "JsonSchemaResponseFormat",
        "JsonObjectResponseFormat",
    ),
    "ToolRuleUnion": (
        "ChildToolRule",
        "InitToolRule",
        "TerminalToolRule",
        "ConditionalToolRule",
        "ContinueToolRule",
        "RequiredBeforeExitToolRule",
        "MaxCountPerStepToolRule",
        "ParentToolRule",
        "RequiresApprovalToolRule",
    ),
    "UpdateMCPServerUnion": (
        "letta__schemas__mcp_server__UpdateStdioMCPServer",
        "letta__schemas__mcp_server__UpdateSSEMCPServer",
        "letta__schemas__mcp_server__UpdateStreamableHTTPMCPServer",
    ),
}
"""Alias name -> spec names of its members, in the spec's order."""

HAND_WRITTEN_MODULES = (
    *("_content", "_events", "_messages", "_requests"),
    *("_responses", "_runs", "_tools", "_usage"),
)
"""The hand-written modules of ``letta_async.types`` whose exports are reused by name."""

OFFICIAL_REUSED = ("AgentState", "Block", "Conversation")
"""Schemas taken from the official-layout models (``_official``) instead of generated here.

Only these: the rest of this module keeps its own classes for the routes that return them,
whose attribute names follow the server's schema rather than the official SDK's.
"""

WIDTH = 100
_FORMATS = {"date-time": "datetime", "date": "date"}
_METHODS = ("get", "post", "put", "patch", "delete")


# --- type expressions ------------------------------------------------------------------------


@dataclass(frozen=True)
class T:
    """One type expression. ``kind`` says how msgspec sees it when it is part of a union."""

    text: str
    kind: str  # any | none | bool | int | float | str | literal | array | object | tagged
    item: T | None = None  # element type of an array
    values: tuple[Any, ...] = ()  # literal values
    tag_field: str | None = None  # for tagged structs
    members: tuple[T, ...] = ()  # for unions written out

    def flat(self) -> tuple[T, ...]:
        return self.members or (self,)


ANY = T("Any", "any")
NONE = T("None", "none")
OPEN_DICT = T("dict[str, Any]", "object")
_PRIMITIVES = {
    "string": T("str", "str"),
    "integer": T("int", "int"),
    "number": T("float", "float"),
    "boolean": T("bool", "bool"),
    "null": NONE,
}


def literal(values: Iterable[Any]) -> T:
    unique = tuple(dict.fromkeys(values))
    rendered = ", ".join(json.dumps(v) if isinstance(v, str) else repr(v) for v in unique)
    return T(f"Literal[{rendered}]", "literal", values=unique)


def array(item: T) -> T:
    return T(f"list[{item.text}]", "array", item=item)


def union(parts: Iterable[T]) -> T:
    """The union of ``parts`` as msgspec accepts it, degraded as the module docstring says."""
    flat: list[T] = []
    for part in parts:
        for member in part.flat():
            if member not in flat:
                flat.append(member)
    if not flat:
        return ANY
    if any(m.kind == "any" for m in flat):
        return ANY
    nullable = NONE in flat
    rest = [m for m in flat if m is not NONE and m != NONE]

    literals = [m for m in rest if m.kind == "literal"]
    if len(literals) > 1:
        merged = literal(v for m in literals for v in m.values)
        rest = [m for m in rest if m.kind != "literal"]
        rest.insert(0, merged)
        literals = [merged]
    strings = [m for m in rest if m.kind == "str" or (m.kind == "literal" and _str_literal(m))]
    if len(strings) > 1:
        rest = [m for m in rest if m not in strings]
        rest.insert(0, _PRIMITIVES["string"])
    ints = [m for m in rest if m.kind == "int" or (m.kind == "literal" and not _str_literal(m))]
    if len(ints) > 1:
        rest = [m for m in rest if m not in ints]
        rest.insert(0, _PRIMITIVES["integer"])
    arrays = [m for m in rest if m.kind == "array"]
    if len(arrays) > 1:
        merged_array = array(union(m.item or ANY for m in arrays))
        rest = [m for m in rest if m.kind != "array"]
        rest.append(merged_array)
    objects = [m for m in rest if m.kind in ("object", "tagged")]
    if len(objects) > 1:
        tagged = {m.tag_field for m in objects if m.kind == "tagged"}
        if not (all(m.kind == "tagged" for m in objects) and len(tagged) == 1):
            rest = [m for m in rest if m not in objects]
            rest.append(OPEN_DICT)
    if nullable:
        rest.append(NONE)
    if len(rest) == 1:
        return rest[0]
    return T(" | ".join(m.text for m in rest), "union", members=tuple(rest))


def _str_literal(t: T) -> bool:
    return all(isinstance(v, str) for v in t.values)


# --- the schema model ------------------------------------------------------------------------


@dataclass
class Field:
    name: str
    wire_name: str
    type: T
    required: bool
    default: str | None
    doc: str


@dataclass
class Struct:
    name: str
    doc: str
    fields: list[Field] = field(default_factory=list)
    tag_field: str | None = None
    tag: str | None = None


@dataclass
class Alias:
    name: str
    doc: str
    type: T


@dataclass
class HandWritten:
    name: str
    module: str
    type: T


class Generator:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.schemas: dict[str, Any] = spec["components"]["schemas"]
        self.hand_written = self._find_hand_written()
        self.names = {name: self._python_name(name) for name in self.schemas}
        self.wanted = self._closure()
        self.tags = self._choose_tags()
        self._refs: dict[str, T] = {}
        self._resolving: set[str] = set()
        self.union_aliases: dict[str, T] = {}
        """Named unions used so far: alias name -> the union it stands for."""

    # --- what to generate ----------------------------------------------------------------

    def _find_hand_written(self) -> dict[str, HandWritten]:
        """Spec names the hand-written modules define, with how each looks inside a union."""
        sys.path.insert(0, str(ROOT))
        found: dict[str, HandWritten] = {}
        import importlib

        exported: dict[str, str] = {}
        for module_name in HAND_WRITTEN_MODULES:
            module = importlib.import_module(f"letta_async.types.{module_name}")
            for name in getattr(module, "__all__", ()):
                exported.setdefault(name, module_name)
        for name in OFFICIAL_REUSED:
            exported.setdefault(name, "_official")
        spec_to_python = {name: name for name in self.schemas if name in exported}
        spec_to_python.update(HAND_WRITTEN_ALIASES)
        for spec_name, py_name in spec_to_python.items():
            module_name = exported[py_name]
            module = importlib.import_module(f"letta_async.types.{module_name}")
            obj = getattr(module, py_name)
            found[spec_name] = HandWritten(py_name, module_name, _describe(py_name, obj))
        return found

    def _python_name(self, name: str) -> str:
        if name in self.hand_written:
            return self.hand_written[name].name
        if name in RENAMES:
            return RENAMES[name]
        parts = re.split(r"[^0-9A-Za-z]+", name)
        return "".join(p[:1].upper() + p[1:] for p in parts if p)

    def _operations(self) -> Iterator[dict[str, Any]]:
        for route, operations in self.spec["paths"].items():
            if route.startswith(EXCLUDED_PREFIXES):
                continue
            for method, operation in operations.items():
                if method in _METHODS and not operation.get("deprecated"):
                    yield operation

    def _closure(self) -> list[str]:
        roots: set[str] = set()
        for operation in self._operations():
            parts: list[Any] = [operation.get("parameters", [])]
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                if media == "application/json":
                    parts.append(content)
            for response in operation.get("responses", {}).values():
                parts.append(response.get("content", {}).get("application/json", {}))
            roots.update(_refs_in(parts))
        wanted: set[str] = set()
        todo = sorted(roots)
        while todo:
            name = todo.pop()
            if name in wanted or name in SKIPPED or name in self.hand_written:
                continue
            wanted.add(name)
            todo.extend(sorted(_refs_in(self.schemas[name])))
        return sorted(wanted, key=lambda n: self.names[n])

    # --- unions of objects need tags ------------------------------------------------------

    def _choose_tags(self) -> dict[str, tuple[str, str]]:
        """Pick a tag field and value for every generated struct that is a union member."""
        chosen: dict[str, tuple[str, str]] = {}
        refused: set[str] = set()
        for group, hint in self._object_unions():
            tags = self._tags_for(group, hint)
            if tags is None:
                continue
            clash = [
                n for n, tag in tags.items() if (n in chosen and chosen[n] != tag) or n in refused
            ]
            if clash:
                refused.update(n for n in tags if n not in self.hand_written)
                continue
            chosen.update((n, tag) for n, tag in tags.items() if n not in self.hand_written)
        return {n: tag for n, tag in chosen.items() if n not in refused}

    def _object_unions(self) -> Iterator[tuple[list[str], str | None]]:
        sources = [self.schemas[n] for n in self.wanted]
        sources.extend(self._operations())
        for source in sources:
            for node in _walk(source):
                for key in ("anyOf", "oneOf"):
                    members = node.get(key)
                    if not isinstance(members, list):
                        continue
                    refs = [m["$ref"].rsplit("/", 1)[-1] for m in members if "$ref" in m]
                    if len(refs) > 1:
                        hint = node.get("discriminator", {}).get("propertyName")
                        yield refs, hint

    def _tags_for(self, group: list[str], hint: str | None) -> dict[str, tuple[str, str]] | None:
        candidates = [hint] if hint else []
        for name in group:
            candidates.extend(self.schemas.get(name, {}).get("properties", {}))
        for candidate in dict.fromkeys(candidates):
            tags: dict[str, tuple[str, str]] = {}
            for name in group:
                value = self._tag_value(name, candidate)
                if value is None:
                    break
                tags[name] = (candidate, value)
            else:
                values = [v for _, v in tags.values()]
                if len(set(values)) == len(values):
                    return tags
        return None

    def _tag_value(self, name: str, prop: str) -> str | None:
        if name in self.hand_written:
            described = self.hand_written[name].type
            if described.kind == "tagged" and described.tag_field == prop:
                return described.values[0] if described.values else None
            return None
        if name in SKIPPED:
            return None
        schema = self.schemas[name].get("properties", {}).get(prop)
        if not isinstance(schema, dict):
            return None
        value = schema.get("const")
        if value is None and len(schema.get("enum", ())) == 1:
            value = schema["enum"][0]
        return value if isinstance(value, str) else None

    # --- schema to type ------------------------------------------------------------------

    def ref(self, name: str) -> T:
        if name in self.hand_written:
            return self.hand_written[name].type
        if name in SKIPPED:
            return OPEN_DICT
        cached = self._refs.get(name)
        if cached is not None:
            return cached
        py = self.names[name]
        schema = self.schemas[name]
        if name in self.tags:
            result = T(py, "tagged", tag_field=self.tags[name][0], values=(self.tags[name][1],))
        elif schema.get("properties"):
            result = T(py, "object")
        elif name in self._resolving:
            result = T(py, "any")
        else:
            # Enums and open maps are aliases; their kind is the kind of what they alias.
            self._resolving.add(name)
            target = self.type_of(schema)
            self._resolving.discard(name)
            result = T(py, target.kind, item=target.item, values=target.values)
        self._refs[name] = result
        return result

    def type_of(self, schema: Any) -> T:
        if not isinstance(schema, dict) or not schema:
            return ANY
        if "$ref" in schema:
            return self.ref(schema["$ref"].rsplit("/", 1)[-1])
        if "const" in schema:
            return literal([schema["const"]])
        if "enum" in schema:
            values = [v for v in schema["enum"] if v is not None]
            result = literal(values) if values else NONE
            return union([result, NONE]) if None in schema["enum"] else result
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self._named(union(self.type_of(s) for s in schema[key]))
        if "allOf" in schema and len(schema["allOf"]) == 1:
            return self.type_of(schema["allOf"][0])
        kind = schema.get("type")
        if isinstance(kind, list):
            return union(self.type_of({**schema, "type": k}) for k in kind)
        if kind == "array":
            return array(self.type_of(schema.get("items", {})))
        if kind == "object":
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra and not schema.get("properties"):
                value = self.type_of(extra)
                return T(f"dict[str, {value.text}]", "object")
            return OPEN_DICT
        if kind == "string" and schema.get("format") in _FORMATS:
            return T(_FORMATS[schema["format"]], "str")
        if kind in _PRIMITIVES:
            result = _PRIMITIVES[kind]
            return union([result, NONE]) if schema.get("nullable") else result
        return ANY

    def _named(self, result: T) -> T:
        """A union that is a hand-written alias or in :data:`UNION_NAMES`, by its name."""
        members = [m for m in result.flat() if m != NONE]
        if len(members) < 2:
            return result
        key = frozenset(m.text for m in members)
        for name, hand in self.hand_written.items():
            if hand.type.members and frozenset(m.text for m in hand.type.members) == key:
                alias = T(self.names[name], hand.type.kind, tag_field=hand.type.tag_field)
                return union([alias, NONE]) if NONE in result.flat() else alias
        for name, spec_names in UNION_NAMES.items():
            if frozenset(self.names.get(n, n) for n in spec_names) == key:
                whole = T(result.text, "union", members=tuple(members))
                self.union_aliases[name] = whole
                first = members[0]
                alias = T(name, first.kind, tag_field=first.tag_field)
                return union([alias, NONE]) if NONE in result.flat() else alias
        return result

    # --- building the module ---------------------------------------------------------------

    def build(self) -> tuple[list[Alias], list[Struct]]:
        aliases: list[Alias] = []
        structs: list[Struct] = []
        for name in self.wanted:
            schema = self.schemas[name]
            doc = _summary(schema.get("description"), limit=None) or _default_doc(name, schema)
            if schema.get("properties"):
                structs.append(self._struct(name, schema, doc))
            else:
                self._resolving.add(name)
                aliases.append(Alias(self.names[name], doc, self.type_of(schema)))
                self._resolving.discard(name)
        return aliases, structs

    def _struct(self, name: str, schema: dict[str, Any], doc: str) -> Struct:
        struct = Struct(self.names[name], doc)
        if name in self.tags:
            struct.tag_field, struct.tag = self.tags[name]
        required = set(schema.get("required", ()))
        for wire, prop in schema["properties"].items():
            if wire == struct.tag_field:
                continue
            attr = wire.lstrip("_")
            if keyword.iskeyword(attr) or not attr.isidentifier():
                attr = re.sub(r"\W", "_", attr) + "_"
            typ = self.type_of(prop)
            const = prop.get("const") if isinstance(prop, dict) else None
            default: str | None = None
            deprecated = isinstance(prop, dict) and bool(prop.get("deprecated"))
            # A deprecated field may vanish from a newer server: never make decoding need it.
            is_required = wire in required and const is None and not deprecated
            if const is not None:
                default = json.dumps(const) if isinstance(const, str) else repr(const)
            elif not is_required:
                typ = union([typ, NONE])
                default = "None"
            text = _summary(prop.get("description") if isinstance(prop, dict) else None, limit=None)
            if deprecated and not text.lower().startswith("deprecated"):
                text = f"Deprecated. {text}".strip()
            struct.fields.append(Field(attr, wire, typ, is_required, default, text))
        # A field named like a type used in the same class would shadow that type there.
        used = {word for f in struct.fields for word in _names_in(f.type.text)}
        for f in struct.fields:
            if f.name in used:
                f.name += "_"
        return struct

    def render(self) -> str:
        aliases, structs = self.build()
        used_imports: dict[str, set[str]] = {}
        generated = {a.name for a in aliases} | {s.name for s in structs}
        body: list[str] = []

        for alias in aliases:
            body.append(f"{alias.name} = {alias.type.text}")
            body.append(_docstring(alias.doc, 0))
            body.append("")
        for struct in structs:
            body.append("")
            options = "kw_only=True, omit_defaults=True"
            if struct.tag_field:
                tag_field, tag = json.dumps(struct.tag_field), json.dumps(struct.tag)
                options += f", tag_field={tag_field}, tag={tag}"
            body.append(f"class {struct.name}(msgspec.Struct, {options}):")
            body.append(_docstring(struct.doc, 4))
            if struct.tag_field:
                body.append("")
                body.append(f"    {struct.tag_field}: ClassVar[str] = {json.dumps(struct.tag)}")
            if struct.fields:
                body.append("")
            for f in struct.fields:
                line = f"    {f.name}: {f.type.text}"
                if f.name != f.wire_name:
                    if f.default is None:
                        line += f" = msgspec.field(name={json.dumps(f.wire_name)})"
                    else:
                        wire = json.dumps(f.wire_name)
                        line += f" = msgspec.field(default={f.default}, name={wire})"
                elif f.default is not None:
                    line += f" = {f.default}"
                body.append(line)
                if f.doc:
                    body.append(_docstring(f.doc, 4))
            body.append("")

        for spec_names in UNION_NAMES.values():
            # Named unions that only operations use (responses of the MCP routes, say).
            if all(n in self.wanted for n in spec_names):
                self._named(union(self.ref(n) for n in spec_names))
        for name in sorted(self.union_aliases):
            members = ", ".join(f"``{m.text}``" for m in self.union_aliases[name].members)
            body.append("")
            body.append(f"{name} = {self.union_aliases[name].text}")
            body.append(_docstring(f"One of {members}, told apart by their tag.", 0))
        generated.update(self.union_aliases)

        text = "\n".join(body)
        annotations = [a.type.text for a in aliases]
        annotations.extend(u.text for u in self.union_aliases.values())
        annotations.extend(f.type.text for s in structs for f in s.fields)
        if any(s.tag_field for s in structs):
            annotations.append("ClassVar")
        words = {word for a in annotations for word in _names_in(a)}
        for hand in self.hand_written.values():
            if hand.name in words and hand.name not in generated:
                used_imports.setdefault(hand.module, set()).add(hand.name)
        typing_names = [n for n in ("Any", "ClassVar", "Literal") if n in words]
        header = [
            # The maintainers' note is a comment: docstrings are what readers of the site see.
            "# Generated by tools/codegen.py from tests/fixtures/openapi.json: do not edit by",
            "# hand, run `nox -s codegen` instead.",
            '"""Structs for the Letta API, generated from the server\'s OpenAPI document.',
            "",
            "The generator's docstring (``tools/codegen.py``) explains the mapping (optional",
            "fields default to None, enums are ``Literal``, unions that msgspec cannot tell apart",
            "fall back to ``dict[str, Any]``). Shapes that the hand-written modules of",
            ":mod:`letta_async.types` define, such as the message union, are imported from there.",
            '"""',
            "",
            "from __future__ import annotations",
            "",
        ]
        stdlib = []
        dates = [n for n in ("date", "datetime") if n in words]
        if dates:
            stdlib.append(f"from datetime import {', '.join(dates)}")
        stdlib.append(f"from typing import {', '.join(typing_names)}")
        header.extend(stdlib)
        header.extend(["", "import msgspec", ""])
        for module in sorted(used_imports):
            names = ", ".join(sorted(used_imports[module]))
            header.append(f"from .{module} import {names}")
        header.append("")
        exported = sorted(generated)
        header.append("__all__ = [")
        header.extend(f'    "{name}",' for name in exported)
        header.append("]")
        header.append("")
        return "\n".join(header) + "\n" + text


# --- helpers ---------------------------------------------------------------------------------


def _describe(name: str, obj: Any) -> T:
    """How a hand-written class or alias behaves as a union member."""
    import msgspec

    if isinstance(obj, type) and issubclass(obj, msgspec.Struct):
        config = obj.__struct_config__
        if config.tag_field is not None:
            return T(name, "tagged", tag_field=config.tag_field, values=(config.tag,))
        return T(name, "object")
    origin = typing.get_origin(obj)
    if origin is typing.Literal:
        return T(name, "literal", values=typing.get_args(obj))
    if origin in (typing.Union, types.UnionType):
        members = [_describe(getattr(m, "__name__", "?"), m) for m in typing.get_args(obj)]
        fields = {m.tag_field for m in members}
        if all(m.kind == "tagged" for m in members) and len(fields) == 1:
            return T(name, "tagged", tag_field=members[0].tag_field, members=tuple(members))
        return T(name, "any")
    return T(name, "any")


def _names_in(annotation: str) -> set[str]:
    """The identifiers an annotation uses (the contents of string literals are not names)."""
    return set(re.findall(r"\w+", re.sub(r'"[^"]*"', "", annotation)))


def _refs_in(node: Any) -> set[str]:
    found: set[str] = set()
    for item in _walk(node):
        ref = item.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[-1])
    return found


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for key, value in node.items():
            if key not in ("default", "examples", "example", "discriminator"):
                yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _summary(text: Any, limit: int | None = 300) -> str:
    """A description as a docstring tells it: Markdown links reduced to their text, the first
    letter upper case, a closing full stop. With a ``limit``, only the first paragraph,
    whitespace-normalised and cut to a sentence; without, the whole text (wrapped later)."""
    if not isinstance(text, str):
        return ""
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text.strip())  # markdown links: keep the text
    if limit is None:
        paragraph = text
    else:
        paragraph = " ".join(re.split(r"\n\s*\n", text, maxsplit=1)[0].split())
    if limit is not None and len(paragraph) > limit:
        sentences = re.split(r"(?<=[.!?])\s+", paragraph)
        kept = ""
        for sentence in sentences:
            if len(kept) + len(sentence) + 1 > limit:
                break
            kept = f"{kept} {sentence}".strip()
        paragraph = kept or textwrap.shorten(paragraph, limit, placeholder="...")
    if paragraph and paragraph[-1] not in ".!?:)":
        paragraph += "."
    return paragraph[:1].upper() + paragraph[1:]


def _default_doc(name: str, schema: dict[str, Any]) -> str:
    title = schema.get("title") or name
    if "enum" in schema:
        return f"The values of the server's ``{title}`` enum."
    return f"The server's ``{title}`` object."


def _docstring(text: str, indent: int) -> str:
    return "\n".join(docstring(text, indent))


def format_source(source: str) -> str:
    """ruff-format the module text exactly as ``ruff format`` would format the file."""
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(OUTPUT), "-"],
        input=source,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"ruff format failed: {result.stderr}")
    return result.stdout


def generate(spec_path: Path = SPEC) -> str:
    """The formatted text of ``_spec.py`` for the spec at ``spec_path``."""
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    return format_source(Generator(spec).render())


def main(argv: list[str] | None = None) -> int:
    """Write the official-layout modules first (this module imports them), then ``_spec.py``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a generated file is stale")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import official_types

    changed = official_types.write(check=args.check)
    for path in changed:
        verb = "is stale: run `nox -s codegen`" if args.check else "written"
        print(f"{path.relative_to(ROOT)} {verb}", file=sys.stderr if args.check else sys.stdout)
    if args.check and changed:
        return 1
    text = generate()
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT.relative_to(ROOT)} is stale: run `nox -s codegen`", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
