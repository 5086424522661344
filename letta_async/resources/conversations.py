"""``client.conversations``: separate message threads on one agent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from .._pagination import AsyncPaginator
from .._urls import path
from ..types.agents import Conversation
from ._base import Resource, drop_none
from .messages import ConversationMessages

__all__ = ["Conversations"]


class Conversations(Resource):
    """``client.conversations``."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.messages = ConversationMessages(client)

    async def create(
        self, *, agent_id: str, extra_body: Mapping[str, Any] | None = None
    ) -> Conversation:
        """Start a new conversation with an agent."""
        result: Conversation = await self._call(
            "POST",
            "/v1/conversations/",
            Conversation,
            params={"agent_id": agent_id},
            body=dict(extra_body or {}),
        )
        return result

    async def retrieve(self, conversation_id: str) -> Conversation:
        """One conversation."""
        result: Conversation = await self._call(
            "GET", path("/v1/conversations/{}", conversation_id), Conversation
        )
        return result

    async def update(self, conversation_id: str, **fields: Any) -> Conversation:
        """Change a conversation's fields (e.g. ``summary``)."""
        result: Conversation = await self._call(
            "PATCH",
            path("/v1/conversations/{}", conversation_id),
            Conversation,
            body=drop_none(fields),
        )
        return result

    async def delete(self, conversation_id: str) -> None:
        """Delete a conversation."""
        await self._call("DELETE", path("/v1/conversations/{}", conversation_id), None)

    def list(
        self,
        *,
        agent_id: str | None = None,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
    ) -> AsyncPaginator[Conversation]:
        """Conversations, optionally of one agent, across pages."""

        async def fetch(params: dict[str, Any]) -> list[Conversation]:
            result: list[Conversation] = await self._call(
                "GET", "/v1/conversations/", list[Conversation], params=params
            )
            return result

        params = {"agent_id": agent_id, "before": before, "after": after, "limit": limit}
        params["order"] = order
        return AsyncPaginator(fetch, params, default_order="desc")

    async def cancel(self, conversation_id: str) -> dict[str, Any]:
        """Cancel the conversation's active run."""
        result: dict[str, Any] = await self._call(
            "POST", path("/v1/conversations/{}/cancel", conversation_id), dict[str, Any]
        )
        return result
