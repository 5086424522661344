"""Send-once against a real Letta 0.16.8: a failed send never runs the agent a second time.

Letta answers a failed LLM call with HTTP 500 *after* the agent step ran and stored a failed
run, and it does not refuse a message whose ``otid`` it already holds. A client that re-sends
on a 500 (the official SDK does, twice) leaves three failed runs behind one call. These
scenarios count the runs the server really stored.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

import letta_async
from letta_async import Hooks

from .conftest import create_agent
from .stack import LettaServer

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

FAIL = [{"role": "user", "content": "hi [error500]"}]


class RetryCount:
    def __init__(self) -> None:
        self.retries = 0

    def __call__(self, what: str, attempt: int, delay: float, error: Exception) -> None:
        self.retries += 1


async def _client(base_url: str, counter: RetryCount) -> letta_async.AsyncLetta:
    return letta_async.AsyncLetta(base_url=base_url, hooks=Hooks(on_retry=[counter]))


async def _runs(client: letta_async.AsyncLetta, agent_id: str) -> list[letta_async.types.Run]:
    return [run async for run in client.runs.list(agent_id=agent_id)]


@pytest.fixture
def retries() -> RetryCount:
    return RetryCount()


@pytest.fixture
async def client(base_url: str, retries: RetryCount) -> AsyncIterator[letta_async.AsyncLetta]:
    async with await _client(base_url, retries) as c:
        yield c


async def test_blocking_create_hitting_llm_500_leaves_one_run(
    client: letta_async.AsyncLetta, retries: RetryCount
) -> None:
    agent_id = await create_agent(client)
    with pytest.raises(letta_async.InternalServerError) as caught:
        await client.agents.messages.create(agent_id, messages=FAIL)
    error = caught.value
    runs = await _runs(client, agent_id)
    assert len(runs) == 1, [(r.id, r.status) for r in runs]
    assert retries.retries == 0
    assert error.status_code == 500
    assert error.run_exists is True
    assert error.run_id == runs[0].id
    assert error.run_status == "failed"
    assert runs[0].id in str(error)


async def test_stream_hitting_llm_500_leaves_one_run(
    client: letta_async.AsyncLetta, retries: RetryCount
) -> None:
    agent_id = await create_agent(client)
    stream = client.agents.messages.stream(agent_id, messages=FAIL)
    with pytest.raises(letta_async.StreamError) as caught:
        await stream.until_done()
    runs = await _runs(client, agent_id)
    assert len(runs) == 1, [(r.id, r.status) for r in runs]
    assert caught.value.run_id == runs[0].id
    assert retries.retries == 0


async def test_background_stream_hitting_llm_500_leaves_one_run(
    client: letta_async.AsyncLetta, retries: RetryCount
) -> None:
    agent_id = await create_agent(client)
    stream = client.agents.messages.stream(agent_id, messages=FAIL, background=True)
    with pytest.raises(letta_async.StreamError) as caught:
        await stream.until_done()
    runs = await _runs(client, agent_id)
    assert len(runs) == 1, [(r.id, r.status) for r in runs]
    assert caught.value.run_id == runs[0].id
    assert stream.resumes == 0
    assert retries.retries == 0


async def test_background_request_without_redis_is_refused_at_once(
    server_without_redis: LettaServer, retries: RetryCount
) -> None:
    async with await _client(server_without_redis.base_url, retries) as client:
        agent_id = await create_agent(client)
        started = time.monotonic()
        with pytest.raises(letta_async.InternalServerError) as caught:
            await client.agents.messages.create(
                agent_id,
                messages=[{"role": "user", "content": "hi"}],
                streaming=True,
                background=True,
            )
        elapsed = time.monotonic() - started
        assert caught.value.status_code == 503
        assert "redis" in (caught.value.detail or "").lower()
        assert retries.retries == 0
        assert elapsed < 2.0  # two retries alone would wait 0.5 s + 1 s
        assert len(await _runs(client, agent_id)) <= 1  # never one per attempt
