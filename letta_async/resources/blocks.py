"""``client.blocks``: memory blocks as shared, stand-alone objects.

A block is a labelled piece of text an agent keeps in its context window. Blocks live on their
own: one block can be attached to several agents (``client.agents.blocks.attach``), and an edit
here shows up in every agent that holds it. ``client.agents.blocks`` edits a block through one
agent by its label instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from .._pagination import AsyncPaginator
from .._urls import path
from ..types._spec import BlockResponse
from ..types.agents import AgentState
from ._common import AgentInclude, ApiResource, endpoint, json_body, query_params

__all__ = ["BlockAgents", "BlockIdentities", "Blocks"]


class BlockAgents(ApiResource):
    """``client.blocks.agents``: which agents hold a block."""

    @endpoint("GET", "/v1/blocks/{block_id}/agents")
    def list(
        self,
        block_id: str,
        *,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        order_by: Literal["created_at"] | None = None,
        include: Sequence[AgentInclude] | None = None,
    ) -> AsyncPaginator[AgentState]:
        """Agents that have this block in their memory, across pages."""
        return self._paginate(
            path("/v1/blocks/{}/agents", block_id),
            AgentState,
            query_params(
                before=before,
                after=after,
                limit=limit,
                order=order,
                order_by=order_by,
                include=include,
            ),
        )


class BlockIdentities(ApiResource):
    """``client.blocks.identities``: tie a block to an identity (a user or org of your app)."""

    @endpoint("PATCH", "/v1/blocks/{block_id}/identities/attach/{identity_id}")
    async def attach(self, identity_id: str, *, block_id: str) -> BlockResponse:
        """Attach an identity to the block, so identity-scoped queries find it."""
        return await self._request(
            "PATCH",
            path("/v1/blocks/{}/identities/attach/{}", block_id, identity_id),
            BlockResponse,
        )

    @endpoint("PATCH", "/v1/blocks/{block_id}/identities/detach/{identity_id}")
    async def detach(self, identity_id: str, *, block_id: str) -> BlockResponse:
        """Detach an identity from the block."""
        return await self._request(
            "PATCH",
            path("/v1/blocks/{}/identities/detach/{}", block_id, identity_id),
            BlockResponse,
        )


class Blocks(ApiResource):
    """``client.blocks``."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.agents = BlockAgents(client)
        self.identities = BlockIdentities(client)

    @endpoint("POST", "/v1/blocks/")
    async def create(
        self,
        *,
        value: str,
        label: str,
        limit: int | None = None,
        project_id: str | None = None,
        template_name: str | None = None,
        is_template: bool | None = None,
        template_id: str | None = None,
        base_template_id: str | None = None,
        deployment_id: str | None = None,
        entity_id: str | None = None,
        preserve_on_migration: bool | None = None,
        read_only: bool | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        hidden: bool | None = None,
        tags: Sequence[str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> BlockResponse:
        """Create a block that agents can share (``label`` names its role, e.g. ``human``)."""
        return await self._request(
            "POST",
            "/v1/blocks/",
            BlockResponse,
            json=json_body(
                value=value,
                limit=limit,
                project_id=project_id,
                template_name=template_name,
                is_template=is_template,
                template_id=template_id,
                base_template_id=base_template_id,
                deployment_id=deployment_id,
                entity_id=entity_id,
                preserve_on_migration=preserve_on_migration,
                label=label,
                read_only=read_only,
                description=description,
                metadata=metadata,
                hidden=hidden,
                tags=tags,
            ),
            extra_body=extra_body,
        )

    @endpoint("GET", "/v1/blocks/{block_id}")
    async def retrieve(self, block_id: str) -> BlockResponse:
        """One block."""
        return await self._request("GET", path("/v1/blocks/{}", block_id), BlockResponse)

    @endpoint("PATCH", "/v1/blocks/{block_id}")
    async def update(
        self,
        block_id: str,
        *,
        value: str | None = None,
        limit: int | None = None,
        project_id: str | None = None,
        template_name: str | None = None,
        is_template: bool | None = None,
        template_id: str | None = None,
        base_template_id: str | None = None,
        deployment_id: str | None = None,
        entity_id: str | None = None,
        preserve_on_migration: bool | None = None,
        label: str | None = None,
        read_only: bool | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        hidden: bool | None = None,
        tags: Sequence[str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> BlockResponse:
        """Change a block; every agent holding it sees the change."""
        return await self._request(
            "PATCH",
            path("/v1/blocks/{}", block_id),
            BlockResponse,
            json=json_body(
                value=value,
                limit=limit,
                project_id=project_id,
                template_name=template_name,
                is_template=is_template,
                template_id=template_id,
                base_template_id=base_template_id,
                deployment_id=deployment_id,
                entity_id=entity_id,
                preserve_on_migration=preserve_on_migration,
                label=label,
                read_only=read_only,
                description=description,
                metadata=metadata,
                hidden=hidden,
                tags=tags,
            ),
            extra_body=extra_body,
        )

    @endpoint("GET", "/v1/blocks/")
    def list(
        self,
        *,
        label: str | None = None,
        templates_only: bool | None = None,
        name: str | None = None,
        identity_id: str | None = None,
        identifier_keys: Sequence[str] | None = None,
        project_id: str | None = None,
        tags: Sequence[str] | None = None,
        match_all_tags: bool | None = None,
        limit: int | None = None,
        before: str | None = None,
        after: str | None = None,
        order: Literal["asc", "desc"] | None = None,
        order_by: Literal["created_at"] | None = None,
        label_search: str | None = None,
        description_search: str | None = None,
        value_search: str | None = None,
        connected_to_agents_count_gt: int | None = None,
        connected_to_agents_count_lt: int | None = None,
        connected_to_agents_count_eq: Sequence[int] | None = None,
    ) -> AsyncPaginator[BlockResponse]:
        """Blocks matching the filters, across pages."""
        return self._paginate(
            "/v1/blocks/",
            BlockResponse,
            query_params(
                label=label,
                templates_only=templates_only,
                name=name,
                identity_id=identity_id,
                identifier_keys=identifier_keys,
                project_id=project_id,
                tags=tags,
                match_all_tags=match_all_tags,
                limit=limit,
                before=before,
                after=after,
                order=order,
                order_by=order_by,
                label_search=label_search,
                description_search=description_search,
                value_search=value_search,
                connected_to_agents_count_gt=connected_to_agents_count_gt,
                connected_to_agents_count_lt=connected_to_agents_count_lt,
                connected_to_agents_count_eq=connected_to_agents_count_eq,
            ),
        )

    @endpoint("DELETE", "/v1/blocks/{block_id}")
    async def delete(self, block_id: str) -> None:
        """Delete a block (it disappears from every agent holding it)."""
        await self._request("DELETE", path("/v1/blocks/{}", block_id), None)

    @endpoint("GET", "/v1/blocks/count")
    async def count(
        self,
        *,
        label: str | None = None,
        templates_only: bool | None = None,
        name: str | None = None,
        tags: Sequence[str] | None = None,
        match_all_tags: bool | None = None,
        project_id: str | None = None,
    ) -> int:
        """How many blocks match the filters, without fetching them."""
        return await self._request(
            "GET",
            "/v1/blocks/count",
            int,
            params=query_params(
                label=label,
                templates_only=templates_only,
                name=name,
                tags=tags,
                match_all_tags=match_all_tags,
                project_id=project_id,
            ),
        )
