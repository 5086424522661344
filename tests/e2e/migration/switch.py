"""Turn a program written for the official SDK into one that uses letta_async.

Only import statements change, exactly as a user migrating by hand would change them:

* ``from letta_client import X`` / ``from letta_client.types.agents import Y``
  -> ``from letta_async import X`` / ``from letta_async.types.agents import Y``
* ``import letta_client`` -> ``import letta_async as letta_client``
* ``import letta_client as lc`` -> ``import letta_async as lc``
* ``import letta_client.types`` -> ``import letta_async.types`` plus a binding of the old
  name (``import letta_async as letta_client``), so ``letta_client.types.X`` still resolves
  in the body.

Every other line, including comments and string literals that mention ``letta_client``, is
left byte for byte as it was. Statements are found with :mod:`ast`, so an import spread over
several lines in parentheses is rewritten as a whole and nothing inside a string is touched.

Run as a script to print the switched copy of one file: ``python switch.py PROGRAM.py``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

OLD = "letta_client"
NEW = "letta_async"


class SwitchError(ValueError):
    """The source uses an import form this rewriter does not know how to switch."""


def _is_old(module: str | None) -> bool:
    return module is not None and (module == OLD or module.startswith(OLD + "."))


def _renamed(module: str) -> str:
    return NEW + module[len(OLD) :]


def _switch_import(node: ast.Import) -> str | None:
    """The replacement text for ``import ...``, or None if it does not name the SDK."""
    if not any(_is_old(alias.name) for alias in node.names):
        return None
    parts: list[str] = []
    bind_old = False
    for alias in node.names:
        if not _is_old(alias.name):
            parts.append(alias.name if alias.asname is None else f"{alias.name} as {alias.asname}")
            continue
        new = _renamed(alias.name)
        if alias.asname is not None:
            parts.append(f"{new} as {alias.asname}")
        elif alias.name == OLD:
            parts.append(f"{NEW} as {OLD}")
        else:
            # ``import letta_client.types`` binds the name ``letta_client``; keep that name.
            parts.append(new)
            bind_old = True
    text = "import " + ", ".join(parts)
    if bind_old:
        text += f"; import {NEW} as {OLD}"
    return text


def _switch_import_from(node: ast.ImportFrom, segment: str) -> str | None:
    """The replacement text for ``from ... import ...``, or None if it does not name the SDK."""
    if node.level != 0 or not _is_old(node.module):
        return None
    assert node.module is not None
    head, sep, tail = segment.partition(" import ")
    if not sep or node.module not in head:
        raise SwitchError(f"cannot switch import on line {node.lineno}: {segment!r}")
    return head.replace(node.module, _renamed(node.module), 1) + sep + tail


def switch_source(source: str) -> str:
    """The program with its SDK imports pointed at letta_async; nothing else changes."""
    tree = ast.parse(source)
    # ast's column offsets count UTF-8 bytes, so the edits are made on encoded lines.
    lines = source.encode("utf-8").splitlines(keepends=True)
    # (start line, start col, end line, end col, replacement), applied bottom-up.
    edits: list[tuple[int, int, int, int, bytes]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            replacement = _switch_import(node)
        elif isinstance(node, ast.ImportFrom):
            segment = ast.get_source_segment(source, node)
            if segment is None:
                raise SwitchError(f"no source for the import on line {node.lineno}")
            replacement = _switch_import_from(node, segment)
        else:
            continue
        if replacement is None:
            continue
        assert node.end_lineno is not None and node.end_col_offset is not None
        edits.append(
            (
                node.lineno,
                node.col_offset,
                node.end_lineno,
                node.end_col_offset,
                replacement.encode("utf-8"),
            )
        )
    for start, start_col, end, end_col, new_text in sorted(edits, reverse=True):
        first = lines[start - 1]
        last = lines[end - 1]
        lines[start - 1 : end] = [first[:start_col] + new_text + last[end_col:]]
    switched = b"".join(lines).decode("utf-8")
    ast.parse(switched)  # the result must still be Python
    return switched


def switch_file(src: Path, dest: Path) -> None:
    dest.write_text(switch_source(src.read_text(encoding="utf-8")), encoding="utf-8")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: switch.py PROGRAM.py", file=sys.stderr)
        return 2
    sys.stdout.write(switch_source(Path(argv[0]).read_text(encoding="utf-8")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
