"""Content parts: the pieces a message body can be made of instead of a plain string.

The same classes serve replies and requests, so a part read from history can be sent back
unchanged. Which parts may appear where is narrower than the full set; the aliases at the end
name each position's allowed parts, following the server's schema.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

from ._base import TypeTagged

__all__ = [
    "Base64Image",
    "ImageContent",
    "ImageSource",
    "LettaAssistantMessageContentUnion",
    "LettaImage",
    "LettaMessageContentUnion",
    "LettaToolReturnContentUnion",
    "LettaUserMessageContentUnion",
    "OmittedReasoningContent",
    "ReasoningContent",
    "RedactedReasoningContent",
    "SummarizedReasoningContent",
    "SummarizedReasoningContentPart",
    "TextContent",
    "ToolCallContent",
    "ToolReturnContent",
    "UrlImage",
]


class TextContent(TypeTagged, tag="text", kw_only=True, gc=False):
    """Plain text. ``signature`` ties the text to a provider's reasoning trace, when one exists."""

    type: ClassVar[str] = "text"

    text: str
    signature: str | None = None


# --- images ---------------------------------------------------------------------------------


class UrlImage(TypeTagged, tag="url", kw_only=True, gc=False):
    """An image the server fetches itself."""

    type: ClassVar[str] = "url"

    url: str


class Base64Image(TypeTagged, tag="base64", kw_only=True, gc=False):
    """An image sent inline, for when the server cannot reach the image's location."""

    type: ClassVar[str] = "base64"

    media_type: str
    data: str
    detail: str | None = None


class LettaImage(TypeTagged, tag="letta", kw_only=True, gc=False):
    """An image already uploaded to Letta, referred to by file id rather than re-sent."""

    type: ClassVar[str] = "letta"

    file_id: str
    media_type: str | None = None
    data: str | None = None
    detail: str | None = None


ImageSource = UrlImage | Base64Image | LettaImage
"""Where an image's bytes come from."""


class ImageContent(TypeTagged, tag="image", kw_only=True, gc=False):
    """An image part; the source says how the server obtains the pixels."""

    type: ClassVar[str] = "image"

    source: ImageSource


# --- tool traffic as content ----------------------------------------------------------------


class ToolCallContent(TypeTagged, tag="tool_call", kw_only=True):
    """A tool call recorded inside content, with its arguments already parsed."""

    type: ClassVar[str] = "tool_call"

    id: str
    name: str
    input: dict[str, Any]
    signature: str | None = None


class ToolReturnContent(TypeTagged, tag="tool_return", kw_only=True, gc=False):
    """A tool's result recorded inside content."""

    type: ClassVar[str] = "tool_return"

    tool_call_id: str
    content: str
    is_error: bool


# --- reasoning ------------------------------------------------------------------------------


class ReasoningContent(TypeTagged, tag="reasoning", kw_only=True, gc=False):
    """Reasoning text; ``is_native`` tells a reasoning model's own trace from a prompted one."""

    type: ClassVar[str] = "reasoning"

    is_native: bool
    reasoning: str
    signature: str | None = None


class RedactedReasoningContent(TypeTagged, tag="redacted_reasoning", kw_only=True, gc=False):
    """Reasoning the provider encrypted: opaque, but needed to continue the conversation."""

    type: ClassVar[str] = "redacted_reasoning"

    data: str


class OmittedReasoningContent(TypeTagged, tag="omitted_reasoning", kw_only=True, gc=False):
    """Marks that reasoning happened but the provider did not return it."""

    type: ClassVar[str] = "omitted_reasoning"

    signature: str | None = None


class SummarizedReasoningContentPart(msgspec.Struct, kw_only=True, gc=False):
    """One numbered paragraph of a reasoning summary."""

    index: int
    text: str


class SummarizedReasoningContent(TypeTagged, tag="summarized_reasoning", kw_only=True, gc=False):
    """A provider's summary of reasoning it keeps private, plus the encrypted original."""

    type: ClassVar[str] = "summarized_reasoning"

    id: str
    summary: list[SummarizedReasoningContentPart]
    encrypted_content: str | None = None


LettaMessageContentUnion = (
    TextContent
    | ImageContent
    | ToolCallContent
    | ToolReturnContent
    | ReasoningContent
    | RedactedReasoningContent
    | OmittedReasoningContent
    | SummarizedReasoningContent
)
"""Every content part; what a request's ``content`` or ``input`` may hold."""

LettaUserMessageContentUnion = TextContent | ImageContent
"""The parts a user message may carry."""

LettaAssistantMessageContentUnion = TextContent
"""The parts an assistant message may carry."""

LettaToolReturnContentUnion = TextContent | ImageContent
"""The parts a tool's return value may carry."""
