"""``client.models``: which LLM and embedding models the server offers.

Agents name their model by handle (``provider/model``); these listings are where the handles
come from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._pagination import AsyncPaginator
from ..types._spec import EmbeddingModel, Model, ProviderCategory, ProviderType
from ._common import ApiResource, endpoint, query_params

__all__ = ["ModelEmbeddings", "Models"]


class ModelEmbeddings(ApiResource):
    """``client.models.embeddings``."""

    @endpoint("GET", "/v1/models/embedding")
    def list(self) -> AsyncPaginator[EmbeddingModel]:
        """Embedding models the server can use (one page)."""
        return self._single_page("/v1/models/embedding", EmbeddingModel)


class Models(ApiResource):
    """``client.models``."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.embeddings = ModelEmbeddings(client)

    @endpoint("GET", "/v1/models/")
    def list(
        self,
        *,
        provider_category: Sequence[ProviderCategory] | None = None,
        provider_name: str | None = None,
        provider_type: ProviderType | None = None,
    ) -> AsyncPaginator[Model]:
        """LLM models the server can use, as handles such as ``openai/gpt-4o`` (one page)."""
        return self._single_page(
            "/v1/models/",
            Model,
            query_params(
                provider_category=provider_category,
                provider_name=provider_name,
                provider_type=provider_type,
            ),
        )
