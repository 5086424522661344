"""``client.agents``: create, read, change and delete agents; messages live below."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from .._pagination import AsyncPaginator
from .._urls import path
from ..types.agents import AgentState
from ._base import Resource, drop_none
from .messages import AgentMessages

__all__ = ["Agents"]


class Agents(Resource):
    """``client.agents``."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.messages = AgentMessages(client)

    async def create(
        self,
        *,
        name: str | None = None,
        model: str | None = None,
        embedding: str | None = None,
        memory_blocks: Sequence[Mapping[str, Any]] | None = None,
        agent_type: str | None = None,
        system: str | None = None,
        description: str | None = None,
        tools: Sequence[str] | None = None,
        tool_ids: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        include_base_tools: bool | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> AgentState:
        """Create an agent (``model`` and ``embedding`` are handles such as ``openai/gpt-4o``)."""
        body = drop_none(
            {
                "name": name,
                "model": model,
                "embedding": embedding,
                "memory_blocks": memory_blocks,
                "agent_type": agent_type,
                "system": system,
                "description": description,
                "tools": tools,
                "tool_ids": tool_ids,
                "tags": tags,
                "metadata": metadata,
                "include_base_tools": include_base_tools,
            }
        )
        result: AgentState = await self._call(
            "POST", "/v1/agents/", AgentState, body=body, extra_body=extra_body
        )
        return result

    async def retrieve(self, agent_id: str) -> AgentState:
        """One agent."""
        result: AgentState = await self._call("GET", path("/v1/agents/{}", agent_id), AgentState)
        return result

    async def modify(self, agent_id: str, **fields: Any) -> AgentState:
        """Change fields of an agent (``name``, ``system``, ``tags``, ...)."""
        result: AgentState = await self._call(
            "PATCH", path("/v1/agents/{}", agent_id), AgentState, body=drop_none(fields)
        )
        return result

    async def delete(self, agent_id: str) -> None:
        """Delete an agent and its messages."""
        await self._call("DELETE", path("/v1/agents/{}", agent_id), None)

    def list(
        self,
        *,
        name: str | None = None,
        tags: Sequence[str] | None = None,
        match_all_tags: bool | None = None,
        query_text: str | None = None,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        order_by: str | None = None,
    ) -> AsyncPaginator[AgentState]:
        """Agents, newest first by default, across pages."""

        async def fetch(params: dict[str, Any]) -> list[AgentState]:
            result: list[AgentState] = await self._call(
                "GET", "/v1/agents/", list[AgentState], params=params
            )
            return result

        params = {
            "name": name,
            "tags": list(tags) if tags else None,
            "match_all_tags": match_all_tags,
            "query_text": query_text,
            "before": before,
            "after": after,
            "limit": limit,
            "order": order,
            "order_by": order_by,
        }
        return AsyncPaginator(fetch, params, default_order="desc")
