"""The public call a program makes for each captured successful answer.

Shared by ``tools/record_official_models.py`` (run with the official SDK) and
``tests/test_official_models.py`` (run with this client), so both read every capture through
the same method with the same arguments: the request body the capture was made with.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
CAPTURES: dict[str, Any] = json.loads((FIXTURES / "_captures.json").read_text(encoding="utf-8"))

# Any well-formed ids do: the loopback server answers every path with the capture.
PLACEHOLDERS: dict[str, str] = {
    "AGENT": "agent-00000000-0000-4000-8000-000000000001",
    "RUN": "run-00000000-0000-4000-8000-000000000002",
    "CONV": "conv-00000000-0000-4000-8000-000000000003",
}
# Headers that describe the captured connection rather than the answer.
_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "date"}


@dataclass(frozen=True)
class Call:
    """An expression over ``client`` (an async client) and what its awaited value is."""

    expression: str
    kind: Literal["value", "page", "stream"]


# (method, path pattern) of the capture's request -> method call and the kind of its result.
_ROUTES: list[tuple[str, str, str, Literal["value", "page", "stream"] | None]] = [
    ("POST", r"/v1/agents/", "client.agents.create({body})", "value"),
    ("GET", r"/v1/agents/(\?.*)?", "client.agents.list({query})", "page"),
    ("POST", r"/v1/agents/[^/]+/messages", "client.agents.messages.create(AGENT, {body})", None),
    (
        "POST",
        r"/v1/agents/[^/]+/messages/stream",
        "client.agents.messages.stream(AGENT, {body})",
        "stream",
    ),
    (
        "POST",
        r"/v1/agents/[^/]+/messages/async",
        "client.agents.messages.create_async(AGENT, {body})",
        "value",
    ),
    (
        "POST",
        r"/v1/agents/[^/]+/messages/cancel",
        "client.agents.messages.cancel(AGENT, {body})",
        "value",
    ),
    (
        "GET",
        r"/v1/agents/[^/]+/messages(\?.*)?",
        "client.agents.messages.list(AGENT, {query})",
        "page",
    ),
    ("GET", r"/v1/runs/[^/?]+", "client.runs.retrieve(RUN)", "value"),
    ("GET", r"/v1/runs/(\?.*)?", "client.runs.list({query})", "page"),
    ("GET", r"/v1/runs/[^/]+/messages", "client.runs.messages.list(RUN)", "page"),
    ("GET", r"/v1/runs/[^/]+/steps", "client.runs.steps.list(RUN)", "page"),
    ("GET", r"/v1/runs/[^/]+/usage", "client.runs.usage.retrieve(RUN)", "value"),
    ("POST", r"/v1/runs/[^/]+/stream", "client.runs.messages.stream(RUN, {body})", "stream"),
    ("POST", r"/v1/conversations/(\?.*)?", "client.conversations.create({query})", "value"),
    (
        "POST",
        r"/v1/conversations/[^/]+/messages",
        "client.conversations.messages.create(CONV, {body})",
        "stream",
    ),
    ("GET", r"/v1/health/", "client.health()", "value"),
]


def _arguments(values: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in values.items())


def _query(path: str) -> dict[str, Any]:
    _, _, query = path.partition("?")
    pairs = [part.split("=", 1) for part in query.split("&") if part]
    return {key: int(value) if value.isdigit() else value for key, value in pairs}


def call_for(name: str) -> Call | None:
    """The call for one capture, or None when it is no successful API answer."""
    entry = CAPTURES[name]
    request = entry["request"]
    if not entry["status_line"].split()[1].startswith("2") or request["path"] == "/openapi.json":
        return None
    body = request["body"] or {}
    query = _query(request["path"])
    for method, pattern, template, kind in _ROUTES:
        if method == request["method"] and re.fullmatch(pattern, request["path"]):
            expression = template.format(body=_arguments(body), query=_arguments(query))
            if kind is None:
                kind = "stream" if body.get("streaming") else "value"
            return Call(expression.replace(", )", ")").replace("()", "()"), kind)
    raise LookupError(f"no call known for {name}: {request['method']} {request['path']}")


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
