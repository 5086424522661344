"""``client.health``: liveness and readiness, for probes and start-up waits."""

from __future__ import annotations

from ..types._spec import Health
from ._common import ApiResource, endpoint

__all__ = ["HealthChecks"]


class HealthChecks(ApiResource):
    """``client.health``."""

    @endpoint("GET", "/v1/health/")
    async def check(self) -> Health:
        """The server's version and status; answers as soon as the process is up."""
        return await self._request("GET", "/v1/health/", Health)

    @endpoint("GET", "/v1/ready/")
    async def ready(self) -> Health:
        """Like :meth:`check`, but only succeeds once the server is ready to serve requests."""
        return await self._request("GET", "/v1/ready/", Health)
