"""letta-async: an async-first streaming client for the Letta REST API."""

from . import sse, types
from ._client import AsyncLetta
from ._config import Limits, RetryPolicy, Timeout
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
    ResponseTooLargeError,
    SSEError,
    StreamError,
    StreamResumeError,
    StreamTruncatedError,
    UnprocessableEntityError,
)
from ._fanout import FanOut, fan_out
from ._hooks import Hooks
from ._pagination import AsyncPaginator
from ._stream import MessageStream, ResumeSettings
from ._version import __version__

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
