"""``client.tools.mcp_servers``: the older, name-keyed MCP server routes under ``/v1/tools/mcp``.

``client.mcp_servers`` (``/v1/mcp-servers``, keyed by id) supersedes these routes and is what
the official SDK covers. The server still serves them, and a few have no successor (testing a
configuration without saving it, registering a single tool), so they stay reachable here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._transport import PreparedRequest, encode_json
from .._urls import path
from ..types._spec import (
    MCPTool,
    SSEServerConfig,
    StdioServerConfig,
    StreamableHTTPServerConfig,
    Tool,
)
from ._common import ApiResource, endpoint, json_body, query_params
from ._events import JsonEventStream

__all__ = ["ServerConfig", "ToolMcpServers"]

ServerConfig = StdioServerConfig | SSEServerConfig | StreamableHTTPServerConfig | Mapping[str, Any]
"""How to reach an MCP server: a stdio command, an SSE URL or a streamable HTTP URL."""


class ToolMcpServers(ApiResource):
    """``client.tools.mcp_servers``."""

    @endpoint("GET", "/v1/tools/mcp/servers")
    async def list_servers(self) -> dict[str, dict[str, Any]]:
        """Every configured MCP server, by name."""
        return await self._request("GET", "/v1/tools/mcp/servers", dict[str, dict[str, Any]])

    @endpoint("PUT", "/v1/tools/mcp/servers")
    async def add_server(
        self,
        config: ServerConfig,
    ) -> list[dict[str, Any]]:
        """Add a server to the config; returns every configured server."""
        return await self._request(
            "PUT", "/v1/tools/mcp/servers", list[dict[str, Any]], json=config
        )

    @endpoint("PATCH", "/v1/tools/mcp/servers/{mcp_server_name}")
    async def update_server(
        self,
        mcp_server_name: str,
        *,
        server_name: str | None = None,
        stdio_config: StdioServerConfig | Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Change a configured server (its name or its stdio command)."""
        return await self._request(
            "PATCH",
            path("/v1/tools/mcp/servers/{}", mcp_server_name),
            dict[str, Any],
            json=json_body(server_name=server_name, stdio_config=stdio_config),
            extra_body=extra_body,
        )

    @endpoint("DELETE", "/v1/tools/mcp/servers/{mcp_server_name}")
    async def delete_server(self, mcp_server_name: str) -> list[dict[str, Any]]:
        """Remove a server from the config; returns the servers left."""
        return await self._request(
            "DELETE", path("/v1/tools/mcp/servers/{}", mcp_server_name), list[dict[str, Any]]
        )

    @endpoint("POST", "/v1/tools/mcp/servers/test")
    async def test_server(
        self,
        config: ServerConfig,
    ) -> Any:
        """Try a server configuration without saving it; returns what the server reports."""
        return await self._request("POST", "/v1/tools/mcp/servers/test", Any, json=config)

    @endpoint("POST", "/v1/tools/mcp/servers/connect")
    def connect_server(
        self,
        config: ServerConfig,
    ) -> JsonEventStream[dict[str, Any]]:
        """Connect to a server, walking through OAuth if it asks; an event stream of dicts.

        Nothing is sent before iteration starts.
        """
        request = PreparedRequest(
            "POST", "/v1/tools/mcp/servers/connect", body=encode_json(config), stream=True
        )
        return JsonEventStream(self._transport, request, dict[str, Any])

    @endpoint("POST", "/v1/tools/mcp/servers/{mcp_server_name}/resync")
    async def resync_tools(self, mcp_server_name: str, *, agent_id: str | None = None) -> None:
        """Re-read the server's tool list into Letta tools (optionally only one agent's)."""
        await self._request(
            "POST",
            path("/v1/tools/mcp/servers/{}/resync", mcp_server_name),
            None,
            params=query_params(agent_id=agent_id),
        )

    @endpoint("GET", "/v1/tools/mcp/servers/{mcp_server_name}/tools")
    async def list_tools(self, mcp_server_name: str) -> list[MCPTool]:
        """The tools the server offers, as MCP describes them."""
        return await self._request(
            "GET", path("/v1/tools/mcp/servers/{}/tools", mcp_server_name), list[MCPTool]
        )

    @endpoint("POST", "/v1/tools/mcp/servers/{mcp_server_name}/tools/{tool_name}/execute")
    async def execute_tool(
        self,
        tool_name: str,
        *,
        mcp_server_name: str,
        args: dict[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Any:
        """Run one of the server's tools; returns the server's result as JSON."""
        return await self._request(
            "POST",
            path("/v1/tools/mcp/servers/{}/tools/{}/execute", mcp_server_name, tool_name),
            Any,
            json=json_body(args=args),
            extra_body=extra_body,
        )

    @endpoint("POST", "/v1/tools/mcp/servers/{mcp_server_name}/{mcp_tool_name}")
    async def add_tool(self, mcp_tool_name: str, *, mcp_server_name: str) -> Tool:
        """Register one of the server's tools as a Letta tool, so agents can attach it."""
        return await self._request(
            "POST", path("/v1/tools/mcp/servers/{}/{}", mcp_server_name, mcp_tool_name), Tool
        )
