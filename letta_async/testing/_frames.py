"""Wire shapes of a Letta 0.16 server: message dicts, SSE frames, ids, timestamps.

Everything here builds plain ``dict`` objects in the exact key order the real server emits and
encodes them with :mod:`msgspec` (compact separators, insertion order kept). Clients under test
compare bytes and key sets with the captured fixtures, so the order of keys below is part of the
contract and must not be "tidied".

This module deliberately does not import :mod:`letta_async.types`: the test server must describe
the wire independently of the client's own model of it, or a shared mistake would go unnoticed.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import msgspec

__all__ = [
    "CANCELLED_FRAME",
    "DONE_FRAME",
    "approval_request_message",
    "assistant_message",
    "completed_timestamp",
    "created_timestamp",
    "encode_data",
    "encode_error_event",
    "encode_json",
    "error_message",
    "message_date",
    "new_id",
    "otid_for",
    "ping",
    "reasoning_message",
    "stop_reason",
    "system_message",
    "tool_call_message",
    "tool_return_message",
    "usage_statistics",
    "user_message",
]

Json = dict[str, Any]

_ENCODER = msgspec.json.Encoder()

DONE_FRAME = b"data: [DONE]\n\n"
"""Terminator of a normal stream (absent after a cancel and after some errors)."""

CANCELLED_FRAME = b'data: {"message_type": "stop_reason", "stop_reason": "cancelled"}\n\n'
"""The cancel stop reason, spelled with spaces because the real server builds it with json.dumps."""


def encode_json(obj: Any) -> bytes:
    """Compact JSON, keys in insertion order, UTF-8 as-is (like pydantic's model_dump_json)."""
    return _ENCODER.encode(obj)


def encode_data(obj: Any) -> bytes:
    """One SSE event: a single ``data:`` line and the blank line that ends the event."""
    return b"data: " + _ENCODER.encode(obj) + b"\n\n"


def encode_error_event(obj: Any) -> bytes:
    """The only named event the server sends: ``event: error`` followed by its data line."""
    return b"event: error\ndata: " + _ENCODER.encode(obj) + b"\n\n"


# --- ids and time ----------------------------------------------------------------------------


def new_id(prefix: str) -> str:
    """``<prefix>-<uuid4>``, the format of every Letta object id (agent, run, message, step...)."""
    return f"{prefix}-{uuid.uuid4()}"


def otid_for(message_id: str, index: int) -> str:
    """Offline threading id the server derives from a message id.

    The captures show the message uuid with its last byte rewritten: the top bit of the original
    byte is kept and the low seven bits become the index of the sub-message (0 for the first
    part, 1 for e.g. the assistant text that shares an id with a reasoning part).
    """
    raw = message_id.split("-", 1)[1]
    last = int(raw[-2:], 16)
    return f"{raw[:-2]}{(last & 0x80) | (index & 0x7F):02x}"


def message_date() -> str:
    """``date`` of a message: second resolution with an explicit ``+00:00`` offset."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def created_timestamp() -> str:
    """``created_at`` of runs and agents: microseconds and a ``Z`` suffix."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def completed_timestamp() -> str:
    """``completed_at`` of a run: microseconds and no offset at all (a quirk of the server)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")


# --- messages --------------------------------------------------------------------------------


def _head(
    message_type: str,
    *,
    message_id: str,
    date: str,
    otid: str | None,
    step_id: str | None,
    seq_id: int | None,
    run_id: str | None,
    name: str | None = None,
) -> Json:
    return {
        "id": message_id,
        "date": date,
        "name": name,
        "message_type": message_type,
        "otid": otid,
        "sender_id": None,
        "step_id": step_id,
        "is_err": None,
        "seq_id": seq_id,
        "run_id": run_id,
    }


def ping(run_id: str | None, seq_id: int | None = None) -> Json:
    """Keep-alive event. The first one of a stream tells the client the run id."""
    return _head(
        "ping",
        message_id=new_id("ping"),
        date=message_date(),
        otid=None,
        step_id=None,
        seq_id=seq_id,
        run_id=run_id,
    )


def assistant_message(
    *,
    message_id: str,
    otid: str,
    step_id: str | None,
    run_id: str | None,
    content: str,
    seq_id: int | None = None,
    date: str | None = None,
) -> Json:
    msg = _head(
        "assistant_message",
        message_id=message_id,
        date=date or message_date(),
        otid=otid,
        step_id=step_id,
        seq_id=seq_id,
        run_id=run_id,
    )
    msg["content"] = content
    return msg


def user_message(
    *,
    message_id: str,
    otid: str | None,
    step_id: str | None,
    run_id: str | None,
    content: Any,
    date: str | None = None,
) -> Json:
    msg = _head(
        "user_message",
        message_id=message_id,
        date=date or message_date(),
        otid=otid,
        step_id=step_id,
        seq_id=None,
        run_id=run_id,
    )
    msg["content"] = content
    return msg


def system_message(*, message_id: str, content: str, date: str | None = None) -> Json:
    msg = _head(
        "system_message",
        message_id=message_id,
        date=date or message_date(),
        otid=None,
        step_id=None,
        seq_id=None,
        run_id=None,
    )
    msg["content"] = content
    return msg


def reasoning_message(
    *,
    message_id: str,
    otid: str,
    step_id: str | None,
    run_id: str | None,
    reasoning: str,
    seq_id: int | None = None,
    date: str | None = None,
) -> Json:
    msg = _head(
        "reasoning_message",
        message_id=message_id,
        date=date or message_date(),
        otid=otid,
        step_id=step_id,
        seq_id=seq_id,
        run_id=run_id,
    )
    msg["source"] = "non_reasoner_model"
    msg["reasoning"] = reasoning
    msg["signature"] = None
    return msg


def tool_call_message(
    *,
    message_id: str,
    otid: str,
    step_id: str | None,
    run_id: str | None,
    tool_call: Json,
    delta: bool,
    seq_id: int | None = None,
    date: str | None = None,
    message_type: str = "tool_call_message",
) -> Json:
    """A tool call. ``tool_calls`` is a list for a whole call but ONE object in a token delta."""
    msg = _head(
        message_type,
        message_id=message_id,
        date=date or message_date(),
        otid=otid,
        step_id=step_id,
        seq_id=seq_id,
        run_id=run_id,
    )
    msg["tool_call"] = dict(tool_call)
    msg["tool_calls"] = dict(tool_call) if delta else [dict(tool_call)]
    return msg


def approval_request_message(
    *,
    message_id: str,
    otid: str,
    step_id: str | None,
    run_id: str | None,
    tool_call: Json,
    delta: bool,
    seq_id: int | None = None,
    date: str | None = None,
) -> Json:
    """Same body as a tool call, under its own ``message_type``."""
    return tool_call_message(
        message_id=message_id,
        otid=otid,
        step_id=step_id,
        run_id=run_id,
        tool_call=tool_call,
        delta=delta,
        seq_id=seq_id,
        date=date,
        message_type="approval_request_message",
    )


def tool_return_message(
    *,
    message_id: str,
    otid: str,
    step_id: str | None,
    run_id: str | None,
    tool_name: str,
    tool_call_id: str,
    tool_return: str,
    status: str = "success",
    seq_id: int | None = None,
    date: str | None = None,
) -> Json:
    msg = _head(
        "tool_return_message",
        message_id=message_id,
        date=date or message_date(),
        otid=otid,
        step_id=step_id,
        seq_id=seq_id,
        run_id=run_id,
        name=tool_name,
    )
    msg["tool_return"] = tool_return
    msg["status"] = status
    msg["tool_call_id"] = tool_call_id
    msg["stdout"] = None
    msg["stderr"] = None
    msg["tool_returns"] = [
        {
            "type": "tool",
            "tool_return": tool_return,
            "status": status,
            "tool_call_id": tool_call_id,
            "stdout": None,
            "stderr": None,
        }
    ]
    return msg


# --- control events --------------------------------------------------------------------------


def stop_reason(reason: str) -> Json:
    return {"message_type": "stop_reason", "stop_reason": reason}


def usage_statistics(
    *,
    completion_tokens: int,
    prompt_tokens: int,
    step_count: int,
    token_mode: bool,
    context_tokens: int | None = 112,
) -> Json:
    """Usage event. The server leaves the cache/reasoning counters null in token mode."""
    extra: int | None = None if token_mode else 0
    return {
        "message_type": "usage_statistics",
        "completion_tokens": completion_tokens,
        "prompt_tokens": prompt_tokens,
        "total_tokens": completion_tokens + prompt_tokens,
        "step_count": step_count,
        "run_ids": None,
        "cached_input_tokens": extra,
        "cache_write_tokens": extra,
        "reasoning_tokens": extra,
        "context_tokens": context_tokens,
    }


def error_message(
    *, run_id: str | None, error_type: str, message: str, detail: str, seq_id: int | None = None
) -> Json:
    """Payload of an ``event: error`` frame."""
    return {
        "message_type": "error_message",
        "run_id": run_id,
        "error_type": error_type,
        "message": message,
        "detail": detail,
        "seq_id": seq_id,
    }
