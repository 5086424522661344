"""The base of every ``client.<name>`` namespace, and the raw-response wrappers around them.

A resource method does three things: build its body and query, call one of ``_get``,
``_post``, ``_patch``, ``_put``, ``_delete`` or ``_get_api_list`` with the per-call options,
and name the type of the answer. Those calls all lead into the client's one funnel.

``resource.with_raw_response`` and ``resource.with_streaming_response`` are not written per
method: one proxy wraps every method of every resource, switching the funnel to answer with
an :class:`~letta_async._response.AsyncAPIResponse` for the duration of the call.
"""

from __future__ import annotations

import functools
import inspect
import types
import warnings
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ._pagination import AsyncPaginator, CursorRule
from ._response import AsyncAPIResponse, AsyncResponseContextManager, response_mode
from ._retry import RequestKind
from ._types import RequestOptions

if TYPE_CHECKING:
    from ._client import AsyncLetta
    from ._funnel import Funnel
    from ._transport import Transport

__all__ = ["APIResource", "ResponseProxy"]


class APIResource:
    """A namespace of API methods sharing the client's connection pool and settings."""

    def __init__(self, client: AsyncLetta) -> None:
        self._client = client

    @property
    def _transport(self) -> Transport:
        return self._client._transport

    @property
    def _funnel(self) -> Funnel:
        return self._client._funnel

    # The verbs below hand out the funnel's coroutine rather than awaiting it in one of their
    # own: every call goes through one of them, and a coroutine here would add a frame to
    # create and to pass through at each resumption, for nothing.

    def _get(
        self, path: str, *, cast_to: Any, options: RequestOptions | None = None
    ) -> Awaitable[Any]:
        return self._client._funnel.request("GET", path, cast_to=cast_to, options=options)

    def _post(
        self,
        path: str,
        *,
        cast_to: Any,
        body: Any = None,
        options: RequestOptions | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
        kind: RequestKind | None = None,
    ) -> Awaitable[Any]:
        """``kind``: ``"read"`` or ``"idempotent"`` for a POST that creates nothing, so that
        it is retried like a GET (see :mod:`letta_async._retry`)."""
        return self._client._funnel.request(
            "POST",
            path,
            cast_to=cast_to,
            body=body,
            options=options,
            content=content,
            content_type=content_type,
            kind=kind,
        )

    def _patch(
        self, path: str, *, cast_to: Any, body: Any = None, options: RequestOptions | None = None
    ) -> Awaitable[Any]:
        return self._client._funnel.request(
            "PATCH", path, cast_to=cast_to, body=body, options=options
        )

    def _put(
        self, path: str, *, cast_to: Any, body: Any = None, options: RequestOptions | None = None
    ) -> Awaitable[Any]:
        return self._client._funnel.request(
            "PUT", path, cast_to=cast_to, body=body, options=options
        )

    def _delete(
        self, path: str, *, cast_to: Any, body: Any = None, options: RequestOptions | None = None
    ) -> Awaitable[Any]:
        return self._client._funnel.request(
            "DELETE", path, cast_to=cast_to, body=body, options=options
        )

    def _get_api_list(
        self,
        path: str,
        *,
        page: Any,
        model: Any,
        options: RequestOptions | None = None,
        rule: CursorRule = "ordered",
        method: str = "GET",
        body: Any = None,
    ) -> AsyncPaginator[Any, Any]:
        return self._funnel.paginate(
            path, page=page, model=model, options=options, rule=rule, method=method, body=body
        )

    @property
    def with_raw_response(self) -> Any:
        """The same methods, each answering with an ``AsyncAPIResponse`` (body read).

        ``response = await client.agents.with_raw_response.retrieve(agent_id)`` gives the
        status and headers; ``await response.parse()`` the ``AgentState``.
        """
        return ResponseProxy(self, "raw")

    @property
    def with_streaming_response(self) -> Any:
        """The same methods as ``async with`` blocks whose body is read only on demand."""
        return ResponseProxy(self, "streaming")


async def _as_raw(call: Callable[[], Any], mode: str) -> Any:
    """Run one method call with the funnel in ``mode``; await whatever the method returned.

    A stream has no body to parse into a model: its raw response carries the connection
    that opened it, unread, so ``iter_lines()`` sees the server-sent events and ``parse()``
    gives the stream itself.
    """
    from ._stream import MessageStream

    token = response_mode.set(mode)  # type: ignore[arg-type]
    try:
        result = call()
        if isinstance(result, AsyncPaginator | Awaitable) and not isinstance(result, MessageStream):
            result = await result
        if isinstance(result, MessageStream):
            stream = await result
            return AsyncAPIResponse(
                http_response=stream.response,
                parser=lambda _raw: stream,
                live=stream._response,
                body_is_stream=True,
            )
        return result
    finally:
        response_mode.reset(token)


class ResponseProxy:
    """Stands in for a resource (or the client) and wraps each of its methods."""

    __slots__ = ("_mode", "_target")

    def __init__(self, target: Any, mode: str) -> None:
        self._target = target
        self._mode = mode

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if isinstance(value, APIResource):
            return ResponseProxy(value, self._mode)
        if not callable(value) or name.startswith("_"):
            return value
        mode = self._mode
        notice = getattr(value, "__deprecated__", None)
        call = value
        if notice is not None and inspect.ismethod(value):
            # Warned here, so the warning names the caller's line rather than this module.
            call = types.MethodType(inspect.unwrap(value.__func__), value.__self__)

        @functools.wraps(value)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if notice is not None:
                warnings.warn(notice, DeprecationWarning, stacklevel=2)
            started = _as_raw(lambda: call(*args, **kwargs), mode)
            if mode == "streaming":
                return AsyncResponseContextManager(started)
            return started

        return wrapped

    def __repr__(self) -> str:
        return f"<{self._mode} responses of {self._target!r}>"
