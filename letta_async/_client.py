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
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import aiohttp

from ._config import (
    DEFAULT_TIMEOUT,
    ENVIRONMENTS,
    Limits,
    RetryPolicy,
    Timeout,
    TimeoutLike,
    resolve_base_url,
)
from ._funnel import Funnel, make_request_options
from ._hooks import Hooks
from ._http import URL
from ._http_client import DefaultAioHttpClient, DefaultAsyncHttpxClient, HttpSettings
from ._observe import StreamOrigin
from ._pagination import AsyncPaginator
from ._resource import ResponseProxy
from ._stream import MessageStream, ResumeSettings
from ._transport import Transport, check_header_value
from ._types import NOT_GIVEN, NotGiven, Omit, RequestOptions, not_given
from ._urls import opaque

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


ResponseT = TypeVar("ResponseT")
"""What ``get``/``post``/... answer with: the type given as ``cast_to``."""
__all__ = ["AsyncClient", "AsyncLetta", "DefaultAioHttpClient", "DefaultAsyncHttpxClient"]

_NO_OPTIONS: RequestOptions = {}
"""The default of ``options=``: empty, and never modified."""


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
    The server is chosen as the official SDK chooses it: ``base_url`` wins over
    ``environment`` (``"cloud"`` or ``"local"``), which wins over ``$LETTA_BASE_URL``
    (``environment`` with ``$LETTA_BASE_URL`` set is ambiguous unless ``base_url=None`` is
    passed too); with none of them, the client talks to Letta Cloud. The aiohttp session is
    created on first use inside the running event loop, so constructing the client is free
    and safe outside a loop. Pass ``session=`` to reuse your
    own ``aiohttp.ClientSession``; the client then leaves closing it to you.
    ``http_client=DefaultAsyncHttpxClient(proxy=..., verify=..., event_hooks=..., ...)``
    applies the official SDK's httpx settings; any that aiohttp cannot honour is refused.

    Use ``async with AsyncLetta() as client:`` or call ``await client.close()``.
    """

    api_key: str | None
    project_id: str | None
    project: str | None

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
        http_client: DefaultAioHttpClient | None = None,
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
                f"AsyncLetta(http_client={type(http_client).__name__}(...)): this aiohttp-based "
                "client takes letta_async.DefaultAsyncHttpxClient(...) with httpx.AsyncClient's "
                "arguments instead (or session=aiohttp.ClientSession(...) to share a pool)"
            )
        self._http_client = http_client
        http = http_client.settings if http_client is not None else HttpSettings()
        if session is not None:
            _check_session_settings(
                limits=limits or http.limits,
                tls=not verify_ssl or ssl_context is not None or http.ssl is not None,
                trace_configs=trace_configs,
            )
        if http.ssl is not None and (ssl_context is not None or not verify_ssl):
            raise ValueError(
                "TLS is set twice: pass verify=/cert= to the http_client or "
                "verify_ssl=/ssl_context= to AsyncLetta, not both"
            )
        if limits is not None and http.limits is not None:
            raise ValueError(
                "limits are set twice: pass limits= to the http_client or to AsyncLetta, not both"
            )
        if isinstance(timeout, NotGiven) and http.timeout_given:
            # As the official SDK does: the http_client's timeout unless one is passed here.
            timeout = http.timeout
        self._base = resolve_base_url(
            *(() if isinstance(base_url, NotGiven) else (base_url,)),
            **({} if isinstance(environment, NotGiven) else {"environment": environment}),
        )
        self.base_url = URL(self._base)
        """Where requests go, as an ``httpx.URL``-shaped :class:`~letta_async.URL`."""
        self._environment = environment
        self.api_key = api_key if api_key is not None else os.environ.get("LETTA_API_KEY")
        self.project_id = project_id
        self.project = project
        self.max_retries = max_retries
        # What was passed, as the official SDK keeps it (``client.timeout`` reads back 45.0);
        # the deadlines it means are resolved once, for the transport.
        self.timeout: float | Timeout | TimeoutLike | None = (
            DEFAULT_TIMEOUT if isinstance(timeout, NotGiven) else timeout
        )
        self._deadlines = Timeout.coerce(self.timeout)
        self._custom_headers = {
            **http.headers,
            **_custom_headers_from_env(),
            **dict(default_headers or {}),
        }
        self._custom_query = {**http.params, **dict(default_query or {})}
        self._limits_given = limits
        self.limits = limits or http.limits or Limits()
        self.hooks = hooks or Hooks()
        self._resume = resume or ResumeSettings()
        self._tls = (verify_ssl, ssl_context)
        self._trace_configs = trace_configs
        if ssl_context is not None:
            ssl: Any = ssl_context
        elif http.ssl is not None:
            ssl = http.ssl
        else:
            ssl = bool(verify_ssl)  # False only when asked for explicitly
        self._transport: Transport = Transport(
            base_url=self._base,
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
            proxy=http.proxy,
            trust_env=http.trust_env,
            follow_redirects=http.follow_redirects,
            **({} if http.max_redirects is None else {"max_redirects": http.max_redirects}),
            event_hooks=http.hooks,
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
        """Whether :meth:`close` has run."""
        return self._transport.closed

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The underlying aiohttp session, once created (for metrics and tests)."""
        return self._transport.session_or_none()

    # --- settings ---------------------------------------------------------------------------

    @property
    def auth_headers(self) -> dict[str, str]:
        """The ``Authorization`` header the API key makes, or nothing without a key."""
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    @property
    def default_headers(self) -> dict[str, str]:
        """The headers sent with every request: content type, key, project, custom headers."""
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        headers.update(self._all_headers())
        return headers

    @property
    def default_query(self) -> dict[str, object]:
        """The query parameters added to every request (``default_query=``)."""
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
        base_url: str | URL | None = None,
        timeout: float | Timeout | TimeoutLike | NotGiven | None = not_given,
        http_client: DefaultAioHttpClient | None = None,
        max_retries: int | NotGiven = not_given,
        default_headers: Mapping[str, str] | None = None,
        set_default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, object] | None = None,
        set_default_query: Mapping[str, object] | None = None,
        _extra_kwargs: Mapping[str, Any] | None = None,
    ) -> AsyncLetta:
        """A client with some settings changed, sharing this one's connection pool.

        The copy needs no closing of its own: the pool belongs to the original client. Given
        an ``http_client``, the copy has its own pool (its TLS and limits may differ) and is
        closed on its own. ``environment=`` without ``base_url=`` moves the copy to that
        environment (the official SDK keeps the original's URL then).
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
        if base_url is None and environment is not None:
            if environment not in ENVIRONMENTS:
                raise ValueError(f"Unknown environment: {environment}")
            base_url = ENVIRONMENTS[environment]
        own_pool = http_client is not None
        limits = self._limits_given
        if own_pool and http_client is not None:
            # The new http_client's pool and TLS settings replace the original's.
            if http_client.settings.limits is not None:
                limits = None
            if http_client.settings.ssl is not None:
                verify_ssl, ssl_context = True, None
        return type(self)(
            base_url=base_url or str(self.base_url),
            api_key=api_key or self.api_key,
            project_id=project_id or self.project_id,
            project=project or self.project,
            timeout=self.timeout if isinstance(timeout, NotGiven) else timeout,
            max_retries=self.max_retries if isinstance(max_retries, NotGiven) else max_retries,
            default_headers=headers,
            default_query=query,
            http_client=http_client if own_pool else self._http_client,
            limits=limits,
            verify_ssl=verify_ssl,
            ssl_context=ssl_context,
            trace_configs=self._trace_configs,
            hooks=self.hooks,
            resume=self._resume,
            _parent=None if own_pool else self,
            **dict(_extra_kwargs or {}),
        )

    with_options = copy

    # --- any route --------------------------------------------------------------------------

    @overload
    async def get(
        self,
        path: str,
        *,
        cast_to: type[ResponseT],
        options: RequestOptions = ...,
        stream: Literal[False] = False,
        stream_cls: Any = None,
    ) -> ResponseT: ...

    @overload
    async def get(
        self,
        path: str,
        *,
        cast_to: type[ResponseT],
        options: RequestOptions = ...,
        stream: bool,
        stream_cls: Any = None,
    ) -> Any: ...

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
        ignore the body. ``stream=True`` answers with a :class:`MessageStream` of the route's
        server-sent events instead (``stream_cls`` is accepted and not needed).
        """
        if stream:
            return await self._any_stream("GET", path, None, options)
        return await self._funnel.request("GET", _route(path), cast_to=cast_to, options=options)

    @overload
    async def post(
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
    async def post(
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
        """``POST path`` with a JSON ``body`` (or raw ``content``), decoded into ``cast_to``.

        ``stream=True`` answers with a :class:`MessageStream` of the route's events, as
        ``client.get`` does.
        """
        _no_files(files)
        if stream:
            return await self._any_stream("POST", path, body, options)
        return await self._funnel.request(
            "POST", _route(path), cast_to=cast_to, body=body, options=options, content=content
        )

    async def _any_stream(
        self, method: str, path: str, body: Any, options: RequestOptions
    ) -> MessageStream:
        """A foreground event stream over any route (``client.get/post(..., stream=True)``).

        Its origin names the method (the route is unknown), and its connection carries the
        stream's trace, as a resource's stream does.
        """
        funnel, transport = self._funnel, self._transport
        route = _route(path)

        async def opener(stream: MessageStream) -> aiohttp.ClientResponse:
            prepared = funnel.prepare(method, route, body=body, options=options, stream=True)
            prepared.omit_user_agent = True
            prepared.trace = stream._trace
            return await transport.open_stream(prepared)

        origin = StreamOrigin(method, route)
        return await MessageStream(transport, opener, background=False, origin=origin)

    async def patch(
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
        _no_files(files)
        result: ResponseT = await self._funnel.request(
            "PATCH", _route(path), cast_to=cast_to, body=body, options=options, content=content
        )
        return result

    async def put(
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
        _no_files(files)
        result: ResponseT = await self._funnel.request(
            "PUT", _route(path), cast_to=cast_to, body=body, options=options, content=content
        )
        return result

    async def delete(
        self,
        path: str,
        *,
        cast_to: type[ResponseT],
        body: Any = None,
        content: bytes | None = None,
        options: RequestOptions = _NO_OPTIONS,
    ) -> ResponseT:
        """``DELETE path``, decoded into ``cast_to``."""
        result: ResponseT = await self._funnel.request(
            "DELETE", _route(path), cast_to=cast_to, body=body, options=options, content=content
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
        timeout: float | Timeout | TimeoutLike | NotGiven | None = NOT_GIVEN,
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

    @functools.cached_property
    def agents(self) -> AgentsResource:
        """Agents, and what belongs to each: messages, memory blocks, tools, folders, files,
        archival passages, groups, identities and schedules.
        """
        from .resources import AgentsResource

        return AgentsResource(self)

    @functools.cached_property
    def tools(self) -> ToolsResource:
        """Tools: create, search, run and generate them; the tools of MCP servers."""
        from .resources import ToolsResource

        return ToolsResource(self)

    @functools.cached_property
    def blocks(self) -> BlocksResource:
        """Memory blocks shared between agents, and the agents and identities that use them."""
        from .resources import BlocksResource

        return BlocksResource(self)

    @functools.cached_property
    def archives(self) -> ArchivesResource:
        """Archives of passages that agents search, and the agents attached to them."""
        from .resources import ArchivesResource

        return ArchivesResource(self)

    @functools.cached_property
    def folders(self) -> FoldersResource:
        """Folders of uploaded files, their passages and the agents that read them."""
        from .resources import FoldersResource

        return FoldersResource(self)

    @functools.cached_property
    def models(self) -> ModelsResource:
        """The LLM and embedding models the server offers."""
        from .resources import ModelsResource

        return ModelsResource(self)

    @functools.cached_property
    def mcp_servers(self) -> McpServersResource:
        """MCP servers: register, connect and refresh them; list and run their tools."""
        from .resources import McpServersResource

        return McpServersResource(self)

    @functools.cached_property
    def runs(self) -> RunsResource:
        """Runs of agents: look them up and list them; follow one with ``stream`` or ``wait``."""
        from .resources import RunsResource

        return RunsResource(self)

    @functools.cached_property
    def steps(self) -> StepsResource:
        """The steps of runs: their messages, metrics, traces and feedback."""
        from .resources import StepsResource

        return StepsResource(self)

    @functools.cached_property
    def templates(self) -> TemplatesResource:
        """Agent templates (Letta Cloud): create, save and roll them back; agents from them."""
        from .resources import TemplatesResource

        return TemplatesResource(self)

    @functools.cached_property
    def tags(self) -> TagsResource:
        """The tags in use on agents."""
        from .resources import TagsResource

        return TagsResource(self)

    @functools.cached_property
    def messages(self) -> MessagesResource:
        """Messages across agents: look one up, list and search them."""
        from .resources import MessagesResource

        return MessagesResource(self)

    @functools.cached_property
    def passages(self) -> PassagesResource:
        """Search of archival passages across archives."""
        from .resources import PassagesResource

        return PassagesResource(self)

    @functools.cached_property
    def conversations(self) -> ConversationsResource:
        """Conversations: separate threads on one agent, each with its messages and streams."""
        from .resources import ConversationsResource

        return ConversationsResource(self)

    @functools.cached_property
    def environments(self) -> EnvironmentsResource:
        """Letta Cloud environments and the messages sent through them."""
        from .resources import EnvironmentsResource

        return EnvironmentsResource(self)

    @functools.cached_property
    def access_tokens(self) -> AccessTokensResource:
        """Client access tokens (Letta Cloud)."""
        from .resources import AccessTokensResource

        return AccessTokensResource(self)

    # Routes the official SDK does not cover; names of this client's own.

    @functools.cached_property
    def batches(self) -> BatchesResource:
        """Batches of message requests: list, look up and cancel them; read their messages."""
        from .resources import BatchesResource

        return BatchesResource(self)

    @functools.cached_property
    def identities(self) -> IdentitiesResource:
        """Identities (the users of an application), their properties, agents and blocks."""
        from .resources import IdentitiesResource

        return IdentitiesResource(self)

    @functools.cached_property
    def chat(self) -> ChatResource:
        """OpenAI-compatible chat completions answered by an agent."""
        from .resources import ChatResource

        return ChatResource(self)

    @functools.cached_property
    def embeddings(self) -> EmbeddingsResource:
        """The storage that embeddings take up."""
        from .resources import EmbeddingsResource

        return EmbeddingsResource(self)

    @functools.cached_property
    def jobs(self) -> JobsResource:
        """Background jobs (such as file processing): list, look up, cancel and delete them."""
        from .resources import JobsResource

        return JobsResource(self)

    @functools.cached_property
    def providers(self) -> ProvidersResource:
        """LLM providers configured on the server: add, check and refresh them."""
        from .resources import ProvidersResource

        return ProvidersResource(self)

    @functools.cached_property
    def sandbox_config(self) -> SandboxConfigResource:
        """Tool sandbox configurations and their environment variables."""
        from .resources import SandboxConfigResource

        return SandboxConfigResource(self)

    @functools.cached_property
    def server(self) -> ServerResource:
        """``GET /v1/health/`` and ``GET /v1/ready/`` (``client.health()`` is the short form)."""
        from .resources import ServerResource

        return ServerResource(self)


def _check_session_settings(
    *, limits: Limits | None, tls: bool, trace_configs: list[aiohttp.TraceConfig] | None
) -> None:
    """Refuse pool settings that a caller's own session would silently override."""
    pool = limits is not None and (
        limits.max_connections,
        limits.max_connections_per_host,
        limits.keepalive_timeout,
        limits.dns_cache_ttl,
        limits.max_keepalive_connections,
    ) != (
        Limits.max_connections,
        Limits.max_connections_per_host,
        Limits.keepalive_timeout,
        Limits.dns_cache_ttl,
        Limits.max_keepalive_connections,
    )
    given = [
        name
        for name, set_ in (
            ("limits", pool),
            ("TLS settings", tls),
            ("trace_configs", trace_configs),
        )
        if set_
    ]
    if given:
        raise ValueError(
            f"AsyncLetta(session=...) uses that session's connector: {', '.join(given)} "
            "cannot apply to it; set them on the aiohttp session instead"
        )


def _no_files(files: Any) -> None:
    if files is not None:
        raise TypeError(
            "files= is not supported by client.post/patch/put; use the upload methods "
            "(client.folders.files.upload, client.agents.import_file)"
        )


def _route(path: str) -> str:
    """``path`` as given to ``client.get/post/...``: relative to the base URL.

    Its route is unknown (it may hold ids), so tracing names it by its method alone.
    """
    if path.startswith(("http://", "https://")):
        raise ValueError('pass a path relative to base_url ("/v1/..."), not a full URL')
    return opaque(path if path.startswith("/") else "/" + path)


AsyncClient = AsyncLetta
"""Another name for :class:`AsyncLetta`, as the official SDK has one."""
