"""``client.jobs``: background jobs of the server (file processing, batches, imports).

Agent runs are jobs too, but have their own richer resource, ``client.runs``.
"""

from __future__ import annotations

from typing import Literal

from .._pagination import AsyncPaginator
from .._urls import path
from ..types._spec import Job
from ._common import ApiResource, endpoint, query_params

__all__ = ["Jobs"]


class Jobs(ApiResource):
    """``client.jobs``."""

    @endpoint("GET", "/v1/jobs/")
    def list(
        self,
        *,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        order_by: Literal["created_at"] | None = None,
        active: bool | None = None,
    ) -> AsyncPaginator[Job]:
        """Jobs, newest first by default, across pages (``active=True`` for running ones)."""
        return self._paginate(
            "/v1/jobs/",
            Job,
            query_params(
                before=before,
                after=after,
                limit=limit,
                order=order,
                order_by=order_by,
                active=active,
            ),
        )

    @endpoint("GET", "/v1/jobs/{job_id}")
    async def retrieve(self, job_id: str) -> Job:
        """One job, with its status and metadata."""
        return await self._request("GET", path("/v1/jobs/{}", job_id), Job)

    @endpoint("DELETE", "/v1/jobs/{job_id}")
    async def delete(self, job_id: str) -> Job:
        """Delete a job record; returns the deleted job."""
        return await self._request("DELETE", path("/v1/jobs/{}", job_id), Job)

    @endpoint("PATCH", "/v1/jobs/{job_id}/cancel")
    async def cancel(self, job_id: str) -> Job:
        """Mark a job cancelled, which stops its work at the next check."""
        return await self._request("PATCH", path("/v1/jobs/{}/cancel", job_id), Job)
