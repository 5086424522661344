"""Agent files and agent-level tool calls: export, import, recompile, compact, run a tool."""

import asyncio
import json
import uuid

from letta_client import APIStatusError, AsyncLetta

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


async def main() -> None:
    client = AsyncLetta()
    suffix = uuid.uuid4().hex[:8]
    agent = await client.agents.create(
        name=f"exported-{suffix}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "I am the original."}],
    )
    imported: list[str] = []
    try:
        for text in ("Hello!", "How are you?", "Tell me more."):
            await client.agents.messages.create(agent.id, input=text)

        # Letta's own tools run inside the server, with no sandbox to start.
        result = await client.agents.tools.run(
            "conversation_search", agent_id=agent.id, args={"query": "zebra"}
        )
        print("tool run:", result.status, result.func_return)
        try:
            await client.agents.tools.run("no_such_tool", agent_id=agent.id, args={})
        except APIStatusError as e:
            print("unknown tool:", type(e).__name__, e.status_code)
        gated = await client.agents.tools.update_approval(
            "conversation_search", agent_id=agent.id, body_requires_approval=True
        )
        print("approval answer:", type(gated).__name__)
        with_tools = await client.agents.retrieve(agent.id, include=["agent.tools"])
        rules = [r.model_dump().get("type") for r in with_tools.tool_rules or []]
        print("tool rules:", sorted(str(r) for r in rules))

        prompt = await client.agents.recompile(agent.id, dry_run=True)
        print("recompiled prompt:", type(prompt).__name__, "I am the original." in prompt)

        compacted = await client.agents.messages.compact(
            agent.id, compaction_settings={"mode": "all", "model": MODEL}
        )
        print(
            "compacted:",
            compacted.num_messages_after < compacted.num_messages_before,
            bool(compacted.summary),
        )

        text = await client.agents.export_file(agent.id)
        exported = json.loads(text)
        print("export keys:", sorted(exported))
        print("exported agents:", [a["name"].replace(suffix, "*") for a in exported["agents"]])
        answer = await client.agents.import_file(
            file=("agent.af", text.encode(), "application/json"),
            override_name=f"imported-{suffix}",
        )
        imported = answer.agent_ids
        copy = await client.agents.retrieve(imported[0], include=["agent.blocks"])
        print("imported:", len(imported), copy.name.replace(suffix, "*"), copy.id != agent.id)
        print("imported persona:", [b.value for b in copy.memory.blocks if b.label == "persona"])
    finally:
        for agent_id in imported:
            await client.agents.delete(agent_id)
        await client.agents.delete(agent.id)


asyncio.run(main())
