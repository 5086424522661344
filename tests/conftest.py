"""Shared test plumbing: anyio on asyncio, and a loopback server that replays captures.

Async test modules set ``pytestmark = pytest.mark.anyio``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.replay import ReplayServer

# Time limits that hold even where an event loop swallows pytest-timeout's failure.
pytest_plugins = ("tests.hang_guard",)

FIXTURES = Path(__file__).parent / "fixtures"

# mutmut names the mutant it runs in this variable; it is absent in ordinary runs.
_UNDER_MUTATION = "MUTANT_UNDER_TEST" in os.environ


@pytest.fixture(autouse=_UNDER_MUTATION)
def _memos_start_empty() -> None:
    """Under mutation testing, every test works out how to read each type afresh.

    The package remembers, once per process, how to read each response type: the funnel's
    readers and page plans, the transport's decoders, the shared message decoder. A mutant in
    the code that fills those memos runs only in the first test to need each type, so the
    mutation tool would credit (and run) only that test, and a mutant no later test could see
    would be reported as killed or survived by accident. Ordinary runs keep the memos: that
    they are shared across clients is part of what the suite exercises.
    """
    from letta_async import _decode, _funnel, _transport

    memos: list[dict[Any, Any]] = [
        _funnel._readers,
        _funnel._answers,
        _funnel._plans,
        _funnel._page_plans,
        _funnel._last_plans,
        _transport._decoders,
    ]
    for memo in memos:
        memo.clear()
    _funnel._MESSAGE_UNIONS = frozenset()
    _decode._shared = None


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
