"""``client.agents``: create, read, change and delete agents, and everything they hold.

Below ``client.agents`` sit the agent's parts, each named as in the official SDK: ``messages``
(talking to the agent), ``blocks`` (core memory), ``tools``, ``passages`` (archival memory),
``folders`` and ``files`` (documents), ``archives`` (shared archival stores), ``identities``
and ``groups``.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from .._pagination import AsyncPaginator
from .._transport import PreparedRequest, encode_json
from .._urls import path
from ..types import LettaMessageContentUnion, MessageCreate
from ..types._events import StopReasonType
from ..types._spec import (
    AgentFileAttachment,
    AgentType,
    ArchivalMemorySearchResponse,
    BlockResponse,
    ClientSkillSchema,
    ClientToolSchema,
    CompactionSettings,
    CreateBlock,
    EmbeddingConfig,
    GenerateResponse,
    Group,
    ImportedAgentsResponse,
    MessageRole,
    MessageSearchResult,
    MessageType,
    ModelSettingsUnion,
    PaginatedAgentFiles,
    Passage,
    SkillSchema,
    Source,
    Tool,
    ToolExecutionResult,
    ToolRuleUnion,
)
from ..types.agents import AgentState
from ._base import drop_none
from ._common import (
    AgentInclude,
    ApiResource,
    NextCursorPaginator,
    endpoint,
    json_body,
    query_params,
)
from ._upload import FileInput, multipart_request
from .messages import AgentMessages, MessageInput

__all__ = [
    "AgentArchives",
    "AgentBlocks",
    "AgentFiles",
    "AgentFolders",
    "AgentGroups",
    "AgentIdentities",
    "AgentMessagesWithSearch",
    "AgentPassages",
    "AgentTools",
    "Agents",
]


class AgentMessagesWithSearch(AgentMessages, ApiResource):
    """``client.agents.messages``: everything of :class:`AgentMessages`, plus search and preview.

    The two routes below sit under ``/v1/agents`` but are not about sending a message, so they
    live here rather than in the streaming module.
    """

    @endpoint("POST", "/v1/agents/messages/search")
    async def search(
        self,
        *,
        query: str | None = None,
        search_mode: Literal["vector", "fts", "hybrid"] | None = None,
        roles: Sequence[MessageRole] | None = None,
        agent_id: str | None = None,
        project_id: str | None = None,
        template_id: str | None = None,
        conversation_id: str | None = None,
        limit: int | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> builtins.list[MessageSearchResult]:
        """Search messages of all agents (full-text, vector or hybrid), best matches first."""
        return await self._request(
            "POST",
            "/v1/agents/messages/search",
            list[MessageSearchResult],
            json=json_body(
                query=query,
                search_mode=search_mode,
                roles=roles,
                agent_id=agent_id,
                project_id=project_id,
                template_id=template_id,
                conversation_id=conversation_id,
                limit=limit,
                start_date=start_date,
                end_date=end_date,
            ),
            extra_body=extra_body,
        )

    @endpoint("POST", "/v1/agents/{agent_id}/messages/preview-raw-payload")
    async def preview_raw_payload(
        self,
        agent_id: str,
        *,
        messages: Sequence[MessageInput] | None = None,
        input: str | Sequence[LettaMessageContentUnion | Mapping[str, Any]] | None = None,
        max_steps: int | None = None,
        include_return_message_types: Sequence[MessageType] | None = None,
        client_tools: Sequence[ClientToolSchema | Mapping[str, Any]] | None = None,
        client_skills: Sequence[ClientSkillSchema | Mapping[str, Any]] | None = None,
        override_model: str | None = None,
        include_compaction_messages: bool | None = None,
        return_logprobs: bool | None = None,
        top_logprobs: int | None = None,
        return_token_ids: bool | None = None,
        override_system: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The exact request the server would send to the LLM for these messages, unsent.

        For debugging prompts and context: nothing is stored and no model is called.
        """
        return await self._request(
            "POST",
            path("/v1/agents/{}/messages/preview-raw-payload", agent_id),
            dict[str, Any],
            json=json_body(
                messages=messages,
                input=input,
                max_steps=max_steps,
                include_return_message_types=include_return_message_types,
                client_tools=client_tools,
                client_skills=client_skills,
                override_model=override_model,
                include_compaction_messages=include_compaction_messages,
                return_logprobs=return_logprobs,
                top_logprobs=top_logprobs,
                return_token_ids=return_token_ids,
                override_system=override_system,
            ),
            extra_body=extra_body,
        )


class AgentBlocks(ApiResource):
    """``client.agents.blocks``: an agent's core memory, block by block.

    Blocks are addressed by label here (``human``, ``persona``...), as the agent sees them;
    ``client.blocks`` addresses the same blocks by id.
    """

    @endpoint("GET", "/v1/agents/{agent_id}/core-memory/blocks")
    def list(
        self,
        agent_id: str,
        *,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        order_by: Literal["created_at"] | None = None,
    ) -> AsyncPaginator[BlockResponse]:
        """The agent's memory blocks, across pages."""
        return self._paginate(
            path("/v1/agents/{}/core-memory/blocks", agent_id),
            BlockResponse,
            query_params(before=before, after=after, limit=limit, order=order, order_by=order_by),
        )

    @endpoint("GET", "/v1/agents/{agent_id}/core-memory/blocks/{block_label}")
    async def retrieve(self, block_label: str, *, agent_id: str) -> BlockResponse:
        """The agent's block with this label."""
        return await self._request(
            "GET", path("/v1/agents/{}/core-memory/blocks/{}", agent_id, block_label), BlockResponse
        )

    @endpoint("PATCH", "/v1/agents/{agent_id}/core-memory/blocks/{block_label}")
    async def update(
        self,
        block_label: str,
        *,
        agent_id: str,
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
        """Change the agent's block with this label (its value, limit, description...)."""
        return await self._request(
            "PATCH",
            path("/v1/agents/{}/core-memory/blocks/{}", agent_id, block_label),
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

    @endpoint("PATCH", "/v1/agents/{agent_id}/core-memory/blocks/attach/{block_id}")
    async def attach(self, block_id: str, *, agent_id: str) -> AgentState:
        """Add an existing block to the agent's memory; returns the updated agent."""
        return await self._request(
            "PATCH",
            path("/v1/agents/{}/core-memory/blocks/attach/{}", agent_id, block_id),
            AgentState,
        )

    @endpoint("PATCH", "/v1/agents/{agent_id}/core-memory/blocks/detach/{block_id}")
    async def detach(self, block_id: str, *, agent_id: str) -> AgentState:
        """Remove a block from the agent's memory (the block itself stays)."""
        return await self._request(
            "PATCH",
            path("/v1/agents/{}/core-memory/blocks/detach/{}", agent_id, block_id),
            AgentState,
        )


class AgentTools(ApiResource):
    """``client.agents.tools``: which tools an agent may call, and how."""

    @endpoint("GET", "/v1/agents/{agent_id}/tools")
    def list(
        self,
        agent_id: str,
        *,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        order_by: Literal["created_at"] | None = None,
    ) -> AsyncPaginator[Tool]:
        """The agent's tools, across pages."""
        return self._paginate(
            path("/v1/agents/{}/tools", agent_id),
            Tool,
            query_params(before=before, after=after, limit=limit, order=order, order_by=order_by),
        )

    @endpoint("PATCH", "/v1/agents/{agent_id}/tools/attach/{tool_id}")
    async def attach(self, tool_id: str, *, agent_id: str) -> AgentState | None:
        """Give the agent a tool; returns the updated agent."""
        result: AgentState | None = await self._request(
            "PATCH", path("/v1/agents/{}/tools/attach/{}", agent_id, tool_id), AgentState | None
        )
        return result

    @endpoint("PATCH", "/v1/agents/{agent_id}/tools/detach/{tool_id}")
    async def detach(self, tool_id: str, *, agent_id: str) -> AgentState | None:
        """Take a tool away from the agent; returns the updated agent."""
        result: AgentState | None = await self._request(
            "PATCH", path("/v1/agents/{}/tools/detach/{}", agent_id, tool_id), AgentState | None
        )
        return result

    @endpoint("PATCH", "/v1/agents/{agent_id}/tools/approval/{tool_name}")
    async def update_approval(
        self,
        tool_name: str,
        *,
        agent_id: str,
        requires_approval: bool,
        extra_body: Mapping[str, Any] | None = None,
    ) -> AgentState | None:
        """Require (or stop requiring) a human approval before the agent runs this tool.

        While approval is required, a call to the tool stops the run with an
        ``approval_request_message``; answer it with an ``ApprovalCreate`` message.
        """
        result: AgentState | None = await self._request(
            "PATCH",
            path("/v1/agents/{}/tools/approval/{}", agent_id, tool_name),
            AgentState | None,
            json=json_body(requires_approval=requires_approval),
            extra_body=extra_body,
        )
        return result

    @endpoint("POST", "/v1/agents/{agent_id}/tools/{tool_name}/run")
    async def run(
        self,
        tool_name: str,
        *,
        agent_id: str,
        args: dict[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> ToolExecutionResult:
        """Run one of the agent's tools by name with ``args``, in the agent's environment."""
        return await self._request(
            "POST",
            path("/v1/agents/{}/tools/{}/run", agent_id, tool_name),
            ToolExecutionResult,
            json=json_body(args=args),
            extra_body=extra_body,
        )


class AgentPassages(ApiResource):
    """``client.agents.passages``: the agent's archival memory, the long-term store it searches."""

    @endpoint("GET", "/v1/agents/{agent_id}/archival-memory")
    def list(
        self,
        agent_id: str,
        *,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
        search: str | None = None,
        ascending: bool | None = None,
    ) -> AsyncPaginator[Passage]:
        """The agent's archival memories (passages), oldest first by default, across pages."""
        return self._paginate(
            path("/v1/agents/{}/archival-memory", agent_id),
            Passage,
            query_params(
                after=after, before=before, limit=limit, search=search, ascending=ascending
            ),
            default_order="asc",
        )

    @endpoint("POST", "/v1/agents/{agent_id}/archival-memory")
    async def create(
        self,
        agent_id: str,
        *,
        text: str,
        tags: Sequence[str] | None = None,
        created_at: datetime | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> builtins.list[Passage]:
        """Write a memory into the agent's archive; returns the passages it became."""
        return await self._request(
            "POST",
            path("/v1/agents/{}/archival-memory", agent_id),
            list[Passage],
            json=json_body(text=text, tags=tags, created_at=created_at),
            extra_body=extra_body,
        )

    @endpoint("GET", "/v1/agents/{agent_id}/archival-memory/search")
    async def search(
        self,
        agent_id: str,
        *,
        query: str,
        tags: Sequence[str] | None = None,
        tag_match_mode: Literal["any", "all"] | None = None,
        top_k: int | None = None,
        start_datetime: datetime | None = None,
        end_datetime: datetime | None = None,
    ) -> ArchivalMemorySearchResponse:
        """The memories semantically closest to ``query``, optionally filtered by tags and dates."""
        return await self._request(
            "GET",
            path("/v1/agents/{}/archival-memory/search", agent_id),
            ArchivalMemorySearchResponse,
            params=query_params(
                query=query,
                tags=tags,
                tag_match_mode=tag_match_mode,
                top_k=top_k,
                start_datetime=start_datetime,
                end_datetime=end_datetime,
            ),
        )

    @endpoint("DELETE", "/v1/agents/{agent_id}/archival-memory/{memory_id}")
    async def delete(self, memory_id: str, *, agent_id: str) -> None:
        """Delete one memory from the agent's archive."""
        await self._request(
            "DELETE", path("/v1/agents/{}/archival-memory/{}", agent_id, memory_id), None
        )


class AgentFolders(ApiResource):
    """``client.agents.folders``: document folders the agent can open and search."""

    @endpoint("GET", "/v1/agents/{agent_id}/folders")
    def list(
        self,
        agent_id: str,
        *,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        order_by: Literal["created_at"] | None = None,
    ) -> AsyncPaginator[Source]:
        """The folders attached to the agent, across pages."""
        return self._paginate(
            path("/v1/agents/{}/folders", agent_id),
            Source,
            query_params(before=before, after=after, limit=limit, order=order, order_by=order_by),
        )

    @endpoint("PATCH", "/v1/agents/{agent_id}/folders/attach/{folder_id}")
    async def attach(self, folder_id: str, *, agent_id: str) -> AgentState | None:
        """Give the agent access to a folder's files; returns the updated agent."""
        result: AgentState | None = await self._request(
            "PATCH", path("/v1/agents/{}/folders/attach/{}", agent_id, folder_id), AgentState | None
        )
        return result

    @endpoint("PATCH", "/v1/agents/{agent_id}/folders/detach/{folder_id}")
    async def detach(self, folder_id: str, *, agent_id: str) -> AgentState | None:
        """Take a folder away from the agent; returns the updated agent."""
        result: AgentState | None = await self._request(
            "PATCH", path("/v1/agents/{}/folders/detach/{}", agent_id, folder_id), AgentState | None
        )
        return result


class AgentFiles(ApiResource):
    """``client.agents.files``: open and close files, which decides what enters the context.

    An open file's visible window is part of the agent's context; closing files frees room.
    """

    @endpoint("GET", "/v1/agents/{agent_id}/files")
    def list(
        self,
        agent_id: str,
        *,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        order_by: Literal["created_at"] | None = None,
        is_open: bool | None = None,
    ) -> AsyncPaginator[AgentFileAttachment]:
        """The files the agent can see, with whether each is open, across pages.

        Pages follow the server's ``next_cursor``, which is the one consistent order this route
        has. Passing ``before`` or ``after`` asks for that single page only.
        """
        route = path("/v1/agents/{}/files", agent_id)
        single = before is not None or after is not None

        async def fetch(
            params: dict[str, Any],
        ) -> tuple[builtins.list[AgentFileAttachment], str | None, bool]:
            page: PaginatedAgentFiles = await self._call(
                "GET", route, PaginatedAgentFiles, params=params
            )
            return page.files, page.next_cursor, page.has_more and not single

        return NextCursorPaginator(
            fetch,
            query_params(
                before=before,
                after=after,
                limit=limit,
                order=order,
                order_by=order_by,
                is_open=is_open,
            ),
        )

    @endpoint("PATCH", "/v1/agents/{agent_id}/files/{file_id}/open")
    async def open(self, file_id: str, *, agent_id: str) -> builtins.list[str]:
        """Open a file in the agent's context; returns the names of files closed to make room."""
        return await self._request(
            "PATCH", path("/v1/agents/{}/files/{}/open", agent_id, file_id), list[str]
        )

    @endpoint("PATCH", "/v1/agents/{agent_id}/files/{file_id}/close")
    async def close(self, file_id: str, *, agent_id: str) -> None:
        """Close a file, taking it out of the agent's context."""
        await self._request("PATCH", path("/v1/agents/{}/files/{}/close", agent_id, file_id), None)

    @endpoint("PATCH", "/v1/agents/{agent_id}/files/close-all")
    async def close_all(self, agent_id: str) -> builtins.list[str]:
        """Close every open file; returns the names of the files closed."""
        return await self._request(
            "PATCH", path("/v1/agents/{}/files/close-all", agent_id), list[str]
        )


class AgentArchives(ApiResource):
    """``client.agents.archives``: shared archives the agent searches besides its own."""

    @endpoint("PATCH", "/v1/agents/{agent_id}/archives/attach/{archive_id}")
    async def attach(self, archive_id: str, *, agent_id: str) -> None:
        """Let the agent search a shared archive."""
        await self._request(
            "PATCH", path("/v1/agents/{}/archives/attach/{}", agent_id, archive_id), None
        )

    @endpoint("PATCH", "/v1/agents/{agent_id}/archives/detach/{archive_id}")
    async def detach(self, archive_id: str, *, agent_id: str) -> None:
        """Stop the agent searching an archive."""
        await self._request(
            "PATCH", path("/v1/agents/{}/archives/detach/{}", agent_id, archive_id), None
        )


class AgentIdentities(ApiResource):
    """``client.agents.identities``: tie an agent to the users or orgs of your application."""

    @endpoint("PATCH", "/v1/agents/{agent_id}/identities/attach/{identity_id}")
    async def attach(self, identity_id: str, *, agent_id: str) -> None:
        """Associate an identity with the agent."""
        await self._request(
            "PATCH", path("/v1/agents/{}/identities/attach/{}", agent_id, identity_id), None
        )

    @endpoint("PATCH", "/v1/agents/{agent_id}/identities/detach/{identity_id}")
    async def detach(self, identity_id: str, *, agent_id: str) -> None:
        """Remove an identity from the agent."""
        await self._request(
            "PATCH", path("/v1/agents/{}/identities/detach/{}", agent_id, identity_id), None
        )


class AgentGroups(ApiResource):
    """``client.agents.groups``: the multi-agent groups an agent belongs to."""

    @endpoint("GET", "/v1/agents/{agent_id}/groups")
    def list(
        self,
        agent_id: str,
        *,
        manager_type: str | None = None,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        order_by: Literal["created_at"] | None = None,
    ) -> AsyncPaginator[Group]:
        """Groups the agent is a member of, across pages."""
        return self._paginate(
            path("/v1/agents/{}/groups", agent_id),
            Group,
            query_params(
                manager_type=manager_type,
                before=before,
                after=after,
                limit=limit,
                order=order,
                order_by=order_by,
            ),
        )


class Agents(ApiResource):
    """``client.agents``."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.messages = AgentMessagesWithSearch(client)
        self.blocks = AgentBlocks(client)
        self.tools = AgentTools(client)
        self.passages = AgentPassages(client)
        self.folders = AgentFolders(client)
        self.files = AgentFiles(client)
        self.archives = AgentArchives(client)
        self.identities = AgentIdentities(client)
        self.groups = AgentGroups(client)

    @endpoint("POST", "/v1/agents/")
    async def create(
        self,
        *,
        name: str | None = None,
        model: str | None = None,
        embedding: str | None = None,
        memory_blocks: Sequence[CreateBlock | Mapping[str, Any]] | None = None,
        agent_type: AgentType | str | None = None,
        system: str | None = None,
        description: str | None = None,
        tools: Sequence[str] | None = None,
        tool_ids: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        include_base_tools: bool | None = None,
        folder_ids: Sequence[str] | None = None,
        block_ids: Sequence[str] | None = None,
        tool_rules: Sequence[ToolRuleUnion | Mapping[str, Any]] | None = None,
        initial_message_sequence: Sequence[MessageCreate | Mapping[str, Any]] | None = None,
        include_multi_agent_tools: bool | None = None,
        include_base_tool_rules: bool | None = None,
        model_settings: ModelSettingsUnion | Mapping[str, Any] | None = None,
        compaction_settings: CompactionSettings | Mapping[str, Any] | None = None,
        context_window_limit: int | None = None,
        secrets: Mapping[str, str] | None = None,
        identity_ids: Sequence[str] | None = None,
        message_buffer_autoclear: bool | None = None,
        enable_sleeptime: bool | None = None,
        timezone: str | None = None,
        max_files_open: int | None = None,
        per_file_view_window_char_limit: int | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> AgentState:
        """Create an agent (``model`` and ``embedding`` are handles such as ``openai/gpt-4o``).

        Every argument is optional and only those given are sent, so the server's defaults
        apply to the rest. Options the server marks deprecated are reachable through
        ``extra_body``.
        """
        return await self._request(
            "POST",
            "/v1/agents/",
            AgentState,
            json=json_body(
                name=name,
                model=model,
                embedding=embedding,
                memory_blocks=memory_blocks,
                agent_type=agent_type,
                system=system,
                description=description,
                tools=tools,
                tool_ids=tool_ids,
                tags=tags,
                metadata=metadata,
                include_base_tools=include_base_tools,
                folder_ids=folder_ids,
                block_ids=block_ids,
                tool_rules=tool_rules,
                initial_message_sequence=initial_message_sequence,
                include_multi_agent_tools=include_multi_agent_tools,
                include_base_tool_rules=include_base_tool_rules,
                model_settings=model_settings,
                compaction_settings=compaction_settings,
                context_window_limit=context_window_limit,
                secrets=secrets,
                identity_ids=identity_ids,
                message_buffer_autoclear=message_buffer_autoclear,
                enable_sleeptime=enable_sleeptime,
                timezone=timezone,
                max_files_open=max_files_open,
                per_file_view_window_char_limit=per_file_view_window_char_limit,
            ),
            extra_body=extra_body,
        )

    @endpoint("GET", "/v1/agents/{agent_id}")
    async def retrieve(
        self, agent_id: str, *, include: Sequence[AgentInclude] | None = None
    ) -> AgentState:
        """One agent (``include`` asks the server to fill in relationships such as tools)."""
        return await self._request(
            "GET", path("/v1/agents/{}", agent_id), AgentState, params=query_params(include=include)
        )

    @endpoint("PATCH", "/v1/agents/{agent_id}")
    async def modify(self, agent_id: str, **fields: Any) -> AgentState:
        """Change fields of an agent by keyword (``name``, ``system``, ``tags``, ...).

        The untyped form of :meth:`update`: any field the server accepts, unset ones (None)
        left out.
        """
        return await self._request(
            "PATCH", path("/v1/agents/{}", agent_id), AgentState, json=drop_none(fields)
        )

    @endpoint("DELETE", "/v1/agents/{agent_id}")
    async def delete(self, agent_id: str) -> None:
        """Delete an agent and its messages."""
        await self._request("DELETE", path("/v1/agents/{}", agent_id), None)

    @endpoint("GET", "/v1/agents/")
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
        project_id: str | None = None,
        template_id: str | None = None,
        base_template_id: str | None = None,
        identity_id: str | None = None,
        identifier_keys: Sequence[str] | None = None,
        include: Sequence[AgentInclude] | None = None,
        last_stop_reason: StopReasonType | None = None,
        created_by_id: str | None = None,
    ) -> AsyncPaginator[AgentState]:
        """Agents, newest first by default, across pages."""
        return self._paginate(
            "/v1/agents/",
            AgentState,
            query_params(
                name=name,
                tags=tags,
                match_all_tags=match_all_tags,
                query_text=query_text,
                before=before,
                after=after,
                limit=limit,
                order=order,
                order_by=order_by,
                project_id=project_id,
                template_id=template_id,
                base_template_id=base_template_id,
                identity_id=identity_id,
                identifier_keys=identifier_keys,
                include=include,
                last_stop_reason=last_stop_reason,
                created_by_id=created_by_id,
            ),
        )

    @endpoint("GET", "/v1/agents/count")
    async def count(
        self,
        *,
        name: str | None = None,
        tags: Sequence[str] | None = None,
        match_all_tags: bool | None = None,
        query_text: str | None = None,
        project_id: str | None = None,
        template_id: str | None = None,
        base_template_id: str | None = None,
        identity_id: str | None = None,
        identifier_keys: Sequence[str] | None = None,
        last_stop_reason: StopReasonType | None = None,
        created_by_id: str | None = None,
    ) -> int:
        """How many agents match the filters, without fetching them."""
        return await self._request(
            "GET",
            "/v1/agents/count",
            int,
            params=query_params(
                name=name,
                tags=tags,
                match_all_tags=match_all_tags,
                query_text=query_text,
                project_id=project_id,
                template_id=template_id,
                base_template_id=base_template_id,
                identity_id=identity_id,
                identifier_keys=identifier_keys,
                last_stop_reason=last_stop_reason,
                created_by_id=created_by_id,
            ),
        )

    @endpoint("PATCH", "/v1/agents/{agent_id}")
    async def update(
        self,
        agent_id: str,
        *,
        name: str | None = None,
        tool_ids: Sequence[str] | None = None,
        folder_ids: Sequence[str] | None = None,
        block_ids: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        system: str | None = None,
        tool_rules: Sequence[ToolRuleUnion | Mapping[str, Any]] | None = None,
        message_ids: Sequence[str] | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        tool_exec_environment_variables: dict[str, str] | None = None,
        secrets: dict[str, str] | None = None,
        project_id: str | None = None,
        template_id: str | None = None,
        base_template_id: str | None = None,
        identity_ids: Sequence[str] | None = None,
        message_buffer_autoclear: bool | None = None,
        model: str | None = None,
        embedding: str | None = None,
        model_settings: ModelSettingsUnion | Mapping[str, Any] | None = None,
        compaction_settings: CompactionSettings | Mapping[str, Any] | None = None,
        context_window_limit: int | None = None,
        embedding_config: EmbeddingConfig | Mapping[str, Any] | None = None,
        enable_sleeptime: bool | None = None,
        last_run_completion: datetime | None = None,
        last_run_duration_ms: int | None = None,
        last_stop_reason: StopReasonType | None = None,
        timezone: str | None = None,
        max_files_open: int | None = None,
        per_file_view_window_char_limit: int | None = None,
        hidden: bool | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> AgentState:
        """Change fields of an agent; only the arguments given are sent."""
        return await self._request(
            "PATCH",
            path("/v1/agents/{}", agent_id),
            AgentState,
            json=json_body(
                name=name,
                tool_ids=tool_ids,
                folder_ids=folder_ids,
                block_ids=block_ids,
                tags=tags,
                system=system,
                tool_rules=tool_rules,
                message_ids=message_ids,
                description=description,
                metadata=metadata,
                tool_exec_environment_variables=tool_exec_environment_variables,
                secrets=secrets,
                project_id=project_id,
                template_id=template_id,
                base_template_id=base_template_id,
                identity_ids=identity_ids,
                message_buffer_autoclear=message_buffer_autoclear,
                model=model,
                embedding=embedding,
                model_settings=model_settings,
                compaction_settings=compaction_settings,
                context_window_limit=context_window_limit,
                embedding_config=embedding_config,
                enable_sleeptime=enable_sleeptime,
                last_run_completion=last_run_completion,
                last_run_duration_ms=last_run_duration_ms,
                last_stop_reason=last_stop_reason,
                timezone=timezone,
                max_files_open=max_files_open,
                per_file_view_window_char_limit=per_file_view_window_char_limit,
                hidden=hidden,
            ),
            extra_body=extra_body,
        )

    @endpoint("POST", "/v1/agents/{agent_id}/generate")
    async def generate(
        self,
        agent_id: str,
        *,
        prompt: str,
        system_prompt: str | None = None,
        override_model: str | None = None,
        response_schema: dict[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> GenerateResponse:
        """One completion straight from the agent's model, outside its memory and history.

        Uses the agent's model configuration (or ``override_model``) without touching its
        messages; ``response_schema`` asks for structured output.
        """
        return await self._request(
            "POST",
            path("/v1/agents/{}/generate", agent_id),
            GenerateResponse,
            json=json_body(
                prompt=prompt,
                system_prompt=system_prompt,
                override_model=override_model,
                response_schema=response_schema,
            ),
            extra_body=extra_body,
        )

    @endpoint("POST", "/v1/agents/{agent_id}/recompile")
    async def recompile(
        self, agent_id: str, *, update_timestamp: bool | None = None, dry_run: bool | None = None
    ) -> str:
        """Rebuild the agent's system prompt from its current memory; returns the new prompt.

        ``dry_run=True`` only returns what the prompt would be.
        """
        return await self._request(
            "POST",
            path("/v1/agents/{}/recompile", agent_id),
            str,
            params=query_params(update_timestamp=update_timestamp, dry_run=dry_run),
        )

    @endpoint("GET", "/v1/agents/{agent_id}/export")
    @endpoint("POST", "/v1/agents/{agent_id}/export")
    async def export_file(
        self,
        agent_id: str,
        *,
        skills: Sequence[SkillSchema | Mapping[str, Any]] | None = None,
        conversation_id: str | None = None,
        scrub_messages: bool | None = None,
        use_legacy_format: bool | None = None,
    ) -> str:
        """The agent as an agent file (its JSON text), to back up, share or import elsewhere.

        ``scrub_messages=True`` leaves the history out; ``conversation_id`` exports that
        conversation's messages instead of the agent's own. With ``skills`` the export is a
        POST that bundles those skills into the file.
        """
        route = path("/v1/agents/{}/export", agent_id)
        if skills is not None:
            body = json_body(
                skills=skills, conversation_id=conversation_id, scrub_messages=scrub_messages
            )
            request = PreparedRequest("POST", route, body=encode_json(body))
        else:
            params = query_params(
                conversation_id=conversation_id,
                scrub_messages=scrub_messages,
                use_legacy_format=use_legacy_format,
            )
            request = PreparedRequest("GET", route, params=params)
        # The schema says "string", but the server sends the agent file itself as a JSON
        # object; its text is what belongs in a .af file and what import_file takes back.
        raw = await self._transport.request_bytes(request)
        return raw.decode("utf-8")

    @endpoint("POST", "/v1/agents/import")
    async def import_file(
        self,
        file: FileInput,
        *,
        name: str | None = None,
        model: str | None = None,
        embedding: str | None = None,
        override_existing_tools: bool | None = None,
        strip_messages: bool | None = None,
        secrets: Mapping[str, str] | str | None = None,
    ) -> ImportedAgentsResponse:
        """Create agents from an agent file (as written by :meth:`export_file`).

        ``file`` is the file's bytes, a path, an open binary file or ``(filename, bytes)``;
        the agent text from :meth:`export_file` works as ``text.encode()``. ``secrets`` may be
        a mapping; it is sent as the JSON string the server expects.
        """
        if secrets is not None and not isinstance(secrets, str):
            secrets = encode_json(dict(secrets)).decode()
        request = await multipart_request(
            "/v1/agents/import",
            file=file,
            default_name="agent.af",
            fields={
                "name": name,
                "model": model,
                "embedding": embedding,
                "override_existing_tools": override_existing_tools,
                "strip_messages": strip_messages,
                "secrets": secrets,
            },
        )
        result: ImportedAgentsResponse = await self._transport.request(
            request, ImportedAgentsResponse
        )
        return result
