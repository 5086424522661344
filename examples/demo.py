"""A live stream from a Letta agent, rendered as it arrives.

Runs against the bundled local Letta-compatible server by default, or against a real server
when ``LETTA_BASE_URL`` is set (with ``LETTA_API_KEY`` if it needs one). On a real server the
demo creates a throwaway agent with ``LETTA_DEMO_MODEL`` / ``LETTA_DEMO_EMBEDDING`` (or uses
``LETTA_AGENT_ID``) and deletes what it created. A server without those handles refuses the
agent; the demo then names the handles it has, so the first run says how to fix itself.

    python examples/demo.py
"""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import AsyncExitStack

from letta_async import APIStatusError, AsyncLetta, LettaError
from letta_async._render import StreamRenderer
from letta_async.testing import LettaTestServer

LOCAL_PROMPT = "Hi! Please look something up for me. [reasoning] [tool] [chunkdelay=0.05]"
REAL_PROMPT = "Hi! In one sentence, what can you do?"
DEFAULT_MODEL = "openai/gpt-4o-mini"
DEFAULT_EMBEDDING = "openai/text-embedding-3-small"


class MissingHandle(Exception):
    """The server has no model (or embedding) of the handle asked for; says which it has."""


async def missing_handles(client: AsyncLetta, model: str, embedding: str) -> str | None:
    """What to pick instead, when ``model`` or ``embedding`` is not among the server's handles.

    Letta answers an unknown handle with a 404 whose own list of choices can be empty, so the
    server's model lists are asked directly.
    """
    hints: list[str] = []
    wanted = (
        ("model", model, "LETTA_DEMO_MODEL", await client.models.list()),
        ("embedding", embedding, "LETTA_DEMO_EMBEDDING", await client.models.embeddings.list()),
    )
    for kind, handle, variable, listed in wanted:
        handles = sorted({item.handle for item in listed if item.handle})
        if handle in handles:
            continue
        if not handles:
            hints.append(f"the server has no {kind} {handle!r}, and lists none at all")
            continue
        hints.append(
            f"the server has no {kind} {handle!r}; its {kind} handles: {', '.join(handles)}\n"
            f"  pick one of them: {variable}=<handle> nox -s demo (or python examples/demo.py)"
        )
    return "\n".join(hints) or None


async def main() -> int:
    async with AsyncExitStack() as stack:
        base_url = os.environ.get("LETTA_BASE_URL")
        local = base_url is None
        if local:
            server = await stack.enter_async_context(LettaTestServer())
            base_url = server.base_url
            print(f"local Letta-compatible server on {base_url}")
        else:
            print(f"real Letta server at {base_url}")
        client = await stack.enter_async_context(AsyncLetta(base_url))

        agent_id = os.environ.get("LETTA_AGENT_ID")
        created = False
        if agent_id is None:
            model = os.environ.get("LETTA_DEMO_MODEL", DEFAULT_MODEL)
            embedding = os.environ.get("LETTA_DEMO_EMBEDDING", DEFAULT_EMBEDDING)
            try:
                agent = await client.agents.create(
                    name="letta-async-demo",
                    model=model,
                    embedding=embedding,
                    memory_blocks=[
                        {"label": "human", "value": "The user is trying letta-async."},
                        {"label": "persona", "value": "I am a concise, friendly agent."},
                    ],
                )
            except APIStatusError as exc:
                if exc.status_code not in (400, 404, 422):
                    raise
                hint = await missing_handles(client, model, embedding)
                if hint is None:
                    raise
                raise MissingHandle(hint) from exc
            agent_id, created = agent.id, True
            print(f"created agent {agent.name} ({agent_id})")

        prompt = LOCAL_PROMPT if local else REAL_PROMPT
        print(f"\nuser: {prompt}\n")
        renderer = StreamRenderer()
        stream = await client.agents.messages.create(
            agent_id,
            messages=[{"role": "user", "content": prompt}],
            streaming=True,
            stream_tokens=True,
        )
        async with stream:
            async for event in stream:
                renderer.feed(event)
        renderer.end()
        print(f"run {stream.run_id} ended: {stream.stop_reason}\n")

        print("non-streaming call:")
        response = await client.agents.messages.create(
            agent_id, messages=[{"role": "user", "content": "And once more, without streaming."}]
        )
        for message in response.messages:
            renderer.feed(message)
        renderer.end()
        if response.usage is not None:
            renderer.feed(response.usage)

        if created and not local:
            await client.agents.delete(agent_id)
    return 0


def run() -> int:
    try:
        return asyncio.run(main())
    except (LettaError, MissingHandle) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(run())
