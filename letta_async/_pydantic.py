"""How pydantic sees the models: only imported when pydantic itself asks.

``letta_async`` never imports pydantic. A struct class answers pydantic's two hooks
(``__get_pydantic_core_schema__`` and ``__get_pydantic_json_schema__``) by calling into this
module, so a model can be a field of a user's pydantic model, a FastAPI ``response_model``, or
the type of a ``TypeAdapter``: pydantic validates through msgspec (a struct instance passes
as it is, a dict is converted), dumps through :func:`~letta_async._models.to_plain`, and
describes the type with the JSON schema msgspec writes for it.
"""

from __future__ import annotations

from typing import Any

import msgspec
from pydantic import GetJsonSchemaHandler
from pydantic_core import core_schema

from ._models import to_plain, wire_names


def core_schema_of(cls: type[msgspec.Struct]) -> core_schema.CoreSchema:
    """The core schema pydantic builds validators and serializers from, for one struct class."""

    def validate(value: Any) -> Any:
        if isinstance(value, cls):
            return value
        # A pydantic dump without by_alias keys renamed fields by attribute name, which
        # msgspec would skip as unknown keys: rename them to the wire names first.
        return msgspec.convert(wire_names(value, cls), cls, strict=False)

    def serialize(value: Any, info: core_schema.SerializationInfo) -> Any:
        if not isinstance(value, msgspec.Struct):
            return value
        return to_plain(
            value,
            mode="json" if info.mode_is_json() else "python",
            by_alias=bool(info.by_alias),
            exclude_none=info.exclude_none,
            exclude_defaults=info.exclude_defaults,
        )

    return core_schema.no_info_plain_validator_function(
        validate,
        serialization=core_schema.plain_serializer_function_ser_schema(
            serialize, info_arg=True, when_used="always"
        ),
    )


def json_schema_of(cls: type[msgspec.Struct], handler: GetJsonSchemaHandler) -> dict[str, Any]:
    """msgspec's JSON schema of ``cls``, its nested structs registered as pydantic definitions.

    Registering them (rather than inlining) lets a document that uses several models, such
    as FastAPI's OpenAPI schema, share one definition per struct.
    """
    generator = handler.generate_json_schema  # type: ignore[attr-defined]
    (top,), components = msgspec.json.schema_components([cls], ref_template="#/$defs/{name}")
    refs: dict[str, Any] = {}
    for name in components:
        defs_ref, ref_schema = generator.get_cache_defs_ref_schema(f"letta_async.{name}")
        refs[name] = (defs_ref, ref_schema)

    def relink(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                target = refs[str(node["$ref"]).rsplit("/", 1)[-1]][1]
                rest = {k: relink(v) for k, v in node.items() if k != "$ref"}
                return {**rest, **target}
            return {k: relink(v) for k, v in node.items()}
        if isinstance(node, list):
            return [relink(item) for item in node]
        return node

    for name, component in components.items():
        generator.definitions[refs[name][0]] = relink(component)
    own: dict[str, Any] = relink(top)
    return own
