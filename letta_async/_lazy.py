"""A module that is imported on its first attribute access.

The resource modules name a few hundred types, most of which a program never touches;
importing them all when ``client.agents`` is first reached would cost more than the rest of
the client. Runtime references go through the lazy ``letta_async.types`` package or through
one of these; type checkers see the real imports.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["LazyModule"]


class LazyModule:
    """Stands in for the module ``name`` until an attribute is read from it."""

    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"
