"""``client.messages``: the message store of the whole organisation, across agents.

List, fetch and search messages of every agent at once. Talking to one agent, and its own
history, stay in ``client.agents.messages``.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from .._pagination import AsyncPaginator
from .._urls import path
from ..types import StreamEvent
from ..types._spec import MessageListResultUnion, MessageType
from ._common import ApiResource, endpoint, json_body, query_params

__all__ = ["Messages"]


class Messages(ApiResource):
    """``client.messages``."""

    @endpoint("GET", "/v1/messages/")
    def list(
        self,
        *,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        conversation_id: str | None = None,
        include_return_message_types: Sequence[MessageType] | None = None,
    ) -> AsyncPaginator[StreamEvent]:
        """Messages of every agent, newest first by default, across pages."""
        return self._message_pages(
            "/v1/messages/",
            query_params(
                before=before,
                after=after,
                limit=limit,
                order=order,
                conversation_id=conversation_id,
                include_return_message_types=include_return_message_types,
            ),
            rule="message_history",
        )

    @endpoint("GET", "/v1/messages/{message_id}")
    async def retrieve(self, message_id: str) -> builtins.list[StreamEvent]:
        """One stored message, as the list of Letta messages it expands into.

        A stored message can stand for several Letta messages (reasoning, a tool call and an
        answer share one id), hence the list.
        """
        return await self._messages("GET", path("/v1/messages/{}", message_id))

    @endpoint("POST", "/v1/messages/search")
    async def search(
        self,
        *,
        query: str,
        search_mode: Literal["vector", "fts", "hybrid"] | None = None,
        agent_id: str | None = None,
        conversation_id: str | None = None,
        limit: int | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> builtins.list[MessageListResultUnion]:
        """Full-text, vector or hybrid search over messages of the whole organisation."""
        return await self._request(
            "POST",
            "/v1/messages/search",
            list[MessageListResultUnion],
            json=json_body(
                query=query,
                search_mode=search_mode,
                agent_id=agent_id,
                conversation_id=conversation_id,
                limit=limit,
                start_date=start_date,
                end_date=end_date,
            ),
            extra_body=extra_body,
        )
