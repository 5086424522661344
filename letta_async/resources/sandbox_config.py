"""``client.sandbox_config``: where the server runs tool code (locally, on E2B or Modal).

Self-hosted servers execute custom tools in a sandbox. A sandbox configuration says which kind
and how (working directory, virtualenv and packages for local ones), and its environment
variables hold the secrets tools read at run time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._pagination import AsyncPaginator
from .._urls import path
from ..types._spec import (
    E2BSandboxConfig,
    LocalSandboxConfig,
    ModalSandboxConfig,
    PipRequirement,
    SandboxConfig,
    SandboxEnvironmentVariable,
    SandboxType,
)
from ._common import ApiResource, endpoint, json_body, query_params

__all__ = ["SandboxConfigs", "SandboxEnvironmentVariables"]


class SandboxEnvironmentVariables(ApiResource):
    """``client.sandbox_config.environment_variables``: secrets for tools in one sandbox."""

    @endpoint("POST", "/v1/sandbox-config/{sandbox_config_id}/environment-variable")
    async def create(
        self,
        sandbox_config_id: str,
        *,
        key: str,
        value: str,
        description: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> SandboxEnvironmentVariable:
        """Add a variable to the sandbox; tools see it in their environment."""
        return await self._request(
            "POST",
            path("/v1/sandbox-config/{}/environment-variable", sandbox_config_id),
            SandboxEnvironmentVariable,
            json=json_body(key=key, value=value, description=description),
            extra_body=extra_body,
        )

    @endpoint("GET", "/v1/sandbox-config/{sandbox_config_id}/environment-variable")
    def list(
        self, sandbox_config_id: str, *, limit: int | None = None, after: str | None = None
    ) -> AsyncPaginator[SandboxEnvironmentVariable]:
        """The sandbox's variables, across pages."""
        return self._paginate(
            path("/v1/sandbox-config/{}/environment-variable", sandbox_config_id),
            SandboxEnvironmentVariable,
            query_params(limit=limit, after=after),
        )

    @endpoint("PATCH", "/v1/sandbox-config/environment-variable/{env_var_id}")
    async def update(
        self,
        env_var_id: str,
        *,
        key: str | None = None,
        value: str | None = None,
        description: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> SandboxEnvironmentVariable:
        """Change a variable's key, value or description."""
        return await self._request(
            "PATCH",
            path("/v1/sandbox-config/environment-variable/{}", env_var_id),
            SandboxEnvironmentVariable,
            json=json_body(key=key, value=value, description=description),
            extra_body=extra_body,
        )

    @endpoint("DELETE", "/v1/sandbox-config/environment-variable/{env_var_id}")
    async def delete(self, env_var_id: str) -> None:
        """Delete a variable."""
        await self._request(
            "DELETE", path("/v1/sandbox-config/environment-variable/{}", env_var_id), None
        )


class SandboxConfigs(ApiResource):
    """``client.sandbox_config``."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.environment_variables = SandboxEnvironmentVariables(client)

    @endpoint("POST", "/v1/sandbox-config/")
    async def create(
        self,
        *,
        config: LocalSandboxConfig | E2BSandboxConfig | ModalSandboxConfig | Mapping[str, Any],
        extra_body: Mapping[str, Any] | None = None,
    ) -> SandboxConfig:
        """Create a sandbox configuration; ``config`` is a local, E2B or Modal config."""
        return await self._request(
            "POST",
            "/v1/sandbox-config/",
            SandboxConfig,
            json=json_body(config=config),
            extra_body=extra_body,
        )

    @endpoint("GET", "/v1/sandbox-config/")
    def list(
        self,
        *,
        limit: int | None = None,
        after: str | None = None,
        sandbox_type: SandboxType | None = None,
    ) -> AsyncPaginator[SandboxConfig]:
        """Sandbox configurations, optionally of one kind, across pages."""
        return self._paginate(
            "/v1/sandbox-config/",
            SandboxConfig,
            query_params(limit=limit, after=after, sandbox_type=sandbox_type),
        )

    @endpoint("POST", "/v1/sandbox-config/e2b/default")
    async def create_default_e2b(self) -> SandboxConfig:
        """The E2B configuration, created with defaults if there is none yet."""
        return await self._request("POST", "/v1/sandbox-config/e2b/default", SandboxConfig)

    @endpoint("POST", "/v1/sandbox-config/local/default")
    async def create_default_local(self) -> SandboxConfig:
        """The local configuration, created with defaults if there is none yet."""
        return await self._request("POST", "/v1/sandbox-config/local/default", SandboxConfig)

    @endpoint("POST", "/v1/sandbox-config/local")
    async def create_local(
        self,
        *,
        sandbox_dir: str | None = None,
        use_venv: bool | None = None,
        venv_name: str | None = None,
        pip_requirements: Sequence[PipRequirement | Mapping[str, Any]] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> SandboxConfig:
        """Create or replace the local configuration (directory, venv, pip packages)."""
        return await self._request(
            "POST",
            "/v1/sandbox-config/local",
            SandboxConfig,
            json=json_body(
                sandbox_dir=sandbox_dir,
                use_venv=use_venv,
                venv_name=venv_name,
                pip_requirements=pip_requirements,
            ),
            extra_body=extra_body,
        )

    @endpoint("POST", "/v1/sandbox-config/local/recreate-venv")
    async def recreate_local_venv(self) -> SandboxConfig:
        """Delete and rebuild the local sandbox's virtualenv, reinstalling its packages."""
        return await self._request("POST", "/v1/sandbox-config/local/recreate-venv", SandboxConfig)

    @endpoint("PATCH", "/v1/sandbox-config/{sandbox_config_id}")
    async def update(
        self,
        sandbox_config_id: str,
        *,
        config: LocalSandboxConfig
        | E2BSandboxConfig
        | ModalSandboxConfig
        | Mapping[str, Any]
        | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> SandboxConfig:
        """Replace a sandbox configuration's settings."""
        return await self._request(
            "PATCH",
            path("/v1/sandbox-config/{}", sandbox_config_id),
            SandboxConfig,
            json=json_body(config=config),
            extra_body=extra_body,
        )

    @endpoint("DELETE", "/v1/sandbox-config/{sandbox_config_id}")
    async def delete(self, sandbox_config_id: str) -> None:
        """Delete a sandbox configuration."""
        await self._request("DELETE", path("/v1/sandbox-config/{}", sandbox_config_id), None)
