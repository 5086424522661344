"""The scripted agent: which reply a user message gets, chosen by markers in its text.

The real captures were made with a fake LLM behind a real Letta server, steered by markers such
as ``[tool]`` or ``[delay=7]`` in the user text. The test server reads the same markers (plus a
few of its own) so that a test written against it can be re-run against a real server driven by
that fake LLM, and so that fixtures and live replies say the same sentences.

Markers (case-sensitive, anywhere in the text of the last user message, combinable):

``[tool]``
    A ``conversation_search`` tool call, its tool return, then the answer (two steps).
``[reasoning]``
    A ``reasoning_message`` before the first message of the reply, sharing its message id.
``[approval]``
    An ``approval_request_message`` for a tool call, then stop reason ``requires_approval``. The
    next request answers it with an ``approval`` message.
``[delay=N]``
    Wait N seconds before answering (keep-alive pings flow meanwhile).
``[chunkdelay=F]``
    Wait F seconds between frames.
``[tokens=N]``
    Answer with N tokens (N frames in token mode), for load tests.
``[error500]``
    The LLM fails: in-stream ``llm_api_error`` + ``event: error`` (``llm_error``); HTTP 500 when
    not streaming.
``[midgarbage]``
    The LLM stream breaks after three tokens: stop reasons ``error`` and ``llm_api_error``, then
    ``event: error`` (``internal_error``) and no ``[DONE]``; the run is stored as completed.
    Token streams only: without ``stream_tokens`` the server makes one plain LLM call, which
    answers normally.
``[drop]``
    The LLM closes its stream after three tokens: the partial text, ``end_turn``, zero usage.
    Token streams only, as ``[midgarbage]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "APPROVAL_TOOL",
    "LLM500_DETAIL",
    "MIDGARBAGE_DETAIL",
    "REASONING",
    "REPLY",
    "SEARCH_TOOL",
    "TOOL_ANSWER",
    "Script",
    "numbered_tokens",
    "parse_script",
    "say",
    "split_tokens",
]

REPLY = "Hello from the fake LLM! This is a scripted reply."
"""The plain answer, word for word as in the captures."""

TOOL_ANSWER = "Done with the tool; here is my answer."
"""The answer after a tool return."""

REASONING = "The user said something; I will answer."
"""Text of the reasoning message."""

SEARCH_TOOL = "conversation_search"
"""The tool the scripted agent calls (a built-in of ``letta_v1_agent``)."""

APPROVAL_TOOL = "conversation_search"
"""The tool an ``[approval]`` request asks permission for."""

LLM500_DETAIL = (
    "INTERNAL_SERVER_ERROR: OpenAI API error: Error code: 500 - {'error': {'message': "
    "'fake upstream failure', 'type': 'server_error', 'code': 'fake_500'}}"
)
MIDGARBAGE_DETAIL = (
    "Unhandled LLM error: Expecting property name enclosed in double quotes: "
    "line 1 column 2 (char 1)"
)

_FLAG = re.compile(r"\[(tool|reasoning|approval|error500|midgarbage|drop)\]")
_VALUE = re.compile(r"\[(delay|chunkdelay|tokens)=([0-9]+(?:\.[0-9]*)?)\]")
_TOKEN = re.compile(r"\S+\s*")


@dataclass(frozen=True)
class Script:
    """What the scripted agent will do for one request."""

    text: str
    """The user text with every marker removed (the ``query`` of a tool call)."""
    tool: bool = False
    reasoning: bool = False
    approval: bool = False
    error500: bool = False
    midgarbage: bool = False
    drop: bool = False
    delay: float = 0.0
    chunk_delay: float = 0.0
    tokens: int | None = None


def parse_script(text: str) -> Script:
    """Read the markers out of ``text``. Unknown bracketed words are left as plain text."""
    flags = set(_FLAG.findall(text))
    values: dict[str, float] = {}
    for name, raw in _VALUE.findall(text):
        values[name] = float(raw)
    clean = _VALUE.sub("", _FLAG.sub("", text))
    clean = " ".join(clean.split())
    tokens = values.get("tokens")
    return Script(
        text=clean,
        tool="tool" in flags,
        reasoning="reasoning" in flags,
        approval="approval" in flags,
        error500="error500" in flags,
        midgarbage="midgarbage" in flags,
        drop="drop" in flags,
        delay=values.get("delay", 0.0),
        chunk_delay=values.get("chunkdelay", 0.0),
        tokens=None if tokens is None else int(tokens),
    )


def split_tokens(text: str) -> list[str]:
    """Token deltas as the fake LLM sends them: each word with its trailing space."""
    return _TOKEN.findall(text) or [text]


def numbered_tokens(count: int) -> list[str]:
    """``count`` distinct short tokens for load tests (``"t0 "``, ``"t1 "`` ...)."""
    return [f"t{i} " for i in range(count)]


def say(
    text: str = "hi",
    *,
    tool: bool = False,
    reasoning: bool = False,
    approval: bool = False,
    error500: bool = False,
    midgarbage: bool = False,
    drop: bool = False,
    delay: float | None = None,
    chunk_delay: float | None = None,
    tokens: int | None = None,
) -> list[dict[str, str]]:
    """One user message, ready for ``messages=``, that makes the scripted agent answer so.

    The keywords write the markers above into the text, so a test states what it wants in
    words instead of bracket syntax: ``say("hi", tool=True, tokens=20)`` sends
    ``"hi [tool] [tokens=20]"``. With no keyword the agent answers :data:`REPLY`.
    """
    flags = {
        "tool": tool,
        "reasoning": reasoning,
        "approval": approval,
        "error500": error500,
        "midgarbage": midgarbage,
        "drop": drop,
    }
    parts = [text, *(f"[{name}]" for name, on in flags.items() if on)]
    values = {"delay": delay, "chunkdelay": chunk_delay, "tokens": tokens}
    for name, value in values.items():
        if value is not None:
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
            shown = f"{value:.6f}".rstrip("0").rstrip(".") if isinstance(value, float) else value
            parts.append(f"[{name}={shown}]")
    return [{"role": "user", "content": " ".join(parts)}]
