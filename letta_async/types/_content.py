"""Content parts: the pieces a message body can be made of instead of a plain string.

The same classes serve replies and requests, so a part read from history can be sent back
unchanged. Which parts may appear where is narrower than the full set; the aliases at the end
name each position's allowed parts, following the server's schema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from .._models import BaseModel
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

    if TYPE_CHECKING:
        type: Literal["text"] = "text"
    else:
        type: ClassVar[str] = "text"

    text: str
    signature: str | None = None


# --- images ---------------------------------------------------------------------------------


class UrlImage(TypeTagged, tag="url", kw_only=True, gc=False):
    """An image the server fetches itself."""

    if TYPE_CHECKING:
        type: Literal["url"] = "url"
    else:
        type: ClassVar[str] = "url"

    url: str


class Base64Image(TypeTagged, tag="base64", kw_only=True, gc=False):
    """An image sent inline, for when the server cannot reach the image's location."""

    if TYPE_CHECKING:
        type: Literal["base64"] = "base64"
    else:
        type: ClassVar[str] = "base64"

    media_type: str
    data: str
    detail: str | None = None


class LettaImage(TypeTagged, tag="letta", kw_only=True, gc=False):
    """An image already uploaded to Letta, referred to by file id rather than re-sent."""

    if TYPE_CHECKING:
        type: Literal["letta"] = "letta"
    else:
        type: ClassVar[str] = "letta"

    file_id: str
    media_type: str | None = None
    data: str | None = None
    detail: str | None = None


ImageSource = UrlImage | Base64Image | LettaImage
"""Where an image's bytes come from."""


class ImageContent(TypeTagged, tag="image", kw_only=True, gc=False):
    """An image part; the source says how the server obtains the pixels."""

    if TYPE_CHECKING:
        type: Literal["image"] = "image"
    else:
        type: ClassVar[str] = "image"

    source: ImageSource


# --- tool traffic as content ----------------------------------------------------------------


class ToolCallContent(TypeTagged, tag="tool_call", kw_only=True):
    """A tool call recorded inside content, with its arguments already parsed."""

    if TYPE_CHECKING:
        type: Literal["tool_call"] = "tool_call"
    else:
        type: ClassVar[str] = "tool_call"

    id: str
    name: str
    input: dict[str, Any]
    signature: str | None = None


class ToolReturnContent(TypeTagged, tag="tool_return", kw_only=True, gc=False):
    """A tool's result recorded inside content."""

    if TYPE_CHECKING:
        type: Literal["tool_return"] = "tool_return"
    else:
        type: ClassVar[str] = "tool_return"

    tool_call_id: str
    content: str
    is_error: bool


# --- reasoning ------------------------------------------------------------------------------


class ReasoningContent(TypeTagged, tag="reasoning", kw_only=True, gc=False):
    """Reasoning text; ``is_native`` tells a reasoning model's own trace from a prompted one."""

    if TYPE_CHECKING:
        type: Literal["reasoning"] = "reasoning"
    else:
        type: ClassVar[str] = "reasoning"

    is_native: bool
    reasoning: str
    signature: str | None = None


class RedactedReasoningContent(TypeTagged, tag="redacted_reasoning", kw_only=True, gc=False):
    """Reasoning the provider encrypted: opaque, but needed to continue the conversation."""

    if TYPE_CHECKING:
        type: Literal["redacted_reasoning"] = "redacted_reasoning"
    else:
        type: ClassVar[str] = "redacted_reasoning"

    data: str


class OmittedReasoningContent(TypeTagged, tag="omitted_reasoning", kw_only=True, gc=False):
    """Marks that reasoning happened but the provider did not return it."""

    if TYPE_CHECKING:
        type: Literal["omitted_reasoning"] = "omitted_reasoning"
    else:
        type: ClassVar[str] = "omitted_reasoning"

    signature: str | None = None


class SummarizedReasoningContentPart(BaseModel, kw_only=True, gc=False):
    """One numbered paragraph of a reasoning summary."""

    index: int
    text: str


class SummarizedReasoningContent(TypeTagged, tag="summarized_reasoning", kw_only=True, gc=False):
    """A provider's summary of reasoning it keeps private, plus the encrypted original."""

    if TYPE_CHECKING:
        type: Literal["summarized_reasoning"] = "summarized_reasoning"
    else:
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
