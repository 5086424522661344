"""Sentinels and aliases shared by every resource method's signature.

Each API parameter defaults to :data:`omit`, which means "leave this key out of the request"
(the server's default applies). ``None`` is a value like any other: ``description=None``
sends ``null`` and so clears the field. Keeping the two apart is what lets an update clear a
field without making every unspecified field cleared too.

:data:`not_given` plays the same part for the per-call ``timeout`` option, whose ``None``
already means "no timeout at all".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal, Protocol, SupportsIndex, TypedDict, TypeVar, overload

__all__ = [
    "NOT_GIVEN",
    "Body",
    "Headers",
    "NoneType",
    "NotGiven",
    "Omit",
    "Query",
    "RequestOptions",
    "SequenceNotStr",
    "is_given",
    "not_given",
    "omit",
]

_T = TypeVar("_T")
_T_co = TypeVar("_T_co", covariant=True)

NoneType = type(None)
"""``type(None)``, exported as the official SDK exports it (``cast_to=NoneType``)."""


class Omit:
    """The type of :data:`omit`: "this argument was not passed"."""

    _instance: Omit | None = None

    def __new__(cls) -> Omit:
        # One instance only, so identity checks are safe across modules.
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "omit"

    def __reduce__(self) -> str:
        return "omit"


class NotGiven:
    """The type of :data:`not_given`: an option left to the client's own setting."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "not_given"


omit = Omit()
"""The default of optional parameters: the argument is left out of the request entirely."""
not_given = NotGiven()
"""The default of per-call options such as ``timeout``: the client's own setting applies."""
NOT_GIVEN = not_given
"""The older spelling of :data:`not_given`, kept for programs that import it."""


def is_given(value: _T | Omit | NotGiven) -> bool:
    """True unless ``value`` is one of the two "not passed" sentinels."""
    return not isinstance(value, Omit | NotGiven)


Headers = Mapping[str, str | Omit]
"""Extra request headers; an :data:`omit` value removes a header the client would send."""

Query = Mapping[str, object]
"""Extra query parameters, merged over the method's own."""

Body = object
"""Extra JSON body keys (a mapping), merged over the method's own."""


class RequestOptions(TypedDict, total=False):
    """Per-call settings accepted by ``client.get/post/...(options=...)``."""

    headers: Headers
    max_retries: int
    timeout: float | None
    params: Query
    extra_json: Mapping[str, object]
    idempotency_key: str
    """Accepted and not sent, as in the official SDK: Letta's API names no idempotency header."""
    follow_redirects: bool


class SequenceNotStr(Protocol[_T_co]):
    """Any sequence except ``str``: for list parameters, where a bare string is a bug.

    ``str`` is a ``Sequence[str]`` to a type checker, so ``tags="a"`` would pass as a list of
    one-letter tags. ``str.__contains__`` only takes ``str``; this protocol's takes any
    object, which is what keeps strings out while lists and tuples fit.
    """

    @overload
    def __getitem__(self, index: SupportsIndex, /) -> _T_co: ...
    @overload
    def __getitem__(self, index: slice, /) -> Sequence[_T_co]: ...
    def __contains__(self, value: object, /) -> bool: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[_T_co]: ...
    def index(self, value: Any, start: int = 0, stop: int = ..., /) -> int: ...
    def count(self, value: Any, /) -> int: ...
    def __reversed__(self) -> Iterator[_T_co]: ...
