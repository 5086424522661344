"""Docstring text from the OpenAPI document, for the generators of types and resources.

The descriptions are Markdown with hard line breaks; what the generators write has to stay
within the line limit and still read as the same Markdown in ``help()``, an IDE's hover and
the reference site.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def described(spec: dict[str, Any], schema: dict[str, Any]) -> str:
    """A schema's own description, else that of the one schema it refers to (``$ref``, or
    ``anyOf`` with ``null``): the official SDK documents a nested parameter by its type."""
    text = schema.get("description")
    if text:
        return str(text).strip()
    members = [m for m in schema.get("anyOf", schema.get("oneOf", ())) if m.get("type") != "null"]
    if "$ref" in schema or len(members) == 1:
        target = _resolve(spec, schema if "$ref" in schema else members[0])
        if target is not schema:
            return described(spec, target)
    return ""


def described_with_type(spec: dict[str, Any], schema: dict[str, Any]) -> str:
    """A property's description followed by its type's, when it refers to one that says
    something else: the property says what the value is for, the type what it holds."""
    own = str(schema.get("description") or "").strip()
    members = [m for m in schema.get("anyOf", schema.get("oneOf", ())) if m.get("type") != "null"]
    target = schema if "$ref" in schema else members[0] if len(members) == 1 else None
    typed = described(spec, _resolve(spec, target)) if target is not None else ""
    if not own or not typed or typed == own:
        return own or typed
    return f"{own}\n\n{typed}"


WIDTH = 100
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


def fill(
    text: str, indent: int, first: str = "", hanging: int = 0, width: int = WIDTH
) -> list[str]:
    """``text`` (Markdown with hard line breaks) wrapped to the line limit at ``indent``.

    Runs of prose lines are joined and refilled; a list item keeps its own line, continued
    under its text; paragraphs stay apart. ``first`` (an ``Args:`` entry's ``name: ``) leads
    the first line, and every line after it is indented ``hanging`` more.
    """
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    text = text.replace(".. deprecated::", "Deprecated:")
    out: list[str] = []
    pad = " " * indent
    for number, paragraph in enumerate(re.split(r"\n\s*\n", text.strip())):
        if number:
            out.append("")
        chunks: list[tuple[str, str]] = []  # (marker, text): marker "" for prose
        for line in paragraph.split("\n"):
            line = line.strip()
            match = _LIST_ITEM.match(line)
            if match:
                chunks.append((match.group(0).strip() + " ", line[match.end() :]))
            elif chunks and chunks[-1][0] == "":
                chunks[-1] = ("", f"{chunks[-1][1]} {line}")
            elif chunks:  # a list item's continuation
                marker, body = chunks[-1]
                chunks[-1] = (marker, f"{body} {line}")
            else:
                chunks.append(("", line))
        previous = None
        for marker, body in chunks:
            if previous == "" and marker:
                out.append("")  # Markdown needs a blank line before a list
            lead = first if not out else ""
            rest = pad + " " * (hanging if first else 0)
            opening = (pad + lead) if lead else rest
            lines = textwrap.wrap(
                marker + body,
                width=width,
                initial_indent=opening,
                subsequent_indent=rest + " " * len(marker),
                break_long_words=False,
                break_on_hyphens=False,
            )
            out.extend(lines or [opening.rstrip()])
            previous = marker
    return [line.rstrip() for line in out]


def docstring(text: str, indent: int) -> list[str]:
    """``text`` as a docstring at ``indent``: on one line when it fits, else wrapped, with the
    closing quotes on a line of their own."""
    pad = " " * indent
    lines = fill(text, indent, first='"""')
    if len(lines) == 1 and len(lines[0]) + 3 <= WIDTH and not lines[0].endswith('"'):
        return [lines[0] + '"""']
    if len(lines) == 1:
        # ruff format pulls the closing quotes up onto a lone text line, past the limit here:
        # a text that fits only without them is wrapped onto two lines instead.
        lines = fill(text, indent, first='"""', width=WIDTH - 4)
    return [*lines, pad + '"""']
