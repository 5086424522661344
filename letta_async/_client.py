"""AsyncLetta: settings, the lifetime of the connection pool, and the resource namespaces.

The constructor takes the official SDK's arguments (``api_key``, ``base_url``,
``environment``, ``project_id``, ``project``, ``timeout``, ``max_retries``,
``default_headers``, ``default_query``) with the same meaning and defaults, plus this
client's own (``session``, ``limits``, ``resume``, ``hooks``, ``trace_configs``, TLS
settings). Resource namespaces are built on first access, so a client is cheap to make and
to copy.
"""

from __future__ import annotations

import functools
import os
import ssl as ssl_module
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import aiohttp

from ._config import DEFAULT_TIMEOUT, Limits, RetryPolicy, Timeout, resolve_base_url
from ._funnel import Funnel, make_request_options
from ._hooks import Hooks
from ._pagination import AsyncPaginator
from ._resource import ResponseProxy
from ._stream import ResumeSettings
from ._transport import Transport, check_header_value
from ._types import NOT_GIVEN, NotGiven, Omit, RequestOptions, not_given

if TYPE_CHECKING:
    from .resources import (
        AccessTokensResource,
        AgentsResource,
        ArchivesResource,
        BatchesResource,
        BlocksResource,
        ChatResource,
        ConversationsResource,
        EmbeddingsResource,
        EnvironmentsResource,
        FoldersResource,
        IdentitiesResource,
        JobsResource,
        McpServersResource,
        MessagesResource,
        ModelsResource,
        PassagesResource,
        ProvidersResource,
        RunsResource,
        SandboxConfigResource,
        ServerResource,
        StepsResource,
        TagsResource,
        TemplatesResource,
        ToolsResource,
    )
    from .types import HealthResponse

__all__ = ["AsyncClient", "AsyncLetta", "DefaultAioHttpClient", "DefaultAsyncHttpxClient"]

_NO_OPTIONS: RequestOptions = {}
"""The default of ``options=``: empty, and never modified."""

_cached = functools.cached_property


class DefaultAioHttpClient:
    """Accepted as ``AsyncLetta(http_client=DefaultAioHttpClient())``, the official SDK's way
    to ask for aiohttp, which this client always uses: it changes nothing here."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs


class DefaultAsyncHttpxClient(DefaultAioHttpClient):
    """Accepted like :class:`DefaultAioHttpClient`: the client's own pool is used."""


def _custom_headers_from_env() -> dict[str, str]:
    """``$LETTA_CUSTOM_HEADERS``: one ``Name: value`` per line, as the official SDK reads it."""
    raw = os.environ.get("LETTA_CUSTOM_HEADERS")
    parsed: dict[str, str] = {}
    if raw is None:
        return parsed
    for line in raw.split("\n"):
        name, colon, value = line.partition(":")
        if colon:
            parsed[name.strip()] = value.strip()
    return parsed


class AsyncLetta:
    """The client. One instance holds one connection pool; share it across tasks.

    ``api_key`` defaults to ``$LETTA_API_KEY`` (sent as ``Authorization: Bearer``).
    ``base_url`` wins over ``environment`` (``"cloud"`` or ``"local"``), which wins over
    ``$LETTA_BASE_URL``; with none of them, the client talks to Letta Cloud, as the official
    SDK does. The aiohttp session is created on first use inside the running event loop, so
    constructing the client is free and safe outside a loop. Pass ``session=`` to reuse your
    own ``aiohttp.ClientSession``; the client then leaves closing it to you.

    Use ``async with AsyncLetta() as client:`` or call ``await client.close()``.
    """

    api_key: str | None
    project_id: str | None
    project: str | None

    def __init__(
        self,
        base_url: str | NotGiven | None = not_given,
        api_key: str | None = None,
        *,
        project_id: str | None = None,
        project: str | None = None,
        environment: Literal["cloud", "local"] | NotGiven = not_given,
        timeout: float | Timeout | NotGiven | None = not_given,
        max_retries: int = 2,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, object] | None = None,
        http_client: Any = None,
        limits: Limits | None = None,
        session: aiohttp.ClientSession | None = None,
        verify_ssl: bool = True,
        ssl_context: ssl_module.SSLContext | None = None,
        trace_configs: list[aiohttp.TraceConfig] | None = None,
        hooks: Hooks | None = None,
        resume: ResumeSettings | None = None,
        _strict_response_validation: bool = False,
        _parent: AsyncLetta | None = None,
    ) -> None:
        if http_client is not None and not isinstance(http_client, DefaultAioHttpClient):
            raise TypeError(
                "AsyncLetta(http_client=...) takes an httpx client, which this aiohttp-based "
                "client cannot use; pass session=aiohttp.ClientSession(...) to share a "
                "connection pool, or leave it out"
            )
        self.base_url = resolve_base_url(
            None if isinstance(base_url, NotGiven) else base_url,
            None if isinstance(environment, NotGiven) else environment,
        )
        self._environment = environment
        self.api_key = api_key if api_key is not None else os.environ.get("LETTA_API_KEY")
        self.project_id = project_id
        self.project = project
        self.max_retries = max_retries
        # What was passed, as the official SDK keeps it (``client.timeout`` reads back 45.0);
        # the deadlines it means are resolved once, for the transport.
        self.timeout: float | Timeout | None = (
            DEFAULT_TIMEOUT if isinstance(timeout, NotGiven) else timeout
        )
        self._deadlines = Timeout.coerce(self.timeout)
        self._custom_headers = {**_custom_headers_from_env(), **dict(default_headers or {})}
        self._custom_query = dict(default_query or {})
        self.limits = limits or Limits()
        self.hooks = hooks or Hooks()
        self._resume = resume or ResumeSettings()
        self._tls = (verify_ssl, ssl_context)
        self._trace_configs = trace_configs
        if ssl_context is not None:
            ssl: Any = ssl_context
        else:
            ssl = bool(verify_ssl)  # False only when asked for explicitly
        self._transport: Transport = Transport(
            base_url=self.base_url,
            headers=self._all_headers(),
            timeout=self._deadlines,
            retry=RetryPolicy(max_retries=max_retries),
            limits=self.limits,
            session=session,
            ssl=ssl,
            trace_configs=trace_configs,
            hooks=self.hooks,
            default_params=self._custom_query,
            parent=_parent._transport if _parent is not None else None,
        )
        self._funnel: Funnel = Funnel(self._transport)

    def _all_headers(self) -> dict[str, str]:
        headers = dict(self._custom_headers)  # checked by the transport, once
        if self.project_id is not None:
            headers.setdefault("X-Project-Id", self.project_id)
        if self.project is not None:
            headers.setdefault("X-Project", self.project)
        if self.api_key:
            headers["Authorization"] = "Bearer " + check_header_value("api_key", self.api_key)
        return headers

    def __repr__(self) -> str:
        key = "<set>" if self.api_key else None
        return f"AsyncLetta(base_url={str(self.base_url)!r}, api_key={key!r})"

    # --- lifetime ---------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncLetta:
        await self._transport.session()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection pool (unless the session was passed in by the caller)."""
        await self._transport.aclose()

    def is_closed(self) -> bool:
        return self._transport.closed

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The underlying aiohttp session, once created (for metrics and tests)."""
        return self._transport.session_or_none()

    # --- settings ---------------------------------------------------------------------------

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    @property
    def default_headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        headers.update(self._all_headers())
        return headers

    @property
    def default_query(self) -> dict[str, object]:
        return dict(self._custom_query)

    def platform_headers(self) -> dict[str, str]:
        """Headers describing the platform (none: the User-Agent names this client)."""
        return {}

    def copy(
        self,
        *,
        api_key: str | None = None,
        project_id: str | None = None,
        project: str | None = None,
        environment: Literal["cloud", "local"] | None = None,
        base_url: str | None = None,
        timeout: float | Timeout | NotGiven | None = not_given,
        http_client: Any = None,
        max_retries: int | NotGiven = not_given,
        default_headers: Mapping[str, str] | None = None,
        set_default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, object] | None = None,
        set_default_query: Mapping[str, object] | None = None,
        _extra_kwargs: Mapping[str, Any] | None = None,
    ) -> AsyncLetta:
        """A client with some settings changed, sharing this one's connection pool.

        The copy needs no closing of its own: the pool belongs to the original client.
        ``default_headers``/``default_query`` are merged over the current ones,
        ``set_default_headers``/``set_default_query`` replace them.
        """
        if default_headers is not None and set_default_headers is not None:
            raise ValueError("default_headers and set_default_headers are mutually exclusive")
        if default_query is not None and set_default_query is not None:
            raise ValueError("default_query and set_default_query are mutually exclusive")
        headers = dict(self._custom_headers)
        if default_headers is not None:
            headers.update(default_headers)
        elif set_default_headers is not None:
            headers = dict(set_default_headers)
        query = dict(self._custom_query)
        if default_query is not None:
            query.update(default_query)
        elif set_default_query is not None:
            query = dict(set_default_query)
        verify_ssl, ssl_context = self._tls
        return type(self)(
            base_url=base_url or str(self.base_url),
            api_key=api_key or self.api_key,
            project_id=project_id or self.project_id,
            project=project or self.project,
            timeout=self.timeout if isinstance(timeout, NotGiven) else timeout,
            max_retries=self.max_retries if isinstance(max_retries, NotGiven) else max_retries,
            default_headers=headers,
            default_query=query,
            http_client=http_client,
            limits=self.limits,
            verify_ssl=verify_ssl,
            ssl_context=ssl_context,
            trace_configs=self._trace_configs,
            hooks=self.hooks,
            resume=self._resume,
            _parent=self,
            **dict(_extra_kwargs or {}),
        )

    with_options = copy

    # --- any route --------------------------------------------------------------------------

    async def get(
        self,
        path: str,
        *,
        cast_to: Any,
        options: RequestOptions = _NO_OPTIONS,
        stream: bool = False,
        stream_cls: Any = None,
    ) -> Any:
        """``GET path`` decoded into ``cast_to``, with the client's retries and errors.

        ``path`` is relative to the base URL (``"/v1/tags/"``); ``cast_to`` is any type
        msgspec can decode into, ``object`` for plain JSON, ``str`` for text, ``None`` to
        ignore the body.
        """
        return await self._funnel.request("GET", _route(path), cast_to=cast_to, options=options)

    async def post(
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
        _no_files(files)
        return await self._funnel.request(
            "POST", _route(path), cast_to=cast_to, body=body, options=options, content=content
        )

    async def patch(
        self,
        path: str,
        *,
        cast_to: Any,
        body: Any = None,
        content: bytes | None = None,
        files: Any = None,
        options: RequestOptions = _NO_OPTIONS,
    ) -> Any:
        """``PATCH path`` with a JSON ``body`` (or raw ``content``), decoded into ``cast_to``."""
        _no_files(files)
        return await self._funnel.request(
            "PATCH", _route(path), cast_to=cast_to, body=body, options=options, content=content
        )

    async def put(
        self,
        path: str,
        *,
        cast_to: Any,
        body: Any = None,
        content: bytes | None = None,
        files: Any = None,
        options: RequestOptions = _NO_OPTIONS,
    ) -> Any:
        """``PUT path`` with a JSON ``body`` (or raw ``content``), decoded into ``cast_to``."""
        _no_files(files)
        return await self._funnel.request(
            "PUT", _route(path), cast_to=cast_to, body=body, options=options, content=content
        )

    async def delete(
        self,
        path: str,
        *,
        cast_to: Any,
        body: Any = None,
        content: bytes | None = None,
        options: RequestOptions = _NO_OPTIONS,
    ) -> Any:
        """``DELETE path``, decoded into ``cast_to``."""
        return await self._funnel.request(
            "DELETE", _route(path), cast_to=cast_to, body=body, options=options, content=content
        )

    def get_api_list(
        self,
        path: str,
        *,
        model: Any,
        page: Any,
        body: Any = None,
        options: RequestOptions = _NO_OPTIONS,
        method: str = "get",
    ) -> AsyncPaginator[Any, Any]:
        """A paginator over any list route: ``page`` is e.g. ``AsyncArrayPage[Tool]``."""
        return self._funnel.paginate(
            _route(path), page=page, model=model, options=options, method=method, body=body
        )

    async def health(
        self,
        *,
        extra_headers: Mapping[str, str | Omit] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: object | None = None,
        timeout: float | Timeout | NotGiven | None = NOT_GIVEN,
    ) -> HealthResponse:
        """Ask the server whether it is up (``GET /v1/health/``)."""
        from .types import HealthResponse

        result: HealthResponse = await self._funnel.request(
            "GET",
            "/v1/health/",
            cast_to=HealthResponse,
            options=make_request_options(
                extra_headers=extra_headers,
                extra_query=extra_query,
                extra_body=extra_body,
                timeout=timeout,
            ),
        )
        return result

    @property
    def with_raw_response(self) -> Any:
        """Every resource's methods, answering with raw responses (see the resources)."""
        return ResponseProxy(self, "raw")

    @property
    def with_streaming_response(self) -> Any:
        """Every resource's methods as ``async with`` blocks whose body is read on demand."""
        return ResponseProxy(self, "streaming")

    # --- resources --------------------------------------------------------------------------

    @_cached
    def agents(self) -> AgentsResource:
        from .resources import AgentsResource

        return AgentsResource(self)

    @_cached
    def tools(self) -> ToolsResource:
        from .resources import ToolsResource

        return ToolsResource(self)

    @_cached
    def blocks(self) -> BlocksResource:
        from .resources import BlocksResource

        return BlocksResource(self)

    @_cached
    def archives(self) -> ArchivesResource:
        from .resources import ArchivesResource

        return ArchivesResource(self)

    @_cached
    def folders(self) -> FoldersResource:
        from .resources import FoldersResource

        return FoldersResource(self)

    @_cached
    def models(self) -> ModelsResource:
        from .resources import ModelsResource

        return ModelsResource(self)

    @_cached
    def mcp_servers(self) -> McpServersResource:
        from .resources import McpServersResource

        return McpServersResource(self)

    @_cached
    def runs(self) -> RunsResource:
        from .resources import RunsResource

        return RunsResource(self)

    @_cached
    def steps(self) -> StepsResource:
        from .resources import StepsResource

        return StepsResource(self)

    @_cached
    def templates(self) -> TemplatesResource:
        from .resources import TemplatesResource

        return TemplatesResource(self)

    @_cached
    def tags(self) -> TagsResource:
        from .resources import TagsResource

        return TagsResource(self)

    @_cached
    def messages(self) -> MessagesResource:
        from .resources import MessagesResource

        return MessagesResource(self)

    @_cached
    def passages(self) -> PassagesResource:
        from .resources import PassagesResource

        return PassagesResource(self)

    @_cached
    def conversations(self) -> ConversationsResource:
        from .resources import ConversationsResource

        return ConversationsResource(self)

    @_cached
    def environments(self) -> EnvironmentsResource:
        from .resources import EnvironmentsResource

        return EnvironmentsResource(self)

    @_cached
    def access_tokens(self) -> AccessTokensResource:
        from .resources import AccessTokensResource

        return AccessTokensResource(self)

    # Routes the official SDK does not cover; names of this client's own.

    @_cached
    def batches(self) -> BatchesResource:
        from .resources import BatchesResource

        return BatchesResource(self)

    @_cached
    def identities(self) -> IdentitiesResource:
        from .resources import IdentitiesResource

        return IdentitiesResource(self)

    @_cached
    def chat(self) -> ChatResource:
        from .resources import ChatResource

        return ChatResource(self)

    @_cached
    def embeddings(self) -> EmbeddingsResource:
        from .resources import EmbeddingsResource

        return EmbeddingsResource(self)

    @_cached
    def jobs(self) -> JobsResource:
        from .resources import JobsResource

        return JobsResource(self)

    @_cached
    def providers(self) -> ProvidersResource:
        from .resources import ProvidersResource

        return ProvidersResource(self)

    @_cached
    def sandbox_config(self) -> SandboxConfigResource:
        from .resources import SandboxConfigResource

        return SandboxConfigResource(self)

    @_cached
    def server(self) -> ServerResource:
        """``GET /v1/health/`` and ``GET /v1/ready/`` (``client.health()`` is the short form)."""
        from .resources import ServerResource

        return ServerResource(self)


def _no_files(files: Any) -> None:
    if files is not None:
        raise TypeError(
            "files= is not supported by client.post/patch/put; use the upload methods "
            "(client.folders.files.upload, client.agents.import_file)"
        )


def _route(path: str) -> str:
    """``path`` as given to ``client.get/post/...``: relative to the base URL."""
    if path.startswith(("http://", "https://")):
        raise ValueError('pass a path relative to base_url ("/v1/..."), not a full URL')
    return path if path.startswith("/") else "/" + path


AsyncClient = AsyncLetta
