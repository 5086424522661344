"""The root of every response and request struct: msgspec speed, the official SDK's manners.

Programs written for the official SDK turn models into plain data with ``model_dump()``,
``model_dump_json()``, ``to_dict()`` and ``to_json()``, and build them with
``model_validate()`` or ``construct()``. The structs here are msgspec structs (a decode goes
straight from bytes to objects), so those methods are provided on top, built on
``msgspec``'s own conversion.

One difference is inherent: a struct does not remember which fields the server actually sent.
``exclude_unset`` therefore treats every field as set. Letta serialises every field of its
response models (null included), so for server data the result is the same.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

import msgspec

__all__ = ["ABSENT", "BaseModel", "ModelField", "to_plain", "wire_names"]

ABSENT: Any = None
"""Default of a field the official SDK types as always present but the server may leave out.

Type checkers see the field as the official SDK declares it (``id: str``, not
``str | None``), so code written for the official SDK type-checks the same; a reply that
lacks the field still decodes, and the attribute then holds None."""

_M = TypeVar("_M", bound="BaseModel")

_PYTHON_TYPES = (_dt.datetime, _dt.date, _dt.time, _dt.timedelta, uuid.UUID, decimal.Decimal)
_json = msgspec.json.Encoder()


_FIELDS: dict[type[Any], tuple[msgspec.structs.FieldInfo, ...]] = {}


def _fields(cls: type[msgspec.Struct]) -> tuple[msgspec.structs.FieldInfo, ...]:
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = _FIELDS[cls] = msgspec.structs.fields(cls)
    return fields


_ORDERED: dict[type[Any], tuple[tuple[str, msgspec.structs.FieldInfo | None], ...]] = {}


def _dump_order(
    cls: type[msgspec.Struct],
) -> tuple[tuple[str, msgspec.structs.FieldInfo | None], ...]:
    """The fields (and the tag, as ``None``) in the official SDK's declaration order.

    The order is kept in the generated ``letta_async.types._order``; a class it does not
    name keeps its own order, the tag first.
    """
    cached = _ORDERED.get(cls)
    if cached is not None:
        return cached
    from .types._order import ORDER

    fields = {f.name: f for f in _fields(cls)}
    tag = cls.__struct_config__.tag_field
    official = ORDER.get(f"{cls.__module__}.{cls.__qualname__}", ())
    ordered: list[tuple[str, msgspec.structs.FieldInfo | None]] = []
    for name in official:
        if name in fields:
            ordered.append((name, fields.pop(name)))
        elif name == tag:
            ordered.append((name, None))
            tag = None
    if tag is not None:
        ordered.insert(0, (tag, None))
    ordered.extend(fields.items())
    result = tuple(ordered)
    _ORDERED[cls] = result
    return result


def _is_default(field: msgspec.structs.FieldInfo, value: Any) -> bool:
    if field.default is not msgspec.NODEFAULT:
        return bool(value == field.default)
    if field.default_factory is not msgspec.NODEFAULT:
        return bool(value == field.default_factory())
    return False


def to_plain(
    value: Any,
    *,
    mode: Literal["json", "python"] | str = "python",
    by_alias: bool = False,
    exclude_none: bool = False,
    exclude_defaults: bool = False,
) -> Any:
    """A struct (or a container of them) as dicts, lists and scalars.

    ``mode="json"`` gives only JSON types (datetimes as ISO 8601 strings, as on the wire);
    ``mode="python"`` keeps datetimes and other rich scalars as objects.
    """
    if isinstance(value, msgspec.Struct):
        cls = type(value)
        out: dict[str, Any] = {}
        config = cls.__struct_config__
        for name, field in _dump_order(cls):
            if field is None:
                out[name] = config.tag
                continue
            item = getattr(value, field.name)
            if item is msgspec.UNSET:
                continue
            if exclude_none and item is None:
                continue
            if exclude_defaults and _is_default(field, item):
                continue
            out[field.encode_name if by_alias else field.name] = to_plain(
                item,
                mode=mode,
                by_alias=by_alias,
                exclude_none=exclude_none,
                exclude_defaults=exclude_defaults,
            )
        return out
    if isinstance(value, Mapping):
        return {
            key: to_plain(
                item,
                mode=mode,
                by_alias=by_alias,
                exclude_none=exclude_none,
                exclude_defaults=exclude_defaults,
            )
            for key, item in value.items()
            if not (exclude_none and item is None)
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [
            to_plain(
                item,
                mode=mode,
                by_alias=by_alias,
                exclude_none=exclude_none,
                exclude_defaults=exclude_defaults,
            )
            for item in value
        ]
    if mode == "json" and isinstance(value, (*_PYTHON_TYPES, bytes)):
        return msgspec.to_builtins(value)
    return value


def _filter(
    data: dict[str, Any],
    include: Iterable[str] | Mapping[str, Any] | None,
    exclude: Iterable[str] | Mapping[str, Any] | None,
) -> dict[str, Any]:
    if include is not None:
        keep = set(include)
        data = {k: v for k, v in data.items() if k in keep}
    if exclude is not None:
        drop = set(exclude)
        data = {k: v for k, v in data.items() if k not in drop}
    return data


_WIRE_NAMES: dict[type[Any], dict[str, str]] = {}


def _renamed_fields(cls: type[msgspec.Struct]) -> dict[str, str]:
    """Wire name -> attribute name, for the fields whose two names differ."""
    names = _WIRE_NAMES.get(cls)
    if names is None:
        names = _WIRE_NAMES[cls] = {
            field.encode_name: field.name
            for field in _fields(cls)
            if field.encode_name != field.name
        }
    return names


def wire_names(value: Any, cls: Any) -> Any:
    """``value`` with attribute-named keys renamed to the wire names ``cls`` decodes.

    A pydantic dump without ``by_alias`` keys a renamed field by its attribute name
    (``api_model_endpoint_type``); this lets such a dump validate back. Returns ``value``
    itself when nothing needed renaming.
    """
    info = _TYPE_INFO.get(cls)
    if info is None:
        info = _TYPE_INFO[cls] = msgspec.inspect.type_info(cls)
    return _rename(value, info)


_TYPE_INFO: dict[Any, Any] = {}


def _rename(value: Any, info: Any) -> Any:
    mi = msgspec.inspect
    if isinstance(info, mi.Metadata):
        return _rename(value, info.type)
    if isinstance(info, mi.StructType) and isinstance(value, Mapping):
        fields = {f.name: f for f in info.fields}
        out: dict[str, Any] = {}
        changed = False
        for key, item in value.items():
            field = fields.get(key)
            if field is None:
                out[key] = item
                continue
            renamed = _rename(item, field.type)
            out[field.encode_name] = renamed
            changed = changed or field.encode_name != key or renamed is not item
        return out if changed else value
    if isinstance(info, mi.UnionType) and isinstance(value, Mapping):
        for member in info.types:
            if isinstance(member, mi.StructType) and (
                member.tag_field is None or value.get(member.tag_field) == member.tag
            ):
                return _rename(value, member)
        return value
    sequences = mi.ListType | mi.VarTupleType | mi.SetType | mi.FrozenSetType
    if isinstance(info, sequences) and isinstance(value, list | tuple):
        items = [_rename(item, info.item_type) for item in value]
        same = all(a is b for a, b in zip(items, value, strict=True))
        return value if same else items
    if isinstance(info, mi.DictType) and isinstance(value, Mapping):
        mapped = {k: _rename(v, info.value_type) for k, v in value.items()}
        return value if all(mapped[k] is value[k] for k in value) else mapped
    return value


def json_schema(cls: type[msgspec.Struct], *, by_alias: bool = True) -> dict[str, Any]:
    """The JSON schema of ``cls`` as pydantic's ``model_json_schema()`` lays one out: the
    model's own schema at the top, the structs it holds under ``$defs``."""
    (top,), components = msgspec.json.schema_components([cls], ref_template="#/$defs/{name}")
    name = str(top["$ref"]).rsplit("/", 1)[-1]
    schema: dict[str, Any] = dict(components.pop(name))
    if not by_alias:
        renames = {f.encode_name: f.name for f in _fields(cls) if f.encode_name != f.name}
        schema["properties"] = {
            renames.get(k, k): v for k, v in schema.get("properties", {}).items()
        }
        if "required" in schema:
            schema["required"] = [renames.get(k, k) for k in schema["required"]]
    if components:
        schema["$defs"] = components
    return schema


class ModelField(msgspec.structs.FieldInfo):
    """One entry of ``Model.model_fields``: msgspec's field description, readable with the
    attribute names of pydantic's ``FieldInfo`` as well (``annotation``, ``alias``,
    ``is_required()``), since programs written for the official models read those."""

    @property
    def annotation(self) -> Any:
        """The field's type (msgspec calls it ``type``)."""
        return self.type

    @property
    def alias(self) -> str | None:
        """The wire name when it differs from the attribute name, else None (as pydantic)."""
        return self.encode_name if self.encode_name != self.name else None

    def is_required(self) -> bool:
        """Whether a value must be given: the field has no default."""
        return self.required


_MODEL_FIELDS: dict[type[Any], dict[str, ModelField]] = {}


class _FieldsOfClass:
    """``Model.model_fields``: the fields by name, read from the class (or an instance)."""

    def __get__(self, instance: object, owner: type[Any]) -> dict[str, ModelField]:
        fields = _MODEL_FIELDS.get(owner)
        if fields is None:
            fields = _MODEL_FIELDS[owner] = {
                f.name: ModelField(
                    name=f.name,
                    encode_name=f.encode_name,
                    type=f.type,
                    default=f.default,
                    default_factory=f.default_factory,
                )
                for f in _fields(owner)
            }
        return dict(fields)


class BaseModel(msgspec.Struct, kw_only=True):
    """A msgspec struct that also answers to the pydantic-style calls programs use."""

    model_fields: ClassVar[_FieldsOfClass] = _FieldsOfClass()

    @property
    def model_fields_set(self) -> set[str]:
        """The fields that hold a value; every decoded field counts as set (see the module)."""
        return {f.name for f in _fields(type(self)) if getattr(self, f.name) is not msgspec.UNSET}

    if not TYPE_CHECKING:  # a run-time fallback only: type checkers keep flagging typos

        def __getattr__(self, name: str) -> Any:
            """A field's wire name, where it differs from the attribute, reads the raw value.

            The official models keep every key the server sent as an attribute too, so
            ``agent.model_settings`` (wire) works beside ``agent.api_model_settings`` and
            ``llm_config.model_endpoint`` beside ``api_model_endpoint``, the first as the plain
            JSON value. Programs written against the server's field names rely on that.
            """
            field = _renamed_fields(type(self)).get(name)
            if field is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            return to_plain(getattr(self, field), mode="json", by_alias=True)

    # --- pydantic interop (pydantic is imported only when pydantic itself calls) -------------

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        """Lets pydantic validate and dump this struct: as a field of a pydantic model, in a
        ``TypeAdapter``, as a FastAPI ``response_model``."""
        from ._pydantic import core_schema_of

        return core_schema_of(cls)

    @classmethod
    def __get_pydantic_json_schema__(cls, core: Any, handler: Any) -> Any:
        """The JSON schema pydantic (and FastAPI's OpenAPI document) shows for this struct."""
        from ._pydantic import json_schema_of

        return json_schema_of(cls, handler)

    @classmethod
    def model_json_schema(
        cls,
        by_alias: bool = True,
        ref_template: str = "#/$defs/{model}",
        schema_generator: Any = None,
        mode: Literal["validation", "serialization"] = "validation",
    ) -> dict[str, Any]:
        """The JSON schema of this model, laid out as pydantic's (wire names by default).

        ``mode`` gives the same schema either way: a model decodes and encodes the same shape.
        A custom pydantic ``schema_generator`` cannot drive msgspec's schema and is refused.
        """
        if schema_generator is not None:
            raise TypeError(
                "model_json_schema(schema_generator=...) is not supported: the schema comes "
                "from msgspec; use pydantic.TypeAdapter(Model).json_schema(schema_generator=...)"
            )
        schema = json_schema(cls, by_alias=by_alias)
        if ref_template != "#/$defs/{model}":
            prefix = ref_template.split("{model}")[0]
            text = _json.encode(schema).decode().replace('"#/$defs/', '"' + prefix)
            schema = msgspec.json.decode(text)
        return schema

    # --- turning a model into data ---------------------------------------------------------

    def model_dump(
        self,
        *,
        mode: Literal["json", "python"] | str = "python",
        include: Iterable[str] | Mapping[str, Any] | None = None,
        exclude: Iterable[str] | Mapping[str, Any] | None = None,
        by_alias: bool | None = None,
        exclude_unset: bool = False,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
        round_trip: bool = False,
        warnings: bool | Literal["none", "warn", "error"] = True,
        context: Any | None = None,
        serialize_as_any: bool = False,
    ) -> dict[str, Any]:
        """This model as a dict, keyed by attribute name unless ``by_alias`` asks for wire names."""
        data = to_plain(
            self,
            mode=mode,
            by_alias=bool(by_alias),
            exclude_none=exclude_none,
            exclude_defaults=exclude_defaults,
        )
        return _filter(data, include, exclude)

    def model_dump_json(
        self,
        *,
        indent: int | None = None,
        include: Iterable[str] | Mapping[str, Any] | None = None,
        exclude: Iterable[str] | Mapping[str, Any] | None = None,
        by_alias: bool | None = None,
        exclude_unset: bool = False,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
        round_trip: bool = False,
        warnings: bool | Literal["none", "warn", "error"] = True,
        context: Any | None = None,
        serialize_as_any: bool = False,
    ) -> str:
        """This model as a JSON string (compact unless ``indent`` is given)."""
        data = self.model_dump(
            mode="json",
            include=include,
            exclude=exclude,
            by_alias=by_alias,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
        )
        raw = _json.encode(data)
        if indent is not None:
            raw = msgspec.json.format(raw, indent=indent)
        return raw.decode()

    def to_dict(
        self,
        *,
        mode: Literal["json", "python"] = "python",
        use_api_names: bool = True,
        exclude_unset: bool = True,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
        warnings: bool = True,
    ) -> dict[str, object]:
        """This model as a dict keyed by the API's field names (the wire names)."""
        return self.model_dump(
            mode=mode,
            by_alias=use_api_names,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
        )

    def to_json(
        self,
        *,
        indent: int | None = 2,
        use_api_names: bool = True,
        exclude_unset: bool = True,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
        warnings: bool = True,
    ) -> str:
        """This model as JSON keyed by the API's field names, indented by 2 by default."""
        return self.model_dump_json(
            indent=indent,
            by_alias=use_api_names,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
        )

    # --- building a model -------------------------------------------------------------------

    @classmethod
    def model_validate(
        cls: type[_M],
        obj: Any,
        *,
        strict: bool | None = None,
        from_attributes: bool | None = None,
        context: Any | None = None,
    ) -> _M:
        """Build and check an instance from plain data (a dict as the API would send it)."""
        if isinstance(obj, cls):
            return obj
        return msgspec.convert(obj, cls, strict=bool(strict), from_attributes=bool(from_attributes))

    @classmethod
    def model_validate_json(
        cls: type[_M],
        json_data: str | bytes | bytearray,
        *,
        strict: bool | None = None,
        context: Any | None = None,
    ) -> _M:
        """Build and check an instance from a JSON document."""
        return msgspec.json.decode(json_data, type=cls, strict=strict is not False)

    @classmethod
    def model_construct(cls: type[_M], _fields_set: set[str] | None = None, **values: Any) -> _M:
        """Build an instance from trusted data; nested dicts are converted as in a decode."""
        return msgspec.convert(values, cls, strict=False)

    construct = model_construct

    def model_copy(self: _M, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> _M:
        """A copy, with ``update`` applied; ``deep=True`` copies nested data too."""
        if deep:
            copied: _M = msgspec.convert(
                msgspec.to_builtins(self, builtin_types=_PYTHON_TYPES), type(self), strict=False
            )
        else:
            copied = msgspec.structs.replace(self)
        if update:
            copied = msgspec.structs.replace(copied, **dict(update))
        return copied
