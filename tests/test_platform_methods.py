"""The 16 official methods that call platform routes newer than the 0.16.8 server.

``LettaTestServer`` serves those routes. What each call must put on the wire (route, body
keys, query keys) is read from ``tools/official_surface.json``, which records where the
official SDK 1.12.1 sends each parameter; the answer must decode into the official type
named there.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import letta_async.types
from letta_async import AsyncLetta, NotFoundError
from letta_async.testing import BackgroundLettaServer, LettaTestServer
from letta_async.testing._server import RecordedRequest

pytestmark = pytest.mark.anyio

SURFACE = {
    m["path"]: m
    for m in json.loads(
        (Path(__file__).resolve().parent.parent / "tools" / "official_surface.json").read_text()
    )["methods"]
}
PLATFORM = sorted(
    name
    for name, m in SURFACE.items()
    if (m.get("http") or {}).get("route") and m["http"].get("operation_id") is None
)


def official_wire(name: str, /, **kwargs: Any) -> tuple[str, str, dict[str, Any], dict[str, str]]:
    """Method, path, JSON body and query the official method sends for these arguments."""
    method = SURFACE[name]
    route: str = method["http"]["route"]
    body: dict[str, Any] = {}
    query: dict[str, str] = {}
    for param in method["parameters"]:
        if param["name"] not in kwargs:
            continue
        value, where = kwargs[param["name"]], param["location"]
        if where["in"] == "path":
            route = route.replace("{" + param["name"] + "}", value)
        elif where["in"] == "body":
            body[where["key"]] = value
        elif where["in"] == "query":
            query[where["key"]] = str(value).lower() if isinstance(value, bool) else str(value)
    return method["http"]["method"], route, body, query


def official_type(name: str) -> Any:
    target: Any = letta_async.types
    for part in SURFACE[name]["returns"].split("."):
        target = getattr(target, part)
    return target


async def call(
    client: AsyncLetta, server: LettaTestServer, name: str, /, **kwargs: Any
) -> tuple[Any, RecordedRequest]:
    """Call ``client.<name>(**kwargs)``; check the request against the official wire form."""
    target: Any = client
    for part in name.split("."):
        target = getattr(target, part)
    result = await target(**kwargs)
    method, path, body, query = official_wire(name, **kwargs)
    (request,) = server.requests_to("^" + re.escape(path) + "$", method)[-1:]
    assert request.path == path, name
    assert (request.json or {}) == body, name
    assert request.query == query, name
    returns = SURFACE[name]["returns"]
    if returns != "object":
        assert isinstance(result, official_type(name)), f"{name} -> {type(result).__name__}"
    return result, request


@pytest.fixture
async def server() -> AsyncIterator[LettaTestServer]:
    async with LettaTestServer() as s:
        yield s


@pytest.fixture
async def client(server: LettaTestServer) -> AsyncIterator[AsyncLetta]:
    async with AsyncLetta(server.base_url, max_retries=0) as c:
        yield c


def test_there_are_sixteen_platform_methods() -> None:
    assert len(PLATFORM) == 16
    assert {name.split(".")[0] for name in PLATFORM} == {
        "access_tokens",
        "agents",
        "environments",
        "templates",
    }


async def test_scheduled_messages(client: AsyncLetta, server: LettaTestServer) -> None:
    agent_id = server.create_agent(name="scheduled")["id"]
    created, _ = await call(
        client,
        server,
        "agents.schedule.create",
        agent_id=agent_id,
        messages=[{"role": "user", "content": "good morning"}],
        schedule={"type": "one-time", "scheduled_at": 1_900_000_000_000},
        max_steps=3,
    )
    listed, _ = await call(client, server, "agents.schedule.list", agent_id=agent_id, limit=10)
    assert [m.id for m in listed.scheduled_messages] == [created.id]
    one, _ = await call(
        client,
        server,
        "agents.schedule.retrieve",
        agent_id=agent_id,
        scheduled_message_id=created.id,
    )
    assert one.id == created.id and one.agent_id == agent_id
    deleted, _ = await call(
        client, server, "agents.schedule.delete", agent_id=agent_id, scheduled_message_id=created.id
    )
    assert deleted.success is True
    with pytest.raises(NotFoundError):
        await client.agents.schedule.retrieve(created.id, agent_id=agent_id)


async def test_templates(client: AsyncLetta, server: LettaTestServer) -> None:
    agent_id = server.create_agent(name="template-source")["id"]
    created, _ = await call(
        client, server, "templates.create", type="agent", agent_id=agent_id, name="helper"
    )
    assert created.name == "helper"
    updated, _ = await call(
        client, server, "templates.update", template_name="helper", agent_file_json={"agents": []}
    )
    assert updated.success is True
    saved, _ = await call(client, server, "templates.save", template_name="helper", message="v2")
    assert saved.latest_version == "2"
    rolled, _ = await call(
        client, server, "templates.rollback", template_name="helper", version="1"
    )
    assert rolled.success is True
    made, _ = await call(
        client,
        server,
        "templates.agents.create",
        template_version="default-project/helper:latest",
        agent_name="from-template",
        tags=["t"],
    )
    assert len(made.agent_ids) == 1
    assert server.state.agents[made.agent_ids[0]].to_json()["name"] == "from-template"
    deleted, _ = await call(client, server, "templates.delete", template_name="helper")
    assert deleted.success is True


async def test_environments(client: AsyncLetta, server: LettaTestServer) -> None:
    device = server.platform.add_environment("laptop")
    listed, request = await call(client, server, "environments.list", limit=5, online_only=True)
    assert request.query == {"limit": "5", "onlineOnly": "true"}
    assert [c.device_id for c in listed.connections] == [device["deviceId"]]
    one, _ = await call(client, server, "environments.retrieve", device_id=device["deviceId"])
    assert one.connection_id == device["connectionId"]
    sent, request = await call(
        client,
        server,
        "environments.send_message",
        connection_id=device["connectionId"],
        messages=[{"role": "user", "content": "ping"}],
        agent_id="agent-1",
    )
    assert request.json["agentId"] == "agent-1", "camelCase on the wire, as officially"
    assert sent.success is True


async def test_client_side_access_tokens(client: AsyncLetta, server: LettaTestServer) -> None:
    policy = [{"type": "agent", "id": "agent-1", "access": ["read_messages"]}]
    created, _ = await call(
        client, server, "access_tokens.create", hostname="app.example.invalid", policy=policy
    )
    assert created.hostname == "app.example.invalid"
    listed, request = await call(client, server, "access_tokens.list", agent_id="agent-1", limit=5)
    assert request.query == {"agentId": "agent-1", "limit": "5"}
    assert [t.token for t in listed.tokens] == [created.token]
    await call(client, server, "access_tokens.delete", token=created.token)
    assert server.platform.state.tokens == {}


def test_a_background_server_serves_the_environment_a_test_registers() -> None:
    # No route creates an environment, so a test on a threaded server registers it this way.
    with BackgroundLettaServer() as server:
        device = server.add_environment("desk", currentMode="plan")
        url = f"{server.base_url}/v1/environments/{device['deviceId']}"
        with urllib.request.urlopen(url, timeout=5) as response:
            served = json.load(response)
    assert (served["connectionName"], served["currentMode"]) == ("desk", "plan")
    assert served["connectionId"] == device["connectionId"]
