"""Path building with every caller-supplied segment percent-quoted.

An id such as ``../admin`` or ``a?b`` must stay one path segment; quoting here, in one place,
means no resource can forget it.

A built path remembers the template it came from (``/v1/agents/{agent_id}``): tracing names
spans and metrics after the route, never after the ids in it, and the template travels with
the path for free instead of through every signature between a resource and the transport.
"""

from __future__ import annotations

import re
from urllib.parse import quote

__all__ = ["Route", "opaque", "path", "template_of"]

_NAMED = re.compile(r"\{\w*\}")
_positional: dict[str, str] = {}
_halves: dict[str, tuple[str, str]] = {}
"""A one-placeholder template's text before and after it."""
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]+").fullmatch


class Route(str):
    """A request path that knows its route template.

    ``template`` is ``None`` when the route is unknown (a path handed to ``client.get(...)``
    as it is), so that nothing high-cardinality is ever reported as a template.
    """

    template: str | None


def segment(value: str) -> str:
    """Quote one path segment completely (``/`` included)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"an id must be a non-empty string, got {value!r}")
    if _UNRESERVED(value):  # what quote() leaves alone, as every Letta id is: no copy
        return value
    return quote(value, safe="")


def path(template: str, *ids: str) -> Route:
    """Fill the placeholders of ``template`` (``{agent_id}`` or ``{}``) in order with quoted ids.

    An id that is a dot-segment (``.`` or ``..``) is refused with the official SDK's message:
    quoting leaves it alone, and servers and proxies would resolve it to another route.
    """
    halves = _halves.get(template)
    if halves is not None and len(ids) == 1:
        # One id, as most routes have: two concatenations instead of str.format.
        route = Route(halves[0] + segment(ids[0]) + halves[1])
    else:
        fmt = _positional.get(template)
        if fmt is None:
            fmt = _positional[template] = _NAMED.sub("{}", template)
            pieces = fmt.split("{}")
            if len(pieces) == 2:
                _halves[template] = (pieces[0], pieces[1])
        route = Route(fmt.format(*[segment(i) for i in ids]))
    if "." in ids or ".." in ids:
        value = next(i for i in ids if i in (".", ".."))
        raise ValueError(
            f"Constructed path {str(route)!r} contains dot-segment {value!r} which is not allowed"
        )
    route.template = template
    return route


def opaque(raw: str) -> Route:
    """A path whose route is not known: reported by its method alone."""
    route = Route(raw)
    route.template = None
    return route


def template_of(raw: str) -> str | None:
    """The route template of a path: its own, or the path itself when it has no ids in it.

    Resources pass constant paths (``/v1/agents/``) as plain strings: those are their own
    template.
    """
    if isinstance(raw, Route):
        return raw.template
    return raw
