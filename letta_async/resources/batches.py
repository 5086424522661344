"""``client.batches``: many agent requests in one call, processed in the background.

The server runs the requests through the LLM providers' batch APIs (cheaper, slower) and can
report back to a callback URL when the batch is done.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from .._pagination import AsyncPaginator
from .._urls import path
from ..types._spec import (
    BatchJob,
    LettaBatchMessages,
    LettaBatchRequest,
    Message,
)
from ._common import ApiResource, endpoint, json_body, query_params

__all__ = ["BatchMessages", "Batches"]


class BatchMessages(ApiResource):
    """``client.batches.messages``."""

    @endpoint("GET", "/v1/messages/batches/{batch_id}/messages")
    def list(
        self,
        batch_id: str,
        *,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        order_by: Literal["created_at"] | None = None,
        agent_id: str | None = None,
    ) -> AsyncPaginator[Message]:
        """The messages a batch produced, across pages (optionally of one agent only).

        These are the server's stored message records (role, content parts, tool calls), not
        the streamed message kinds of ``client.agents.messages``.
        """
        route = path("/v1/messages/batches/{}/messages", batch_id)

        async def fetch(params: dict[str, Any]) -> builtins.list[Message]:
            page: LettaBatchMessages = await self._call(
                "GET", route, LettaBatchMessages, params=params
            )
            return page.messages

        params = query_params(
            before=before,
            after=after,
            limit=limit,
            order=order,
            order_by=order_by,
            agent_id=agent_id,
        )
        return AsyncPaginator(fetch, params)


class Batches(ApiResource):
    """``client.batches``: submit many agent requests at once and collect the results later.

    A batch is a job: ``status`` goes ``created`` -> ``running`` -> ``completed`` (or
    ``failed``, ``cancelled``, ``expired``). Poll :meth:`retrieve`, or pass ``callback_url`` to
    :meth:`create` and let the server call you when it is done.
    """

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.messages = BatchMessages(client)

    @endpoint("POST", "/v1/messages/batches")
    async def create(
        self,
        *,
        requests: Sequence[LettaBatchRequest | Mapping[str, Any]],
        callback_url: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> BatchJob:
        """Submit one request per agent; ``callback_url`` is POSTed the job when it finishes."""
        return await self._request(
            "POST",
            "/v1/messages/batches",
            BatchJob,
            json=json_body(requests=requests, callback_url=callback_url),
            extra_body=extra_body,
        )

    @endpoint("GET", "/v1/messages/batches/{batch_id}")
    async def retrieve(self, batch_id: str) -> BatchJob:
        """One batch job, with its status."""
        return await self._request("GET", path("/v1/messages/batches/{}", batch_id), BatchJob)

    @endpoint("GET", "/v1/messages/batches")
    def list(
        self,
        *,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        order_by: Literal["created_at"] | None = None,
    ) -> AsyncPaginator[BatchJob]:
        """Batch jobs, newest first by default, across pages."""
        return self._paginate(
            "/v1/messages/batches",
            BatchJob,
            query_params(before=before, after=after, limit=limit, order=order, order_by=order_by),
        )

    @endpoint("PATCH", "/v1/messages/batches/{batch_id}/cancel")
    async def cancel(self, batch_id: str) -> None:
        """Cancel a batch: requests not processed yet are dropped."""
        await self._request("PATCH", path("/v1/messages/batches/{}/cancel", batch_id), None)
