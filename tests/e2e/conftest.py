"""Fixtures for the end-to-end suite against a real Letta 0.16.8 server.

The suite is opt-in: unless ``LETTA_E2E=1`` is set, nothing in this directory is even
collected, so the ordinary ``pytest`` run stays fast and needs no server, database or
network. ``nox -s e2e`` sets the variable.

Expensive things happen once per session: the cached server venv is checked (and built on
a cold machine) right after collection, outside any per-test timeout; the stack (fake LLM,
Postgres, Redis, Letta) is started by the first test that needs it and torn down by a
session finalizer, which pytest runs on failures and on Ctrl-C too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import letta_async

from .stack import (
    AGENT_EMBEDDING,
    AGENT_MODEL,
    LettaServer,
    ServerVenv,
    Stack,
    StackError,
    default_schema_path,
    ensure_server_venv,
)

ENABLED = os.environ.get("LETTA_E2E") == "1"

if not ENABLED:
    # Keep the normal run from importing (or reporting) any end-to-end test module.
    collect_ignore_glob = ["test_*.py"]

HERE = Path(__file__).resolve().parent

_venv: ServerVenv | None = None
_venv_error: BaseException | None = None


def _schema_or_skip() -> Path:
    schema = default_schema_path()
    if not schema.is_file():
        pytest.skip(
            f"end-to-end suite skipped: the captured Letta schema is missing at {schema} "
            "(CI clones the repository with shared/ beside it; set LETTA_E2E_SCHEMA to "
            "point elsewhere)"
        )
    return schema


def pytest_configure(config: pytest.Config) -> None:
    """Make SIGTERM tear the stack down like Ctrl-C does.

    By default SIGTERM kills pytest outright, skipping fixture finalizers and leaving the
    server, Postgres and Redis running. As KeyboardInterrupt, pytest still finishes the
    session, which runs the ``stack`` finalizer.
    """
    if not ENABLED:
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
        signal.signal(signal.SIGTERM, interrupt)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Build or verify the server venv before any test runs (a cold install takes ~70 s).

    Doing it here keeps the install out of the per-test timeout. A failure is remembered and
    re-raised by the ``stack`` fixture, so every e2e test reports it instead of pytest dying.
    """
    global _venv, _venv_error
    wanted = any(Path(str(item.path)).is_relative_to(HERE) for item in session.items)
    if not (ENABLED and wanted and default_schema_path().is_file()):
        return
    try:
        _venv = ensure_server_venv()
    except (StackError, OSError) as exc:
        _venv_error = exc


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """aiohttp, and so the client, runs on asyncio only."""
    return "asyncio"


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """The running stack, shared by the whole session, always torn down by process group.

    When any test failed, the processes' logs are kept (their path is printed), since the
    server's log usually says why.
    """
    schema = _schema_or_skip()
    if _venv_error is not None:
        raise _venv_error
    venv = _venv or ensure_server_venv()
    running = Stack.start(venv, schema)
    try:
        yield running
    finally:
        running.close(keep_logs=request.session.testsfailed > 0)


@pytest.fixture(scope="session")
def base_url(stack: Stack) -> str:
    return stack.base_url


@pytest.fixture(scope="session")
def secure_server(stack: Stack) -> Iterator[LettaServer]:
    """A second server with a password, started only when a test asks for it."""
    server = stack.start_secure_letta()
    try:
        yield server
    finally:
        server.process.stop()


@pytest.fixture(scope="session")
def server_without_redis(stack: Stack) -> Iterator[LettaServer]:
    """A server with no Redis, started only when a test asks for it."""
    server = stack.start_letta_without_redis()
    try:
        yield server
    finally:
        server.process.stop()


def agent_body(name: str | None = None, **extra: Any) -> dict[str, Any]:
    """The agent every scenario uses: the fake model and a hosted-name embedding config."""
    body: dict[str, Any] = {
        "name": name or f"e2e-{uuid.uuid4().hex[:8]}",
        "model": AGENT_MODEL,
        "embedding": AGENT_EMBEDDING,
        "memory_blocks": [
            {"label": "human", "value": "The user is an end-to-end test."},
            {"label": "persona", "value": "I am a test agent."},
        ],
    }
    body.update(extra)
    return body


async def create_agent(client: letta_async.AsyncLetta) -> str:
    """A new scenario agent (see :func:`agent_body`); its id."""
    body = agent_body()
    agent = await client.agents.create(
        name=body["name"],
        model=body["model"],
        embedding=body["embedding"],
        memory_blocks=body["memory_blocks"],
    )
    return agent.id
