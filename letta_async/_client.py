"""AsyncLetta: settings, the lifetime of the connection pool, and the resource namespaces."""

from __future__ import annotations

import os
import ssl as ssl_module
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import aiohttp

from ._config import Limits, RetryPolicy, Timeout, resolve_base_url
from ._hooks import Hooks
from ._stream import ResumeSettings
from ._transport import PreparedRequest, Transport, check_header_value, encode_json
from .resources import (
    Agents,
    Archives,
    Batches,
    Blocks,
    Chat,
    Conversations,
    Embeddings,
    Folders,
    HealthChecks,
    Jobs,
    McpServers,
    Messages,
    Models,
    Passages,
    Providers,
    Runs,
    SandboxConfigs,
    Steps,
    Tags,
    Tools,
)

__all__ = ["AsyncLetta"]


class AsyncLetta:
    """The client. One instance holds one connection pool; share it across tasks.

    ``base_url`` defaults to ``$LETTA_BASE_URL``, then ``http://localhost:8283``; ``api_key``
    to ``$LETTA_API_KEY`` (sent as ``Authorization: Bearer``). The aiohttp session is created
    on first use inside the running event loop, so constructing the client is free and safe
    outside a loop. Pass ``session=`` to reuse your own ``aiohttp.ClientSession``; the client
    then leaves closing it to you.

    Use ``async with AsyncLetta() as client:`` or call ``await client.close()``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | Timeout | None = None,
        max_retries: int = 2,
        limits: Limits | None = None,
        session: aiohttp.ClientSession | None = None,
        verify_ssl: bool = True,
        ssl_context: ssl_module.SSLContext | None = None,
        default_headers: Mapping[str, str] | None = None,
        trace_configs: list[aiohttp.TraceConfig] | None = None,
        hooks: Hooks | None = None,
        resume: ResumeSettings | None = None,
    ) -> None:
        self.base_url = resolve_base_url(base_url)
        key = api_key if api_key is not None else os.environ.get("LETTA_API_KEY")
        headers = dict(default_headers or {})  # checked by the transport, once
        if key:
            headers["Authorization"] = "Bearer " + check_header_value("api_key", key)
        self._has_key = bool(key)
        if ssl_context is not None:
            ssl: Any = ssl_context
        elif verify_ssl:
            ssl = True
        else:
            ssl = False  # explicit opt-out only
        self.timeout = Timeout.coerce(timeout)
        self.limits = limits or Limits()
        self.hooks = hooks or Hooks()
        self._resume = resume or ResumeSettings()
        self._transport = Transport(
            base_url=self.base_url,
            headers=headers,
            timeout=self.timeout,
            retry=RetryPolicy(max_retries=max_retries),
            limits=self.limits,
            session=session,
            ssl=ssl,
            trace_configs=trace_configs,
            hooks=self.hooks,
        )
        self.agents = Agents(self)
        self.runs = Runs(self)
        self.conversations = Conversations(self)
        self.archives = Archives(self)
        self.batches = Batches(self)
        self.blocks = Blocks(self)
        self.chat = Chat(self)
        self.embeddings = Embeddings(self)
        self.folders = Folders(self)
        self.health = HealthChecks(self)
        self.jobs = Jobs(self)
        self.mcp_servers = McpServers(self)
        self.messages = Messages(self)
        self.models = Models(self)
        self.passages = Passages(self)
        self.providers = Providers(self)
        self.sandbox_config = SandboxConfigs(self)
        self.steps = Steps(self)
        self.tags = Tags(self)
        self.tools = Tools(self)

    def __repr__(self) -> str:
        key = "<set>" if self._has_key else None
        return f"AsyncLetta(base_url={str(self.base_url)!r}, api_key={key!r})"

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

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The underlying aiohttp session, once created (for metrics and tests)."""
        return self._transport.session_or_none()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        cast_to: Any = Any,
    ) -> Any:
        """Call any route this client does not wrap yet, with the same retries and errors.

        ``path`` is relative to the base URL (``"/v1/tags/"``); ``cast_to`` is any type msgspec
        can decode into (a Struct, ``list[SomeStruct]``, ``dict[str, Any]``), ``Any`` for
        plain JSON, or ``None`` to ignore the body.
        """
        if not path.startswith("/"):
            raise ValueError("path must start with '/' and be relative to the base URL")
        request = PreparedRequest(
            method.upper(),
            path,
            params=params,
            body=encode_json(json) if json is not None else None,
        )
        return await self._transport.request(request, cast_to)
