"""``client.chat.completions``: talk to an agent through the OpenAI chat completions protocol.

``model`` is the agent's id. The agent keeps its own memory and history, so the server reads
only the last user message of ``messages``; the reply streams back as OpenAI
``chat.completion.chunk`` objects carrying the agent's assistant text (its reasoning and tool
calls stay internal). Letta 0.16 implements only the streaming form of this route, so
:meth:`ChatCompletions.create` streams too and assembles the chunks into one
:class:`~letta_async.types.models.ChatCompletion`.

The chunk shape is OpenAI's and is not part of Letta's OpenAPI document, so its structs are
written here by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args

import msgspec

from .._resource import APIResource
from .._transport import PreparedRequest, encode_json
from ..types._spec import (
    ChatCompletion,
    ChatCompletionMessage,
    ChatCompletionMessageParamUnion,
    Choice,
    CompletionUsage,
)
from ._json_stream import JsonEventStream

__all__ = [
    "ChatCompletionChunk",
    "ChatCompletionSending",
    "ChatCompletionStream",
    "ChunkChoice",
    "ChunkDelta",
    "ChunkToolCall",
    "ChunkToolCallFunction",
]

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]
_FINISH_REASONS: dict[str, FinishReason] = {reason: reason for reason in get_args(FinishReason)}


class ChunkToolCallFunction(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A slice of a streamed function call: the name first, then pieces of ``arguments``."""

    name: str | None = None
    arguments: str | None = None


class ChunkToolCall(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A slice of one tool call; slices with the same ``index`` belong together."""

    index: int
    id: str | None = None
    type: str | None = None
    function: ChunkToolCallFunction | None = None


class ChunkDelta(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What one chunk adds to the message: usually a piece of ``content``."""

    role: str | None = None
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ChunkToolCall] | None = None


class ChunkChoice(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One choice of a chunk; ``finish_reason`` is set on the last chunk only."""

    index: int = 0
    delta: ChunkDelta = msgspec.field(default_factory=ChunkDelta)
    finish_reason: str | None = None
    logprobs: dict[str, Any] | None = None


class ChatCompletionChunk(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One ``chat.completion.chunk`` event of a streamed chat completion."""

    id: str
    created: int
    model: str
    choices: list[ChunkChoice] = msgspec.field(default_factory=list)
    object: str = "chat.completion.chunk"
    system_fingerprint: str | None = None
    service_tier: str | None = None
    usage: CompletionUsage | None = None

    @property
    def text(self) -> str:
        """The content this chunk adds (all choices joined; usually one)."""
        return "".join(c.delta.content or "" for c in self.choices)


ChatCompletionStream = JsonEventStream[ChatCompletionChunk]
"""The stream :meth:`ChatCompletions.stream` returns: ``async for chunk in stream``."""


class ChatCompletionSending(APIResource):
    """``client.chat.completions``: both forms stream on the wire (see the module docs)."""

    def stream(
        self,
        *,
        model: str,
        messages: Sequence[ChatCompletionMessageParamUnion | Mapping[str, Any]],
        temperature: float | None = None,
        top_p: float | None = None,
        n: int | None = None,
        stop: str | Sequence[str] | None = None,
        max_tokens: int | None = None,
        presence_penalty: float | None = None,
        frequency_penalty: float | None = None,
        user: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> ChatCompletionStream:
        """Send the conversation and stream the agent's answer as OpenAI chunks.

        ``model`` is the agent id (``agent-...``). Returns at once without I/O; the request is
        sent on the first ``async for`` step. Use ``async with`` to release the connection
        when leaving early.
        """
        given = {
            "model": model,
            "messages": messages,
            "temperature": temperature,
            "top_p": top_p,
            "n": n,
            "stream": True,
            "stop": stop,
            "max_tokens": max_tokens,
            "presence_penalty": presence_penalty,
            "frequency_penalty": frequency_penalty,
            "user": user,
        }
        body = {k: v for k, v in given.items() if v is not None}
        if extra_body:
            body.update(extra_body)
        request = PreparedRequest(
            "POST", "/v1/chat/completions", body=encode_json(body), stream=True
        )
        return JsonEventStream(self._transport, request, ChatCompletionChunk)

    async def create(
        self,
        *,
        model: str,
        messages: Sequence[ChatCompletionMessageParamUnion | Mapping[str, Any]],
        temperature: float | None = None,
        top_p: float | None = None,
        n: int | None = None,
        stop: str | Sequence[str] | None = None,
        max_tokens: int | None = None,
        presence_penalty: float | None = None,
        frequency_penalty: float | None = None,
        user: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> ChatCompletion:
        """The agent's whole answer as one ``ChatCompletion``, built from the streamed chunks.

        Same arguments as :meth:`stream`; the server only implements streaming, so this
        streams and joins the chunks' text per choice.
        """
        stream = self.stream(
            model=model,
            messages=messages,
            temperature=temperature,
            top_p=top_p,
            n=n,
            stop=stop,
            max_tokens=max_tokens,
            presence_penalty=presence_penalty,
            frequency_penalty=frequency_penalty,
            user=user,
            extra_body=extra_body,
        )
        async with stream:
            chunks = await stream.until_done()
        return assemble(chunks, model=model)


def assemble(chunks: Sequence[ChatCompletionChunk], *, model: str) -> ChatCompletion:
    """Join streamed chunks into the ``ChatCompletion`` the non-streaming form would return."""
    texts: dict[int, list[str]] = {}
    reasons: dict[int, FinishReason] = {}
    usage: CompletionUsage | None = None
    for chunk in chunks:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            texts.setdefault(choice.index, [])
            if choice.delta.content:
                texts[choice.index].append(choice.delta.content)
            reason = _FINISH_REASONS.get(choice.finish_reason or "")
            if reason is not None:
                reasons[choice.index] = reason
    first = chunks[0] if chunks else None
    return ChatCompletion(
        id=first.id if first else "",
        created=first.created if first else 0,
        model=first.model if first else model,
        choices=[
            Choice(
                index=index,
                finish_reason=reasons.get(index, "stop"),
                message=ChatCompletionMessage(content="".join(parts)),
            )
            for index, parts in sorted(texts.items())
        ],
        usage=usage,
    )
