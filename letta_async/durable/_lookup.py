"""Finding the run a send started, by the ``otid`` its message carried.

The server stores the user message (with our ``otid`` and the ``run_id``) when the run
starts, so the agent's (or the conversation's) newest messages name the run even when the
sender died before it learned the id. This walks the history newest first through the
public listing, up to ``depth`` items, and retries for a grace period counted from when the
send went out: a request still being received or queued by the server has not stored its
message yet.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import anyio

if TYPE_CHECKING:
    from .._client import AsyncLetta

__all__ = ["OtidLookup"]


class OtidLookup:
    """How deep and how long to look for a send's ``otid`` before calling it unconfirmed."""

    def __init__(self, *, depth: int = 200, page: int = 50, grace: float = 10.0) -> None:
        self.depth = depth
        self.page = page
        self.grace = grace

    async def once(
        self,
        client: AsyncLetta,
        agent_id: str,
        otids: Collection[str],
        conversation_id: str | None = None,
    ) -> str | None:
        """One walk over the newest ``depth`` history items (of the conversation, if any)."""
        wanted = set(otids)
        listing: Any = (
            client.conversations.messages.list(conversation_id, limit=self.page, order="desc")
            if conversation_id is not None
            else client.agents.messages.list(agent_id, limit=self.page, order="desc")
        )
        seen = 0
        # Closed on the way out, not left to the garbage collector, when the walk stops early.
        async with aclosing(listing.__aiter__()) as items:
            async for item in items:
                if getattr(item, "otid", None) in wanted:
                    run_id = getattr(item, "run_id", None)
                    if isinstance(run_id, str) and run_id:
                        return run_id
                seen += 1
                if seen >= self.depth:
                    return None
        return None

    async def find(
        self,
        client: AsyncLetta,
        agent_id: str,
        otids: Collection[str],
        sent_at: float | None,
        conversation_id: str | None = None,
    ) -> str | None:
        """The run id, looking again until ``grace`` seconds after ``sent_at`` (now, when
        unknown) have passed: 0.25 s after the first look, then twice the pause each time, up
        to every 2 s, so a send that lands a moment late is found soon and one that never
        lands costs a handful of requests."""
        deadline = (sent_at if sent_at is not None else time.time()) + self.grace
        delay = 0.25
        while True:
            run_id = await self.once(client, agent_id, otids, conversation_id)
            if run_id is not None:
                return run_id
            left = deadline - time.time()
            if left <= 0:
                return None
            await anyio.sleep(min(delay, left))
            delay = min(delay * 2, 2.0)
