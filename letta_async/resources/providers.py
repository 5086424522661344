"""``client.providers``: bring-your-own-key LLM providers.

A provider holds the credentials for one LLM vendor; its models then appear in
``client.models.list()`` under the provider's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from .._pagination import AsyncPaginator
from .._urls import path
from ..types._spec import Provider, ProviderType
from ._common import ApiResource, endpoint, json_body, query_params

__all__ = ["Providers"]


class Providers(ApiResource):
    """``client.providers``."""

    @endpoint("GET", "/v1/providers/")
    def list(
        self,
        *,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        order_by: Literal["created_at"] | None = None,
        name: str | None = None,
        provider_type: ProviderType | None = None,
    ) -> AsyncPaginator[Provider]:
        """Custom providers, across pages."""
        return self._paginate(
            "/v1/providers/",
            Provider,
            query_params(
                before=before,
                after=after,
                limit=limit,
                order=order,
                order_by=order_by,
                name=name,
                provider_type=provider_type,
            ),
        )

    @endpoint("POST", "/v1/providers/")
    async def create(
        self,
        *,
        name: str,
        provider_type: ProviderType,
        api_key: str,
        access_key: str | None = None,
        region: str | None = None,
        base_url: str | None = None,
        api_version: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Provider:
        """Store a provider's credentials (``api_key`` and, for some vendors, region or URL)."""
        return await self._request(
            "POST",
            "/v1/providers/",
            Provider,
            json=json_body(
                name=name,
                provider_type=provider_type,
                api_key=api_key,
                access_key=access_key,
                region=region,
                base_url=base_url,
                api_version=api_version,
            ),
            extra_body=extra_body,
        )

    @endpoint("GET", "/v1/providers/{provider_id}")
    async def retrieve(self, provider_id: str) -> Provider:
        """One provider."""
        return await self._request("GET", path("/v1/providers/{}", provider_id), Provider)

    @endpoint("PATCH", "/v1/providers/{provider_id}")
    async def update(
        self,
        provider_id: str,
        *,
        api_key: str,
        access_key: str | None = None,
        region: str | None = None,
        base_url: str | None = None,
        api_version: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Provider:
        """Replace a provider's credentials."""
        return await self._request(
            "PATCH",
            path("/v1/providers/{}", provider_id),
            Provider,
            json=json_body(
                api_key=api_key,
                access_key=access_key,
                region=region,
                base_url=base_url,
                api_version=api_version,
            ),
            extra_body=extra_body,
        )

    @endpoint("DELETE", "/v1/providers/{provider_id}")
    async def delete(self, provider_id: str) -> None:
        """Delete a provider; its models disappear from the listings."""
        await self._request("DELETE", path("/v1/providers/{}", provider_id), None)

    @endpoint("POST", "/v1/providers/check")
    async def check(
        self,
        *,
        provider_type: ProviderType,
        api_key: str,
        access_key: str | None = None,
        region: str | None = None,
        base_url: str | None = None,
        api_version: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> None:
        """Check that a provider's credentials work, before creating it; raises if they do not."""
        await self._request(
            "POST",
            "/v1/providers/check",
            None,
            json=json_body(
                provider_type=provider_type,
                api_key=api_key,
                access_key=access_key,
                region=region,
                base_url=base_url,
                api_version=api_version,
            ),
            extra_body=extra_body,
        )

    @endpoint("POST", "/v1/providers/{provider_id}/check")
    async def check_existing(self, provider_id: str) -> None:
        """Check that a stored provider's credentials still work; raises if they do not."""
        await self._request("POST", path("/v1/providers/{}/check", provider_id), None)

    @endpoint("PATCH", "/v1/providers/{provider_id}/refresh")
    async def refresh(self, provider_id: str) -> Provider:
        """Ask the vendor for its current model list and update the provider's models."""
        return await self._request("PATCH", path("/v1/providers/{}/refresh", provider_id), Provider)
