"""Leak checks around every reliability test, and the closing table of figures.

Why a fixture and not asserts in each test: the failures this suite hunts (a connection left
acquired after a cut, a task left reading after a cancel, a session never closed) happen on
paths a test does not think to check. So every aiohttp connector created during a test is
watched from birth, and after the test (and all its fixtures) are torn down:

* every connector was closed, and had no acquired connection left when it was closed (or
  has none now, if still open);
* no asyncio task started during the test is still running;
* nothing reached the event loop's exception handler ("Unclosed client session",
  "Unclosed connector", "Task exception was never retrieved", ...).

``ResourceWarning`` is already an error through pyproject's ``filterwarnings``; the fixture
runs the garbage collector so that objects dropped by the test warn while it is still the
current test.
"""

from __future__ import annotations

import asyncio
import gc
import ssl as ssl_module
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import aiohttp.connector
import pytest

from letta_async import AsyncLetta, ResumeSettings
from letta_async.testing import LettaTestServer
from tests.reliability._rawhttp import Handler, RawServer
from tests.reliability._tally import TALLY

_seconds = 0.0


@dataclass
class Watch:
    """What one test left behind."""

    connectors: list[aiohttp.BaseConnector] = field(default_factory=list)
    acquired_at_close: int = 0
    loop_errors: list[dict[str, Any]] = field(default_factory=list)

    def problems(self) -> list[str]:
        out: list[str] = []
        if self.acquired_at_close:
            out.append(f"{self.acquired_at_close} connection(s) still acquired at close")
        for connector in self.connectors:
            if not connector.closed:
                acquired = len(connector._acquired)  # type: ignore[attr-defined]
                if acquired:
                    out.append(f"{acquired} connection(s) still acquired")
                out.append("a connector was never closed")
        for context in self.loop_errors:
            out.append(f"event loop error: {context.get('message')} {context.get('exception')!r}")
        return out


@pytest.fixture
def connector_watch(monkeypatch: pytest.MonkeyPatch) -> Watch:
    """Record every aiohttp connector made during the test, and its state when closed."""
    watch = Watch()
    original_init = aiohttp.BaseConnector.__init__
    original_close = aiohttp.BaseConnector._close

    def init(self: aiohttp.BaseConnector, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        watch.connectors.append(self)

    def close(self: aiohttp.BaseConnector, *args: Any, **kwargs: Any) -> Any:
        if not self.closed:
            watch.acquired_at_close += len(self._acquired)  # type: ignore[attr-defined]
        return original_close(self, *args, **kwargs)

    monkeypatch.setattr(aiohttp.BaseConnector, "__init__", init)
    monkeypatch.setattr(aiohttp.BaseConnector, "_close", close)
    return watch


def running_since(before: set[asyncio.Task[Any]]) -> list[asyncio.Task[Any]]:
    """Tasks started after ``before`` was taken that are still running (test machinery aside)."""
    current = asyncio.current_task()
    return [
        t
        for t in asyncio.all_tasks() - before
        if t is not current and not t.done() and not _is_runner_task(t)
    ]


def _is_runner_task(task: asyncio.Task[Any]) -> bool:
    """anyio's pytest runner drives each test and fixture step from a task of its own."""
    coro = task.get_coro()
    return getattr(coro, "__qualname__", "").endswith("_call_in_runner_task")


def _is_cancelling(task: asyncio.Task[Any]) -> bool:
    cancelling = getattr(task, "cancelling", None)  # Python 3.11+
    return bool(cancelling()) if cancelling is not None else False


def _is_server_handler(task: asyncio.Task[Any]) -> bool:
    coro = task.get_coro()
    return getattr(coro, "__qualname__", "").startswith("RequestHandler.")


@pytest.fixture(autouse=True)
async def hygiene(anyio_backend: str, connector_watch: Watch) -> AsyncIterator[None]:
    """Fail the test if it leaves a connection, a session, or a task behind."""
    loop = asyncio.get_running_loop()
    before = asyncio.all_tasks()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: connector_watch.loop_errors.append(context))
    try:
        yield
        # Let finished tasks and connection-lost callbacks run, and dropped objects warn.
        for _ in range(3):
            await asyncio.sleep(0)
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    leftover = running_since(before)
    # Tasks already cancelled get a moment to unwind, and so do aiohttp's server-side request
    # handlers: the test server cannot stop a handler whose client already hung up (aiohttp
    # forgets the connection), so one that is sleeping through a stall fault finishes on its
    # own shortly after. Anything else still running now was simply left behind.
    unwinding = [t for t in leftover if _is_cancelling(t) or _is_server_handler(t)]
    if unwinding:
        await asyncio.wait(unwinding, timeout=1.0)
    leftover = [t for t in leftover if not t.done()]
    for task in leftover:
        task.cancel()
    problems = connector_watch.problems()
    if leftover:
        problems.append(f"{len(leftover)} task(s) still running: {leftover[:3]!r}")
    TALLY.tests += 1
    TALLY.leak("connections", connector_watch.acquired_at_close)
    TALLY.leak("unclosed connectors", sum(not c.closed for c in connector_watch.connectors))
    TALLY.leak("tasks", len(leftover))
    TALLY.leak("loop errors", len(connector_watch.loop_errors))
    if problems:
        pytest.fail("left behind: " + "; ".join(problems), pytrace=False)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Sum setup, call and teardown times (this hook only sees tests under this directory)."""
    global _seconds
    _seconds += report.duration


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TALLY.tests:
        return
    terminalreporter.section("reliability figures")
    for line in TALLY.render(_seconds):
        terminalreporter.write_line(line)
    TALLY.dump()


# --- servers and clients shared by the tests -----------------------------------------------

SECRET = "sk-reliability-secret-0123456789"
FAST_RESUME = ResumeSettings(initial_delay=0.01, max_delay=0.05)


def acquired(client: AsyncLetta) -> int:
    """Connections the client's pool has handed out and not got back."""
    session = client.session
    if session is None or session.connector is None:
        return 0
    return len(session.connector._acquired)  # type: ignore[attr-defined]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[RawServer]]]:
    """Start byte-exact servers for the test; fails it if a handler raised."""
    servers: list[RawServer] = []

    async def start(
        handler: Handler, host: str = "127.0.0.1", ssl: ssl_module.SSLContext | None = None
    ) -> RawServer:
        server = RawServer(handler, host=host, ssl=ssl)
        await server.start()
        servers.append(server)
        return server

    yield start
    errors = [e for s in servers for e in s.errors]
    for server in servers:
        await server.close()
    assert not errors, f"server handler failed: {errors!r}"


@pytest.fixture
async def letta() -> AsyncIterator[LettaTestServer]:
    async with LettaTestServer(keepalive_interval=0.05, shutdown_timeout=0.2) as server:
        yield server
