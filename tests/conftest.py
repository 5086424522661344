"""Shared test plumbing: anyio on asyncio, and a loopback server that replays captures.

Async test modules set ``pytestmark = pytest.mark.anyio``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.replay import ReplayServer

# Time limits that hold even where an event loop swallows pytest-timeout's failure.
pytest_plugins = ("tests.hang_guard",)

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def replay() -> AsyncIterator[ReplayServer]:
    """A fresh aiohttp server on 127.0.0.1 whose routes each test scripts."""
    server = ReplayServer()
    await server.start()
    try:
        yield server
    finally:
        await server.close()
