"""``fan_out``'s ``buffer`` counts batches (one per network read), with real MessageStreams.

A plain generator gives one event per batch, so it cannot tell batches from events; a
``MessageStream`` whose read brings many frames at once can. With ``buffer=1`` and a consumer
that does not read, the producers must stop after one waiting batch each would add more,
however many events that batch holds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from letta_async import AsyncLetta, fan_out
from letta_async.testing import LettaTestServer

pytestmark = pytest.mark.anyio


@pytest.fixture
async def server() -> AsyncIterator[LettaTestServer]:
    async with LettaTestServer(keepalive_interval=5.0, shutdown_timeout=0.2) as s:
        yield s


async def test_buffer_counts_batches_of_real_streams(server: LettaTestServer) -> None:
    agents = [str(server.create_agent(name=f"fan-{i}")["id"]) for i in range(3)]
    async with AsyncLetta(base_url=server.base_url) as client:

        def opener(agent_id: str) -> Any:
            # Without chunk delays the whole reply arrives in one or two reads.
            return lambda: client.agents.messages.stream(
                agent_id, messages=[{"role": "user", "content": "hi [tokens=30]"}],
                stream_tokens=True,
            )  # fmt: skip

        async with fan_out({a: opener(a) for a in agents}, limit=3, buffer=1) as events:
            await anyio.sleep(0.5)  # let every stream read as far as the buffer lets it
            stats = events.statistics()
            assert stats.current_buffer_used <= 1
            got: list[tuple[str, Any]] = []
            largest = 0  # events handed over in one batch, beyond the first
            async for key, event in events:
                got.append((key, event))
                largest = max(largest, len(events._batch) - events._at)
    assert largest >= 1, "every batch held one event: nothing tells batches from events"
    assert {key for key, _ in got} == set(agents)
    per_agent = {a: sum(1 for key, _ in got if key == a) for a in agents}
    assert all(count > 30 for count in per_agent.values())
