"""Describe the public surface of the official ``letta-client`` SDK as JSON.

Run ``nox -s surface`` (it installs ``letta-client==1.12.1`` into that session alone) to rewrite
``tools/official_surface.json``. The package never imports this tool or the official SDK; the
JSON is the checked-in record that the type generator (``tools/official_types.py``) and the
compatibility tests read, so both work without the official SDK installed.

Why introspect instead of reading the SDK's source: the facts wanted are the ones a program
written for the SDK depends on at run time (which names import from where, what fields a
model has, which keyword lands in the path, the query or the body). Asking the live objects
gives exactly those, and it cannot drift into copying the SDK's text.

``types``
    Every public name of ``letta_client.types`` and of each subpackage's ``__init__``: its
    kind (``model`` for a pydantic model, ``typeddict``, ``alias`` for a union, ``Literal`` or
    other alias) and, for the two class kinds, its fields. Annotations are rendered as
    normalised strings in which other surface types appear by surface name: ``AgentState`` for
    a top-level name, ``agents.Message`` for one exported by a subpackage, and
    ``agent_state.Memory`` (defining module, then class) for the helper classes and aliases
    that public classes refer to. Those helpers are listed under ``helpers`` in the same form,
    so a generator can build them.

``methods``
    Every method reachable from ``AsyncLetta(...)`` through its resource attributes, plus the
    client's own methods: parameters in order with their kind, default and annotation, the
    return annotation, and for resource methods the HTTP method, the route and where each
    parameter lands. Routes and locations come from running the method against an
    ``httpx.MockTransport`` with a distinctive value per parameter and looking where each value
    shows up in the recorded request. The route is then matched against the server's OpenAPI
    document (``tests/fixtures/openapi.json``) to spell it as the server does and name its
    ``operationId``; routes newer than that server get ``null``. A method the SDK marks
    deprecated carries the message under ``deprecated``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib
import inspect
import json
import re
import sys
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tools" / "official_surface.json"
SPEC = ROOT / "tests" / "fixtures" / "openapi.json"

PACKAGE = "letta_client.types"
SUBPACKAGES = (
    "agents",
    "archives",
    "blocks",
    "conversations",
    "folders",
    "mcp_servers",
    "models",
    "runs",
    "steps",
    "templates",
)
OPTIONS = ("extra_headers", "extra_query", "extra_body", "timeout")
"""Per-request options every resource method takes; they are described but not probed."""

CLIENT_METHODS = (
    "health",
    "get",
    "post",
    "patch",
    "put",
    "delete",
    "get_api_list",
    "request",
    "with_options",
    "copy",
    "close",
    "is_closed",
    "platform_headers",
)
"""Methods of the client object itself that programs call."""

ROUTED_CLIENT_METHODS = ("health",)
"""Client-level methods that call one route of their own (probed like resource methods)."""


# --- rendering annotations ----------------------------------------------------------------


class Surface:
    """Names of the surface objects, and the renderer that uses them."""

    def __init__(self) -> None:
        import pydantic
        import typing_extensions

        self._pydantic = pydantic
        self._te = typing_extensions
        self.class_names: dict[type, str] = {}
        self.alias_names: list[tuple[Any, str, str]] = []  # (object, surface name, module)
        self.pending: list[str] = []
        self.helpers: dict[str, Any] = {}
        from letta_client import _types as sdk_types

        self._file_types = sdk_types.FileTypes
        self._sequence_not_str = getattr(sdk_types, "SequenceNotStr", None)

    # -- naming --

    @staticmethod
    def module_key(module: str) -> str:
        """``letta_client.types.agents.message`` -> ``agents.message``."""
        return module[len(PACKAGE) + 1 :] if module.startswith(PACKAGE + ".") else module

    def kind_of(self, obj: Any) -> str | None:
        if isinstance(obj, type):
            if issubclass(obj, self._pydantic.BaseModel):
                return "model"
            if self._te.is_typeddict(obj):
                return "typeddict"
            return None
        if isinstance(obj, types.ModuleType) or (callable(obj) and not _is_typing(obj)):
            return None
        return "alias" if _is_typing(obj) else None

    def register_public(self, package: str, name: str, obj: Any) -> str:
        surface = name if package == PACKAGE else f"{self.module_key(package)}.{name}"
        if isinstance(obj, type):
            self.class_names.setdefault(obj, surface)
        else:
            self.alias_names.append((obj, surface, package))
        return surface

    def register_module_aliases(self, module_name: str) -> None:
        """Make the aliases a defining module lists in ``__all__`` renderable by name."""
        module = sys.modules[module_name]
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if obj is None or isinstance(obj, type) or not _is_typing(obj):
                continue
            # A package re-exporting the alias already named it. typing caches unions, though,
            # so two sibling modules that each define the same union hold one object: each
            # module's name is recorded, as code imports it from there.
            if any(
                existing is obj and module_name.startswith(package + ".")
                for existing, _, package in self.alias_names
            ):
                continue
            surface = f"{self.module_key(module_name)}.{name}"
            if any(known == surface for _, known, _ in self.alias_names):
                continue
            self.alias_names.append((obj, surface, module_name))
            self.helpers.setdefault(surface, obj)
            self.pending.append(surface)

    def class_name(self, cls: type) -> str:
        known = self.class_names.get(cls)
        if known is not None:
            return known
        if cls.__module__.startswith(PACKAGE + ".") and self.kind_of(cls):
            surface = f"{self.module_key(cls.__module__)}.{cls.__name__}"
            self.class_names[cls] = surface
            self.helpers[surface] = cls
            self.pending.append(surface)
            self.register_module_aliases(cls.__module__)
            return surface
        return cls.__name__

    def alias_for(self, obj: Any, context: str | None) -> str | None:
        """The surface name of an alias equal to ``obj``, preferring the context module's."""
        # Only unions, multi-valued Literals and Annotated forms are named by equality: a
        # ``dict[str, object]`` equal to some alias is not that alias.
        origin = typing.get_origin(obj)
        args = typing.get_args(obj)
        if origin in (typing.Union, types.UnionType, typing.Literal, self._te.Literal):
            if len(args) < 2:
                return None
        elif origin is not self._te.Annotated and origin is not typing.Annotated:
            return None
        found: list[tuple[str, str]] = []
        for candidate, surface, module in self.alias_names:
            try:
                same = candidate is obj or candidate == obj
            except Exception:
                same = False
            if same:
                found.append((surface, module))
        if not found:
            return None
        for surface, module in found:
            if context is not None and module == context:
                return surface
        return found[0][0]

    # -- rendering --

    def render(self, ann: Any, context: str | None = None, *, top: bool = False) -> str:
        """``ann`` as a normalised annotation string using surface names."""
        te = self._te
        if not top:
            alias = self.alias_for(ann, context)
            if alias is not None:
                return alias
        if ann is type(None) or ann is None:
            return "None"
        if ann is Any or ann is te.Any:
            return "Any"
        if isinstance(ann, str):
            return ann
        if ann is self._file_types:
            return "FileTypes"
        if isinstance(ann, typing.TypeVar):
            return ann.__name__
        origin = typing.get_origin(ann)
        args = typing.get_args(ann)
        if origin is te.Annotated or origin is typing.Annotated:
            return self.render(args[0], context, top=False)
        if origin in (te.Required, te.NotRequired, typing.ClassVar):
            return self.render(args[0], context, top=False)
        if origin in (typing.Literal, te.Literal):
            return "Literal[" + ", ".join(_literal(v) for v in args) + "]"
        if origin in (typing.Union, types.UnionType):
            return self._render_union(args, context)
        if origin is not None:
            name = _generic_name(origin, self._sequence_not_str)
            if not args:
                return name
            inner = ", ".join(self.render(a, context, top=False) for a in args)
            return f"{name}[{inner}]"
        if self._sequence_not_str is not None and ann is self._sequence_not_str:
            return "Sequence"
        if isinstance(ann, type):
            if ann is dt.datetime:
                return "datetime"
            if ann is dt.date:
                return "date"
            if ann.__module__ == "builtins":
                return ann.__name__
            return self.class_name(ann)
        return repr(ann)

    def _render_union(self, args: tuple[Any, ...], context: str | None) -> str:
        members = [a for a in args if a is not type(None)]
        nullable = len(members) != len(args)
        # ``Optional[SomeUnion]`` is flattened by Python; name the alias it came from.
        if nullable and len(members) > 1:
            alias = self.alias_for(typing.Union[tuple(members)], context)  # noqa: UP007
            if alias is not None:
                return f"{alias} | None"
        parts = [self.render(a, context, top=False) for a in members]
        if nullable:
            parts.append("None")
        return " | ".join(dict.fromkeys(parts))

    # -- describing a type --

    def describe(self, surface: str, obj: Any, module: str) -> dict[str, Any]:
        kind = self.kind_of(obj)
        entry: dict[str, Any] = {"module": module, "name": surface.rsplit(".", 1)[-1]}
        entry["qualname"] = surface
        entry["kind"] = kind
        context = obj.__module__ if isinstance(obj, type) else module
        if isinstance(obj, type):
            entry["defined_in"] = obj.__module__
        if kind == "model":
            entry["fields"] = self._model_fields(obj, context)
        elif kind == "typeddict":
            entry["fields"] = self._typeddict_fields(obj, context)
        else:
            entry["target"] = self.render(obj, context, top=True)
            discriminator = _discriminator(obj, self._te)
            if discriminator:
                entry["discriminator"] = discriminator
        return entry

    def _model_fields(self, cls: Any, context: str) -> list[dict[str, Any]]:
        fields = []
        for name, info in cls.model_fields.items():
            # pydantic has resolved the annotation already (top-level metadata moved to info).
            ann = info.annotation
            field: dict[str, Any] = {"name": name}
            if info.alias and info.alias != name:
                field["alias"] = info.alias
            field["annotation"] = self.render(ann, context)
            field["required"] = info.is_required()
            discriminator = info.discriminator or _discriminator(ann, self._te)
            if isinstance(discriminator, str):
                field["discriminator"] = discriminator
            fields.append(field)
        return fields

    def _typeddict_fields(self, cls: Any, context: str) -> list[dict[str, Any]]:
        hints = typing.get_type_hints(cls, include_extras=True)
        # With postponed annotations the runtime cannot see ``Required[...]`` inside a string,
        # so ``__required_keys__`` is unreliable: read the markers from the resolved hints.
        total = bool(getattr(cls, "__total__", True))
        fields = []
        for name, ann in hints.items():
            field: dict[str, Any] = {"name": name}
            alias = _property_alias(ann, self._te)
            if alias and alias != name:
                field["alias"] = alias
            field["annotation"] = self.render(ann, context)
            marked = _is_required_marked(ann, self._te)
            field["required"] = marked or (total and not _is_not_required(ann, self._te))
            field["Required"] = marked
            fields.append(field)
        return fields


def _is_typing(obj: Any) -> bool:
    return typing.get_origin(obj) is not None or type(obj).__module__ in ("typing", "types")


def _literal(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _generic_name(origin: Any, sequence_not_str: Any) -> str:
    if sequence_not_str is not None and origin is sequence_not_str:
        return "Sequence"
    names = {
        list: "list",
        dict: "dict",
        tuple: "tuple",
        set: "set",
        frozenset: "frozenset",
        type: "type",
    }
    if origin in names:
        return names[origin]
    from collections import abc

    for abstract in (abc.Iterable, abc.Sequence, abc.Mapping, abc.Iterator, abc.AsyncIterator):
        if origin is abstract:
            return abstract.__name__
    return getattr(origin, "__name__", repr(origin))


def _property_infos(ann: Any, te: Any) -> Iterable[Any]:
    """The ``PropertyInfo`` metadata an annotation carries, looking through Required/Optional."""
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if origin in (te.Required, te.NotRequired):
        yield from _property_infos(args[0], te)
    elif origin is te.Annotated or origin is typing.Annotated:
        for meta in getattr(ann, "__metadata__", ()):
            if type(meta).__name__ == "PropertyInfo":
                yield meta
        yield from _property_infos(args[0], te)
    elif origin in (typing.Union, types.UnionType):
        for arg in args:
            yield from _property_infos(arg, te)


def _property_alias(ann: Any, te: Any) -> str | None:
    for info in _property_infos(ann, te):
        if getattr(info, "alias", None):
            return str(info.alias)
    return None


def _discriminator(ann: Any, te: Any) -> str | None:
    for info in _property_infos(ann, te):
        if getattr(info, "discriminator", None):
            return str(info.discriminator)
    return None


def _is_not_required(ann: Any, te: Any) -> bool:
    origin = typing.get_origin(ann)
    if origin is te.NotRequired:
        return True
    if origin is te.Annotated or origin is typing.Annotated:
        return _is_not_required(typing.get_args(ann)[0], te)
    return False


def _is_required_marked(ann: Any, te: Any) -> bool:
    origin = typing.get_origin(ann)
    if origin is te.Required:
        return True
    if origin is te.Annotated or origin is typing.Annotated:
        return _is_required_marked(typing.get_args(ann)[0], te)
    return False


def collect_types(surface: Surface) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The public types and the helpers they refer to, both described."""
    public: list[tuple[str, Any, str]] = []
    renamed: list[tuple[str, Any, str]] = []
    for package in (PACKAGE, *(f"{PACKAGE}.{sub}" for sub in SUBPACKAGES)):
        module = importlib.import_module(package)
        for name in sorted(vars(module)):
            obj = getattr(module, name)
            if name.startswith("_") or surface.kind_of(obj) is None:
                continue
            if name in ("annotations",):
                continue
            if isinstance(obj, type) and name != obj.__name__:
                # ``X = SomeClass`` exported under another name: an alias, named once the
                # class has its own surface name.
                renamed.append((name, obj, package))
                continue
            public.append((surface.register_public(package, name, obj), obj, package))
    for _, obj, _ in public:
        if isinstance(obj, type):
            surface.register_module_aliases(obj.__module__)
    described = [surface.describe(name, obj, package) for name, obj, package in public]
    for name, obj, package in renamed:
        qualname = name if package == PACKAGE else f"{surface.module_key(package)}.{name}"
        described.append(
            {
                "module": package,
                "name": name,
                "qualname": qualname,
                "kind": "alias",
                "target": surface.class_name(obj),
            }
        )
    described.sort(key=lambda e: (e["module"], e["name"]))
    helpers: dict[str, dict[str, Any]] = {}
    while surface.pending:
        name = surface.pending.pop(0)
        if name in helpers:
            continue
        obj = surface.helpers[name]
        module = obj.__module__ if isinstance(obj, type) else _defining_module(name)
        helpers[name] = surface.describe(name, obj, module)
    return described, [helpers[k] for k in sorted(helpers)]


def _defining_module(surface_name: str) -> str:
    return f"{PACKAGE}.{surface_name.rsplit('.', 1)[0]}"


# --- methods ------------------------------------------------------------------------------


class Recorder:
    """An ``httpx.MockTransport`` handler that keeps every request it answers."""

    def __init__(self) -> None:
        self.requests: list[Any] = []

    def __call__(self, request: Any) -> Any:
        import httpx

        self.requests.append(request)
        accept = request.headers.get("accept", "")
        if "text/event-stream" in accept:
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=b"")
        return httpx.Response(200, json={})


def _default(param: inspect.Parameter) -> Any:
    default = param.default
    if default is inspect.Parameter.empty:
        return "required"
    kind = type(default).__name__
    if kind == "Omit":
        return "omit"
    if kind == "NotGiven":
        return "not_given"
    if default is None:
        return "None"
    if isinstance(default, (bool, int, float, str)):
        return {"literal": default}
    return {"literal": repr(default)}


class Probe:
    """Builds distinctive values for a method's parameters and finds them in a request."""

    def __init__(self, file_types: Any) -> None:
        self.tokens: dict[str, Any] = {}
        self._n = 0
        self._file_types = file_types

    def value_for(self, name: str, ann: Any, te: Any) -> Any:
        self._n += 1
        token = f"zq{self._n}x{name.replace('_', '')}"
        value = self._value(ann, token, te)
        self.tokens[name] = value
        return value

    def _value(self, ann: Any, token: str, te: Any) -> Any:
        if ann is self._file_types:
            return (f"{token}.bin", token.encode())
        origin = typing.get_origin(ann)
        args = typing.get_args(ann)
        if origin in (te.Annotated, typing.Annotated, te.Required, te.NotRequired):
            return self._value(args[0], token, te)
        if origin in (typing.Union, types.UnionType):
            members = [a for a in args if a is not type(None)]
            for preferred in (str, int, float, bool):
                if preferred in members:
                    return self._value(preferred, token, te)
            return self._value(members[0], token, te)
        if origin in (typing.Literal, te.Literal):
            return args[0]
        if ann is str:
            return token
        if ann is bool:
            return True
        if ann is int:
            return 900000 + self._n
        if ann is float:
            return 0.25 + self._n
        if ann is dt.datetime:
            return dt.datetime(2001, 2, 3, 4, 5, self._n % 60)
        if ann is bytes or type(ann).__name__ == "_UnionGenericAlias":
            return token.encode()
        from collections import abc

        if origin in (list, Sequence, abc.Sequence, Iterable, abc.Iterable) or (
            origin is not None and getattr(origin, "__name__", "") == "SequenceNotStr"
        ):
            return [self._value(args[0], token, te)] if args else [token]
        if origin in (dict, Mapping, abc.Mapping):
            return {f"k{token}": token}
        if isinstance(ann, type) and te.is_typeddict(ann):
            return {"probe": token}
        if isinstance(ann, type) and issubclass(ann, bytes):
            return token.encode()
        return token

    @staticmethod
    def locate(value: Any, name: str, request: Any) -> dict[str, Any]:
        """Where ``value`` (or the parameter's name, for booleans and literals) landed."""
        url = urlsplit(str(request.url))
        path = unquote(url.path)
        query = parse_qsl(url.query, keep_blank_values=True)
        content = request.content or b""
        body: Any = None
        if content:
            try:
                body = json.loads(content)
            except ValueError:
                body = None
        needle = _needle(value)
        if needle is not None and needle in path.split("/"):
            return {"in": "path"}
        for key, item in query:
            if needle is not None and needle in item:
                return {"in": "query", "key": key}
        for key, item in request.headers.items():
            if needle is not None and needle in item and key.lower() != "authorization":
                return {"in": "header", "key": key}
        if isinstance(body, dict):
            for key, item in body.items():
                if needle is not None and needle in json.dumps(item, default=str):
                    return {"in": "body", "key": key}
            if name in body:
                return {"in": "body", "key": name}
        elif (needle is not None and needle.encode() in content) or (
            f'name="{name}"'.encode() in content
        ):
            return {"in": "body", "encoding": "multipart"}
        if name in {k for k, _ in query}:
            return {"in": "query", "key": name}
        return {"in": "unknown"}


def _needle(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value if value.startswith("zq") else None
    if isinstance(value, dt.datetime):
        return value.isoformat()[:19]
    if isinstance(value, tuple) and value:
        return _needle(value[-1])
    if isinstance(value, list) and value:
        return _needle(value[0])
    if isinstance(value, dict) and value:
        return _needle(next(iter(value.values())))
    return None


class Routes:
    """The server's routes, for spelling a recorded path as the OpenAPI document does."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.entries: list[tuple[str, str, re.Pattern[str], str | None]] = []
        for route, operations in spec["paths"].items():
            pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(route)) + "$")
            for method, operation in operations.items():
                if isinstance(operation, dict):
                    self.entries.append(
                        (method.upper(), route, pattern, operation.get("operationId"))
                    )

    def match(self, method: str, template: str) -> tuple[str, str | None] | None:
        shape = re.sub(r"\{[^}]+\}", "{}", template)
        candidates = []
        for verb, route, _pattern, operation_id in self.entries:
            if verb != method:
                continue
            if re.sub(r"\{[^}]+\}", "{}", route).rstrip("/") == shape.rstrip("/"):
                candidates.append((route, operation_id))
        if not candidates:
            return None
        # Prefer the exact trailing-slash spelling when the server has both.
        for route, operation_id in candidates:
            if route == template or re.sub(r"\{[^}]+\}", "{}", route) == shape:
                return route, operation_id
        return candidates[0]


def _resources(client: Any, path: str) -> Iterable[tuple[str, Any]]:
    from letta_client._resource import AsyncAPIResource

    for name in sorted(dir(type(client))):
        if name.startswith("_") or name in ("with_raw_response", "with_streaming_response"):
            continue
        value = getattr(client, name)
        if isinstance(value, AsyncAPIResource):
            yield from _resources(value, f"{path}.{name}" if path else name)
        elif isinstance(client, AsyncAPIResource) and inspect.ismethod(value):
            yield f"{path}.{name}", value


def _signature(method: Any, surface: Surface) -> tuple[inspect.Signature, list[dict[str, Any]]]:
    try:
        signature = inspect.signature(method, eval_str=True)
    except Exception:
        signature = inspect.signature(method)
    context = getattr(method, "__module__", None)
    params = []
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            kind = "var_positional" if param.kind is param.VAR_POSITIONAL else "var_keyword"
        elif param.kind is param.KEYWORD_ONLY:
            kind = "keyword_only"
        elif param.kind is param.POSITIONAL_ONLY:
            kind = "positional_only"
        else:
            kind = "positional_or_keyword"
        entry: dict[str, Any] = {"name": param.name, "kind": kind, "default": _default(param)}
        if param.annotation is not inspect.Parameter.empty:
            entry["annotation"] = surface.render(param.annotation, context)
        params.append(entry)
    return signature, params


def _returns(signature: inspect.Signature, surface: Surface, context: str | None) -> str | None:
    if signature.return_annotation is inspect.Signature.empty:
        return None
    return surface.render(signature.return_annotation, context)


async def _probe(
    method: Any,
    signature: inspect.Signature,
    recorder: Recorder,
    surface: Surface,
    changes: dict[str, Any] | None = None,
) -> tuple[Any, Probe]:
    te = surface._te
    probe = Probe(surface._file_types)
    kwargs: dict[str, Any] = {}
    for param in signature.parameters.values():
        if param.name in OPTIONS or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        ann = param.annotation
        if param.name == "stream" and ann is not inspect.Parameter.empty:
            kwargs["stream"] = True
            continue
        kwargs[param.name] = probe.value_for(param.name, ann, te)
    for name, value in (changes or {}).items():
        if value is _DROP:
            kwargs.pop(name, None)
        else:
            kwargs[name] = value
    before = len(recorder.requests)
    try:
        result = method(**kwargs)
        if inspect.isawaitable(result):
            result = await result
        close = getattr(result, "close", None)
        if close is not None and inspect.iscoroutinefunction(close):
            await close()
    except Exception:
        pass
    request = recorder.requests[before] if len(recorder.requests) > before else None
    return request, probe


_DROP = object()


def _parts(request: Any) -> dict[tuple[str, str], str]:
    """A request's query items, JSON body keys and headers, for comparing two requests."""
    url = urlsplit(str(request.url))
    found: dict[tuple[str, str], str] = {}
    for key, value in parse_qsl(url.query, keep_blank_values=True):
        found[("query", key)] = found.get(("query", key), "") + value
    try:
        body = json.loads(request.content or b"null")
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key, value in body.items():
            found[("body", key)] = json.dumps(value, sort_keys=True, default=str)
    for key, value in request.headers.items():
        if key.lower() not in ("content-length", "x-stainless-retry-count", "idempotency-key"):
            found[("header", key.lower())] = value
    return found


def _difference(first: Any, second: Any) -> dict[str, Any]:
    """Where two requests that differ in one parameter differ."""
    a, b = _parts(first), _parts(second)
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            return {"in": key[0], "key": key[1]}
    return {"in": "unknown"}


def _route(request: Any, probe: Probe, locations: dict[str, dict[str, Any]]) -> str:
    path = unquote(urlsplit(str(request.url)).path)
    segments = path.split("/")
    for name, where in locations.items():
        if where.get("in") != "path":
            continue
        needle = _needle(probe.tokens[name])
        segments = [f"{{{name}}}" if s == needle else s for s in segments]
    return "/".join(segments)


def _page_info(return_ann: Any) -> dict[str, str] | None:
    origin = typing.get_origin(return_ann)
    if origin is None or getattr(origin, "__name__", "") != "AsyncPaginator":
        return None
    item, page = typing.get_args(return_ann)
    page_origin = typing.get_origin(page) or page
    return {"page": getattr(page_origin, "__name__", repr(page)), "item": item}


async def collect_methods(surface: Surface, spec: dict[str, Any]) -> list[dict[str, Any]]:
    import httpx
    from letta_client import AsyncLetta

    recorder = Recorder()
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    client = AsyncLetta(
        api_key="probe-key", base_url="http://probe.invalid", max_retries=0, http_client=http
    )
    routes = Routes(spec)
    methods: list[dict[str, Any]] = []
    for name in CLIENT_METHODS:
        member = getattr(client, name, None)
        if member is None or not callable(member):
            continue
        signature, params = _signature(member, surface)
        entry = {
            "path": name,
            "client_level": True,
            "async": inspect.iscoroutinefunction(member),
            "parameters": params,
            "returns": _returns(signature, surface, getattr(member, "__module__", None)),
        }
        if name in ROUTED_CLIENT_METHODS:
            # A client method with its own route: probe it like a resource method.
            request, _ = await _probe(member, signature, recorder, surface)
            if request is not None:
                template = unquote(urlsplit(str(request.url)).path)
                matched = routes.match(request.method, template)
                entry["http"] = {
                    "method": request.method,
                    "route": matched[0] if matched else template,
                    "operation_id": matched[1] if matched else None,
                    "accept": request.headers.get("accept"),
                }
        methods.append(entry)
    for path, method in _resources(client, ""):
        signature, params = _signature(method, surface)
        context = method.__module__
        entry: dict[str, Any] = {
            "path": path,
            "client_level": False,
            "async": inspect.iscoroutinefunction(method),
            "parameters": params,
            "returns": _returns(signature, surface, context),
        }
        # ``typing_extensions.deprecated`` leaves its message on the function it marks.
        notice = getattr(method, "__deprecated__", None)
        if notice is not None:
            entry["deprecated"] = notice
        overloads = typing.get_overloads(method.__func__)
        if overloads:
            entry["overloads"] = [
                _returns(inspect.signature(o, eval_str=True), surface, context) for o in overloads
            ]
        returns = entry["returns"] or ""
        entry["stream"] = "AsyncStream[" in returns
        page = _page_info(signature.return_annotation)
        if page is not None:
            entry["paginated"] = {
                "page": page["page"],
                "item": surface.render(page["item"], context, top=False),
            }
        else:
            entry["paginated"] = None
        request, probe = await _probe(method, signature, recorder, surface)
        if request is None:
            entry["http"] = None
            methods.append(entry)
            continue
        locations = {n: probe.locate(v, n, request) for n, v in probe.tokens.items()}
        for name, where in locations.items():
            if where["in"] != "unknown":
                continue
            # Booleans and one-value literals cannot be found by value: send the request
            # again with that parameter changed and see what changes.
            param = signature.parameters[name]
            value = probe.tokens[name]
            change = _DROP if param.default is not inspect.Parameter.empty else None
            if isinstance(value, bool):
                change = not value
            if change is None:
                continue
            again, _ = await _probe(method, signature, recorder, surface, {name: change})
            if again is not None:
                locations[name] = _difference(request, again)
        if "stream" in signature.parameters and "stream" not in probe.tokens:
            locations["stream"] = probe.locate(True, "stream", request)
        for param in entry["parameters"]:
            if param["name"] in locations:
                param["location"] = locations[param["name"]]
            elif param["name"] in OPTIONS:
                param["location"] = {"in": "options"}
        template = _route(request, probe, locations)
        matched = routes.match(request.method, template)
        entry["http"] = {
            "method": request.method,
            "route": matched[0] if matched else template,
            "operation_id": matched[1] if matched else None,
            "accept": request.headers.get("accept"),
        }
        methods.append(entry)
    await client.close()
    return methods


def build() -> dict[str, Any]:
    import letta_client

    surface = Surface()
    public, helpers = collect_types(surface)
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    methods = asyncio.run(collect_methods(surface, spec))
    # Methods may name helper types the type walk did not reach: describe those too.
    known = {h["qualname"] for h in helpers}
    while surface.pending:
        name = surface.pending.pop(0)
        if name in known:
            continue
        known.add(name)
        obj = surface.helpers[name]
        module = obj.__module__ if isinstance(obj, type) else _defining_module(name)
        helpers.append(surface.describe(name, obj, module))
    helpers.sort(key=lambda h: h["qualname"])
    return {
        "sdk": {"name": "letta-client", "version": letta_client.__version__},
        "notes": (
            "Generated by tools/official_surface.py (nox -s surface). Annotations name other "
            "surface types by their qualname: a bare name for letta_client.types, "
            "'<subpackage>.<Name>' for a subpackage export, '<module>.<Name>' for a helper."
        ),
        "types": public,
        "helpers": helpers,
        "methods": methods,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    data = build()
    text = json.dumps(data, indent=1, sort_keys=False, default=str) + "\n"
    args.output.write_text(text, encoding="utf-8")
    counts = {
        "types": len(data["types"]),
        "helpers": len(data["helpers"]),
        "methods": len(data["methods"]),
    }
    print(f"wrote {args.output.relative_to(ROOT)}: {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
