"""After a turn: its run's steps, usage and trace; each step's messages, metrics and feedback."""

import asyncio
import uuid

from letta_client import APIStatusError, AsyncLetta
from letta_client.types import Step

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


def show(step: Step) -> str:
    return f"status={step.status} stop_reason={step.stop_reason} feedback={step.feedback}"


async def main() -> None:
    client = AsyncLetta()
    agent = await client.agents.create(
        name=f"stepper-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[{"label": "persona", "value": "I look things up."}],
    )
    try:
        response = await client.agents.messages.create(agent.id, input="Find it. [tool]")
        print("turn:", [m.message_type for m in response.messages])
        runs = [r async for r in client.runs.list(agent_id=agent.id)]
        run = runs[0]
        print("runs:", len(runs), run.status)

        run_steps = [s async for s in client.runs.steps.list(run.id, order="asc")]
        print("run steps:", len(run_steps), [show(s) for s in run_steps])
        print("steps belong to the run:", all(s.run_id == run.id for s in run_steps))
        usage = await client.runs.usage.retrieve(run.id)
        print(
            "usage fields set:",
            usage.prompt_tokens is not None,
            usage.completion_tokens is not None,
            usage.total_tokens == (usage.prompt_tokens or 0) + (usage.completion_tokens or 0),
        )
        try:
            trace = await client.runs.trace.retrieve(run.id, limit=10)
            print("run trace spans:", type(trace).__name__, len(trace))
        except APIStatusError as e:
            print("run trace:", type(e).__name__, e.status_code)

        try:
            agent_steps = [s async for s in client.steps.list(agent_id=agent.id, limit=10)]
            print("agent steps:", len(agent_steps))
        except APIStatusError as e:
            # Letta 0.16.8 hands its own order flag to an argument that expects a string.
            print("agent steps:", type(e).__name__, e.status_code, sorted(e.response.json()))
        first = await client.steps.retrieve(run_steps[0].id)
        print("retrieved:", show(first), "model:", first.model)

        messages = [m async for m in client.steps.messages.list(first.id, order="asc")]
        print("step messages:", [m.message_type for m in messages])
        metrics = await client.steps.metrics.retrieve(first.id)
        print(
            "metrics:",
            metrics.id == first.id,
            metrics.agent_id == agent.id,
            metrics.run_id == run.id,
            metrics.step_ns is not None,
        )
        trace_of_step = await client.steps.trace.retrieve(first.id)
        print("step trace:", type(trace_of_step).__name__)

        rated = await client.steps.feedback.create(first.id, feedback="positive", tags=["useful"])
        print("rated:", show(rated), "tags:", rated.tags)
        print("feedback kept:", show(await client.steps.retrieve(first.id)))

        stored = [m async for m in client.agents.messages.list(agent.id, order="asc")]
        user = next(m for m in stored if m.message_type == "user_message")
        same_id = await client.messages.retrieve(user.id)
        print("retrieved message:", [m.message_type for m in same_id])
        # Every agent's messages: print only what this program's own turn guarantees.
        recent = await client.messages.list(limit=2, order="desc")
        print("recent messages:", len(recent), all(m.id for m in recent))
        try:
            hits = await client.messages.search(query="Find it", agent_id=agent.id, limit=5)
            print("search hits:", len(hits))
        except APIStatusError as e:
            print("search:", type(e).__name__, e.status_code)
    finally:
        await client.agents.delete(agent.id)


asyncio.run(main())
