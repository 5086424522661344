"""``client.steps``: the individual LLM calls of agent runs, with timing and token counts.

A run is made of steps; each step is one model call plus the tools it triggered. Steps carry
the usage and timing numbers observability tools want, and accept feedback for evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from .._pagination import AsyncPaginator
from .._urls import path
from ..types import StreamEvent
from ..types._spec import FeedbackType, ProviderTrace, Step, StepMetrics
from ._common import ApiResource, endpoint, json_body, query_params

__all__ = ["StepFeedback", "StepMessages", "StepMetricsResource", "StepTrace", "Steps"]


class StepMetricsResource(ApiResource):
    """``client.steps.metrics``."""

    @endpoint("GET", "/v1/steps/{step_id}/metrics")
    async def retrieve(self, step_id: str) -> StepMetrics:
        """Timing of one step (LLM request, tool execution, total)."""
        return await self._request("GET", path("/v1/steps/{}/metrics", step_id), StepMetrics)


class StepTrace(ApiResource):
    """``client.steps.trace``."""

    @endpoint("GET", "/v1/steps/{step_id}/trace")
    async def retrieve(self, step_id: str) -> ProviderTrace | None:
        """The raw request and response the LLM provider saw for this step, when tracing kept it."""
        result: ProviderTrace | None = await self._request(
            "GET", path("/v1/steps/{}/trace", step_id), ProviderTrace | None
        )
        return result


class StepFeedback(ApiResource):
    """``client.steps.feedback``: label a step good or bad, for evaluation and tuning."""

    @endpoint("PATCH", "/v1/steps/{step_id}/feedback")
    async def create(
        self,
        step_id: str,
        *,
        feedback: FeedbackType | None = None,
        tags: Sequence[str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Step:
        """Record ``positive`` or ``negative`` feedback (and tags) on a step."""
        return await self._request(
            "PATCH",
            path("/v1/steps/{}/feedback", step_id),
            Step,
            json=json_body(feedback=feedback, tags=tags),
            extra_body=extra_body,
        )


class StepMessages(ApiResource):
    """``client.steps.messages``."""

    @endpoint("GET", "/v1/steps/{step_id}/messages")
    def list(
        self,
        step_id: str,
        *,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        order_by: Literal["created_at"] | None = None,
    ) -> AsyncPaginator[StreamEvent]:
        """The messages one step produced or read, oldest first by default, across pages."""
        return self._message_pages(
            path("/v1/steps/{}/messages", step_id),
            query_params(before=before, after=after, limit=limit, order=order, order_by=order_by),
            default_order="asc",
        )


class Steps(ApiResource):
    """``client.steps``."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.metrics = StepMetricsResource(client)
        self.trace = StepTrace(client)
        self.feedback = StepFeedback(client)
        self.messages = StepMessages(client)

    @endpoint("GET", "/v1/steps/")
    def list(
        self,
        *,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        order_by: Literal["created_at"] | None = None,
        start_date: str | None = None,
        end_date: str | None = None,
        model: str | None = None,
        agent_id: str | None = None,
        trace_ids: Sequence[str] | None = None,
        feedback: Literal["positive", "negative"] | None = None,
        has_feedback: bool | None = None,
        tags: Sequence[str] | None = None,
        project_id: str | None = None,
    ) -> AsyncPaginator[Step]:
        """Steps matching the filters (agent, model, dates, feedback...), across pages.

        Letta 0.16.8 answers this route with a 400 whatever the arguments (it passes ``order``
        on as a bool); ``client.runs.steps.list(run_id)`` lists the steps of one run there.
        """
        return self._paginate(
            "/v1/steps/",
            Step,
            query_params(
                before=before,
                after=after,
                limit=limit,
                order=order,
                order_by=order_by,
                start_date=start_date,
                end_date=end_date,
                model=model,
                agent_id=agent_id,
                trace_ids=trace_ids,
                feedback=feedback,
                has_feedback=has_feedback,
                tags=tags,
                project_id=project_id,
            ),
        )

    @endpoint("GET", "/v1/steps/{step_id}")
    async def retrieve(self, step_id: str) -> Step:
        """One step."""
        return await self._request("GET", path("/v1/steps/{}", step_id), Step)

    @endpoint("PATCH", "/v1/steps/{step_id}/transaction/{transaction_id}")
    async def update_transaction_id(self, transaction_id: str, *, step_id: str) -> Step:
        """Tie a step to a billing or tracing transaction id of your own."""
        return await self._request(
            "PATCH", path("/v1/steps/{}/transaction/{}", step_id, transaction_id), Step
        )
