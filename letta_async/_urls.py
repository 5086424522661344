"""Path building with every caller-supplied segment percent-quoted.

An id such as ``../admin`` or ``a?b`` must stay one path segment; quoting here, in one place,
means no resource can forget it.
"""

from __future__ import annotations

from urllib.parse import quote

__all__ = ["path"]


def segment(value: str) -> str:
    """Quote one path segment completely (``/`` included)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"an id must be a non-empty string, got {value!r}")
    if value in (".", ".."):
        # Quoting leaves dot-segments alone, and servers and proxies resolve them.
        raise ValueError(f"an id cannot be a dot-segment, got {value!r}")
    return quote(value, safe="")


def path(template: str, *ids: str) -> str:
    """Fill ``{}`` placeholders in ``template`` with quoted ids."""
    return template.format(*(segment(i) for i in ids))
