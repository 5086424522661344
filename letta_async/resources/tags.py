"""``client.tags``: the tags in use, for filters and autocompletion."""

from __future__ import annotations

import builtins
from typing import Any, Literal

from .._pagination import AsyncPaginator
from ._common import ApiResource, KeyedPaginator, endpoint, query_params

__all__ = ["Tags"]


class Tags(ApiResource):
    """``client.tags``."""

    @endpoint("GET", "/v1/tags/")
    def list(
        self,
        *,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        order_by: Literal["name"] | None = None,
        name: str | None = None,
    ) -> AsyncPaginator[str]:
        """Every tag used on agents or blocks, in name order, across pages."""

        async def fetch(params: dict[str, Any]) -> builtins.list[str]:
            result: list[str] = await self._call("GET", "/v1/tags/", list[str], params=params)
            return result

        params = query_params(
            before=before, after=after, limit=limit, order=order, order_by=order_by, name=name
        )
        return KeyedPaginator(fetch, params, cursor=lambda tag: tag, default_order="asc")
