"""Griffe extensions for the site: docstrings read as Markdown, private parameters hidden.

``RestructuredTextRoles``: the docstrings are written for ``help()`` and Sphinx-style
readers, with roles such as ``:class:`Fault``` and literal blocks introduced by ``::``.
Markdown would show the roles verbatim and run a literal block into the paragraph before it,
so before mkdocstrings renders a docstring this extension turns a role into a code span of its
target (``~a.b.C`` shows ``C``), a ``::`` block into a fenced Python block, and a definition
list (a term, its definition indented below it) into a bulleted list. Field lists
(``:param x:``) are left for the ``sphinx`` docstring parser; a docstring with a Google-style
``Args:`` section (the generated methods) goes to the ``google`` parser instead.

``InheritedDocstrings``: a method or property that overrides a documented one of a base class
and has no docstring of its own shows the base's, as ``help()`` does (``inspect.getdoc``).

``PrivateParameters``: a parameter whose name starts with an underscore (such as the one
``AsyncLetta.copy`` uses to share its pool) is internal, and is left out of the rendered
signature like any other private name.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

from griffe import (
    Class,
    Docstring,
    Extension,
    Function,
    GriffeLoader,
    Object,
    Parameters,
)

ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|mod|exc|data|obj|const):`(?P<target>[^`]+)`")


def _role(match: re.Match[str]) -> str:
    target = match.group("target")
    explicit = re.fullmatch(r"(?P<text>.*?)\s*<[^>]+>", target)
    if explicit:
        return f"`{explicit.group('text')}`"
    if target.startswith("~"):
        target = target[1:].rsplit(".", 1)[-1]
    return f"`{target}`"


def _literal_blocks(text: str) -> str:
    """Fence the indented block after a paragraph that ends with ``::``."""
    lines = text.split("\n")
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.rstrip().endswith("::"):
            out.append(line)
            continue
        lead = line.rstrip()[:-2].rstrip()
        if lead:
            out.append(lead + ":")
        block_start = index
        while index < len(lines) and not lines[index].strip():
            index += 1
        end = index
        while end < len(lines) and (not lines[end].strip() or lines[end].startswith((" ", "\t"))):
            end += 1
        while end > index and not lines[end - 1].strip():
            end -= 1
        if end == index:  # no indented block follows: not a literal block after all
            out.extend(lines[block_start:index])
            continue
        out.extend(["", "```python", textwrap.dedent("\n".join(lines[index:end])), "```"])
        index = end
    return "\n".join(out)


NOT_A_TERM = re.compile(r"^(?:[-*+:]|\d+[.)]|```|#)")


def _definition_lists(text: str) -> str:
    """Turn each ``term`` line with an indented definition below it into a list item.

    A term starts after a blank line or right after another definition; fenced code is left
    alone.
    """
    lines = text.split("\n")
    out: list[str] = []
    in_fence = False
    after_definition = False
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if line.startswith("```"):
            in_fence = not in_fence
        follows = index < len(lines) and lines[index][:1] in (" ", "\t") and lines[index].strip()
        starts = not out or not out[-1].strip() or after_definition
        if in_fence or not follows or not starts or not line.strip() or line[:1] in (" ", "\t"):
            out.append(line)
            after_definition = False
            continue
        if NOT_A_TERM.match(line):
            out.append(line)
            after_definition = False
            continue
        body: list[str] = []
        while index < len(lines) and lines[index][:1] in (" ", "\t") and lines[index].strip():
            body.append(lines[index])
            index += 1
        definition = textwrap.dedent("\n".join(body)).split("\n")
        out.append(f"- {line.rstrip()}: {definition[0]}")
        out.extend("    " + rest for rest in definition[1:])
        after_definition = True
    return "\n".join(out)


def markdown_docstring(text: str) -> str:
    """``text`` with its roles, literal blocks and definition lists in Markdown form."""
    return _definition_lists(_literal_blocks(ROLE.sub(_role, text)))


GOOGLE_ARGS = re.compile(r"^Args:\n    \w+: ", re.MULTILINE)
"""The ``Args:`` section the generated methods write, as the official SDK's docstrings do."""


class RestructuredTextRoles(Extension):
    """Rewrites every docstring of the loaded package once its tree is complete.

    A docstring with a Google-style ``Args:`` section (every generated method) is parsed as
    Google style, so its entries become the parameter table; it gets only the role rewrite,
    since its description is Markdown already and its indented entries are no definitions.
    """

    def on_object(self, *, obj: Object, loader: GriffeLoader, **kwargs: Any) -> None:
        """Convert the object's own docstring, if it has one."""
        if obj.docstring is None:
            return
        if GOOGLE_ARGS.search(obj.docstring.value):
            obj.docstring.value = ROLE.sub(_role, obj.docstring.value)
            obj.docstring.parser = "google"
            return
        obj.docstring.value = markdown_docstring(obj.docstring.value)


class PrivateParameters(Extension):
    """Drops the parameters named with a leading underscore from every function's signature."""

    def on_object(self, *, obj: Object, loader: GriffeLoader, **kwargs: Any) -> None:
        """Keep only the public parameters of a function or method."""
        if isinstance(obj, Function) and any(p.name.startswith("_") for p in obj.parameters):
            obj.parameters = Parameters(*(p for p in obj.parameters if not p.name.startswith("_")))


class InheritedDocstrings(Extension):
    """Gives an undocumented override the docstring of the member it overrides."""

    def on_object(self, *, obj: Object, loader: GriffeLoader, **kwargs: Any) -> None:
        """Copy the nearest base class's docstring of the same member, if there is one."""
        owner = obj.parent
        if obj.docstring is not None or not isinstance(owner, Class) or obj.is_class:
            return
        try:
            bases = owner.mro()
        except Exception:  # a base outside the loaded packages: nothing to inherit from
            return
        for base in bases:
            member = base.members.get(obj.name)
            inherited = member.docstring if member is not None else None
            if inherited is not None:
                obj.docstring = Docstring(
                    inherited.value,
                    lineno=inherited.lineno,
                    endlineno=inherited.endlineno,
                    parent=obj,
                    parser=inherited.parser,
                    parser_options=inherited.parser_options,
                )
                return
