"""``client.agents.messages`` and ``client.conversations.messages``: talk to an agent.

Two server facts shape this module.

The SDK gate: Letta 0.16 answers ``streaming: true`` with 422 unless the caller looks like
the official SDK v1 (its User-Agent or an ``X-Stainless-*`` header) *or sends no User-Agent
at all*. The gate exists to keep pre-1.0 clients away from the v1 event format, which this
client speaks. Rather than impersonate the official SDK, streaming requests here are sent
without a User-Agent header; every other request identifies itself as ``letta-async/<ver>``.

Idempotency: every outgoing message gets an ``otid`` (the server's offline thread id) before
the first attempt, and a retry resends the same one. That id is also how a background stream
that broke before learning its ``run_id`` finds its run again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import aiohttp
import anyio
import msgspec

from .._decode import shared_decoder
from .._errors import APIError, APIStatusError
from .._pagination import AsyncPaginator
from .._stream import MessageStream, ResumeSettings
from .._transport import PreparedRequest, encode_json
from .._urls import path
from ..types import LettaResponse, Run, StreamEvent
from ..types.agents import AgentState
from ._base import drop_none
from ._common import ApiResource, endpoint

__all__ = ["AgentMessages", "ConversationMessages", "MessageInput"]

logger = logging.getLogger("letta_async")

MessageInput = Mapping[str, Any] | msgspec.Struct
"""A message to send: a plain dict or a request struct such as ``MessageCreate``."""

_no_redis_logged = False


# Request fields shared by the streaming and the non-streaming send, named as on the wire.
_SEND_FIELDS = (
    "max_steps",
    "include_return_message_types",
    "use_assistant_message",
    "assistant_message_tool_name",
    "assistant_message_tool_kwarg",
    "enable_thinking",
    "client_tools",
    "client_skills",
    "override_model",
    "include_compaction_messages",
    "return_logprobs",
    "top_logprobs",
    "return_token_ids",
    "override_system",
)


def _pick(arguments: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The named keyword arguments of a send method (``None`` ones are dropped later)."""
    return {name: arguments[name] for name in names}


def with_otids(messages: Iterable[MessageInput] | None) -> tuple[list[Any] | None, list[str]]:
    """Give each message an ``otid`` unless it has one, and return the ids in use."""
    if messages is None:
        return None, []
    prepared: list[Any] = []
    otids: list[str] = []
    for message in messages:
        if isinstance(message, msgspec.Struct):
            otid = getattr(message, "otid", None)
            if otid is None and "otid" in message.__struct_fields__:
                otid = str(uuid.uuid4())
                message = msgspec.structs.replace(message, otid=otid)
            prepared.append(message)
        elif isinstance(message, Mapping):
            item = dict(message)
            otid = item.get("otid")
            if otid is None:
                otid = item["otid"] = str(uuid.uuid4())
            prepared.append(item)
        else:
            raise TypeError(f"a message must be a dict or a request struct, got {type(message)!r}")
        if isinstance(otid, str):
            otids.append(otid)
    return prepared, otids


def _is_no_redis(exc: APIError) -> bool:
    """The server's answer to a background request when it runs without Redis."""
    return (
        isinstance(exc, APIStatusError)
        and exc.status_code == 503
        and "redis" in (exc.detail or "").lower()
    )


class _MessagesBase(ApiResource):
    """Request building shared by agents and conversations."""

    _owner_template: str

    def _build_body(
        self,
        *,
        messages: Sequence[MessageInput] | None,
        input: Any,
        fields: Mapping[str, Any],
        extra_body: Mapping[str, Any] | None,
    ) -> tuple[dict[str, Any], list[str]]:
        if messages is None and input is None:
            raise ValueError("pass messages=[...] or input=...")
        prepared, otids = with_otids(messages)
        body = drop_none({"messages": prepared, "input": input, **fields})
        if extra_body:
            body.update(extra_body)
        return body, otids

    def _open_stream(
        self,
        owner_id: str,
        body: dict[str, Any],
        otids: list[str],
        *,
        background: bool,
        resumable: bool,
        cancel_on_exit: bool,
        poll_interval: float | None,
        resume: ResumeSettings | None,
    ) -> MessageStream:
        transport = self._transport
        route = path(self._owner_template + "/messages", owner_id)
        state = {"background": background or resumable}

        async def opener(stream: MessageStream) -> aiohttp.ClientResponse:
            global _no_redis_logged
            request_body = dict(body, streaming=True, background=state["background"])
            request = PreparedRequest(
                "POST", route, body=encode_json(request_body), stream=True, omit_user_agent=True
            )
            try:
                # A background POST that fails mid-flight is not re-sent blindly: the stream
                # first looks for the run it may have started (see recover_run_id).
                return await transport.open_stream(
                    request,
                    retry_connection_errors=not state["background"],
                    final=_is_no_redis if resumable else None,
                )
            except APIStatusError as exc:
                if not (resumable and not background and _is_no_redis(exc)):
                    raise
                if not _no_redis_logged:
                    _no_redis_logged = True
                    logger.warning(
                        "server has no Redis, so background streams are unavailable; "
                        "resumable streams fall back to plain (non-resumable) streams"
                    )
                state["background"] = False
                stream.fall_back_to_foreground()
                request_body["background"] = False
                request = PreparedRequest(
                    "POST",
                    route,
                    body=encode_json(request_body),
                    stream=True,
                    omit_user_agent=True,
                )
                return await transport.open_stream(request)

        async def recover_run_id() -> str | None:
            return await self._find_run_by_otid(owner_id, otids)

        return MessageStream(
            transport,
            opener,
            background=state["background"],
            poll_interval=poll_interval,
            resume=resume or self._client._resume,
            canceller=lambda run_id: self._cancel_run(owner_id, run_id),
            recover_run_id=recover_run_id if otids else None,
            cancel_on_exit=cancel_on_exit,
        )

    async def _cancel_run(self, owner_id: str, run_id: str) -> Any:
        raise NotImplementedError

    async def _find_run_by_otid(self, owner_id: str, otids: list[str]) -> str | None:
        """Find the run our request started, by the otid we gave its message.

        The server stores the message (with our otid and its run_id) when the run starts;
        a few short retries cover the moment before that write lands.
        """
        wanted = set(otids)
        for attempt in range(4):
            try:
                page = await self._history(owner_id, {"limit": 20, "order": "desc"}).first_page()
            except APIStatusError:
                return None
            for item in page:
                if getattr(item, "otid", None) in wanted:
                    run_id = getattr(item, "run_id", None)
                    if isinstance(run_id, str):
                        return run_id
            await anyio.sleep(0.25 * (attempt + 1))
        return None

    def _history(self, owner_id: str, params: dict[str, Any]) -> AsyncPaginator[StreamEvent]:
        route = path(self._owner_template + "/messages", owner_id)
        return self._message_pages(route, params, rule="message_history")


class AgentMessages(_MessagesBase):
    """Send messages to an agent and read its history."""

    _owner_template = "/v1/agents/{}"

    @endpoint("POST", "/v1/agents/{agent_id}/messages")
    def stream(
        self,
        agent_id: str,
        *,
        messages: Sequence[MessageInput] | None = None,
        input: Any = None,
        stream_tokens: bool = False,
        include_pings: bool = True,
        background: bool = False,
        resumable: bool = False,
        max_steps: int | None = None,
        include_return_message_types: Sequence[str] | None = None,
        use_assistant_message: bool | None = None,
        assistant_message_tool_name: str | None = None,
        assistant_message_tool_kwarg: str | None = None,
        enable_thinking: str | None = None,
        client_tools: Sequence[Any] | None = None,
        client_skills: Sequence[Any] | None = None,
        override_model: str | None = None,
        include_compaction_messages: bool | None = None,
        return_logprobs: bool | None = None,
        top_logprobs: int | None = None,
        return_token_ids: bool | None = None,
        override_system: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        cancel_on_exit: bool = False,
        poll_interval: float | None = None,
        resume: ResumeSettings | None = None,
    ) -> MessageStream:
        """Send messages and stream the agent's reply as typed events.

        Returns at once, without I/O: ``async for event in client.agents.messages.stream(...)``
        sends the request on its first step. ``background=True`` runs the agent apart from the
        connection and makes the stream resume by itself after a disconnect;
        ``resumable=True`` asks for that too, but falls back to a plain stream on a server
        without Redis. ``cancel_on_exit=True`` cancels the run when an ``async with`` block is
        left before the stream ended; by default leaving only closes the connection and the
        run carries on.
        """
        body, otids = self._build_body(
            messages=messages,
            input=input,
            fields=_pick(locals(), ("stream_tokens", "include_pings", *_SEND_FIELDS)),
            extra_body=extra_body,
        )
        return self._open_stream(
            agent_id,
            body,
            otids,
            background=background,
            resumable=resumable,
            cancel_on_exit=cancel_on_exit,
            poll_interval=poll_interval,
            resume=resume,
        )

    @endpoint("POST", "/v1/agents/{agent_id}/messages")
    async def create(
        self,
        agent_id: str,
        *,
        messages: Sequence[MessageInput] | None = None,
        input: Any = None,
        max_steps: int | None = None,
        include_return_message_types: Sequence[str] | None = None,
        use_assistant_message: bool | None = None,
        assistant_message_tool_name: str | None = None,
        assistant_message_tool_kwarg: str | None = None,
        enable_thinking: str | None = None,
        client_tools: Sequence[Any] | None = None,
        client_skills: Sequence[Any] | None = None,
        override_model: str | None = None,
        include_compaction_messages: bool | None = None,
        return_logprobs: bool | None = None,
        top_logprobs: int | None = None,
        return_token_ids: bool | None = None,
        override_system: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> LettaResponse:
        """Send messages and wait for the whole reply (no streaming).

        Retries resend the same message ``otid``s; the README explains why that alone does not
        stop a retried call from running the agent twice.
        """
        body, _ = self._build_body(
            messages=messages,
            input=input,
            fields=_pick(locals(), _SEND_FIELDS),
            extra_body=extra_body,
        )
        route = path("/v1/agents/{}/messages", agent_id)
        request = PreparedRequest("POST", route, body=encode_json(body))
        raw = await self._transport.request_bytes(request)
        return shared_decoder().decode_response(raw)

    @endpoint("POST", "/v1/agents/{agent_id}/messages/async")
    async def create_async(
        self,
        agent_id: str,
        *,
        messages: Sequence[MessageInput] | None = None,
        input: Any = None,
        callback_url: str | None = None,
        max_steps: int | None = None,
        include_return_message_types: Sequence[str] | None = None,
        use_assistant_message: bool | None = None,
        enable_thinking: str | None = None,
        override_model: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Run:
        """Start a run and return at once; follow it with ``client.runs.wait(run.id)``."""
        body, _ = self._build_body(
            messages=messages,
            input=input,
            fields={
                "callback_url": callback_url,
                "max_steps": max_steps,
                "include_return_message_types": include_return_message_types,
                "use_assistant_message": use_assistant_message,
                "enable_thinking": enable_thinking,
                "override_model": override_model,
            },
            extra_body=extra_body,
        )
        return await self._call(  # type: ignore[no-any-return]
            "POST", path("/v1/agents/{}/messages/async", agent_id), Run, body=body
        )

    @endpoint("GET", "/v1/agents/{agent_id}/messages")
    def list(
        self,
        agent_id: str,
        *,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        order_by: str | None = None,
        group_id: str | None = None,
        conversation_id: str | None = None,
        use_assistant_message: bool | None = None,
        assistant_message_tool_name: str | None = None,
        assistant_message_tool_kwarg: str | None = None,
        include_err: bool | None = None,
        include_return_message_types: Sequence[str] | None = None,
    ) -> AsyncPaginator[StreamEvent]:
        """The agent's message history, newest first by default, across all pages.

        ``await client.agents.messages.list(agent_id, limit=20)`` gives one page instead.
        """
        params = {
            "before": before,
            "after": after,
            "limit": limit,
            "order": order,
            "order_by": order_by,
            "group_id": group_id,
            "conversation_id": conversation_id,
            "use_assistant_message": use_assistant_message,
            "assistant_message_tool_name": assistant_message_tool_name,
            "assistant_message_tool_kwarg": assistant_message_tool_kwarg,
            "include_err": include_err,
            "include_return_message_types": list(include_return_message_types)
            if include_return_message_types
            else None,
        }
        return self._history(agent_id, params)

    @endpoint("POST", "/v1/agents/{agent_id}/messages/cancel")
    async def cancel(
        self, agent_id: str, *, run_ids: Sequence[str] | None = None
    ) -> dict[str, str]:
        """Cancel runs of this agent (all active ones when ``run_ids`` is omitted).

        Returns the server's ``{run_id: status}`` map. A stream of a cancelled run ends with
        ``stop_reason == "cancelled"`` once the agent produces its next chunk.
        """
        body = {"run_ids": list(run_ids)} if run_ids is not None else None
        return await self._call(  # type: ignore[no-any-return]
            "POST", path("/v1/agents/{}/messages/cancel", agent_id), dict[str, str], body=body
        )

    @endpoint("PATCH", "/v1/agents/{agent_id}/reset-messages")
    async def reset(
        self, agent_id: str, *, add_default_initial_messages: bool | None = None
    ) -> AgentState | None:
        """Clear the agent's message history."""
        body = drop_none({"add_default_initial_messages": add_default_initial_messages})
        return await self._call(  # type: ignore[no-any-return]
            "PATCH", path("/v1/agents/{}/reset-messages", agent_id), AgentState | None, body=body
        )

    @endpoint("POST", "/v1/agents/{agent_id}/summarize")
    async def compact(self, agent_id: str, **fields: Any) -> dict[str, Any]:
        """Summarise the agent's context (``POST /v1/agents/{id}/summarize``)."""
        return await self._call(  # type: ignore[no-any-return]
            "POST",
            path("/v1/agents/{}/summarize", agent_id),
            dict[str, Any],
            body=drop_none(fields) or None,
        )

    async def _cancel_run(self, owner_id: str, run_id: str) -> Any:
        return await self.cancel(owner_id, run_ids=[run_id])


class ConversationMessages(_MessagesBase):
    """Send messages within a conversation (a separate thread on an agent)."""

    _owner_template = "/v1/conversations/{}"

    @endpoint("POST", "/v1/conversations/{conversation_id}/messages")
    def stream(
        self,
        conversation_id: str,
        *,
        messages: Sequence[MessageInput] | None = None,
        input: Any = None,
        stream_tokens: bool = False,
        include_pings: bool = True,
        background: bool = False,
        resumable: bool = False,
        max_steps: int | None = None,
        include_return_message_types: Sequence[str] | None = None,
        enable_thinking: str | None = None,
        override_model: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        cancel_on_exit: bool = False,
        poll_interval: float | None = None,
        resume: ResumeSettings | None = None,
    ) -> MessageStream:
        """Like ``client.agents.messages.stream``, within one conversation."""
        body, otids = self._build_body(
            messages=messages,
            input=input,
            fields={
                "stream_tokens": stream_tokens,
                "include_pings": include_pings,
                "max_steps": max_steps,
                "include_return_message_types": include_return_message_types,
                "enable_thinking": enable_thinking,
                "override_model": override_model,
            },
            extra_body=extra_body,
        )
        return self._open_stream(
            conversation_id,
            body,
            otids,
            background=background,
            resumable=resumable,
            cancel_on_exit=cancel_on_exit,
            poll_interval=poll_interval,
            resume=resume,
        )

    @endpoint("POST", "/v1/conversations/{conversation_id}/messages")
    async def create(
        self,
        conversation_id: str,
        *,
        messages: Sequence[MessageInput] | None = None,
        input: Any = None,
        max_steps: int | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> LettaResponse:
        """Send messages within a conversation and wait for the whole reply."""
        body, _ = self._build_body(
            messages=messages,
            input=input,
            fields={"max_steps": max_steps, "streaming": False},
            extra_body=extra_body,
        )
        route = path("/v1/conversations/{}/messages", conversation_id)
        raw = await self._transport.request_bytes(
            PreparedRequest("POST", route, body=encode_json(body))
        )
        return shared_decoder().decode_response(raw)

    @endpoint("GET", "/v1/conversations/{conversation_id}/messages")
    def list(
        self,
        conversation_id: str,
        *,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
    ) -> AsyncPaginator[StreamEvent]:
        """The conversation's message history, across all pages."""
        params = {"before": before, "after": after, "limit": limit, "order": order}
        return self._history(conversation_id, params)

    async def _cancel_run(self, owner_id: str, run_id: str) -> Any:
        return await self._call(
            "POST", path("/v1/conversations/{}/cancel", owner_id), dict[str, Any]
        )
