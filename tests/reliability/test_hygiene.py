"""The leak checks themselves: each one must catch the leak it exists for.

A checker that never fires looks exactly like a clean code base, so each kind of leak is
produced here on purpose and the check is shown to see it (then the leak is cleaned up, so
that this test itself passes the autouse check).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from tests.reliability._rawhttp import Exchange, RawServer, Request
from tests.reliability.conftest import Watch, running_since

pytestmark = pytest.mark.anyio


async def test_an_unclosed_session_is_caught(connector_watch: Watch) -> None:
    session = aiohttp.ClientSession()
    with pytest.warns(ResourceWarning, match="Unclosed client session"):
        del session  # the last reference, never closed: CPython finalizes it right here
    assert "a connector was never closed" in connector_watch.problems()
    assert any("Unclosed client session" in c["message"] for c in connector_watch.loop_errors)
    for connector in connector_watch.connectors:
        await connector.close()
    connector_watch.loop_errors.clear()
    assert connector_watch.problems() == []


async def test_a_connection_left_acquired_is_caught(connector_watch: Watch, serve: Any) -> None:
    async def handler(request: Request, ex: Exchange) -> None:
        ex.head(200, {"Content-Type": "application/json"})
        ex.chunk(b"{")
        await asyncio.sleep(30)  # the body never ends; the server's close cancels this

    server: RawServer = await serve(handler)
    session = aiohttp.ClientSession()
    response = await session.get(server.base_url)  # never read nor released
    assert "1 connection(s) still acquired" in connector_watch.problems()
    await session.close()
    assert connector_watch.acquired_at_close == 1
    response.close()
    connector_watch.acquired_at_close = 0


async def test_a_task_left_running_is_caught() -> None:
    before = asyncio.all_tasks()
    task = asyncio.ensure_future(asyncio.sleep(30))
    assert running_since(before) == [task]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert running_since(before) == []
