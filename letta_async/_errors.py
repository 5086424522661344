"""The one exception tree of letta-async.

Names follow the official Letta SDK so that ``except letta_client.NotFoundError`` becomes
``except letta_async.NotFoundError`` on migration. aiohttp's own exceptions never escape the
transport: they are translated there into :class:`APIConnectionError` and its subclasses.

Messages are built from status codes, server bodies and ids only; nothing here ever sees the
API key, so no exception text or traceback can carry it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "EventTooLargeError",
    "InternalServerError",
    "LettaError",
    "LineTooLongError",
    "MessageDecodeError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RefusedRedirectError",
    "ResponseTooLargeError",
    "SSEError",
    "StreamError",
    "StreamResumeError",
    "StreamTruncatedError",
    "UnprocessableEntityError",
]


class LettaError(Exception):
    """Root of every error this package raises on purpose."""


# --- bytes on the wire that break the protocol ------------------------------------------


class SSEError(LettaError):
    """The event stream itself is unusable (not the events in it)."""


class EventTooLargeError(SSEError):
    """One event's data grew past the decoder's ``max_event_size``.

    Raised instead of buffering without bound, so a hostile or broken server cannot exhaust
    memory. The limit is a constructor argument of :class:`letta_async.sse.SSEDecoder` and of
    the client.
    """

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"server-sent event exceeds {limit} bytes (got at least {size})")
        self.size = size
        self.limit = limit


class LineTooLongError(SSEError):
    """A single line (without a line break yet) grew past the decoder's ``max_line_length``."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"server-sent event line exceeds {limit} bytes (got at least {size})")
        self.size = size
        self.limit = limit


class MessageDecodeError(LettaError, ValueError):
    """An event's payload is not valid JSON, or not the shape its ``message_type`` promises.

    ``payload`` holds the offending text exactly as received, so nothing the server sent is lost
    even when it cannot be typed.
    """

    def __init__(self, reason: str, payload: str | bytes) -> None:
        shown = payload if len(payload) <= 200 else payload[:200]
        super().__init__(f"cannot decode message: {reason} (payload starts {shown!r})")
        self.reason = reason
        self.payload = payload


# --- HTTP level -----------------------------------------------------------------------------


class APIError(LettaError):
    """Anything that went wrong talking to the server: no answer, or an unwanted answer."""

    def __init__(self, message: str, *, method: str | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url


class APIConnectionError(APIError):
    """No usable answer: connect failure, reset, truncated body, protocol violation."""


class APITimeoutError(APIConnectionError):
    """A connect, request, idle-read or overall deadline ran out."""


class StreamTruncatedError(APIConnectionError):
    """The stream closed before ``stop_reason`` or ``[DONE]``: the reply is incomplete."""


class StreamResumeError(APIConnectionError):
    """A background stream broke and could not be resumed within the allowed attempts.

    ``run_id`` and ``last_seq_id`` are exactly what ``client.runs.stream(run_id,
    starting_after=last_seq_id)`` needs to carry on later without losing or repeating events.
    """

    def __init__(
        self,
        message: str,
        *,
        run_id: str | None,
        last_seq_id: int | None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(
            f"{message} (run_id={run_id}, last_seq_id={last_seq_id})", method=method, url=url
        )
        self.run_id = run_id
        self.last_seq_id = last_seq_id


class RefusedRedirectError(APIConnectionError):
    """A redirect this client will not follow (another origin, credentials, a bad target).

    Following a redirect to another origin would hand it the Authorization header. Retrying
    would get the same answer from the server, so the retry loop lets this through.
    """


class ResponseTooLargeError(APIError):
    """A non-streaming response body exceeded ``max_response_size``."""


class APIResponseValidationError(APIError):
    """The server answered 2xx, but the body does not match the expected type."""

    def __init__(
        self, message: str, *, body: bytes, method: str | None = None, url: str | None = None
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.body = body


class APIStatusError(APIError):
    """The server answered with a 4xx or 5xx status.

    ``body`` is the decoded JSON (or the raw text when it is not JSON); ``detail`` is the
    server's human-readable reason picked out of the three error shapes Letta uses:
    ``{"detail": str}``, FastAPI's validation form and ``{"error": {...}}``.
    """

    status_code: int

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: Any,
        headers: Mapping[str, str],
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status_code = status_code
        self.body = body
        self.headers = dict(headers)

    @property
    def detail(self) -> str | None:
        """The server's reason, whichever error shape it used."""
        return error_detail(self.body)


class BadRequestError(APIStatusError):
    """400."""


class AuthenticationError(APIStatusError):
    """401: the key is missing or wrong."""


class PermissionDeniedError(APIStatusError):
    """403."""


class NotFoundError(APIStatusError):
    """404."""


class ConflictError(APIStatusError):
    """409, e.g. cancelling when no run is active."""


class UnprocessableEntityError(APIStatusError):
    """422: the server rejected the request's shape."""


class RateLimitError(APIStatusError):
    """429."""


class InternalServerError(APIStatusError):
    """Any status of 500 or above."""


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The most specific class for a status code."""
    if status_code >= 500:
        return InternalServerError
    return _STATUS_ERRORS.get(status_code, APIStatusError)


def error_detail(body: Any) -> str | None:
    """Pick the human-readable reason out of any of Letta's error bodies."""
    if isinstance(body, str):
        return body or None
    if not isinstance(body, dict):
        return None
    detail = body.get("detail")
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        # FastAPI's structured form: [{"loc": [...], "msg": "...", ...}, ...]
        parts = [
            str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in detail
        ]
        return "; ".join(parts) or None
    error = body.get("error")
    if isinstance(error, dict):
        message = error.get("message") or error.get("detail")
        kind = error.get("type")
        if isinstance(message, str):
            return f"{kind}: {message}" if isinstance(kind, str) else message
    if isinstance(error, str):
        return error
    message = body.get("message")
    return message if isinstance(message, str) else None


# --- inside a stream ----------------------------------------------------------------------


class StreamError(LettaError):
    """The server reported an error inside a stream (``event: error`` + ``error_message``).

    ``error`` is the typed :class:`letta_async.types.LettaErrorMessage` as received; the stream
    also yields it as an ordinary event, so code that iterates sees it in order.
    """

    def __init__(self, error: Any, *, stop_reason: str | None = None) -> None:
        error_type = getattr(error, "error_type", None)
        message = getattr(error, "message", None)
        detail = getattr(error, "detail", None)
        text = f"{error_type}: {message}" if error_type else str(message)
        if detail:
            text = f"{text} ({detail})"
        super().__init__(text)
        self.error = error
        self.stop_reason = stop_reason
        self.run_id: str | None = getattr(error, "run_id", None)
