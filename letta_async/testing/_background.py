"""A LettaTestServer on a thread of its own, for fixtures that outlive one event loop.

Why a thread: a server that lives on the test's event loop only serves while that loop runs,
and test runners give tests different loops (pytest-asyncio's default is one per test, while
a session-wide server is made once). On its own thread and loop, the server serves whatever
loop the client under test runs on, sync tests included, and its life is that of a plain
``with`` block.

What crosses threads: the fault queue (thread-safe by design), the request log (appended by
the server, read by the test), and the methods below that run on the server's loop and wait
for the result, so that seeding an agent never races a request being served.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from ._faults import FaultQueue
from ._server import LettaTestServer, RecordedRequest
from ._state import RunRecord, ServerState

__all__ = ["BackgroundLettaServer"]

T = TypeVar("T")
Json = dict[str, Any]

_START_TIMEOUT = 30.0
_CALL_TIMEOUT = 30.0


class BackgroundLettaServer:
    """A :class:`LettaTestServer` serving from a daemon thread; ``with`` starts and stops it.

    Takes :class:`LettaTestServer`'s keyword arguments. ``faults``, ``requests``,
    ``requests_to()``, ``base_url`` and ``port`` are the server's own; ``create_agent()``,
    ``create_conversation()`` and ``last_run`` run on the server's loop; ``await
    wait_for_run(run_id)`` works from any asyncio loop.
    """

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._server: LettaTestServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    # --- lifetime ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the thread and return once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError("server already started")
        self._thread = threading.Thread(target=self._serve, name="letta-test-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT):
            raise RuntimeError("the test server did not start in time")
        if self._failure is not None:
            self._thread.join()
            raise self._failure

    def close(self) -> None:
        """Stop every run and connection, then the thread. Safe to call twice."""
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is not None and stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        if thread is not None:
            thread.join(_START_TIMEOUT)

    def __enter__(self) -> BackgroundLettaServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # reported to start(), never lost in the thread
            self._failure = exc
        finally:
            self._ready.set()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        server = LettaTestServer(**self._options)
        await server.start()
        self._server = server
        try:
            self._ready.set()
            await self._stop.wait()
        finally:
            await server.close()

    # --- the server's own, safe from any thread ------------------------------------------

    @property
    def server(self) -> LettaTestServer:
        """The server object itself; touch its state only through the methods here."""
        if self._server is None:
            raise RuntimeError("server not started")
        return self._server

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return self.server.base_url

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return self.server.port

    @property
    def api_key(self) -> str | None:
        """The key the server demands, if it was given one."""
        return self.server.api_key

    @property
    def faults(self) -> FaultQueue:
        """The server's fault queue: ``faults.add(Fault(...))`` from the test."""
        return self.server.faults

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request the server received, oldest first."""
        return self.server.requests

    @property
    def state(self) -> ServerState:
        """Agents, conversations and runs; read it, seed through the methods here."""
        return self.server.state

    def requests_to(
        self, path: str | None = None, method: str | None = None
    ) -> list[RecordedRequest]:
        """Logged requests whose path matches the regex ``path`` and whose method is ``method``."""
        return self.server.requests_to(path, method)

    # --- methods that run on the server's loop -------------------------------------------

    def _on_loop(self, action: Callable[[], T]) -> T:
        loop = self._loop
        if loop is None or self._server is None:
            raise RuntimeError("server not started")

        async def run() -> T:
            return action()

        return asyncio.run_coroutine_threadsafe(run(), loop).result(_CALL_TIMEOUT)

    def create_agent(self, **fields: Any) -> Json:
        """Seed an agent without HTTP (``fields`` as in ``POST /v1/agents/``); its JSON."""
        return self._on_loop(lambda: self.server.create_agent(**fields))

    def create_conversation(self, agent_id: str, **fields: Any) -> Json:
        """Seed a conversation of an existing agent; its JSON."""
        return self._on_loop(lambda: self.server.create_conversation(agent_id, **fields))

    def add_environment(self, name: str = "laptop", **fields: Any) -> Json:
        """Register a connected environment (no HTTP route creates one); its JSON."""
        return self._on_loop(lambda: self.server.platform.add_environment(name, **fields))

    @property
    def last_run(self) -> RunRecord | None:
        """The most recently started run, if any."""
        return self._on_loop(lambda: self.server.last_run)

    async def wait_for_run(self, run_id: str, timeout: float = 10.0) -> RunRecord:
        """Wait, from the caller's own loop, until the run has finished; its record."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("server not started")
        future = asyncio.run_coroutine_threadsafe(self.server.wait_for_run(run_id, timeout), loop)
        return await asyncio.wrap_future(future)
