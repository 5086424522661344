"""``client.conversations``: separate message threads on one agent.

A conversation shares the agent's memory but keeps its own message history and context window,
so one agent can hold many independent threads. ``client.conversations.messages`` talks within
one; :meth:`Conversations.stream` picks up a background run of a conversation again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

import aiohttp

from .._pagination import AsyncPaginator
from .._stream import MessageStream, ResumeSettings
from .._transport import PreparedRequest, encode_json
from .._urls import path
from ..types import LettaMessageContentUnion
from ..types._spec import (
    ClientSkillSchema,
    ClientToolSchema,
    CompactionResponse,
    CompactionSettings,
    MessageType,
    ModelSettingsUnion,
)
from ..types.agents import Conversation
from ._base import drop_none
from ._common import ApiResource, endpoint, json_body, query_params
from .messages import ConversationMessages, MessageInput

__all__ = ["ConversationMessagesWithPreview", "Conversations"]


class ConversationMessagesWithPreview(ConversationMessages, ApiResource):
    """``client.conversations.messages``: :class:`ConversationMessages` plus preview and compact.

    ``compact`` is also here because the official SDK puts it here;
    ``client.conversations.compact`` is the same call.
    """

    @endpoint("POST", "/v1/conversations/{conversation_id}/messages/preview-raw-payload")
    async def preview_raw_payload(
        self,
        conversation_id: str,
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
        agent_id: str | None = None,
        streaming: bool | None = None,
        stream_tokens: bool | None = None,
        include_pings: bool | None = None,
        background: bool | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The exact request the server would send to the LLM for these messages, unsent."""
        return await self._request(
            "POST",
            path("/v1/conversations/{}/messages/preview-raw-payload", conversation_id),
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
                agent_id=agent_id,
                streaming=streaming,
                stream_tokens=stream_tokens,
                include_pings=include_pings,
                background=background,
            ),
            extra_body=extra_body,
        )

    @endpoint("POST", "/v1/conversations/{conversation_id}/compact")
    async def compact(
        self,
        conversation_id: str,
        *,
        agent_id: str | None = None,
        compaction_settings: CompactionSettings | Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> CompactionResponse:
        """Summarise the conversation's history to free context; returns the summary."""
        return await self._request(
            "POST",
            path("/v1/conversations/{}/compact", conversation_id),
            CompactionResponse,
            json=json_body(agent_id=agent_id, compaction_settings=compaction_settings),
            extra_body=extra_body,
        )


class Conversations(ApiResource):
    """``client.conversations``."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.messages = ConversationMessagesWithPreview(client)

    @endpoint("POST", "/v1/conversations/")
    async def create(
        self,
        *,
        agent_id: str,
        summary: str | None = None,
        isolated_block_labels: Sequence[str] | None = None,
        model: str | None = None,
        model_settings: ModelSettingsUnion | Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Conversation:
        """Start a new conversation with an agent.

        ``isolated_block_labels`` names memory blocks that get a private copy in this
        conversation instead of being shared with the agent's other threads.
        """
        return await self._request(
            "POST",
            "/v1/conversations/",
            Conversation,
            params={"agent_id": agent_id},
            json=json_body(
                summary=summary,
                isolated_block_labels=isolated_block_labels,
                model=model,
                model_settings=model_settings,
            ),
            extra_body=extra_body,
        )

    @endpoint("GET", "/v1/conversations/{conversation_id}")
    async def retrieve(self, conversation_id: str) -> Conversation:
        """One conversation."""
        return await self._request(
            "GET", path("/v1/conversations/{}", conversation_id), Conversation
        )

    @endpoint("PATCH", "/v1/conversations/{conversation_id}")
    async def update(
        self,
        conversation_id: str,
        *,
        summary: str | None = None,
        model: str | None = None,
        model_settings: ModelSettingsUnion | Mapping[str, Any] | None = None,
        last_message_at: datetime | None = None,
        **fields: Any,
    ) -> Conversation:
        """Change a conversation's fields (``summary``, ``model``...); others by keyword."""
        return await self._request(
            "PATCH",
            path("/v1/conversations/{}", conversation_id),
            Conversation,
            json=json_body(
                summary=summary,
                model=model,
                model_settings=model_settings,
                last_message_at=last_message_at,
                **drop_none(fields),
            ),
        )

    @endpoint("DELETE", "/v1/conversations/{conversation_id}")
    async def delete(self, conversation_id: str) -> None:
        """Delete a conversation (the server keeps its messages, marked deleted)."""
        await self._request("DELETE", path("/v1/conversations/{}", conversation_id), None)

    @endpoint("GET", "/v1/conversations/")
    def list(
        self,
        *,
        agent_id: str | None = None,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        order_by: Literal["created_at", "last_run_completion", "last_message_at"] | None = None,
        summary_search: str | None = None,
    ) -> AsyncPaginator[Conversation]:
        """Conversations, optionally of one agent, newest first by default, across pages."""
        return self._paginate(
            "/v1/conversations/",
            Conversation,
            query_params(
                agent_id=agent_id,
                before=before,
                after=after,
                limit=limit,
                order=order,
                order_by=order_by,
                summary_search=summary_search,
            ),
        )

    @endpoint("POST", "/v1/conversations/{conversation_id}/cancel")
    async def cancel(self, conversation_id: str, *, agent_id: str | None = None) -> dict[str, Any]:
        """Cancel the conversation's active runs; returns the server's ``{run_id: status}`` map."""
        return await self._request(
            "POST",
            path("/v1/conversations/{}/cancel", conversation_id),
            dict[str, Any],
            params=query_params(agent_id=agent_id),
        )

    @endpoint("POST", "/v1/conversations/{conversation_id}/fork")
    async def fork(self, conversation_id: str, *, agent_id: str | None = None) -> Conversation:
        """A new conversation that starts from this one's context, to branch off without
        touching the original. ``agent_id`` is needed when forking the ``default`` conversation.
        """
        return await self._request(
            "POST",
            path("/v1/conversations/{}/fork", conversation_id),
            Conversation,
            params=query_params(agent_id=agent_id),
        )

    @endpoint("POST", "/v1/conversations/{conversation_id}/compact")
    async def compact(
        self,
        conversation_id: str,
        *,
        agent_id: str | None = None,
        compaction_settings: CompactionSettings | Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> CompactionResponse:
        """Summarise the conversation's history to free context; returns the summary."""
        return await self._request(
            "POST",
            path("/v1/conversations/{}/compact", conversation_id),
            CompactionResponse,
            json=json_body(agent_id=agent_id, compaction_settings=compaction_settings),
            extra_body=extra_body,
        )

    @endpoint("POST", "/v1/conversations/{conversation_id}/recompile")
    async def recompile(
        self,
        conversation_id: str,
        *,
        agent_id: str | None = None,
        compaction_settings: CompactionSettings | Mapping[str, Any] | None = None,
        dry_run: bool | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> str:
        """Rebuild the conversation's system prompt from current memory; returns the prompt.

        ``dry_run=True`` only returns what the prompt would be.
        """
        return await self._request(
            "POST",
            path("/v1/conversations/{}/recompile", conversation_id),
            str,
            params=query_params(dry_run=dry_run),
            json=json_body(agent_id=agent_id, compaction_settings=compaction_settings),
            extra_body=extra_body,
        )

    @endpoint("POST", "/v1/conversations/{conversation_id}/stream")
    def stream(
        self,
        conversation_id: str,
        *,
        run_id: str | None = None,
        agent_id: str | None = None,
        starting_after: int | None = None,
        include_pings: bool = True,
        poll_interval: float | None = None,
        batch_size: int | None = None,
        resume: ResumeSettings | None = None,
    ) -> MessageStream:
        """Follow the conversation's latest background run (or ``run_id``), replay then live.

        For a process that lost its stream and only knows the conversation: the server finds
        the run, replays it from after ``starting_after`` and carries on live. Once the first
        frame names the run, the stream resumes by itself after a disconnect, like
        ``client.runs.stream``. Returns at once; the request is sent on the first iteration.
        """
        transport = self._transport
        route = path("/v1/conversations/{}/stream", conversation_id)
        settings = resume or self._client._resume
        if batch_size is not None or include_pings != settings.include_pings:
            settings = ResumeSettings(
                max_attempts=settings.max_attempts,
                initial_delay=settings.initial_delay,
                max_delay=settings.max_delay,
                include_pings=include_pings,
                batch_size=batch_size,
            )
        body = drop_none(
            {
                "run_id": run_id,
                "agent_id": agent_id,
                "starting_after": starting_after if starting_after is not None else 0,
                "include_pings": include_pings,
                "poll_interval": poll_interval,
                "batch_size": batch_size,
            }
        )

        async def opener(stream: MessageStream) -> aiohttp.ClientResponse:
            request = PreparedRequest(
                "POST", route, body=encode_json(body), stream=True, omit_user_agent=True
            )
            return await transport.open_stream(request)

        async def canceller(target: str) -> Any:
            return await self.cancel(conversation_id, agent_id=agent_id)

        return MessageStream(
            transport,
            opener,
            background=True,
            run_id=run_id,
            starting_after=starting_after,
            poll_interval=poll_interval,
            resume=settings,
            canceller=canceller,
        )
