"""``client.mcp_servers``: Model Context Protocol servers whose tools agents can use.

A registered MCP server (stdio, SSE or streamable HTTP) exposes tools; the server imports them
as Letta tools, which are then attached to agents like any other tool.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._pagination import AsyncPaginator
from .._transport import PreparedRequest
from .._urls import path
from ..types._spec import (
    CreateMCPServerUnion,
    MCPServerUnion,
    Tool,
    ToolExecutionResult,
    UpdateMCPServerUnion,
)
from ._common import ApiResource, endpoint, json_body, query_params
from ._events import JsonEventStream

__all__ = ["McpServerTools", "McpServers"]


class McpServerTools(ApiResource):
    """``client.mcp_servers.tools``: the tools one MCP server offers."""

    @endpoint("GET", "/v1/mcp-servers/{mcp_server_id}/tools")
    def list(self, mcp_server_id: str) -> AsyncPaginator[Tool]:
        """The tools the server offers, as Letta tools (one page)."""
        return self._single_page(path("/v1/mcp-servers/{}/tools", mcp_server_id), Tool)

    @endpoint("GET", "/v1/mcp-servers/{mcp_server_id}/tools/{tool_id}")
    async def retrieve(self, tool_id: str, *, mcp_server_id: str) -> Tool:
        """One tool of the server."""
        return await self._request(
            "GET", path("/v1/mcp-servers/{}/tools/{}", mcp_server_id, tool_id), Tool
        )

    @endpoint("POST", "/v1/mcp-servers/{mcp_server_id}/tools/{tool_id}/run")
    async def run(
        self,
        tool_id: str,
        *,
        mcp_server_id: str,
        args: dict[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> ToolExecutionResult:
        """Run one of the server's tools directly, outside any agent."""
        return await self._request(
            "POST",
            path("/v1/mcp-servers/{}/tools/{}/run", mcp_server_id, tool_id),
            ToolExecutionResult,
            json=json_body(args=args),
            extra_body=extra_body,
        )


class McpServers(ApiResource):
    """``client.mcp_servers``."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.tools = McpServerTools(client)

    @endpoint("POST", "/v1/mcp-servers/")
    async def create(
        self,
        *,
        server_name: str,
        config: CreateMCPServerUnion | Mapping[str, Any],
        extra_body: Mapping[str, Any] | None = None,
    ) -> MCPServerUnion:
        """Register an MCP server; ``config`` says how to reach it (stdio, SSE or HTTP)."""
        result: MCPServerUnion = await self._request(
            "POST",
            "/v1/mcp-servers/",
            MCPServerUnion,
            json=json_body(server_name=server_name, config=config),
            extra_body=extra_body,
        )
        return result

    @endpoint("GET", "/v1/mcp-servers/{mcp_server_id}")
    async def retrieve(self, mcp_server_id: str) -> MCPServerUnion:
        """One MCP server."""
        result: MCPServerUnion = await self._request(
            "GET", path("/v1/mcp-servers/{}", mcp_server_id), MCPServerUnion
        )
        return result

    @endpoint("PATCH", "/v1/mcp-servers/{mcp_server_id}")
    async def update(
        self,
        mcp_server_id: str,
        *,
        config: UpdateMCPServerUnion | Mapping[str, Any],
        server_name: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> MCPServerUnion:
        """Change how an MCP server is reached, or its name."""
        result: MCPServerUnion = await self._request(
            "PATCH",
            path("/v1/mcp-servers/{}", mcp_server_id),
            MCPServerUnion,
            json=json_body(server_name=server_name, config=config),
            extra_body=extra_body,
        )
        return result

    @endpoint("GET", "/v1/mcp-servers/")
    def list(self) -> AsyncPaginator[MCPServerUnion]:
        """Every configured MCP server (one page: the route has no cursor)."""
        return self._single_page("/v1/mcp-servers/", MCPServerUnion)  # type: ignore[arg-type]

    @endpoint("DELETE", "/v1/mcp-servers/{mcp_server_id}")
    async def delete(self, mcp_server_id: str) -> None:
        """Unregister an MCP server (its tools go with it)."""
        await self._request("DELETE", path("/v1/mcp-servers/{}", mcp_server_id), None)

    @endpoint("PATCH", "/v1/mcp-servers/{mcp_server_id}/refresh")
    async def refresh(self, mcp_server_id: str, *, agent_id: str | None = None) -> None:
        """Re-read the server's tool list: new tools are added, vanished ones removed."""
        await self._request(
            "PATCH",
            path("/v1/mcp-servers/{}/refresh", mcp_server_id),
            None,
            params=query_params(agent_id=agent_id),
        )

    @endpoint("GET", "/v1/mcp-servers/connect/{mcp_server_id}")
    def connect(self, mcp_server_id: str) -> JsonEventStream[dict[str, Any]]:
        """Connect to the server, walking through OAuth when it asks for it.

        Returns an event stream (``async for event in ...``) of the server's progress events
        as dicts: connection status, an authorisation URL to open when OAuth is needed, and the
        tools found once connected. Nothing is sent before iteration starts.
        """
        request = PreparedRequest(
            "GET", path("/v1/mcp-servers/connect/{}", mcp_server_id), stream=True
        )
        return JsonEventStream(self._transport, request, dict[str, Any])
