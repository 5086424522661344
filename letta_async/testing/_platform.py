"""Routes newer than Letta 0.16.8: scheduled messages, templates, environments, access tokens.

The official SDK 1.12.1 has methods for these platform routes, which the 0.16.8 server does
not serve. The shapes here are the ones those methods read and send (field names as on the
wire, camelCase where the platform uses it), kept in memory, so a client can be tested
against them end to end. Nothing is executed: a scheduled message is only stored, an
environment only records what was sent to it.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from . import _frames as F

if TYPE_CHECKING:
    from ._server import LettaTestServer

__all__ = ["PlatformRoutes", "PlatformState"]

Json = dict[str, Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PROJECT_ID = "project-00000000-0000-4000-8000-000000000001"
PROJECT_SLUG = "default-project"


def _respond(obj: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=F.encode_json(obj), content_type="application/json")


def _missing(what: str, ident: str) -> web.Response:
    return _respond({"detail": f"{what} {ident} not found"}, 404)


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(seconds))


@dataclass
class PlatformState:
    """What the platform routes hold; tests may read and seed it."""

    schedules: dict[str, Json] = field(default_factory=dict)
    templates: dict[str, Json] = field(default_factory=dict)
    template_versions: dict[str, list[Json]] = field(default_factory=dict)
    environments: dict[str, Json] = field(default_factory=dict)
    environment_messages: list[Json] = field(default_factory=list)
    tokens: dict[str, Json] = field(default_factory=dict)


class PlatformRoutes:
    """Route table entries for the platform routes (see the module docstring)."""

    def __init__(self, server: LettaTestServer) -> None:
        self.server = server
        self.state = PlatformState()
        self._seq = itertools.count(1)

    def add_environment(self, name: str = "laptop", **fields: Any) -> Json:
        """Register a connected environment (a device running Letta Code) and return it."""
        now = time.time()
        device_id = fields.pop("device_id", f"device-{uuid.uuid4()}")
        record: Json = {
            "id": f"env-{uuid.uuid4()}",
            "connectionId": f"conn-{uuid.uuid4()}",
            "connectionName": name,
            "deviceId": device_id,
            "firstSeenAt": now,
            "lastSeenAt": now,
            "connectedAt": now,
            "lastHeartbeat": now,
            "organizationId": "org-00000000-0000-4000-8000-000000000000",
            "podId": None,
            "apiKeyOwner": None,
            "currentMode": "default",
            "metadata": None,
            "userId": None,
        }
        record.update(fields)
        self.state.environments[device_id] = record
        return record

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("POST", "/v1/agents/{agent_id}/schedule", self._schedule_create),
            ("GET", "/v1/agents/{agent_id}/schedule", self._schedule_list),
            ("GET", "/v1/agents/{agent_id}/schedule/{scheduled_id}", self._schedule_get),
            ("DELETE", "/v1/agents/{agent_id}/schedule/{scheduled_id}", self._schedule_delete),
            ("POST", "/v1/templates", self._template_create),
            ("PATCH", "/v1/templates/{name}", self._template_update),
            ("DELETE", "/v1/templates/{name}", self._template_delete),
            ("POST", "/v1/templates/{name}/save", self._template_save),
            ("POST", "/v1/templates/{name}/rollback", self._template_rollback),
            ("POST", "/v1/templates/{version}/agents", self._template_agents),
            ("GET", "/v1/environments", self._environments),
            ("GET", "/v1/environments/{device_id}", self._environment),
            ("POST", "/v1/environments/{connection_id}/messages", self._environment_message),
            ("POST", "/v1/client-side-access-tokens", self._token_create),
            ("GET", "/v1/client-side-access-tokens", self._token_list),
            ("DELETE", "/v1/client-side-access-tokens/{token}", self._token_delete),
        ]

    @staticmethod
    async def _body(request: web.Request) -> Json:
        raw = await request.read()
        data = msgspec.json.decode(raw) if raw else {}
        return data if isinstance(data, dict) else {}

    @staticmethod
    def _bad(message: str) -> web.Response:
        return _respond({"detail": message}, 422)

    # --- scheduled messages ------------------------------------------------------------------

    async def _schedule_create(self, request: web.Request) -> web.StreamResponse:
        agent_id = request.match_info["agent_id"]
        if agent_id not in self.server.state.agents:
            return _missing("Agent", agent_id)
        body = await self._body(request)
        messages, schedule = body.get("messages"), body.get("schedule")
        if not isinstance(messages, list) or not isinstance(schedule, dict):
            return self._bad("messages (a list) and schedule (an object) are required")
        when = schedule.get("scheduled_at")
        next_time = _iso(float(when) / 1000.0) if isinstance(when, int | float) else None
        ident = f"scheduled-message-{uuid.uuid4()}"
        record: Json = {
            "id": ident,
            "agent_id": agent_id,
            "message": {
                "messages": messages,
                "callback_url": body.get("callback_url"),
                "include_return_message_types": body.get("include_return_message_types"),
                "max_steps": body.get("max_steps"),
            },
            "schedule": schedule,
            "next_scheduled_time": next_time,
        }
        self.state.schedules[ident] = record
        return _respond({"id": ident, "next_scheduled_at": next_time})

    async def _schedule_list(self, request: web.Request) -> web.StreamResponse:
        agent_id = request.match_info["agent_id"]
        items = [r for r in self.state.schedules.values() if r["agent_id"] == agent_id]
        after = request.query.get("after")
        if after:
            ids = [r["id"] for r in items]
            items = items[ids.index(after) + 1 :] if after in ids else []
        limit = int(request.query.get("limit") or 50)
        return _respond({"scheduled_messages": items[:limit], "has_next_page": len(items) > limit})

    async def _schedule_get(self, request: web.Request) -> web.StreamResponse:
        record = self.state.schedules.get(request.match_info["scheduled_id"])
        if record is None or record["agent_id"] != request.match_info["agent_id"]:
            return _missing("Scheduled message", request.match_info["scheduled_id"])
        return _respond(record)

    async def _schedule_delete(self, request: web.Request) -> web.StreamResponse:
        record = self.state.schedules.get(request.match_info["scheduled_id"])
        if record is None or record["agent_id"] != request.match_info["agent_id"]:
            return _missing("Scheduled message", request.match_info["scheduled_id"])
        del self.state.schedules[record["id"]]
        return _respond({"success": True})

    # --- templates ---------------------------------------------------------------------------

    def _template_json(self, record: Json) -> Json:
        return {
            "id": record["id"],
            "name": record["name"],
            "latest_version": str(len(self.state.template_versions[record["name"]])),
            "project_id": PROJECT_ID,
            "project_slug": PROJECT_SLUG,
            "template_deployment_slug": f"{PROJECT_SLUG}/{record['name']}:latest",
            "updated_at": _iso(record["updated"]),
            "description": record.get("description"),
        }

    async def _template_create(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        kind = body.get("type")
        if kind == "agent":
            agent = self.server.state.agents.get(str(body.get("agent_id")))
            if agent is None:
                return _missing("Agent", str(body.get("agent_id")))
            source: Json = agent.to_json()
        elif kind == "agent_file":
            source = body.get("agent_file") or {}
        else:
            return self._bad("type must be 'agent' or 'agent_file'")
        name = body.get("name") or f"template-{next(self._seq)}"
        if name in self.state.templates:
            return _respond({"detail": f"template {name} already exists"}, 409)
        record = {"id": f"template-{uuid.uuid4()}", "name": name, "updated": time.time()}
        self.state.templates[name] = record
        self.state.template_versions[name] = [{"source": source}]
        return _respond(self._template_json(record))

    async def _template_update(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in self.state.templates:
            return _missing("Template", name)
        body = await self._body(request)
        if not isinstance(body.get("agent_file_json"), dict):
            return self._bad("agent_file_json (an object) is required")
        self.state.template_versions[name][-1] = {"source": body["agent_file_json"]}
        self.state.templates[name]["updated"] = time.time()
        return _respond({"success": True, "message": None})

    async def _template_save(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in self.state.templates:
            return _missing("Template", name)
        versions = self.state.template_versions[name]
        versions.append(dict(versions[-1]))
        self.state.templates[name]["updated"] = time.time()
        return _respond(self._template_json(self.state.templates[name]))

    async def _template_rollback(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in self.state.templates:
            return _missing("Template", name)
        version = str((await self._body(request)).get("version", ""))
        versions = self.state.template_versions[name]
        if not version.isdigit() or not 1 <= int(version) <= len(versions):
            return _respond({"success": False, "message": f"no version {version!r}"}, 404)
        versions.append(dict(versions[int(version) - 1]))
        return _respond({"success": True, "message": f"rolled back to version {version}"})

    async def _template_delete(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if self.state.templates.pop(name, None) is None:
            return _missing("Template", name)
        self.state.template_versions.pop(name, None)
        return _respond({"success": True})

    async def _template_agents(self, request: web.Request) -> web.StreamResponse:
        version = request.match_info["version"]
        name = version.rsplit("/", 1)[-1].split(":", 1)[0]
        if name not in self.state.templates:
            return _missing("Template", version)
        body = await self._body(request)
        fields = {"name": body.get("agent_name") or f"{name}-agent-{next(self._seq)}"}
        if body.get("tags"):
            fields["tags"] = body["tags"]
        agent = self.server.create_agent(**fields)
        return _respond(
            {
                "agent_ids": [agent["id"]],
                "deployment_id": f"deployment-{uuid.uuid4()}",
                "group_id": None,
            }
        )

    # --- environments ------------------------------------------------------------------------

    async def _environments(self, request: web.Request) -> web.StreamResponse:
        items = list(self.state.environments.values())
        limit = int(request.query.get("limit") or 50)
        return _respond({"connections": items[:limit], "hasNextPage": len(items) > limit})

    async def _environment(self, request: web.Request) -> web.StreamResponse:
        record = self.state.environments.get(request.match_info["device_id"])
        if record is None:
            return _missing("Environment", request.match_info["device_id"])
        return _respond(record)

    async def _environment_message(self, request: web.Request) -> web.StreamResponse:
        connection_id = request.match_info["connection_id"]
        if not any(e["connectionId"] == connection_id for e in self.state.environments.values()):
            return _missing("Connection", connection_id)
        body = await self._body(request)
        if not isinstance(body.get("messages"), list):
            return self._bad("messages (a list) is required")
        self.state.environment_messages.append({"connection_id": connection_id, **body})
        return _respond({"success": True, "message": "delivered"})

    # --- client-side access tokens -----------------------------------------------------------

    async def _token_create(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        if not isinstance(body.get("hostname"), str) or not isinstance(body.get("policy"), list):
            return self._bad("hostname (a string) and policy (a list) are required")
        token = f"ck-let-{uuid.uuid4().hex}"
        record = {
            "token": token,
            "expiresAt": body.get("expires_at") or _iso(time.time() + 3600),
            "hostname": body["hostname"],
            "policy": {"data": body["policy"], "version": "1"},
        }
        self.state.tokens[token] = record
        return _respond(record)

    async def _token_list(self, request: web.Request) -> web.StreamResponse:
        items = list(self.state.tokens.values())
        agent_id = request.query.get("agentId")
        if agent_id:
            items = [t for t in items if any(p.get("id") == agent_id for p in t["policy"]["data"])]
        offset = int(float(request.query.get("offset") or 0))
        limit = int(float(request.query.get("limit") or 50))
        page = items[offset : offset + limit]
        return _respond({"tokens": page, "hasNextPage": offset + limit < len(items)})

    async def _token_delete(self, request: web.Request) -> web.StreamResponse:
        if self.state.tokens.pop(request.match_info["token"], None) is None:
            return _missing("Token", request.match_info["token"])
        return _respond({})
