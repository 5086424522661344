"""``client.passages``: semantic search over every archive and folder at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from ..types._spec import PassageSearchResult
from ._common import ApiResource, endpoint, json_body

__all__ = ["Passages"]


class Passages(ApiResource):
    """``client.passages``."""

    @endpoint("POST", "/v1/passages/search")
    async def search(
        self,
        *,
        query: str | None = None,
        agent_id: str | None = None,
        archive_id: str | None = None,
        tags: Sequence[str] | None = None,
        tag_match_mode: Literal["any", "all"] | None = None,
        limit: int | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> list[PassageSearchResult]:
        """Passages nearest to ``query`` across the organisation, with optional filters."""
        return await self._request(
            "POST",
            "/v1/passages/search",
            list[PassageSearchResult],
            json=json_body(
                query=query,
                agent_id=agent_id,
                archive_id=archive_id,
                tags=tags,
                tag_match_mode=tag_match_mode,
                limit=limit,
                start_date=start_date,
                end_date=end_date,
            ),
            extra_body=extra_body,
        )
