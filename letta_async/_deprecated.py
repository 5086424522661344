"""``@deprecated``, as the official SDK marks methods, without a dependency.

The official SDK marks methods with ``typing_extensions.deprecated``: type checkers report
every call (mypy with ``--enable-error-code deprecated``, pyright as ``reportDeprecated``)
and a call emits a ``DeprecationWarning``. Type checkers read the ``typing_extensions``
name below (they ship its stubs, so it need not be installed); at run time Python 3.13's
``warnings.deprecated`` is used, and on older versions a decorator that does what it does
for a function.
"""

from __future__ import annotations

import functools
import inspect
import sys
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

__all__ = ["deprecated"]

_F = TypeVar("_F", bound=Callable[..., Any])

if TYPE_CHECKING:
    from typing_extensions import deprecated
elif sys.version_info >= (3, 13):
    from warnings import deprecated
else:

    class deprecated:
        """Mark a function deprecated: calling it warns, ``__deprecated__`` holds why."""

        def __init__(
            self,
            message: str,
            /,
            *,
            category: type[Warning] | None = DeprecationWarning,
            stacklevel: int = 1,
        ) -> None:
            if not isinstance(message, str):
                raise TypeError(f"Expected an object of type str for 'message', not {message!r}")
            self.message = message
            self.category = category
            self.stacklevel = stacklevel

        def __call__(self, func: _F) -> _F:
            message, category, stacklevel = self.message, self.category, self.stacklevel
            if category is None:
                func.__deprecated__ = message  # type: ignore[attr-defined]
                return func
            if inspect.iscoroutinefunction(func):

                @functools.wraps(func)
                async def awaiting(*args: Any, **kwargs: Any) -> Any:
                    warnings.warn(message, category=category, stacklevel=stacklevel + 1)
                    return await func(*args, **kwargs)

                wrapper: Any = awaiting
            else:

                @functools.wraps(func)
                def calling(*args: Any, **kwargs: Any) -> Any:
                    warnings.warn(message, category=category, stacklevel=stacklevel + 1)
                    return func(*args, **kwargs)

                wrapper = calling
            wrapper.__deprecated__ = func.__deprecated__ = message  # type: ignore[attr-defined]
            return wrapper  # type: ignore[no-any-return]
