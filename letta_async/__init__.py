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
from ._version import __title__, __version__

if TYPE_CHECKING:
    from . import pagination, sse, types
    from ._client import AsyncClient, AsyncLetta, DefaultAioHttpClient, DefaultAsyncHttpxClient
    from ._config import (
        DEFAULT_CONNECTION_LIMITS,
        DEFAULT_MAX_RETRIES,
        DEFAULT_TIMEOUT,
        ENVIRONMENTS,
        Limits,
        RetryPolicy,
        Timeout,
        TimeoutLike,
    )
    from ._fanout import FanOut, fan_out
    from ._hooks import Hooks
    from ._http import URL, Headers, HTTPRequest, HTTPResponse, QueryParams
    from ._models import BaseModel
    from ._pagination import AsyncPaginator
    from ._response import AsyncAPIResponse
    from ._stream import AsyncStream, MessageStream, ResumeSettings
    from ._sync import APIResponse, SyncArrayPage, SyncNextFilesPage, SyncObjectPage
    from ._sync_client import Client, DefaultHttpxClient, Letta
    from ._sync_stream import Stream, SyncMessageStream
    from ._types import NOT_GIVEN, NoneType, NotGiven, Omit, RequestOptions, not_given, omit
    from .resources._upload import file_from_path

_LAZY = {
    "AsyncClient": "._client",
    "AsyncLetta": "._client",
    "DefaultAioHttpClient": "._client",
    "DefaultAsyncHttpxClient": "._client",
    "DEFAULT_CONNECTION_LIMITS": "._config",
    "DEFAULT_MAX_RETRIES": "._config",
    "DEFAULT_TIMEOUT": "._config",
    "ENVIRONMENTS": "._config",
    "Limits": "._config",
    "RetryPolicy": "._config",
    "Timeout": "._config",
    "TimeoutLike": "._config",
    "URL": "._http",
    "Headers": "._http",
    "HTTPRequest": "._http",
    "HTTPResponse": "._http",
    "QueryParams": "._http",
    "FanOut": "._fanout",
    "fan_out": "._fanout",
    "Hooks": "._hooks",
    "BaseModel": "._models",
    "AsyncPaginator": "._pagination",
    "AsyncAPIResponse": "._response",
    "AsyncStream": "._stream",
    "MessageStream": "._stream",
    "ResumeSettings": "._stream",
    "APIResponse": "._sync",
    "SyncArrayPage": "._sync",
    "SyncNextFilesPage": "._sync",
    "SyncObjectPage": "._sync",
    "Client": "._sync_client",
    "DefaultHttpxClient": "._sync_client",
    "Letta": "._sync_client",
    "Stream": "._sync_stream",
    "SyncMessageStream": "._sync_stream",
    "NOT_GIVEN": "._types",
    "NoneType": "._types",
    "NotGiven": "._types",
    "Omit": "._types",
    "RequestOptions": "._types",
    "not_given": "._types",
    "omit": "._types",
    "file_from_path": ".resources._upload",
}
_SUBMODULES = frozenset({"pagination", "sse", "types"})


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
    "DEFAULT_CONNECTION_LIMITS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "ENVIRONMENTS",
    "NOT_GIVEN",
    "URL",
    "APIConnectionError",
    "APIError",
    "APIResponse",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncAPIResponse",
    "AsyncClient",
    "AsyncLetta",
    "AsyncPaginator",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "BaseModel",
    "Client",
    "ConflictError",
    "DefaultAioHttpClient",
    "DefaultAsyncHttpxClient",
    "DefaultHttpxClient",
    "EventTooLargeError",
    "FanOut",
    "HTTPRequest",
    "HTTPResponse",
    "Headers",
    "Hooks",
    "InternalServerError",
    "Letta",
    "LettaError",
    "Limits",
    "LineTooLongError",
    "MessageDecodeError",
    "MessageStream",
    "NoneType",
    "NotFoundError",
    "NotGiven",
    "Omit",
    "PermissionDeniedError",
    "QueryParams",
    "RateLimitError",
    "RefusedRedirectError",
    "RequestOptions",
    "ResponseTooLargeError",
    "ResumeSettings",
    "RetryPolicy",
    "SSEError",
    "Stream",
    "StreamError",
    "StreamResumeError",
    "StreamTruncatedError",
    "SyncArrayPage",
    "SyncMessageStream",
    "SyncNextFilesPage",
    "SyncObjectPage",
    "Timeout",
    "TimeoutLike",
    "UnprocessableEntityError",
    "__title__",
    "__version__",
    "fan_out",
    "file_from_path",
    "not_given",
    "omit",
    "pagination",
    "sse",
    "types",
]
