"""What every resource shares: a handle on the transport and small request helpers.

Resources stay thin: they name the route, build the body, and name the struct to decode
into. Bytes, retries and errors are the transport's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .._transport import PreparedRequest, Transport, encode_json

if TYPE_CHECKING:
    from .._client import AsyncLetta

__all__ = ["Resource", "drop_none"]

T = TypeVar("T")


def drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    """Request bodies leave out what the caller did not set, so server defaults apply."""
    return {k: v for k, v in values.items() if v is not None}


class Resource:
    """Base of every ``client.<name>`` namespace."""

    def __init__(self, client: AsyncLetta) -> None:
        self._client = client

    @property
    def _transport(self) -> Transport:
        return self._client._transport

    async def _call(
        self,
        method: str,
        path: str,
        cast_to: Any,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Any:
        if extra_body:
            body = {**(body or {}), **extra_body}
        request = PreparedRequest(
            method,
            path,
            params=params,
            body=encode_json(body) if body is not None else None,
        )
        return await self._transport.request(request, cast_to)
