"""``client.tools``: the functions agents can call.

A tool is source code (Python or TypeScript) plus a JSON schema the model sees. Tools are shared
objects: create or upsert one here, then attach it to agents with ``client.agents.tools.attach``.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from .._pagination import AsyncPaginator
from .._urls import path
from ..types import ToolReturnMessage
from ..types._spec import (
    GenerateToolOutput,
    NpmRequirement,
    PipRequirement,
    Tool,
    ToolSearchResult,
)
from ._common import ApiResource, endpoint, json_body, query_params
from .legacy_mcp import ToolMcpServers

__all__ = ["Tools"]


class Tools(ApiResource):
    """``client.tools``."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.mcp_servers = ToolMcpServers(client)

    @endpoint("POST", "/v1/tools/")
    async def create(
        self,
        *,
        source_code: str,
        description: str | None = None,
        tags: Sequence[str] | None = None,
        source_type: str | None = None,
        json_schema: dict[str, Any] | None = None,
        args_json_schema: dict[str, Any] | None = None,
        return_char_limit: int | None = None,
        pip_requirements: Sequence[PipRequirement | Mapping[str, Any]] | None = None,
        npm_requirements: Sequence[NpmRequirement | Mapping[str, Any]] | None = None,
        default_requires_approval: bool | None = None,
        enable_parallel_execution: bool | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Tool:
        """Create a tool from source code; its schema is derived from the code unless given."""
        return await self._request(
            "POST",
            "/v1/tools/",
            Tool,
            json=json_body(
                description=description,
                tags=tags,
                source_code=source_code,
                source_type=source_type,
                json_schema=json_schema,
                args_json_schema=args_json_schema,
                return_char_limit=return_char_limit,
                pip_requirements=pip_requirements,
                npm_requirements=npm_requirements,
                default_requires_approval=default_requires_approval,
                enable_parallel_execution=enable_parallel_execution,
            ),
            extra_body=extra_body,
        )

    @endpoint("GET", "/v1/tools/{tool_id}")
    async def retrieve(self, tool_id: str) -> Tool:
        """One tool."""
        return await self._request("GET", path("/v1/tools/{}", tool_id), Tool)

    @endpoint("PATCH", "/v1/tools/{tool_id}")
    async def update(
        self,
        tool_id: str,
        *,
        description: str | None = None,
        tags: Sequence[str] | None = None,
        source_code: str | None = None,
        source_type: str | None = None,
        json_schema: dict[str, Any] | None = None,
        args_json_schema: dict[str, Any] | None = None,
        return_char_limit: int | None = None,
        pip_requirements: Sequence[PipRequirement | Mapping[str, Any]] | None = None,
        npm_requirements: Sequence[NpmRequirement | Mapping[str, Any]] | None = None,
        metadata_: dict[str, Any] | None = None,
        default_requires_approval: bool | None = None,
        enable_parallel_execution: bool | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Tool:
        """Change a tool; agents that have it attached use the new version."""
        return await self._request(
            "PATCH",
            path("/v1/tools/{}", tool_id),
            Tool,
            json=json_body(
                description=description,
                tags=tags,
                source_code=source_code,
                source_type=source_type,
                json_schema=json_schema,
                args_json_schema=args_json_schema,
                return_char_limit=return_char_limit,
                pip_requirements=pip_requirements,
                npm_requirements=npm_requirements,
                metadata_=metadata_,
                default_requires_approval=default_requires_approval,
                enable_parallel_execution=enable_parallel_execution,
            ),
            extra_body=extra_body,
        )

    @endpoint("GET", "/v1/tools/")
    def list(
        self,
        *,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        order_by: Literal["created_at"] | None = None,
        name: str | None = None,
        names: Sequence[str] | None = None,
        tool_ids: Sequence[str] | None = None,
        search: str | None = None,
        tool_types: Sequence[str] | None = None,
        exclude_tool_types: Sequence[str] | None = None,
        return_only_letta_tools: bool | None = None,
    ) -> AsyncPaginator[Tool]:
        """Tools available to agents, across pages."""
        return self._paginate(
            "/v1/tools/",
            Tool,
            query_params(
                before=before,
                after=after,
                limit=limit,
                order=order,
                order_by=order_by,
                name=name,
                names=names,
                tool_ids=tool_ids,
                search=search,
                tool_types=tool_types,
                exclude_tool_types=exclude_tool_types,
                return_only_letta_tools=return_only_letta_tools,
            ),
        )

    @endpoint("DELETE", "/v1/tools/{tool_id}")
    async def delete(self, tool_id: str) -> None:
        """Delete a tool (it is detached from every agent)."""
        await self._request("DELETE", path("/v1/tools/{}", tool_id), None)

    @endpoint("GET", "/v1/tools/count")
    async def count(
        self,
        *,
        name: str | None = None,
        names: Sequence[str] | None = None,
        tool_ids: Sequence[str] | None = None,
        search: str | None = None,
        tool_types: Sequence[str] | None = None,
        exclude_tool_types: Sequence[str] | None = None,
        return_only_letta_tools: bool | None = None,
        exclude_letta_tools: bool | None = None,
    ) -> int:
        """How many tools match the filters, without fetching them."""
        return await self._request(
            "GET",
            "/v1/tools/count",
            int,
            params=query_params(
                name=name,
                names=names,
                tool_ids=tool_ids,
                search=search,
                tool_types=tool_types,
                exclude_tool_types=exclude_tool_types,
                return_only_letta_tools=return_only_letta_tools,
                exclude_letta_tools=exclude_letta_tools,
            ),
        )

    @endpoint("POST", "/v1/tools/search")
    async def search(
        self,
        *,
        query: str | None = None,
        search_mode: Literal["vector", "fts", "hybrid"] | None = None,
        tool_types: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        limit: int | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> builtins.list[ToolSearchResult]:
        """Semantic or full-text search over tools (the server needs tool embeddings on)."""
        return await self._request(
            "POST",
            "/v1/tools/search",
            list[ToolSearchResult],
            json=json_body(
                query=query, search_mode=search_mode, tool_types=tool_types, tags=tags, limit=limit
            ),
            extra_body=extra_body,
        )

    @endpoint("PUT", "/v1/tools/")
    async def upsert(
        self,
        *,
        source_code: str,
        description: str | None = None,
        tags: Sequence[str] | None = None,
        source_type: str | None = None,
        json_schema: dict[str, Any] | None = None,
        args_json_schema: dict[str, Any] | None = None,
        return_char_limit: int | None = None,
        pip_requirements: Sequence[PipRequirement | Mapping[str, Any]] | None = None,
        npm_requirements: Sequence[NpmRequirement | Mapping[str, Any]] | None = None,
        default_requires_approval: bool | None = None,
        enable_parallel_execution: bool | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Tool:
        """Create the tool, or update the one with the same name: the idempotent way to deploy."""
        return await self._request(
            "PUT",
            "/v1/tools/",
            Tool,
            json=json_body(
                description=description,
                tags=tags,
                source_code=source_code,
                source_type=source_type,
                json_schema=json_schema,
                args_json_schema=args_json_schema,
                return_char_limit=return_char_limit,
                pip_requirements=pip_requirements,
                npm_requirements=npm_requirements,
                default_requires_approval=default_requires_approval,
                enable_parallel_execution=enable_parallel_execution,
            ),
            extra_body=extra_body,
        )

    @endpoint("POST", "/v1/tools/add-base-tools")
    async def add_base_tools(self) -> builtins.list[Tool]:
        """Create or refresh Letta's built-in tools (memory, search, ...) for the organisation."""
        return await self._request("POST", "/v1/tools/add-base-tools", list[Tool])

    @endpoint("POST", "/v1/tools/run")
    async def run_from_source(
        self,
        *,
        source_code: str,
        args: dict[str, Any],
        env_vars: dict[str, str] | None = None,
        name: str | None = None,
        source_type: str | None = None,
        args_json_schema: dict[str, Any] | None = None,
        json_schema: dict[str, Any] | None = None,
        pip_requirements: Sequence[PipRequirement | Mapping[str, Any]] | None = None,
        npm_requirements: Sequence[NpmRequirement | Mapping[str, Any]] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> ToolReturnMessage:
        """Build a tool from source and run it once with ``args``, without saving it."""
        return await self._request(
            "POST",
            "/v1/tools/run",
            ToolReturnMessage,
            json=json_body(
                source_code=source_code,
                args=args,
                env_vars=env_vars,
                name=name,
                source_type=source_type,
                args_json_schema=args_json_schema,
                json_schema=json_schema,
                pip_requirements=pip_requirements,
                npm_requirements=npm_requirements,
            ),
            extra_body=extra_body,
        )

    @endpoint("POST", "/v1/tools/generate-schema")
    async def generate_json_schema(
        self,
        *,
        code: str,
        source_type: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The JSON schema the server would derive from ``code`` (a function or class)."""
        return await self._request(
            "POST",
            "/v1/tools/generate-schema",
            dict[str, Any],
            json=json_body(code=code, source_type=source_type),
            extra_body=extra_body,
        )

    @endpoint("POST", "/v1/tools/generate-tool")
    async def generate(
        self,
        *,
        tool_name: str,
        prompt: str,
        validation_errors: Sequence[str],
        handle: str | None = None,
        starter_code: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> GenerateToolOutput:
        """Ask the server's LLM to write a tool's code from a prompt."""
        return await self._request(
            "POST",
            "/v1/tools/generate-tool",
            GenerateToolOutput,
            json=json_body(
                tool_name=tool_name,
                prompt=prompt,
                handle=handle,
                starter_code=starter_code,
                validation_errors=validation_errors,
            ),
            extra_body=extra_body,
        )
