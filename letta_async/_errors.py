"""The one exception tree of letta-async.

Names follow the official Letta SDK so that ``except letta_client.NotFoundError`` becomes
``except letta_async.NotFoundError`` on migration. aiohttp's own exceptions never escape the
transport: they are translated there into :class:`APIConnectionError` and its subclasses.

Messages are built from status codes, server bodies and ids only; nothing here ever sees the
API key, so no exception text or traceback can carry it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ._http import Headers, HTTPRequest, HTTPResponse

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
    """Anything that went wrong talking to the server: no answer, or an unwanted answer.

    ``message`` is the official SDK's text for the error; ``str(error)`` starts with it and
    adds what this client knows besides (a connection error's reason, whether a failed send
    was carried out). ``request`` describes what was sent (credentials left out); ``body`` is
    the server's answer when there was one (decoded JSON, else text), as in the official SDK.
    """

    message: str
    request: HTTPRequest
    body: object | None

    def __init__(
        self,
        message: str,
        request: HTTPRequest | None = None,
        *,
        body: object | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if request is None:
            # Always a request, as in the official SDK (``e.request.method``); an error
            # raised before any request was made carries an empty one.
            request = HTTPRequest(method or "", url or "")
        self.request = request
        self.body = body
        self.method = method if method is not None else (request.method or None)
        self.url = url if url is not None else (str(request.url) or None)
        self.run_exists: bool | None = None
        """For a request that starts a run (a message send) that failed in doubt: ``True``
        when the server holds a run this request started, ``False`` when asking the server
        found none, ``None`` when it was not asked or could not tell."""
        self.run_id: str | None = None
        """That run, when the server named it (see also :attr:`run_exists`)."""
        self.run_status: str | None = None
        """That run's status when it was looked up (``failed``, ``running``, ...)."""
        self.may_have_applied: bool | None = None
        """``True`` when this request is not idempotent, may have been acted on by the server,
        and was therefore not sent again (look before you send it yourself)."""

    def note(self, text: str) -> None:
        """Add a sentence to ``str(error)``; ``error.message`` keeps the official text."""
        first = str(self.args[0]) if self.args else self.message
        self.args = (f"{first} [{text}]", *self.args[1:])


class APIConnectionError(APIError):
    """No usable answer: connect failure, reset, truncated body, protocol violation.

    ``message`` reads ``"Connection error."`` (``"Request timed out."`` for a timeout), as in
    the official SDK, and the underlying exception is chained as ``__cause__``. What exactly
    went wrong, and where, is in :attr:`detail` and follows the official text in
    ``str(error)``.

    ``connect_failed`` is ``True`` when no connection was ever established (refused, DNS,
    connect timeout): the server cannot have seen the request, so any request may be sent
    again, a message too.
    """

    connect_failed: bool = False
    default_message = "Connection error."

    def __init__(
        self,
        detail: str | None = None,
        request: HTTPRequest | None = None,
        *,
        message: str | None = None,
        body: object | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        official = message if message is not None else self.default_message
        super().__init__(official, request, body=body, method=method, url=url)
        self.detail: str | None = detail
        """The precise reason (``connection failed during GET http://...``), or ``None``.

        The first positional argument, so that ``APIConnectionError("reset by peer")`` reads
        ``"Connection error. Reset by peer"`` and keeps the official ``message``."""
        if detail:
            self.args = (f"{official} {detail[:1].upper()}{detail[1:]}",)


class APITimeoutError(APIConnectionError):
    """A connect, request, idle-read or overall deadline ran out."""

    default_message = "Request timed out."


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

    response: HTTPResponse | None
    status_code: int

    def __init__(
        self,
        message: str,
        *,
        body: object | None,
        response: HTTPResponse | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        request = _request_of(response) if response is not None else None
        super().__init__(message, request, body=body, method=method, url=url)
        self.response = response
        self.status_code = response.status_code if response is not None else 200


class APIStatusError(APIError):
    """The server answered with a 4xx or 5xx status (or reported an error in a stream).

    ``body`` is the decoded JSON (or the raw text when it is not JSON); ``response`` the
    answer's status, headers and bytes; ``detail`` the server's human-readable reason picked
    out of the error shapes Letta uses: ``{"detail": str}``, FastAPI's validation form and
    ``{"error": {...}}``.
    """

    status_code: int
    response: HTTPResponse

    def __init__(
        self,
        message: str,
        *,
        response: HTTPResponse | None = None,
        body: object | None = None,
        status_code: int | None = None,
        headers: Mapping[str, str] | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        if response is None:
            code = status_code if status_code is not None else 0
            response = HTTPResponse(code, headers=headers or {}, url=url or "")
        request = _request_of(response)
        if request is None:
            # As in the official SDK, ``error.request`` and ``error.response.request`` are
            # always there: an answer built without one gets the (possibly empty) request.
            request = response.request = HTTPRequest(method or "", url or str(response.url))
        super().__init__(message, request, body=body, method=method, url=url)
        self.response = response
        self.status_code = response.status_code if status_code is None else status_code

    @property
    def headers(self) -> Headers:
        """The answer's headers (``Retry-After``, content type, ...)."""
        return self.response.headers

    @property
    def detail(self) -> str | None:
        """The server's reason, whichever error shape it used.

        A body that is not JSON (a proxy's HTML page, say) gives its content type and first
        meaningful words on one line, never the page itself.
        """
        if isinstance(self.body, str):
            kind = _content_kind(self.headers.get("content-type", ""))
            text = _first_text(self.body, kind)
            return f"{kind}: {text}" if text else None
        return error_detail(self.body)

    @property
    def from_letta(self) -> bool:
        """Whether the answer looks like Letta's own: Letta reports every error as JSON.

        ``False`` for an HTML or plain-text page, typically from a proxy, or from another
        server that ``base_url`` points at by mistake (its 404 says nothing about agents).
        """
        return isinstance(self.body, dict | list)


def _request_of(response: HTTPResponse) -> HTTPRequest | None:
    try:
        return response.request
    except RuntimeError:
        return None


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


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_SKIP = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")
_SHOWN = 200


def _first_text(raw: str, content_type: str) -> str:
    """The first human-meaningful words of a non-JSON body, on one line."""
    if "html" in content_type or raw.lstrip()[:1] == "<":
        import html  # its entity table costs start-up time; only an HTML error page needs it

        visible = html.unescape(_TAG.sub(" ", _SKIP.sub(" ", raw)))
        title = _TITLE.search(raw)
        raw = visible if visible.strip() or title is None else html.unescape(title.group(1))
    text = _SPACE.sub(" ", raw).strip()
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _content_kind(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip() or "no content type"


def status_error_message(status_code: int, body: object, *, content_type: str, raw: str) -> str:
    """One line saying what the server answered.

    A JSON body is shown as the official SDK shows it (``Error code: 404 - {...}``). Any
    other body (an HTML error page from a proxy, plain text) is reduced to its content type
    and first meaningful words instead of being pasted whole. A 404 that is not JSON did not
    come from Letta, whose errors are always JSON, and the message says so, since the likely
    cause is a ``base_url`` that points somewhere else.
    """
    if not isinstance(body, str) and body is not None:
        return f"Error code: {status_code} - {body}"
    kind = _content_kind(content_type)
    text = _first_text(raw, kind)
    message = f"Error code: {status_code} - {kind}" + (f": {text}" if text else ", empty body")
    if status_code == 404:
        message += (
            " (not a Letta answer: Letta reports errors as JSON; check that base_url points "
            "at a Letta server)"
        )
    return message


# --- inside a stream ----------------------------------------------------------------------


class StreamError(APIStatusError):
    """The server reported an error inside a stream (``event: error`` + ``error_message``).

    Raised, as the official SDK raises it, after every event the server sent before the
    error, so a loop wrapped in ``except APIError`` sees it. The HTTP status was 200 (the
    error came after the headers); ``body`` is the error frame's JSON and ``error`` the typed
    :class:`letta_async.types.LettaErrorMessage`. ``stop_reason`` is the stop reason the
    server sent before the error, when it sent one.
    """

    def __init__(
        self,
        error: Any,
        *,
        stop_reason: str | None = None,
        body: object | None = None,
        response: HTTPResponse | None = None,
    ) -> None:
        error_type = getattr(error, "error_type", None)
        message = getattr(error, "message", None)
        detail = getattr(error, "detail", None)
        text = f"{error_type}: {message}" if error_type else str(message)
        if detail:
            text = f"{text} ({detail})"
        if body is None:
            body = _frame_body(error)
        super().__init__(
            text, response=response or HTTPResponse(200, reason_phrase="OK"), body=body
        )
        self.error = error
        self.stop_reason = stop_reason
        self.run_id = getattr(error, "run_id", None)


def _frame_body(error: Any) -> object:
    """The error frame as plain JSON data, for ``body``."""
    to_dict = getattr(error, "model_dump", None)
    if callable(to_dict):
        return to_dict(mode="json")
    return error
