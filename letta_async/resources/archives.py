"""``client.archives``: archival memory stores that agents share.

An archive holds passages (text with an embedding) that agents search with their archival
memory tools. An agent has its own archive by default; a shared archive can be attached to
several agents with ``client.agents.archives.attach``.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from .._pagination import AsyncPaginator
from .._urls import path
from ..types._spec import Archive, Passage, PassageCreateRequest
from ..types.agents import AgentState
from ._common import AgentInclude, ApiResource, endpoint, json_body, query_params

__all__ = ["ArchiveAgents", "ArchivePassages", "Archives"]


class ArchiveAgents(ApiResource):
    """``client.archives.agents``: which agents can search an archive."""

    @endpoint("GET", "/v1/archives/{archive_id}/agents")
    def list(
        self,
        archive_id: str,
        *,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        include: Sequence[AgentInclude] | None = None,
    ) -> AsyncPaginator[AgentState]:
        """Agents the archive is attached to, across pages."""
        return self._paginate(
            path("/v1/archives/{}/agents", archive_id),
            AgentState,
            query_params(before=before, after=after, limit=limit, order=order, include=include),
        )


class ArchivePassages(ApiResource):
    """``client.archives.passages``: write into and prune an archive."""

    @endpoint("POST", "/v1/archives/{archive_id}/passages")
    async def create(
        self,
        archive_id: str,
        *,
        text: str,
        metadata: dict[str, Any] | None = None,
        tags: Sequence[str] | None = None,
        created_at: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Passage:
        """Add one passage; the server embeds it."""
        return await self._request(
            "POST",
            path("/v1/archives/{}/passages", archive_id),
            Passage,
            json=json_body(text=text, metadata=metadata, tags=tags, created_at=created_at),
            extra_body=extra_body,
        )

    @endpoint("POST", "/v1/archives/{archive_id}/passages/batch")
    async def create_many(
        self,
        archive_id: str,
        *,
        passages: Sequence[PassageCreateRequest | Mapping[str, Any]],
        extra_body: Mapping[str, Any] | None = None,
    ) -> builtins.list[Passage]:
        """Add several passages in one request (one embedding round trip)."""
        return await self._request(
            "POST",
            path("/v1/archives/{}/passages/batch", archive_id),
            list[Passage],
            json=json_body(passages=passages),
            extra_body=extra_body,
        )

    @endpoint("DELETE", "/v1/archives/{archive_id}/passages/{passage_id}")
    async def delete(self, passage_id: str, *, archive_id: str) -> None:
        """Delete one passage from the archive and its vector store."""
        await self._request(
            "DELETE", path("/v1/archives/{}/passages/{}", archive_id, passage_id), None
        )


class Archives(ApiResource):
    """``client.archives``."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.agents = ArchiveAgents(client)
        self.passages = ArchivePassages(client)

    @endpoint("POST", "/v1/archives/")
    async def create(
        self,
        *,
        name: str,
        embedding: str | None = None,
        description: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Archive:
        """Create an archive; ``embedding`` picks the model its passages are embedded with."""
        return await self._request(
            "POST",
            "/v1/archives/",
            Archive,
            json=json_body(name=name, embedding=embedding, description=description),
            extra_body=extra_body,
        )

    @endpoint("GET", "/v1/archives/{archive_id}")
    async def retrieve(self, archive_id: str) -> Archive:
        """One archive."""
        return await self._request("GET", path("/v1/archives/{}", archive_id), Archive)

    @endpoint("PATCH", "/v1/archives/{archive_id}")
    async def update(
        self,
        archive_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Archive:
        """Rename an archive or change its description."""
        return await self._request(
            "PATCH",
            path("/v1/archives/{}", archive_id),
            Archive,
            json=json_body(name=name, description=description),
            extra_body=extra_body,
        )

    @endpoint("GET", "/v1/archives/")
    def list(
        self,
        *,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        order_by: Literal["created_at"] | None = None,
        name: str | None = None,
        agent_id: str | None = None,
    ) -> AsyncPaginator[Archive]:
        """Archives, optionally only those of one agent, across pages."""
        return self._paginate(
            "/v1/archives/",
            Archive,
            query_params(
                before=before,
                after=after,
                limit=limit,
                order=order,
                order_by=order_by,
                name=name,
                agent_id=agent_id,
            ),
        )

    @endpoint("DELETE", "/v1/archives/{archive_id}")
    async def delete(self, archive_id: str) -> None:
        """Delete an archive with its passages."""
        await self._request("DELETE", path("/v1/archives/{}", archive_id), None)
