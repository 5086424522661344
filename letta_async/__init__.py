"""letta-async: an async-first streaming client for the Letta REST API.

The exception tree and the version load with the package; everything else (the client and
with it aiohttp, the types, the SSE decoder) loads on first use of its name. A script that
only imports ``letta_async`` to catch its errors, or a CLI that prints ``--help``, does not
pay for an HTTP stack it never starts.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    EventTooLargeError,
    InternalServerError,
    LettaError,
    LineTooLongError,
    MessageDecodeError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RefusedRedirectError,
    ResponseTooLargeError,
    SSEError,
    StreamError,
    StreamResumeError,
    StreamTruncatedError,
    UnprocessableEntityError,
)
from ._version import __version__

if TYPE_CHECKING:
    from . import sse, types
    from ._client import AsyncLetta
    from ._config import Limits, RetryPolicy, Timeout
    from ._fanout import FanOut, fan_out
    from ._hooks import Hooks
    from ._pagination import AsyncPaginator
    from ._stream import MessageStream, ResumeSettings

_LAZY = {
    "AsyncLetta": "._client",
    "Limits": "._config",
    "RetryPolicy": "._config",
    "Timeout": "._config",
    "FanOut": "._fanout",
    "fan_out": "._fanout",
    "Hooks": "._hooks",
    "AsyncPaginator": "._pagination",
    "MessageStream": "._stream",
    "ResumeSettings": "._stream",
}
_SUBMODULES = frozenset({"sse", "types"})


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncLetta",
    "AsyncPaginator",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "EventTooLargeError",
    "FanOut",
    "Hooks",
    "InternalServerError",
    "LettaError",
    "Limits",
    "LineTooLongError",
    "MessageDecodeError",
    "MessageStream",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RefusedRedirectError",
    "ResponseTooLargeError",
    "ResumeSettings",
    "RetryPolicy",
    "SSEError",
    "StreamError",
    "StreamResumeError",
    "StreamTruncatedError",
    "Timeout",
    "UnprocessableEntityError",
    "__version__",
    "fan_out",
    "sse",
    "types",
]
