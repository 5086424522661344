"""Blocks and tools through the sync client, as a setup script writes them."""

import uuid

from letta_client import Letta

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"

SOURCE = '''
def roll_dice(sides: int) -> int:
    """Roll a die.

    Args:
        sides: How many sides the die has.

    Returns:
        The number rolled.
    """
    return 4
'''

with Letta() as client:
    suffix = uuid.uuid4().hex[:8]
    block = client.blocks.create(label=f"notes-{suffix}", value="Buy milk.", limit=2000)
    tool = client.tools.upsert(source_code=SOURCE.replace("roll_dice", f"roll_dice_{suffix}"))
    agent = client.agents.create(
        name=f"sync-setup-{suffix}",
        model=MODEL,
        embedding=EMBEDDING,
        block_ids=[block.id],
        tool_ids=[tool.id],
        memory_blocks=[{"label": "persona", "value": "I roll dice."}],
    )
    try:
        print("block value:", client.blocks.retrieve(block.id).value)
        updated = client.blocks.update(block.id, value="Buy milk and eggs.")
        print("updated value:", updated.value)
        labels = sorted(b.label or "" for b in client.agents.blocks.list(agent.id))
        print("agent block labels:", [label.split("-")[0] for label in labels])
        tool_names = [t.name for t in client.agents.tools.list(agent.id)]
        print("agent has the tool:", tool.name in tool_names)
        print("tool name:", (tool.name or "").startswith("roll_dice_"))
        client.agents.tools.detach(tool.id, agent_id=agent.id)
        tool_names = [t.name for t in client.agents.tools.list(agent.id)]
        print("tool detached:", tool.name not in tool_names)
    finally:
        client.agents.delete(agent.id)
        client.blocks.delete(block.id)
        client.tools.delete(tool.id)
