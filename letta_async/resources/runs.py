"""``client.runs``: inspect, follow, resume and wait for agent runs."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal

import aiohttp
import anyio

from .._errors import APITimeoutError
from .._pagination import AsyncPaginator
from .._stream import MessageStream, ResumeSettings
from .._transport import PreparedRequest, encode_json
from .._urls import path
from ..types import Run, StreamEvent
from ..types._spec import RunMetrics
from ._base import Resource, drop_none
from ._common import ApiResource, endpoint, query_params

__all__ = ["RunMessages", "RunMetricsResource", "RunSteps", "RunTrace", "RunUsage", "Runs"]

_FINISHED = frozenset({"completed", "failed", "cancelled"})


class RunMessages(ApiResource):
    """``client.runs.messages``: the messages a run produced."""

    @endpoint("GET", "/v1/runs/{run_id}/messages")
    def list(
        self,
        run_id: str,
        *,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
    ) -> AsyncPaginator[StreamEvent]:
        """Every message of the run, across pages."""
        params = {"before": before, "after": after, "limit": limit, "order": order}
        return self._message_pages(
            path("/v1/runs/{}/messages", run_id),
            params,
            rule="message_history",
            default_order="asc",
        )


class RunSteps(ApiResource):
    """``client.runs.steps``: the LLM steps of a run (raw step records)."""

    @endpoint("GET", "/v1/runs/{run_id}/steps")
    def list(
        self,
        run_id: str,
        *,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
    ) -> AsyncPaginator[dict[str, Any]]:
        """Every step of the run, across pages."""
        params = {"before": before, "after": after, "limit": limit, "order": order}
        return self._paginate(path("/v1/runs/{}/steps", run_id), dict[str, Any], params)


class RunUsage(Resource):
    """``client.runs.usage``: token totals of a run."""

    @endpoint("GET", "/v1/runs/{run_id}/usage")
    async def retrieve(self, run_id: str) -> dict[str, Any]:
        """Token counts (``completion_tokens``, ``prompt_tokens``, ``total_tokens``, ...)."""
        result: dict[str, Any] = await self._call(
            "GET", path("/v1/runs/{}/usage", run_id), dict[str, Any]
        )
        return result


class RunMetricsResource(ApiResource):
    """``client.runs.metrics``: how long a run took, and where the time went."""

    @endpoint("GET", "/v1/runs/{run_id}/metrics")
    async def retrieve(self, run_id: str) -> RunMetrics:
        """Duration, step count and tools used of one run."""
        return await self._request("GET", path("/v1/runs/{}/metrics", run_id), RunMetrics)


class RunTrace(ApiResource):
    """``client.runs.trace``: the OpenTelemetry spans the server recorded for a run."""

    @endpoint("GET", "/v1/runs/{run_id}/trace")
    async def retrieve(self, run_id: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """The run's trace spans as plain dicts (empty when the server has tracing off)."""
        return await self._request(
            "GET",
            path("/v1/runs/{}/trace", run_id),
            list[dict[str, Any]],
            params=query_params(limit=limit),
        )


class Runs(ApiResource):
    """``client.runs``."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.messages = RunMessages(client)
        self.steps = RunSteps(client)
        self.usage = RunUsage(client)
        self.metrics = RunMetricsResource(client)
        self.trace = RunTrace(client)

    @endpoint("GET", "/v1/runs/{run_id}")
    async def retrieve(self, run_id: str) -> Run:
        """One run, with its status and stop reason."""
        result: Run = await self._call("GET", path("/v1/runs/{}", run_id), Run)
        return result

    @endpoint("GET", "/v1/runs/")
    def list(
        self,
        *,
        agent_id: str | None = None,
        agent_ids: Sequence[str] | None = None,
        statuses: Sequence[str] | None = None,
        background: bool | None = None,
        stop_reason: str | None = None,
        conversation_id: str | None = None,
        active: bool | None = None,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        order_by: str | None = None,
    ) -> AsyncPaginator[Run]:
        """Runs matching the filters, newest first by default, across pages."""

        params = {
            "agent_id": agent_id,
            "agent_ids": list(agent_ids) if agent_ids else None,
            "statuses": list(statuses) if statuses else None,
            "background": background,
            "stop_reason": stop_reason,
            "conversation_id": conversation_id,
            "active": active,
            "before": before,
            "after": after,
            "limit": limit,
            "order": order,
            "order_by": order_by,
        }
        return self._paginate("/v1/runs/", Run, params)

    @endpoint("DELETE", "/v1/runs/{run_id}")
    async def delete(self, run_id: str) -> Any:
        """Delete a run record."""
        return await self._call("DELETE", path("/v1/runs/{}", run_id), Any)

    @endpoint("POST", "/v1/runs/{run_id}/stream")
    def stream(
        self,
        run_id: str,
        *,
        starting_after: int | None = None,
        include_pings: bool = True,
        poll_interval: float | None = None,
        batch_size: int | None = None,
        resume: ResumeSettings | None = None,
    ) -> MessageStream:
        """Follow a background run from after ``starting_after`` (its replay, then live).

        The explicit form for a process that restarts: persist ``stream.run_id`` and
        ``stream.last_seq_id`` as you go, and after a restart pass them here to carry on
        with no event lost or repeated. The stream resumes by itself after disconnects.
        """
        transport = self._transport
        route = path("/v1/runs/{}/stream", run_id)
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
            run = await self.retrieve(target)
            if run.agent_id is None:
                raise RuntimeError(f"run {target} has no agent to cancel through")
            return await self._client.agents.messages.cancel(run.agent_id, run_ids=[target])

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

    async def wait(
        self, run_id: str, *, poll_interval: float = 1.0, timeout: float | None = None
    ) -> Run:
        """Poll until the run is completed, failed or cancelled, and return it.

        Raises :class:`APITimeoutError` when ``timeout`` seconds pass first.
        """
        started = time.monotonic()
        with anyio.move_on_after(timeout) as scope:
            while True:
                run = await self.retrieve(run_id)
                if run.status in _FINISHED:
                    return run
                await anyio.sleep(poll_interval)
        assert scope.cancelled_caught
        raise APITimeoutError(
            f"run {run_id} still not finished after {time.monotonic() - started:.1f}s"
        )
