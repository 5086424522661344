"""``client.embeddings``: storage used by embeddings (passages of archives and folders)."""

from __future__ import annotations

from .._transport import PreparedRequest
from ._common import ApiResource, endpoint

__all__ = ["Embeddings"]


class Embeddings(ApiResource):
    """``client.embeddings``."""

    @endpoint("GET", "/v1/embeddings/total_storage_size")
    async def total_storage_size(self, *, storage_unit: str | None = None) -> float:
        """Total size of the organisation's stored embeddings, in ``storage_unit``.

        The unit (``GB`` when not given) travels in the ``storage-unit`` header, as the server
        expects.
        """
        headers = {"storage-unit": storage_unit} if storage_unit else {}
        request = PreparedRequest("GET", "/v1/embeddings/total_storage_size", headers=headers)
        return await self._transport.request(request, float)  # type: ignore[no-any-return]
