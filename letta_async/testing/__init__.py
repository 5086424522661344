"""A local Letta-compatible server for tests, demos and users' own test suites.

Why it exists: a streaming client is mostly about what happens when things go wrong (a proxy
that cuts the connection mid-event, a server that stalls, a 503 with ``Retry-After``, a run that
outlives its connection). A real Letta server needs Postgres, Redis and an LLM, and it cannot be
told to fail on cue. This one runs in-process on aiohttp, answers with a scripted agent, emits
frames byte-compatible with the captures of a real Letta 0.16.8 server (``tests/fixtures``),
and fails exactly when and how a test asks it to.

Usage::

    import aiohttp
    from letta_async.testing import Fault, LettaTestServer

    async def test_resume_after_cut() -> None:
        async with LettaTestServer(keepalive_interval=0.05) as server:
            agent = server.create_agent(name="demo")
            # The next message request loses its connection after three frames.
            server.faults.add(Fault(path=r"/messages$", cut="after_frames", frames=3))
            async with aiohttp.ClientSession(skip_auto_headers=["User-Agent"]) as http:
                ...  # point the client at server.base_url
            assert len(server.requests_to(r"/messages$", "POST")) == 1
            run = server.last_run
            assert run is not None
            await server.wait_for_run(run.id)  # the run finished although the client left

Without ``async with``: ``await server.start()`` ... ``await server.close()``. With aiohttp's
pytest plugin: ``client = await aiohttp_client(create_app())`` and ``app[SERVER_KEY]`` for the
server object. From a shell: ``python -m letta_async.testing --port 8283``.

Public API
----------

:class:`LettaTestServer` ``(*, host="127.0.0.1", port=0, keepalive_interval=2.0, api_key=None,
sdk_gate=True, async_stream_timeout=30.0, shutdown_timeout=1.0, redis=True)``
    ``port=0`` means a free port below 32768 (:func:`free_port`, :func:`bind_free_port`).
    ``start()``, ``close()``, ``async with``; ``base_url``, ``port``; ``faults``
    (:class:`FaultQueue`); ``requests`` (list of :class:`RecordedRequest`) and
    ``requests_to(path_regex, method)``; ``state`` (:class:`ServerState`: ``agents``, ``runs``,
    ``conversations``); ``create_agent(**fields)``, ``create_conversation(agent_id)``;
    ``last_run``; ``await wait_for_run(run_id, timeout=10.0)``; ``app``.
:class:`Fault`
    One misbehaviour for the next ``times`` matching requests: ``delay``, ``status`` (+
    ``retry_after``, ``retry_after_ms``, ``body``, ``content_type``, ``headers``), ``cut``
    (:data:`CutPoint` + ``frames``, ``reset``), ``stall``, ``slow_loris``, ``error_event``.
    Shorthands: ``Fault.http_status(...)``, ``Fault.html(...)``, ``Fault.cut_after(n)``.
:func:`create_app` ``(server=None, **options)`` and :data:`SERVER_KEY`.
:class:`BackgroundLettaServer` ``(**options)``
    The same server on a thread and event loop of its own (``with`` starts and stops it), for
    fixtures that outlive one event loop; the pytest plugin's servers are these.
:func:`say` ``(text="hi", *, tool=False, reasoning=False, ..., tokens=None)``
    A user message with the markers below written in, ready for ``messages=``.

Scripted replies (markers in the last user message, combinable): plain text → the sentence
``REPLY``; ``[tool]``, ``[reasoning]``, ``[approval]``, ``[delay=N]``, ``[chunkdelay=F]``,
``[tokens=N]``, ``[error500]``, ``[midgarbage]``, ``[drop]`` (see ``_script``).

Behaviour mirrored from the real server: stream framing and key order, the first ping that
carries ``run_id``, keep-alive pings after ``keepalive_interval`` s of silence, ``seq_id``
numbering of background runs and replay through ``POST /v1/runs/{id}/stream``, the SDK gate on
``streaming: true``, 422 for stream-only options without streaming, FastAPI-style error bodies,
the message-list cursor quirk, cancel semantics (a foreground stream ends on the spaced
``cancelled`` stop reason without ``[DONE]``, a background one with it), and a client disconnect
never cancelling a run. ``tests/e2e/differential`` compares it with a real server scenario by
scenario; the differences that remain are listed in the README's testing section. One deliberate
difference: a cancel is noticed at once (at the run's next pause) rather than when the LLM
returns, which keeps tests fast.
"""

from __future__ import annotations

from ._background import BackgroundLettaServer
from ._faults import CutPoint, Fault, FaultQueue
from ._ports import bind_free_port, free_port
from ._script import REASONING, REPLY, TOOL_ANSWER, Script, parse_script, say
from ._server import SERVER_KEY, LettaTestServer, RecordedRequest, create_app
from ._state import (
    AgentRecord,
    ConversationRecord,
    Frame,
    MessageRecord,
    RunRecord,
    ServerState,
)

__all__ = [
    "REASONING",
    "REPLY",
    "SERVER_KEY",
    "TOOL_ANSWER",
    "AgentRecord",
    "BackgroundLettaServer",
    "ConversationRecord",
    "CutPoint",
    "Fault",
    "FaultQueue",
    "Frame",
    "LettaTestServer",
    "MessageRecord",
    "RecordedRequest",
    "RunRecord",
    "Script",
    "ServerState",
    "bind_free_port",
    "create_app",
    "free_port",
    "parse_script",
    "say",
]
