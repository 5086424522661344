"""MkDocs hook: the reference leaves out no public name, and no public name lacks a docstring.

mkdocstrings renders what a page names with ``::: identifier`` and says nothing about what no
page names, nor about an object without a docstring. This hook reads the ``:::`` blocks of
every page (after the include hook has expanded them), loads the package with griffe the way
mkdocstrings does, and warns, which ``mkdocs build --strict`` turns into a failed build:

- when a public name of a public module is rendered by no block. The public modules are
  ``letta_async``, each of its modules and packages whose name has no leading underscore
  (``cli`` aside: the command line is documented as a command), and the subpackages of
  ``letta_async.types``; a module's public names are its ``__all__``;
- when a rendered module, class, function, method or property has no docstring (an override
  shows the docstring of what it overrides, as ``help()`` does), and when a rendered
  module-level attribute (a constant) has none. Fields of classes need none: the
  class docstring describes them, and the generated types take theirs from the server.

What a block renders follows the handler options of ``mkdocs.yml`` that decide it: names
starting with an underscore are hidden, and inherited members are shown only where a block
sets ``inherited_members: true``; a ``members:`` list limits a block to those names.
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
from pathlib import Path
from typing import Any

import yaml
from griffe import Alias, GriffeLoader, Module, Object, load_extensions
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import get_plugin_logger
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

log = get_plugin_logger("reference")

PACKAGE = "letta_async"
NOT_REFERENCE = frozenset({"cli"})
BLOCK = re.compile(r"^::: *(?P<identifier>[\w.]+) *$")


@dataclasses.dataclass(frozen=True)
class Block:
    """One ``::: identifier`` block of a page and the options that decide what it renders."""

    page: str
    identifier: str
    inherited: bool
    members: tuple[str, ...] | None


_blocks: list[Block] = []


def _options(lines: list[str]) -> dict[str, Any]:
    """The ``options:`` mapping of the indented YAML below a ``:::`` line."""
    text = textwrap.dedent("\n".join(lines))
    loaded = yaml.safe_load(text) if text.strip() else None
    if not isinstance(loaded, dict):
        return {}
    options = loaded.get("options")
    return options if isinstance(options, dict) else {}


def _page_blocks(page: str, markdown: str) -> list[Block]:
    lines = markdown.splitlines()
    found = []
    for index, line in enumerate(lines):
        match = BLOCK.match(line)
        if not match:
            continue
        end = index + 1
        while end < len(lines) and (not lines[end].strip() or lines[end].startswith(" ")):
            end += 1
        options = _options(lines[index + 1 : end])
        members = options.get("members")
        found.append(
            Block(
                page=page,
                identifier=match.group("identifier"),
                inherited=options.get("inherited_members") is True,
                members=_member_names(members),
            )
        )
    return found


def _member_names(members: object) -> tuple[str, ...] | None:
    """The names a ``members:`` option allows: all (None), none (``false``) or a list."""
    if members is False:
        return ()
    if isinstance(members, list):
        return tuple(str(name) for name in members)
    return None


# --- what a block renders ----------------------------------------------------------------


def _target(obj: Object | Alias) -> Object | None:
    if isinstance(obj, Alias):
        try:
            final = obj.final_target
        except Exception:  # an alias to something outside the package
            return None
        return final if isinstance(final, Object) else None
    return obj


def _shown_members(obj: Object, inherited: bool) -> dict[str, Object | Alias]:
    """The members a block of ``obj`` renders, by name."""
    if obj.is_module:
        exports = obj.exports
        if exports is not None:
            names = [name if isinstance(name, str) else name.name for name in exports]
            return {n: obj.members[n] for n in names if n in obj.members and n[0] != "_"}
        return {
            name: member
            for name, member in obj.members.items()
            if not name.startswith("_") and not isinstance(member, Alias)
        }
    members: dict[str, Object | Alias] = {}
    if obj.is_class and inherited:
        members.update(obj.inherited_members)
    members.update(obj.members)
    return {name: member for name, member in members.items() if not name.startswith("_")}


@dataclasses.dataclass
class Walk:
    """The objects rendered by every block, and the ones missing a docstring."""

    rendered: set[str] = dataclasses.field(default_factory=set)
    undocumented: dict[str, str] = dataclasses.field(default_factory=dict)

    def visit(self, obj: Object, shown_as: str, inherited: bool, depth: int = 0) -> None:
        self.rendered.add(obj.path)
        needs_docstring = (
            not obj.is_attribute
            or "property" in obj.labels
            or (obj.parent is not None and obj.parent.is_module)
        )
        if needs_docstring and not (obj.docstring and obj.docstring.value.strip()):
            self.undocumented.setdefault(obj.path, shown_as)
        if obj.is_attribute or obj.is_function:
            return
        if obj.is_module and depth > 0:
            return  # a submodule is a link, not rendered inline
        for name, member in _shown_members(obj, inherited).items():
            target = _target(member)
            if target is not None and target.path not in self.rendered:
                self.visit(target, f"{shown_as}.{name}", inherited, depth + 1)


def _public_modules(package: Module) -> list[Module]:
    modules = [package]
    for name, member in package.members.items():
        if name.startswith("_") or name in NOT_REFERENCE or not isinstance(member, Module):
            continue
        modules.append(member)
        if name == "types":
            modules.extend(
                sub
                for sub_name, sub in member.members.items()
                if isinstance(sub, Module) and sub.is_init_module and not sub_name.startswith("_")
            )
    return modules


def check(root: Path, blocks: list[Block]) -> list[str]:
    """The problems of the reference that ``blocks`` render, one line each."""
    # As mkdocstrings renders it: an override without a docstring shows the one it overrides.
    extensions = load_extensions(f"{root / 'tools' / 'docs_griffe.py'}:InheritedDocstrings")
    loader = GriffeLoader(search_paths=[str(root)], extensions=extensions)
    package = loader.load(PACKAGE)
    loader.resolve_aliases(implicit=False, external=False)
    if not isinstance(package, Module):
        return [f"{PACKAGE} is not a package"]
    problems = []
    walk = Walk()
    for block in blocks:
        try:
            found = loader.modules_collection[block.identifier]
        except KeyError:
            problems.append(f"{block.page}: ::: {block.identifier} names nothing")
            continue
        obj = _target(found)
        if obj is None:
            problems.append(f"{block.page}: ::: {block.identifier} is outside the package")
            continue
        if block.members is None:
            walk.visit(obj, block.identifier, block.inherited)
            continue
        walk.rendered.add(obj.path)
        for name in block.members:
            member = obj.members.get(name)
            target = _target(member) if member is not None else None
            if target is not None:
                walk.visit(target, f"{block.identifier}.{name}", block.inherited, 1)
    for module in _public_modules(package):
        for name, member in _shown_members(module, inherited=False).items():
            target = _target(member)
            if target is None:
                problems.append(f"{module.path}.{name}: cannot be resolved")
            elif target.path not in walk.rendered:
                problems.append(f"{module.path}.{name}: on no reference page")
    for path, shown_as in sorted(walk.undocumented.items(), key=lambda item: item[1]):
        where = "" if path == shown_as else f" (defined as {path})"
        problems.append(f"{shown_as}: no docstring{where}")
    return problems


# --- MkDocs events -------------------------------------------------------------------------


def on_pre_build(config: MkDocsConfig) -> None:
    """Forget the blocks of a previous build (``mkdocs serve`` builds again)."""
    _blocks.clear()


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> None:
    """Note the ``:::`` blocks of the page, includes already expanded."""
    _blocks.extend(_page_blocks(page.file.src_uri, markdown))


def on_post_build(config: MkDocsConfig) -> None:
    """Check the reference once every page is known; each problem is a warning."""
    root = Path(config.config_file_path).resolve().parent
    problems = check(root, _blocks)
    for problem in problems:
        log.warning(problem)
    if not problems:
        log.info("every public name is on a reference page, with a docstring")
