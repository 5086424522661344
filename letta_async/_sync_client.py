"""Letta: the synchronous client, the official ``letta_client.Letta`` on this package's core.

It holds an :class:`~letta_async.AsyncLetta` and a private event loop on a daemon thread
(:mod:`letta_async._bridge`); every method runs the async client's method there and waits.
Settings, errors, retries, resume and types are therefore exactly the async client's.
"""

from __future__ import annotations

import functools
import ssl as ssl_module
import weakref
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from ._bridge import LoopThread
from ._client import AsyncLetta, DefaultAioHttpClient
from ._config import Limits, Timeout, TimeoutLike
from ._hooks import Hooks
from ._http import URL
from ._stream import ResumeSettings
from ._sync import BaseSyncPage, SyncAPIResource, SyncResponseProxy, call
from ._types import NOT_GIVEN, NotGiven, Omit, RequestOptions, not_given
from .resources._sync._namespaces import SyncNamespaces

if TYPE_CHECKING:
    from .types import HealthResponse

__all__ = ["Client", "DefaultHttpxClient", "Letta"]

_NO_OPTIONS: RequestOptions = {}

K = TypeVar("K")
ResponseT = TypeVar("ResponseT")


class DefaultHttpxClient(DefaultAioHttpClient):
    """``Letta(http_client=DefaultHttpxClient(...))``, as the official SDK takes it: the same
    httpx arguments, applied (or refused by name) as ``DefaultAsyncHttpxClient`` applies them."""


def _shutdown(bridge: LoopThread, client: AsyncLetta) -> None:
    """Close the pool on the loop, then stop the loop's thread (close() and collection)."""
    bridge.close(client.close)


class Letta(SyncNamespaces):
    """The synchronous client: the same constructor, namespaces and methods as
    :class:`AsyncLetta`, called without ``await``.

    Use ``with Letta() as client:`` or call :meth:`close`; a client dropped unclosed is closed
    when collected. One client may be shared by any number of threads. Calls made from inside
    a running event loop work (the caller's loop waits meanwhile); async code should prefer
    :class:`AsyncLetta`.
    """

    _async: AsyncLetta

    def __init__(
        self,
        base_url: str | URL | NotGiven | None = not_given,
        api_key: str | None = None,
        *,
        project_id: str | None = None,
        project: str | None = None,
        environment: Literal["cloud", "local"] | NotGiven = not_given,
        timeout: float | Timeout | TimeoutLike | NotGiven | None = not_given,
        max_retries: int = 2,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, object] | None = None,
        http_client: Any = None,
        limits: Limits | None = None,
        verify_ssl: bool = True,
        ssl_context: ssl_module.SSLContext | None = None,
        hooks: Hooks | None = None,
        resume: ResumeSettings | None = None,
        _strict_response_validation: bool = False,
    ) -> None:
        if http_client is not None and not isinstance(http_client, DefaultAioHttpClient):
            raise TypeError(
                "Letta(http_client=...) takes an httpx client, which this aiohttp-based client "
                "cannot use; leave it out (the client keeps its own connection pool)"
            )
        client = AsyncLetta(
            base_url,
            api_key,
            project_id=project_id,
            project=project,
            environment=environment,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            default_query=default_query,
            http_client=http_client,
            limits=limits,
            verify_ssl=verify_ssl,
            ssl_context=ssl_context,
            hooks=hooks,
            resume=resume,
            _strict_response_validation=_strict_response_validation,
        )
        self._adopt(client, LoopThread(), owner=None)

    def _adopt(self, client: AsyncLetta, bridge: LoopThread, owner: Letta | None) -> None:
        self._async = client
        self._bridge = bridge
        # A copy shares its original's pool and loop, and keeps the original alive so that
        # collecting the original cannot stop the loop under the copy.
        self._owner = owner
        if owner is None:
            self._finalizer = weakref.finalize(self, _shutdown, bridge, client)

    @classmethod
    def _wrapping(cls, client: AsyncLetta, owner: Letta) -> Letta:
        copy = cls.__new__(cls)
        copy._adopt(client, owner._bridge, owner)
        return copy

    def __repr__(self) -> str:
        key = "<set>" if self.api_key else None
        return f"Letta(base_url={str(self.base_url)!r}, api_key={key!r})"

    # --- lifetime ---------------------------------------------------------------------------

    def __enter__(self) -> Letta:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool and stop the loop thread (a copy closes nothing)."""
        if self._owner is None:
            self._finalizer()

    def is_closed(self) -> bool:
        """Whether :meth:`close` has run."""
        root = self._owner or self
        return root._bridge.closed or root._async.is_closed()

    @property
    def async_client(self) -> AsyncLetta:
        """The :class:`AsyncLetta` underneath, living on this client's loop thread."""
        return self._async

    # --- settings ---------------------------------------------------------------------------

    @property
    def api_key(self) -> str | None:
        """The API key sent as ``Authorization: Bearer`` (``$LETTA_API_KEY`` by default)."""
        return self._async.api_key

    @property
    def project_id(self) -> str | None:
        """Sent as ``X-Project-Id``."""
        return self._async.project_id

    @property
    def project(self) -> str | None:
        """Sent as ``X-Project``."""
        return self._async.project

    @property
    def base_url(self) -> URL:
        """Where requests go."""
        return self._async.base_url

    @property
    def timeout(self) -> float | Timeout | TimeoutLike | None:
        """The timeout as it was passed."""
        return self._async.timeout

    @property
    def max_retries(self) -> int:
        """How many times a failed request is retried."""
        return self._async.max_retries

    @property
    def auth_headers(self) -> dict[str, str]:
        """The ``Authorization`` header the API key makes, or nothing without a key."""
        return self._async.auth_headers

    @property
    def default_headers(self) -> dict[str, str]:
        """The headers sent with every request."""
        return self._async.default_headers

    @property
    def default_query(self) -> dict[str, object]:
        """The query parameters added to every request."""
        return self._async.default_query

    def platform_headers(self) -> dict[str, str]:
        """Headers describing the platform (none: the User-Agent names this client)."""
        return self._async.platform_headers()

    def copy(
        self,
        *,
        api_key: str | None = None,
        project_id: str | None = None,
        project: str | None = None,
        environment: Literal["cloud", "local"] | None = None,
        base_url: str | None = None,
        timeout: float | Timeout | TimeoutLike | NotGiven | None = not_given,
        http_client: Any = None,
        max_retries: int | NotGiven = not_given,
        default_headers: Mapping[str, str] | None = None,
        set_default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, object] | None = None,
        set_default_query: Mapping[str, object] | None = None,
        _extra_kwargs: Mapping[str, Any] | None = None,
    ) -> Letta:
        """A client with some settings changed, sharing this one's pool and loop thread.

        The copy needs no closing of its own. ``default_headers``/``default_query`` are merged
        over the current ones, ``set_default_headers``/``set_default_query`` replace them.
        """
        client = self._async.copy(
            api_key=api_key,
            project_id=project_id,
            project=project,
            environment=environment,
            base_url=base_url,
            timeout=timeout,
            http_client=http_client,
            max_retries=max_retries,
            default_headers=default_headers,
            set_default_headers=set_default_headers,
            default_query=default_query,
            set_default_query=set_default_query,
            _extra_kwargs=_extra_kwargs,
        )
        return Letta._wrapping(client, self._owner or self)

    with_options = copy

    # --- any route --------------------------------------------------------------------------

    @overload
    def get(
        self,
        path: str,
        *,
        cast_to: type[ResponseT],
        options: RequestOptions = ...,
        stream: Literal[False] = False,
        stream_cls: Any = None,
    ) -> ResponseT: ...

    @overload
    def get(
        self,
        path: str,
        *,
        cast_to: type[ResponseT],
        options: RequestOptions = ...,
        stream: bool,
        stream_cls: Any = None,
    ) -> Any: ...

    def get(
        self,
        path: str,
        *,
        cast_to: Any,
        options: RequestOptions = _NO_OPTIONS,
        stream: bool = False,
        stream_cls: Any = None,
    ) -> Any:
        """``GET path`` decoded into ``cast_to`` (see :meth:`AsyncLetta.get`);
        ``stream=True`` answers with a :class:`~letta_async.SyncMessageStream`."""
        return call(
            self,
            self._async.get,
            path,
            cast_to=cast_to,
            options=options,
            stream=stream,
            stream_cls=stream_cls,
        )

    @overload
    def post(
        self,
        path: str,
        *,
        cast_to: type[ResponseT],
        body: Any = None,
        content: bytes | None = None,
        files: Any = None,
        options: RequestOptions = ...,
        stream: Literal[False] = False,
        stream_cls: Any = None,
    ) -> ResponseT: ...

    @overload
    def post(
        self,
        path: str,
        *,
        cast_to: type[ResponseT],
        body: Any = None,
        content: bytes | None = None,
        files: Any = None,
        options: RequestOptions = ...,
        stream: bool,
        stream_cls: Any = None,
    ) -> Any: ...

    def post(
        self,
        path: str,
        *,
        cast_to: Any,
        body: Any = None,
        content: bytes | None = None,
        files: Any = None,
        options: RequestOptions = _NO_OPTIONS,
        stream: bool = False,
        stream_cls: Any = None,
    ) -> Any:
        """``POST path`` with a JSON ``body`` (or raw ``content``), decoded into ``cast_to``."""
        return call(
            self,
            self._async.post,
            path,
            cast_to=cast_to,
            body=body,
            content=content,
            files=files,
            options=options,
            stream=stream,
            stream_cls=stream_cls,
        )

    def patch(
        self,
        path: str,
        *,
        cast_to: type[ResponseT],
        body: Any = None,
        content: bytes | None = None,
        files: Any = None,
        options: RequestOptions = _NO_OPTIONS,
    ) -> ResponseT:
        """``PATCH path`` with a JSON ``body`` (or raw ``content``), decoded into ``cast_to``."""
        result: ResponseT = call(
            self,
            self._async.patch,
            path,
            cast_to=cast_to,
            body=body,
            content=content,
            files=files,
            options=options,
        )
        return result

    def put(
        self,
        path: str,
        *,
        cast_to: type[ResponseT],
        body: Any = None,
        content: bytes | None = None,
        files: Any = None,
        options: RequestOptions = _NO_OPTIONS,
    ) -> ResponseT:
        """``PUT path`` with a JSON ``body`` (or raw ``content``), decoded into ``cast_to``."""
        result: ResponseT = call(
            self,
            self._async.put,
            path,
            cast_to=cast_to,
            body=body,
            content=content,
            files=files,
            options=options,
        )
        return result

    def delete(
        self,
        path: str,
        *,
        cast_to: type[ResponseT],
        body: Any = None,
        content: bytes | None = None,
        options: RequestOptions = _NO_OPTIONS,
    ) -> ResponseT:
        """``DELETE path``, decoded into ``cast_to``."""
        result: ResponseT = call(
            self,
            self._async.delete,
            path,
            cast_to=cast_to,
            body=body,
            content=content,
            options=options,
        )
        return result

    def get_api_list(
        self,
        path: str,
        *,
        model: Any,
        page: Any,
        body: Any = None,
        options: RequestOptions = _NO_OPTIONS,
        method: str = "get",
    ) -> BaseSyncPage[Any]:
        """The first page of any list route (``page`` is e.g. ``AsyncArrayPage[Tool]``);
        iterating it walks every page."""
        result: BaseSyncPage[Any] = call(
            self,
            self._async.get_api_list,
            path,
            model=model,
            page=_async_page(page),
            body=body,
            options=options,
            method=method,
        )
        return result

    def health(
        self,
        *,
        extra_headers: Mapping[str, str | Omit] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: object | None = None,
        timeout: float | Timeout | TimeoutLike | NotGiven | None = NOT_GIVEN,
    ) -> HealthResponse:
        """Ask the server whether it is up (``GET /v1/health/``)."""
        result: HealthResponse = call(
            self,
            self._async.health,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
            timeout=timeout,
        )
        return result

    def fan_out(
        self,
        requests: Mapping[K, Callable[[], Any]] | Iterable[tuple[K, Callable[[], Any]]],
        *,
        limit: int = 50,
        buffer: int = 100,
    ) -> Generator[tuple[K, Any], None, None]:
        """Run many streams concurrently; yield ``(key, event)`` pairs as events arrive.

        :func:`letta_async.fan_out` for sync code: ``requests`` maps each key to a call of one
        of this client's stream methods, written ``functools.partial(client.agents.messages.
        stream, agent_id, messages=[...])``; each runs as the async client's method, on the
        loop, only once one of ``limit`` slots is free. A stream's failure arrives as
        ``(key, exception)`` after its events. Leaving the ``for`` loop early (or closing the
        iterator) closes every open stream.
        """
        items = requests.items() if isinstance(requests, Mapping) else requests
        translated = ((key, _on_the_loop(factory)) for key, factory in items)

        async def pairs() -> AsyncIterator[tuple[K, Any]]:
            from ._fanout import fan_out

            async with fan_out(translated, limit=limit, buffer=buffer) as events:
                async for pair in events:
                    yield pair

        return self._bridge.iterate(pairs)

    @property
    def with_raw_response(self) -> Any:
        """Every namespace's methods, answering with raw responses."""
        return SyncResponseProxy(self, "raw")

    @property
    def with_streaming_response(self) -> Any:
        """Every namespace's methods as ``with`` blocks whose body is read on demand."""
        return SyncResponseProxy(self, "streaming")


def _async_page(page: Any) -> Any:
    """``SyncArrayPage[Tool]`` (the official sync spelling) -> ``AsyncArrayPage[Tool]``."""
    from typing import get_args, get_origin

    from . import _pagination, _sync

    origin = get_origin(page) or page
    names = {
        _sync.SyncArrayPage: _pagination.AsyncArrayPage,
        _sync.SyncObjectPage: _pagination.AsyncObjectPage,
        _sync.SyncNextFilesPage: _pagination.AsyncNextFilesPage,
    }
    target = names.get(origin)
    if target is None:
        return page
    args = get_args(page)
    return target[args] if args else target


def _on_the_loop(factory: Callable[[], Any]) -> Callable[[], Any]:
    """A factory over this client's sync methods, as the same call of the async methods.

    A sync method waits for the loop, so it cannot run on the loop; its async twin is what a
    fan-out there needs. ``functools.partial`` of a sync method and the bound method itself
    are translated; any other callable must already return an async stream.
    """
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = {}
    func: Any = factory
    if isinstance(factory, functools.partial):
        func, args, kwargs = factory.func, factory.args, dict(factory.keywords)
    owner = getattr(func, "__self__", None)
    if isinstance(owner, SyncAPIResource):
        twin = getattr(owner._target, func.__name__)
        return functools.partial(twin, *args, **kwargs)
    return factory


Client = Letta
"""Another name for :class:`Letta`, as the official SDK has one."""
