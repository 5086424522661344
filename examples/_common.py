"""Set-up shared by the examples: whom to talk to, and a throwaway agent.

Every example runs as-is against the bundled local Letta-compatible server
(``letta_async.testing``), and against a real server when ``LETTA_BASE_URL`` is set (with
``LETTA_API_KEY`` if it needs one). Agents made on a real server use ``LETTA_DEMO_MODEL`` and
``LETTA_DEMO_EMBEDDING`` (the same variables as ``examples/demo.py``).

Prompts carry bracketed markers such as ``[tokens=40]``: they steer the local server's scripted
agent (its module docstring lists them) and are plain text to a real model.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from letta_async import AsyncLetta
from letta_async.testing import LettaTestServer

__all__ = ["connect", "create_agent"]


@asynccontextmanager
async def connect(base_url: str | None = None) -> AsyncIterator[AsyncLetta]:
    """A client for ``base_url``, else ``$LETTA_BASE_URL``, else a local server started here."""
    async with AsyncExitStack() as stack:
        url = base_url or os.environ.get("LETTA_BASE_URL")
        if url is None:
            server = await stack.enter_async_context(LettaTestServer())
            url = server.base_url
        yield await stack.enter_async_context(AsyncLetta(url))


async def create_agent(client: AsyncLetta, name: str) -> str:
    """Create an agent for one example run and return its id (delete it when done)."""
    agent = await client.agents.create(
        name=name,
        model=os.environ.get("LETTA_DEMO_MODEL", "openai/gpt-4o-mini"),
        embedding=os.environ.get("LETTA_DEMO_EMBEDDING", "openai/text-embedding-3-small"),
        memory_blocks=[
            {"label": "human", "value": "The user is trying the letta-async examples."},
            {"label": "persona", "value": "I am a concise, friendly agent."},
        ],
    )
    return agent.id
