"""The public call a program makes for each captured successful answer.

Shared by ``tools/record_official_models.py`` (run with the official SDK) and
``tests/test_official_models.py`` (run with this client), so both read every capture through
the same method with the same arguments. The method is the official one whose route the
captured request went to (``tools/official_surface.json``); its arguments are the request's
path ids, query and JSON body, each under the official parameter name for its wire key.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
CAPTURES: dict[str, Any] = json.loads((FIXTURES / "_captures.json").read_text(encoding="utf-8"))

# Headers that describe the captured connection rather than the answer.
_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "date"}


@dataclass(frozen=True)
class Call:
    """An expression over ``client`` (an async client) and what its awaited value is."""

    expression: str
    kind: Literal["value", "page", "stream"]


SURFACE: dict[str, Any] = json.loads(
    (FIXTURES.parent.parent / "tools" / "official_surface.json").read_text(encoding="utf-8")
)


def _route_pattern(route: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(route)))


# (http method, route pattern, official method) for every official method with a route, the
# most specific routes first so that ``/messages/stream`` wins over ``/messages``.
_METHODS: list[tuple[str, re.Pattern[str], dict[str, Any]]] = sorted(
    (
        (entry["http"]["method"], _route_pattern(entry["http"]["route"]), entry)
        for entry in SURFACE["methods"]
        if entry.get("http")
    ),
    key=lambda row: -len(row[2]["http"]["route"].replace("{", "").split("/")),
)


def _scalar(text: str, annotation: str) -> Any:
    if "bool" in annotation and text in ("true", "false"):
        return text == "true"
    if "int" in annotation and text.lstrip("-").isdigit():
        return int(text)
    return text


def call_for_exchange(method: str, target: str, body: Any, content_type: str) -> Call | None:
    """The official method a program calls to get this answer, with the request's arguments.

    None for what no method reads as a model: a multipart upload's request (its file cannot be
    rebuilt from the record) or a route no official method has.
    """
    path, _, query = target.partition("?")
    for http_method, pattern, entry in _METHODS:
        found = pattern.fullmatch(path)
        if http_method != method or found is None:
            continue
        positional: list[str] = []
        keywords: dict[str, Any] = {}
        queried = urllib.parse.parse_qs(query, keep_blank_values=True)
        for parameter in entry["parameters"]:
            where = parameter.get("location", {})
            name, annotation = parameter["name"], parameter["annotation"]
            if where.get("encoding") == "multipart":
                return None
            if where.get("in") == "path":
                # One official parameter is named apart from its route segment
                # (``path_run_id`` for ``{run_id}``): the segment is the name's ending.
                segment = next(key for key in found.groupdict() if name.endswith(key))
                if parameter["kind"] == "positional_or_keyword":
                    positional.append(found.group(segment))
                else:
                    keywords[name] = found.group(segment)
            elif where.get("in") == "query" and where.get("key") in queried:
                values = [_scalar(v, annotation) for v in queried.pop(where["key"])]
                keywords[name] = values if "list[" in annotation else values[0]
            elif where.get("in") == "body" and isinstance(body, dict) and where.get("key") in body:
                keywords[name] = body.pop(where["key"])
        if isinstance(body, dict) and body:
            keywords["extra_body"] = body
        if queried:
            keywords["extra_query"] = {key: values[-1] for key, values in queried.items()}
        arguments = [repr(value) for value in positional]
        arguments += [f"{key}={value!r}" for key, value in keywords.items()]
        if entry.get("paginated"):
            kind: Literal["value", "page", "stream"] = "page"
        elif content_type.startswith("text/event-stream"):
            kind = "stream"
        else:
            kind = "value"
        return Call(f"client.{entry['path']}({', '.join(arguments)})", kind)
    return None


def call_for(name: str) -> Call | None:
    """The call for one capture, or None when it is no successful API answer."""
    entry = CAPTURES[name]
    request = entry["request"]
    if not entry["status_line"].split()[1].startswith("2"):
        return None
    headers = {key.lower(): value for key, value in entry["response_headers"]}
    body = dict(request["body"]) if isinstance(request["body"], dict) else request["body"]
    return call_for_exchange(
        request["method"], request["path"], body, headers.get("content-type", "")
    )


def capture(name: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """The captured status, answer headers and body bytes."""
    entry = CAPTURES[name]
    status = int(entry["status_line"].split()[1])
    headers = [
        (key, value) for key, value in entry["response_headers"] if key.lower() not in _HOP_BY_HOP
    ]
    return status, headers, (FIXTURES / name).read_bytes()


CALLS: dict[str, Call] = {
    name: call
    for name in sorted(CAPTURES)
    if (FIXTURES / name).exists() and (call := call_for(name)) is not None
}
