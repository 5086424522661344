"""Record which classes the official SDK decodes captured messages into.

Run with an interpreter that has ``letta-client==1.12.1`` installed (never a dependency of
this package)::

    python tools/record_official_decoding.py > tests/fixtures/official_decoding.json

The captures in ``tests/fixtures`` are decoded the way the official client decodes them: a
stream frame as its ``LettaStreamingResponse``, an item of a message listing as its
``Message``, a non-streaming reply as its ``LettaResponse``. For every message that carries
a tool call, the class names of ``tool_call`` and ``tool_calls`` are written down, so that
``tests/test_official_decoding.py`` can hold this client to the same classes. A few
hand-made tool-call objects that the captures lack (a token fragment that happens to carry
every field, a null ``arguments``) are decoded the same way.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import letta_client
from letta_client._models import construct_type
from letta_client.types.agents.letta_response import LettaResponse
from letta_client.types.agents.letta_streaming_response import LettaStreamingResponse
from letta_client.types.agents.message import Message

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
SKIPPED = {"openapi.json", "_captures.json", "official_facts.json", "official_decoding.json"}
HAND_MADE = {
    "complete": {"name": "f", "arguments": '{"q": 1}', "tool_call_id": "c1"},
    "empty_arguments": {"name": "f", "arguments": "", "tool_call_id": "c1"},
    "null_arguments": {"name": "f", "arguments": None, "tool_call_id": "c1"},
    "no_arguments": {"name": "f", "tool_call_id": "c1"},
    "only_arguments": {"arguments": "x"},
    "empty": {},
}

COMPLETE = ("complete", "empty_arguments")


def shape(value: Any) -> str | None:
    """The class name of a decoded tool-call field: ``list[X]``, ``X`` or None."""
    if value is None:
        return None
    if isinstance(value, list):
        return "list[" + ",".join(sorted({type(item).__name__ for item in value})) + "]"
    return type(value).__name__


def entry(source: str, index: int, message: Any) -> dict[str, Any] | None:
    if not hasattr(message, "tool_calls"):
        return None
    return {
        "source": source,
        "index": index,
        "message_type": message.message_type,
        "tool_call": shape(getattr(message, "tool_call", None)),
        "tool_calls": shape(message.tool_calls),
    }


def captured() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in sorted(FIXTURES.iterdir()):
        decoded: list[Any] = []
        if path.suffix == ".sse":
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.startswith("data: {"):
                    value = json.loads(line.removeprefix("data: "))
                    decoded.append(construct_type(type_=LettaStreamingResponse, value=value))
        elif path.suffix == ".json" and path.name not in SKIPPED:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, list) and all(
                isinstance(item, dict) and "message_type" in item for item in data
            ):
                decoded = [construct_type(type_=Message, value=item) for item in data]
            elif isinstance(data, dict) and "messages" in data and "stop_reason" in data:
                reply: Any = construct_type(type_=LettaResponse, value=data)
                decoded = list(reply.messages)
        for index, message in enumerate(decoded):
            row = entry(path.name, index, message)
            if row is not None:
                rows.append(row)
    return rows


def hand_made() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name, call in HAND_MADE.items():
        for message_type in ("tool_call_message", "approval_request_message"):
            # A list holding an incomplete call fails the official validation of the whole
            # message, which then falls back to plain dicts; this client rejects such a
            # message instead, so only complete calls are put in a list.
            lists = [[call]] if name in COMPLETE else []
            for many in (call, *lists):
                value = {
                    "id": "message-1",
                    "date": "2026-01-01T00:00:00+00:00",
                    "message_type": message_type,
                    "tool_call": call,
                    "tool_calls": many,
                }
                message = construct_type(type_=LettaStreamingResponse, value=value)
                row = entry(name, 0, message)
                assert row is not None
                rows.append({**row, "wire": value})
    return rows


def main() -> None:
    facts = {
        "source": f"letta-client {letta_client.__version__}",
        "captured": captured(),
        "hand_made": hand_made(),
    }
    json.dump(facts, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
