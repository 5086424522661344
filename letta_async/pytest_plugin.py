"""pytest fixtures for testing code that talks to Letta, against ``letta_async.testing``.

pytest loads this module through the ``pytest11`` entry point in every environment where
letta-async is installed, so it imports nothing but pytest at load time: the server, aiohttp
and the client are imported inside the fixtures that use them.

Fixtures (README, "Testing your own code"):

``letta_server``
    A :class:`~letta_async.testing.BackgroundLettaServer` of its own for each test: agents,
    runs, faults and the request log never leak from one test into the next.
``letta_session_server``
    One server for the whole session, for suites that want speed over isolation.
``letta_client``
    An :class:`~letta_async.AsyncLetta` connected to ``letta_server``, closed after the test.
``letta_agent``
    An agent seeded on ``letta_server`` (no HTTP), as an ``AgentState``.
``letta_server_options`` / ``letta_client_options``
    Keyword arguments for the server and the client; override them in a ``conftest.py``.

Servers run on a thread and event loop of their own, so the server fixtures are plain
(synchronous) fixtures that work under any test runner. ``letta_client`` is async: it runs
under anyio's pytest plugin (which comes with anyio, a dependency of letta-async) for tests
marked ``@pytest.mark.anyio``, and under pytest-asyncio in either of its modes for the others.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from letta_async import AsyncLetta
    from letta_async.testing import BackgroundLettaServer
    from letta_async.types import AgentState

__all__ = [
    "letta_agent",
    "letta_client",
    "letta_client_options",
    "letta_server",
    "letta_server_options",
    "letta_session_server",
]


@pytest.fixture(scope="session")
def letta_server_options() -> dict[str, Any]:
    """Keyword arguments for every server the fixtures start (``LettaTestServer``'s).

    Session-scoped, so that the session server can use it too. Example override::

        @pytest.fixture(scope="session")
        def letta_server_options():
            return {"api_key": "sk-test", "keepalive_interval": 0.1}
    """
    return {"keepalive_interval": 0.5}


def _start(options: dict[str, Any]) -> BackgroundLettaServer:
    from letta_async.testing import BackgroundLettaServer

    server = BackgroundLettaServer(**options)
    server.start()
    return server


@pytest.fixture(scope="session")
def letta_session_server(letta_server_options: dict[str, Any]) -> Iterator[BackgroundLettaServer]:
    """One running server for the whole session; faults and state carry over between tests."""
    server = _start(letta_server_options)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def letta_server(letta_server_options: dict[str, Any]) -> Iterator[BackgroundLettaServer]:
    """A running server of this test's own: ``letta_server.faults.add(Fault(...))``."""
    server = _start(letta_server_options)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def letta_client_options() -> dict[str, Any]:
    """Keyword arguments for ``letta_client``'s ``AsyncLetta`` (merged over the defaults).

    The defaults resume a cut stream after 10 ms instead of 250 ms, so that fault tests do
    not wait for back-offs; pass ``resume=ResumeSettings()`` to test the real timing.
    """
    return {}


@pytest.fixture
def letta_agent(letta_server: BackgroundLettaServer) -> AgentState:
    """An agent on ``letta_server``, made without a request; ``letta_agent.id`` to use it."""
    import msgspec

    from letta_async.types import AgentState

    created = letta_server.create_agent(
        name="test-agent", model="openai/gpt-4o-mini", embedding="openai/text-embedding-3-small"
    )
    return msgspec.json.decode(msgspec.json.encode(created), type=AgentState)


async def _letta_client(
    letta_server: BackgroundLettaServer, letta_client_options: dict[str, Any]
) -> AsyncIterator[AsyncLetta]:
    """An ``AsyncLetta`` connected to ``letta_server``, closed (pool and all) after the test."""
    from letta_async import AsyncLetta, ResumeSettings

    options: dict[str, Any] = {
        "api_key": letta_server.api_key or "sk-letta-test",
        "resume": ResumeSettings(initial_delay=0.01, max_delay=0.05),
        **letta_client_options,
    }
    async with AsyncLetta(letta_server.base_url, **options) as client:
        yield client


letta_client = pytest.fixture(name="letta_client")(_letta_client)
"""An ``AsyncLetta`` connected to ``letta_server``, closed after the test; async, so the test
runs under anyio's pytest plugin (``@pytest.mark.anyio``) or pytest-asyncio."""

_ASYNC_FIXTURES = frozenset({_letta_client})


def _asyncio_twin(func: Any) -> Any:
    """A copy of ``func`` marked for pytest-asyncio, leaving ``func`` itself unmarked.

    Marking the fixture itself would make pytest-asyncio run it for anyio tests too, on a
    loop other than the test's; the copy is swapped in only for tests anyio does not run.
    """
    import functools
    import importlib
    import types

    pytest_asyncio = importlib.import_module("pytest_asyncio")
    copy = types.FunctionType(
        func.__code__, func.__globals__, func.__name__, func.__defaults__, func.__closure__
    )
    functools.update_wrapper(copy, func)
    pytest_asyncio.fixture(copy)
    return copy


_twins: dict[Any, Any] = {}
_originals: dict[Any, Any] = {}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_fixture_setup(fixturedef: Any, request: pytest.FixtureRequest) -> Any:
    """Hand the async fixtures to whichever async plugin runs the requesting test."""
    func = _originals.get(fixturedef.func, fixturedef.func)
    if func not in _ASYNC_FIXTURES:
        return (yield)
    if "anyio_backend" in request.fixturenames:
        fixturedef.func = func
        return (yield)  # anyio's plugin runs the async fixtures of the tests it runs
    if not request.config.pluginmanager.has_plugin("asyncio"):
        pytest.fail(
            f"{fixturedef.argname} is an async fixture: mark the test @pytest.mark.anyio "
            "(anyio's pytest plugin is installed with letta-async) or use pytest-asyncio",
            pytrace=False,
        )
    twin = _twins.get(func)
    if twin is None:
        twin = _twins[func] = _asyncio_twin(func)
        _originals[twin] = func
    # The twin stays in place while the test runs (pytest-asyncio looks at the test's
    # fixtures again when it calls the test) and goes when the fixture is torn down.
    fixturedef.func = twin
    fixturedef.addfinalizer(lambda: setattr(fixturedef, "func", func))
    return (yield)
