"""Token accounting: the usage frame at the end of a stream, and a run's usage record."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from .._models import BaseModel
from ._base import MessageTagged

__all__ = [
    "LettaUsageStatistics",
    "UsageStatistics",
    "UsageStatisticsCompletionTokenDetails",
    "UsageStatisticsPromptTokenDetails",
]


class LettaUsageStatistics(MessageTagged, tag="usage_statistics", kw_only=True, gc=False):
    """Tokens used by a whole request, across all its steps.

    Streams send it after ``stop_reason``; non-streaming replies carry it as ``usage``. The four
    counters default to 0 as on the server, so they can be summed without None checks; the
    cache, reasoning and context figures are None when the provider does not report them.
    """

    if TYPE_CHECKING:
        message_type: Literal["usage_statistics"] | None = "usage_statistics"
    else:
        message_type: ClassVar[str] = "usage_statistics"

    completion_tokens: int = 0
    prompt_tokens: int = 0
    total_tokens: int = 0
    step_count: int = 0
    run_ids: list[str] | None = None
    cached_input_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    context_tokens: int | None = None


class UsageStatisticsPromptTokenDetails(BaseModel, kw_only=True, gc=False):
    """How much of a prompt was served from, or written to, the provider's cache."""

    cached_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_creation_tokens: int | None = None


class UsageStatisticsCompletionTokenDetails(BaseModel, kw_only=True, gc=False):
    """The share of a completion spent on reasoning."""

    reasoning_tokens: int | None = None


class UsageStatistics(BaseModel, kw_only=True, gc=False):
    """A run's usage as ``GET /v1/runs/{run_id}/usage`` reports it (OpenAI-style field names)."""

    completion_tokens: int = 0
    prompt_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: UsageStatisticsPromptTokenDetails | None = None
    completion_tokens_details: UsageStatisticsCompletionTokenDetails | None = None
