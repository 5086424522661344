"""Scheduled messages, templates, environments and client-side access tokens.

These routes are newer than Letta 0.16.8, so the harness runs this program against the
bundled test server, which serves them (see the README), with one environment registered.
"""

# server: letta_async.testing

import asyncio
import uuid

from letta_client import AsyncLetta, NotFoundError

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


async def schedules(client: AsyncLetta, agent_id: str) -> None:
    created = await client.agents.schedule.create(
        agent_id,
        messages=[{"role": "user", "content": "Daily stand-up reminder."}],
        schedule={"type": "one-time", "scheduled_at": 1_900_000_000_000},
    )
    print("scheduled for:", created.next_scheduled_at)
    listed = await client.agents.schedule.list(agent_id)
    print("scheduled messages:", len(listed.scheduled_messages), listed.has_next_page)
    one = await client.agents.schedule.retrieve(created.id, agent_id=agent_id)
    print("retrieved:", one.id == created.id, one.schedule.type, one.message.messages[0].content)
    deleted = await client.agents.schedule.delete(created.id, agent_id=agent_id)
    print("deleted:", deleted.success)
    try:
        await client.agents.schedule.retrieve(created.id, agent_id=agent_id)
    except NotFoundError as e:
        print("after delete:", type(e).__name__, e.status_code)


async def templates(client: AsyncLetta, agent_id: str, suffix: str) -> None:
    name = f"helper-{suffix}"
    template = await client.templates.create(type="agent", agent_id=agent_id, name=name)
    print("template:", template.name.replace(suffix, "*"), "version", template.latest_version)
    agent_file: dict[str, object] = {
        "agents": [{"name": "helper", "system": "You help."}],
        "blocks": [],
    }
    updated = await client.templates.update(name, agent_file_json=agent_file)
    print("updated:", updated.success)
    saved = await client.templates.save(name, message="second draft")
    print(
        "saved: version", saved.latest_version, saved.template_deployment_slug.replace(suffix, "*")
    )
    rolled = await client.templates.rollback(name, version="1")
    print("rolled back:", rolled.success, rolled.message)
    made = await client.templates.agents.create(
        saved.template_deployment_slug, agent_name=f"from-template-{suffix}", tags=["templated"]
    )
    print("agents from the template:", len(made.agent_ids))
    for new_id in made.agent_ids:
        copy = await client.agents.retrieve(new_id)
        print("  name:", copy.name.replace(suffix, "*"), "tags:", copy.tags)
        await client.agents.delete(new_id)
    print("template deleted:", (await client.templates.delete(name)).success)


async def environments(client: AsyncLetta, agent_id: str) -> None:
    page = await client.environments.list(limit="10")
    print("environments:", [c.connection_name for c in page.connections], page.has_next_page)
    device = page.connections[0]
    one = await client.environments.retrieve(device.device_id)
    print("retrieved:", one.connection_name, one.current_mode)
    assert one.connection_id is not None
    sent = await client.environments.send_message(
        one.connection_id,
        messages=[{"role": "user", "content": "Run the tests.", "client_message_id": "msg-1"}],
        agent_id=agent_id,
    )
    print("sent:", sent.success, sent.message)
    try:
        await client.environments.retrieve("device-missing")
    except NotFoundError as e:
        print("unknown device:", type(e).__name__, e.status_code)


async def access_tokens(client: AsyncLetta, agent_id: str) -> None:
    token = await client.access_tokens.create(
        hostname="app.example.invalid",
        policy=[{"id": agent_id, "type": "agent", "access": ["read_messages", "write_messages"]}],
    )
    print("token:", token.token.startswith("ck-let-"), token.hostname, token.policy.version)
    print("policy:", [(p.type, p.access) for p in token.policy.data])
    listed = await client.access_tokens.list(agent_id=agent_id, limit=5)
    print("tokens for the agent:", len(listed.tokens), listed.has_next_page)
    print("deleted:", await client.access_tokens.delete(token.token))
    print("after delete:", len((await client.access_tokens.list(agent_id=agent_id)).tokens))


async def main() -> None:
    client = AsyncLetta()
    suffix = uuid.uuid4().hex[:8]
    agent = await client.agents.create(name=f"platform-{suffix}", model=MODEL, embedding=EMBEDDING)
    try:
        await schedules(client, agent.id)
        await templates(client, agent.id, suffix)
        await environments(client, agent.id)
        await access_tokens(client, agent.id)
    finally:
        await client.agents.delete(agent.id)


asyncio.run(main())
