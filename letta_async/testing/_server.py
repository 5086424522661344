"""The Letta-compatible test server: routes, validation, runs, streams, faults, request log."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import TracebackType
from typing import Any, get_args

import msgspec
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from ..types._events import StopReasonType
from ..types._runs import RunStatus
from . import _frames as F
from ._agent import ApprovalDecision, execute_run
from ._crud import CrudRoutes
from ._faults import Fault, FaultQueue
from ._platform import PlatformRoutes
from ._ports import bind_free_port
from ._script import parse_script
from ._state import (
    ORG_ID,
    USER_ID,
    AgentRecord,
    ConversationRecord,
    MessageRecord,
    RunRecord,
    ServerState,
    agent_state,
    conversation_state,
    page_by_order,
    page_messages,
)
from ._wire import SSEResponse, StreamClosed, abort_connection, send_json

__all__ = ["SERVER_KEY", "LettaTestServer", "RecordedRequest", "create_app"]

Json = dict[str, Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

log = logging.getLogger("letta_async.testing")

SERVER_VERSION = "0.16.8"
_AGENT_ID = re.compile(
    r"^agent-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
)
_AGENT_ID_PATTERN = _AGENT_ID.pattern
_CONV_ID = re.compile(
    r"^(default|conv-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})$"
)
_SDK_UA = re.compile(r"^(?:@letta-ai/)?letta-client/(\d+)\.")
_JSON_HEADERS = {"Server": "uvicorn", "Vary": "Origin"}
_ROLES = ("user", "system", "assistant")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it, for assertions (retries, otid reuse...)."""

    method: str
    path: str
    query: dict[str, str]
    """Query parameters; for repeated names the last value (see ``query_string``)."""
    query_string: str
    headers: CIMultiDictProxy[str]
    body: bytes
    json: Any
    """The body parsed as JSON, or ``None`` when empty or not JSON."""
    fault: Fault | None
    at: float = field(default_factory=time.monotonic)


_RUN_STATUSES: tuple[str, ...] = get_args(RunStatus)
_STOP_REASONS: tuple[str, ...] = get_args(StopReasonType)
"""What the server accepts as a run's ``statuses`` and ``stop_reason`` filters, in the order its
validation errors list them (the OpenAPI document's, which the types follow)."""


def _one_of(values: tuple[str, ...]) -> str:
    """Pydantic's wording of an enum's values: ``'a', 'b' or 'c'``."""
    quoted = [f"'{v}'" for v in values]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]


@dataclass(frozen=True)
class _RequestContext:
    """What the middleware learned about the request being handled."""

    body: bytes = b""
    fault: Fault | None = None


# Set by the middleware and read by the handler: both run in the request's own task, so a
# context variable carries per-request data without touching aiohttp's request storage.
_CONTEXT: contextvars.ContextVar[_RequestContext] = contextvars.ContextVar("letta_test_request")
_NO_CONTEXT = _RequestContext()


class _Reject(Exception):
    """Raised by validation helpers; carries the finished error response."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


# --- response helpers ----------------------------------------------------------------------


def _json(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    resp = web.Response(
        status=status,
        body=F.encode_json(obj),
        content_type="application/json",
        headers=_JSON_HEADERS,
    )
    if headers:
        resp.headers.update(headers)
    return resp


def _detail(status: int, detail: str, headers: dict[str, str] | None = None) -> web.Response:
    return _json({"detail": detail}, status, headers)


def _validation(errors: list[Json], **extra: Any) -> _Reject:
    """A FastAPI-style 422: the error list rendered as a Python repr *string*."""
    body: Json = {"trace_id": "", "detail": repr(errors)}
    body.update(extra)
    return _Reject(_json(body, 422))


def _agent_not_found(agent_id: str) -> _Reject:
    return _Reject(_detail(404, f"Agent with ID {agent_id} not found"))


_STARTED = datetime.now(timezone.utc)


def _actor() -> str:
    """The default user as the real server's not-found messages print it (a pydantic repr,
    whose ``updated_at`` is when that server first stored the user)."""
    d = _STARTED
    stamp = f"{d.year}, {d.month}, {d.day}, {d.hour}, {d.minute}, {d.second}, {d.microsecond}"
    return (
        f"id='{USER_ID}' organization_id='{ORG_ID}' name='default_user' created_at=None "
        f"updated_at=datetime.datetime({stamp}, tzinfo=TzInfo(0)) is_deleted=False"
    )


def _not_found(kind: str, object_id: str, *, suffix: str = "") -> _Reject:
    """The real server's 404 for a run or conversation it has no record of."""
    return _Reject(
        _detail(
            404,
            f"{kind} not found with id='['{object_id}']', access level in ['read'] for "
            f"actor='{_actor()}'{suffix}",
        )
    )


def _run_not_found(run_id: str) -> _Reject:
    return _not_found("Run", run_id)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type", "text") == "text"
        )
    return ""


# --- the messages request --------------------------------------------------------------------


@dataclass
class _MessageRequest:
    messages: list[Json]
    approval: Json | None
    text: str
    streaming: bool
    stream_tokens: bool
    include_pings: bool
    background: bool
    max_steps: int
    include_return_message_types: list[str] | None


#: Frame kinds that end a background run's stream: the real server's Redis reader stops after
#: the entry written as complete (``[DONE]``, or the error event of a failed run).
_FINAL_KINDS = frozenset({"done", "error"})
_STREAM_ONLY = (("stream_tokens", True), ("background", True), ("include_pings", False))


class LettaTestServer:
    """A local server that speaks the Letta 0.16 REST API well enough for client tests.

    Replies come from a scripted agent steered by markers in the user text (see
    :mod:`letta_async.testing._script`), frames are byte-compatible with the real server's, and
    :attr:`faults` makes the next requests fail in chosen ways.

    :param host: interface to bind; loopback by default.
    :param port: TCP port; ``0`` picks a free one (read it back from :attr:`port`).
    :param keepalive_interval: seconds of silence before a keep-alive ping (the real server's
        ``LETTA_KEEPALIVE_INTERVAL``; small by default so tests see pings quickly).
    :param api_key: when set, every route but health needs ``Authorization: Bearer <api_key>``.
    :param sdk_gate: refuse ``streaming: true`` on ``POST /v1/agents/{id}/messages`` from
        clients that do not look like SDK v1.0+, as the real server does.
    :param async_stream_timeout: how long ``/v1/runs/{id}/stream`` keeps sending only pings
        before it ends the response (the real server: 1800 s): for a ``messages/async`` run,
        and for a resume at or past a finished run's final frame, which the real server
        never ends by itself.
    :param shutdown_timeout: grace given to open connections by :meth:`close`.
    :param redis: ``False`` mirrors a server running without Redis: background streaming and
        ``/v1/runs/{id}/stream`` answer 503, and a cancel without a body finds only active
        runs (409 when there is none) instead of re-cancelling the last run.

    A server is single-use: after :meth:`close` it cannot be started again.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        keepalive_interval: float = 2.0,
        api_key: str | None = None,
        sdk_gate: bool = True,
        async_stream_timeout: float = 30.0,
        shutdown_timeout: float = 1.0,
        redis: bool = True,
    ) -> None:
        if keepalive_interval <= 0:
            raise ValueError("keepalive_interval must be > 0")
        self.host = host
        self._requested_port = port
        self.keepalive_interval = keepalive_interval
        self.api_key = api_key
        self.sdk_gate = sdk_gate
        self.async_stream_timeout = async_stream_timeout
        self.shutdown_timeout = shutdown_timeout
        self.redis = redis
        self._closed = False
        self.state = ServerState()
        self.faults = FaultQueue()
        self.requests: list[RecordedRequest] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self._closing_event: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self.app = self._build_app()

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and serve. Returns once the port accepts connections."""
        if self._runner is not None:
            raise RuntimeError("server already started")
        if self._closed:
            raise RuntimeError("a closed server cannot be started again")
        runner = web.AppRunner(
            self.app,
            handle_signals=False,
            access_log=None,
            shutdown_timeout=self.shutdown_timeout,
        )
        await runner.setup()
        site: web.BaseSite
        if self._requested_port == 0:
            # Port 0 means "any free port": one below the ephemeral range (see _ports).
            site = web.SockSite(runner, bind_free_port(self.host))
        else:
            site = web.TCPSite(runner, self.host, self._requested_port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def close(self) -> None:
        """Stop every run and connection. Safe to call twice."""
        self._closed = True
        await self._shutdown()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> LettaTestServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def port(self) -> int:
        """The TCP port the server listens on (the one picked, when asked for port 0)."""
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://host:port`` with no trailing slash."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def _shutdown(self, _app: web.Application | None = None) -> None:
        self._closing = True
        if self._closing_event is not None:
            self._closing_event.set()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for run in self.state.runs.values():
            run.finish()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("run task failed", exc_info=task.exception())

    # --- helpers for tests ---------------------------------------------------------------

    def create_agent(self, **fields: Any) -> Json:
        """Seed an agent without HTTP; ``fields`` as in ``POST /v1/agents/``. Returns its JSON."""
        return self._create_agent(fields).to_json()

    def create_conversation(self, agent_id: str, **fields: Any) -> Json:
        """Seed a conversation of an existing agent. Returns its JSON."""
        if agent_id not in self.state.agents:
            raise KeyError(agent_id)
        return self._create_conversation(agent_id, fields).created_json()

    @property
    def last_run(self) -> RunRecord | None:
        """The most recently started run, if any (handy when a test did not see its id)."""
        return next(reversed(self.state.runs.values()), None)

    async def wait_for_run(self, run_id: str, timeout: float = 10.0) -> RunRecord:
        """Wait until a run has finished (any outcome) and return its record."""
        run = self.state.runs[run_id]
        await asyncio.wait_for(run.wait_finished(), timeout)
        return run

    def requests_to(
        self, path: str | None = None, method: str | None = None
    ) -> list[RecordedRequest]:
        """Logged requests whose path matches the regex ``path`` (searched) and ``method``."""
        pattern = re.compile(path) if path is not None else None
        return [
            r
            for r in self.requests
            if (method is None or r.method == method.upper())
            and (pattern is None or pattern.search(r.path))
        ]

    # --- app and middleware --------------------------------------------------------------

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        app[SERVER_KEY] = self
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._shutdown)
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/v1/health/", self._health),
            ("GET", "/v1/agents/", self._list_agents),
            ("POST", "/v1/agents/", self._create_agent_route),
            ("GET", "/v1/agents/{agent_id}", self._get_agent),
            ("PATCH", "/v1/agents/{agent_id}", self._patch_agent),
            ("DELETE", "/v1/agents/{agent_id}", self._delete_agent),
            ("GET", "/v1/agents/{agent_id}/messages", self._list_agent_messages),
            ("POST", "/v1/agents/{agent_id}/messages", self._send_message),
            ("POST", "/v1/agents/{agent_id}/messages/stream", self._send_message_stream),
            ("POST", "/v1/agents/{agent_id}/messages/async", self._send_message_async),
            ("POST", "/v1/agents/{agent_id}/messages/cancel", self._cancel_agent),
            ("PATCH", "/v1/agents/{agent_id}/reset-messages", self._reset_messages),
            ("POST", "/v1/agents/{agent_id}/summarize", self._summarize),
            ("GET", "/v1/runs/", self._list_runs),
            ("GET", "/v1/runs/{run_id}", self._get_run),
            ("DELETE", "/v1/runs/{run_id}", self._delete_run),
            ("POST", "/v1/runs/{run_id}/stream", self._run_stream),
            ("GET", "/v1/runs/{run_id}/messages", self._run_messages),
            ("GET", "/v1/runs/{run_id}/steps", self._run_steps),
            ("GET", "/v1/runs/{run_id}/usage", self._run_usage),
            ("POST", "/v1/conversations/", self._create_conversation_route),
            ("GET", "/v1/conversations/", self._list_conversations),
            ("GET", "/v1/conversations/{conversation_id}", self._get_conversation),
            ("GET", "/v1/conversations/{conversation_id}/messages", self._list_conv_messages),
            ("POST", "/v1/conversations/{conversation_id}/messages", self._send_conv_message),
            ("POST", "/v1/conversations/{conversation_id}/cancel", self._cancel_conversation),
            ("POST", "/v1/conversations/{conversation_id}/compact", self._compact_conversation),
            ("POST", "/v1/conversations/{conversation_id}/stream", self._conversation_stream),
        ]
        self.crud = CrudRoutes(self)
        routes.extend(self.crud.routes())
        self.platform = PlatformRoutes(self)
        routes.extend(self.platform.routes())
        for method, path, handler in routes:
            # Accept the path with and without its trailing slash, like the real server does
            # through its redirects, but without the redirect round trip.
            other = path[:-1] if path.endswith("/") else path + "/"
            app.router.add_route(method, path, handler)
            app.router.add_route(method, other, handler)
        return app

    async def _on_startup(self, _app: web.Application) -> None:
        self._closing = False
        self._closing_event = asyncio.Event()

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body = await request.read()
        parsed: Any = None
        if body:
            try:
                parsed = msgspec.json.decode(body)
            except msgspec.DecodeError:
                parsed = None
        fault = self.faults.take(request.method, request.path)
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                query_string=request.query_string,
                headers=CIMultiDictProxy(CIMultiDict(request.headers)),
                body=body,
                json=parsed,
                fault=fault,
            )
        )
        _CONTEXT.set(_RequestContext(body=body, fault=fault))
        if fault is not None:
            if fault.delay > 0:
                await asyncio.sleep(fault.delay)
            if fault.cut == "before_headers":
                await abort_connection(request, reset=fault.reset)
                return web.Response(status=500)
            if fault.status is not None:
                replaced = self._fault_response(fault)
                if _disturbs_transport(fault):
                    return await send_json(request, replaced, fault)
                return replaced
        resp = await self._dispatch(request, handler)
        if fault is not None and isinstance(resp, web.Response) and not resp.prepared:
            if fault.body is not None:
                body_bytes, content_type = _fault_body(fault, resp.status)
                resp.body = body_bytes
                resp.content_type = content_type
            resp.headers.update(fault.response_headers())
            if _disturbs_transport(fault):
                return await send_json(request, resp, fault)
        return resp

    async def _dispatch(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.api_key is not None and not request.path.startswith("/v1/health"):
            auth = request.headers.get("Authorization", "")
            bare = request.headers.get("X-BARE-PASSWORD", "")
            if auth != f"Bearer {self.api_key}" and bare != f"password {self.api_key}":
                return _detail(401, "Unauthorized")
        try:
            return await handler(request)
        except _Reject as reject:
            return reject.response
        except web.HTTPMethodNotAllowed as exc:
            return _detail(
                405, "Method Not Allowed", {"Allow": ",".join(sorted(exc.allowed_methods))}
            )
        except web.HTTPException as exc:
            return _detail(exc.status, exc.reason)

    def _fault_response(self, fault: Fault) -> web.Response:
        status = fault.status or 500
        body, content_type = _fault_body(fault, status)
        resp = web.Response(status=status, body=body, headers=_JSON_HEADERS)
        resp.content_type = content_type
        resp.headers.update(fault.response_headers())
        return resp

    # --- request parsing -----------------------------------------------------------------

    def _body_json(self, request: web.Request, *, required: bool) -> Any:
        body = _CONTEXT.get(_NO_CONTEXT).body
        if not body.strip():
            if required:
                raise _validation(
                    [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
                )
            return None
        try:
            return json.loads(body)
        except ValueError as exc:
            pos = exc.pos if isinstance(exc, json.JSONDecodeError) else 0
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise _validation(
                [
                    {
                        "type": "json_invalid",
                        "loc": ("body", pos),
                        "msg": "JSON decode error",
                        "input": {},
                        "ctx": {"error": msg},
                    }
                ]
            ) from None

    def _body_object(self, request: web.Request, *, required: bool) -> Json:
        data = self._body_json(request, required=required)
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise _validation(
                [
                    {
                        "type": "model_attributes_type",
                        "loc": ("body",),
                        "msg": "Input should be a valid dictionary or object to extract fields"
                        " from",
                        "input": data,
                    }
                ]
            )
        return data

    def _agent(self, agent_id: str) -> AgentRecord:
        if not _AGENT_ID.match(agent_id):
            raise _validation(
                [
                    {
                        "type": "string_pattern_mismatch",
                        "loc": ("path", "agent_id"),
                        "msg": "String should match pattern 'agent-{uuid4}'",
                        "input": agent_id,
                        "ctx": {"pattern": _AGENT_ID_PATTERN},
                    }
                ],
                examples=["agent-123e4567-e89b-42d3-8456-426614174000"],
            )
        agent = self.state.agents.get(agent_id)
        if agent is None:
            raise _agent_not_found(agent_id)
        return agent

    def _conversation(self, conversation_id: str) -> ConversationRecord:
        if not _CONV_ID.match(conversation_id):
            raise _validation(
                [
                    {
                        "type": "string_pattern_mismatch",
                        "loc": ("path", "conversation_id"),
                        "msg": "String should match pattern 'conv-{uuid4}'",
                        "input": conversation_id,
                    }
                ]
            )
        conv = self.state.conversations.get(conversation_id)
        if conv is None:
            raise _not_found("Conversation", conversation_id, suffix=", is_deleted=False")
        return conv

    def _run(self, run_id: str) -> RunRecord:
        run = self.state.runs.get(run_id)
        if run is None:
            raise _run_not_found(run_id)
        return run

    def _parse_message_request(
        self, request: web.Request, *, streaming_default: bool
    ) -> _MessageRequest:
        data = self._body_object(request, required=True)
        raw_messages = data.get("messages")
        raw_input = data.get("input")
        if raw_messages is None and raw_input is None:
            raise _validation(
                [
                    {
                        "type": "value_error",
                        "loc": ("body",),
                        "msg": "Value error, Must specify either 'input' or 'messages'.",
                        "input": data,
                        # A real exception object: FastAPI's detail is the repr of the list.
                        "ctx": {"error": ValueError("Must specify either 'input' or 'messages'.")},
                    }
                ]
            )
        messages: list[Json] = []
        approval: Json | None = None
        if raw_messages is not None:
            if not isinstance(raw_messages, list):
                raise _validation(
                    [
                        {
                            "type": "list_type",
                            "loc": ("body", "messages"),
                            "msg": "Input should be a valid list",
                            "input": raw_messages,
                        }
                    ]
                )
            for i, msg in enumerate(raw_messages):
                if not isinstance(msg, dict):
                    raise _validation(
                        [
                            {
                                "type": "model_type",
                                "loc": ("body", "messages", i),
                                "msg": "Input should be a valid dictionary",
                                "input": msg,
                            }
                        ]
                    )
                if msg.get("type") == "approval":
                    approval = msg
                    continue
                role = msg.get("role")
                if role not in _ROLES:
                    raise _validation(_bad_role_errors(i, msg))
                content = msg.get("content")
                if not isinstance(content, (str, list)):
                    raise _validation(
                        [
                            {
                                "type": "missing" if content is None else "string_type",
                                "loc": ("body", "messages", i, "content"),
                                "msg": "Field required"
                                if content is None
                                else "Input should be a valid string",
                                "input": msg,
                            }
                        ]
                    )
                messages.append(msg)
        else:
            if not isinstance(raw_input, (str, list)):
                raise _validation(
                    [
                        {
                            "type": "string_type",
                            "loc": ("body", "input"),
                            "msg": "Input should be a valid string",
                            "input": raw_input,
                        }
                    ]
                )
            messages.append({"role": "user", "content": raw_input})

        def flag(name: str, default: bool) -> bool:
            value = data.get(name, default)
            if value is None:
                return default
            if not isinstance(value, bool):
                raise _validation(
                    [
                        {
                            "type": "bool_type",
                            "loc": ("body", name),
                            "msg": "Input should be a valid boolean",
                            "input": value,
                        }
                    ]
                )
            return value

        streaming = flag("streaming", streaming_default)
        stream_tokens = flag("stream_tokens", False)
        include_pings = flag("include_pings", True)
        background = flag("background", False)
        if not streaming:
            for name, bad in _STREAM_ONLY:
                if name in data and data[name] is bad:
                    # The server words the one option that must stay true differently.
                    value = "true" if bad else "set to false"
                    raise _Reject(
                        _detail(
                            422,
                            "Streaming options set without streaming enabled. "
                            f"{name} can only be {value} when streaming=true. Either set "
                            "streaming=true or use default values for streaming options.",
                        )
                    )
        max_steps = data.get("max_steps", 50)
        if not isinstance(max_steps, int) or isinstance(max_steps, bool):
            raise _validation(
                [
                    {
                        "type": "int_type",
                        "loc": ("body", "max_steps"),
                        "msg": "Input should be a valid integer",
                        "input": max_steps,
                    }
                ]
            )
        types = data.get("include_return_message_types")
        user_texts = [_text_of(m.get("content")) for m in messages if m.get("role") == "user"]
        return _MessageRequest(
            messages=messages,
            approval=approval,
            text=user_texts[-1] if user_texts else "",
            streaming=streaming,
            stream_tokens=stream_tokens,
            include_pings=include_pings,
            background=background,
            max_steps=max_steps,
            include_return_message_types=list(types) if isinstance(types, list) else None,
        )

    def _sdk_allowed(self, request: web.Request) -> bool:
        if not self.sdk_gate:
            return True
        if "X-Stainless-Package-Version" in request.headers:
            return True
        ua = request.headers.get("User-Agent")
        if ua is None:
            return True
        match = _SDK_UA.match(ua)
        return match is not None and int(match.group(1)) >= 1

    def _require_redis(self, prefix: str = "") -> None:
        if not self.redis:
            raise _Reject(
                _detail(
                    503,
                    f"{prefix}Background streaming requires Redis to be running. Please ensure "
                    "Redis is properly configured. LETTA_REDIS_HOST: None, LETTA_REDIS_PORT: 6379",
                )
            )

    # --- state changes -------------------------------------------------------------------

    def _create_agent(self, body: Json) -> AgentRecord:
        agent_id = F.new_id("agent")
        system_id = F.new_id("message")
        data = agent_state(agent_id, body, system_message_id=system_id)
        agent = AgentRecord(id=agent_id, data=data)
        system = F.system_message(message_id=system_id, content=str(data["system"]))
        agent.messages.append(
            MessageRecord(
                id=system_id, items=[system], run_id=None, role="system", text=str(data["system"])
            )
        )
        agent.context_ids.append(system_id)
        self.state.agents[agent_id] = agent
        return agent

    def _create_conversation(self, agent_id: str, body: Json) -> ConversationRecord:
        conv_id = F.new_id("conv")
        conv = ConversationRecord(
            id=conv_id, agent_id=agent_id, data=conversation_state(conv_id, agent_id, body)
        )
        # A conversation starts with a system message of its own (the agent's system prompt),
        # listed both in the conversation and in the agent's history.
        text = str(self.state.agents[agent_id].data.get("system") or "")
        system_id = F.new_id("message")
        conv.messages.append(
            MessageRecord(
                id=system_id,
                items=[F.system_message(message_id=system_id, content=text)],
                run_id=None,
                role="system",
                text=text,
            )
        )
        self.state.conversations[conv_id] = conv
        return conv

    def _approval_decision(self, agent: AgentRecord, approval: Json) -> ApprovalDecision:
        pending = agent.pending_approval
        if pending is None:
            raise _Reject(
                _detail(
                    400,
                    "INVALID_ARGUMENT: Cannot process approval response: No tool call is "
                    "currently awaiting approval.",
                )
            )
        approvals = approval.get("approvals")
        approve: Any = approval.get("approve")
        reason: Any = approval.get("reason")
        if isinstance(approvals, list) and approvals and isinstance(approvals[0], dict):
            first = approvals[0]
            wanted = first.get("tool_call_id")
            if wanted is not None and wanted != pending["tool_call"]["tool_call_id"]:
                raise _Reject(
                    _detail(
                        400,
                        f"INVALID_ARGUMENT: Invalid tool call IDs. Expected "
                        f"'{pending['tool_call']['tool_call_id']}', but received '{wanted}'.",
                    )
                )
            approve = first.get("approve", approve)
            reason = first.get("reason", reason)
        return ApprovalDecision(
            approve=bool(approve),
            reason=reason if isinstance(reason, str) else None,
            request=pending,
        )

    def _start_run(
        self,
        agent: AgentRecord,
        conversation: ConversationRecord | None,
        req: _MessageRequest,
        *,
        background: bool,
        token_mode: bool,
        include_pings: bool,
        logs_frames: bool,
        run_type: str = "send_message",
    ) -> RunRecord:
        decision: ApprovalDecision | None = None
        if req.approval is not None:
            decision = self._approval_decision(agent, req.approval)
        elif agent.pending_approval is not None:
            raise _Reject(
                _detail(
                    409,
                    "CONFLICT: Cannot send a new message: The agent is waiting for approval on "
                    "a tool call. Please approve or deny the pending request before continuing.",
                )
            )
        run = RunRecord(
            id=F.new_id("run"),
            agent_id=agent.id,
            conversation_id=conversation.id if conversation else None,
            background=background,
            run_type=run_type,
            token_mode=token_mode,
            include_pings=include_pings,
            logs_frames=logs_frames,
            include_return_message_types=req.include_return_message_types,
        )
        self.state.runs[run.id] = run
        agent.last_run_id = run.id
        if conversation is not None:
            conversation.last_run_id = run.id
            conversation.data["last_message_at"] = F.created_timestamp()
        history = conversation.messages if conversation is not None else agent.messages
        for msg in req.messages:
            self._store_input(agent, conversation, history, run, msg)
        if decision is not None and req.approval is not None:
            agent.pending_approval = None
            self._store_approval(agent, conversation, history, run, req.approval, decision)
        script = parse_script(req.text)
        run.task = self._spawn(
            execute_run(self.state, run, agent, script, max_steps=req.max_steps, approval=decision)
        )
        return run

    def _store_input(
        self,
        agent: AgentRecord,
        conversation: ConversationRecord | None,
        history: list[MessageRecord],
        run: RunRecord,
        msg: Json,
    ) -> None:
        message_id = F.new_id("message")
        role = str(msg.get("role"))
        content = msg.get("content")
        otid = msg.get("otid") if isinstance(msg.get("otid"), str) else str(uuid.uuid4())
        if role == "user":
            item = F.user_message(
                message_id=message_id,
                otid=otid,
                step_id=run.first_step_id,
                run_id=run.id,
                content=content,
            )
        elif role == "assistant":
            item = F.assistant_message(
                message_id=message_id,
                otid=str(otid),
                step_id=run.first_step_id,
                run_id=run.id,
                content=_text_of(content),
            )
        else:
            item = F.system_message(message_id=message_id, content=_text_of(content))
        history.append(
            MessageRecord(
                id=message_id, items=[item], run_id=run.id, role=role, text=_text_of(content)
            )
        )
        if conversation is None:
            agent.context_ids.append(message_id)

    def _store_approval(
        self,
        agent: AgentRecord,
        conversation: ConversationRecord | None,
        history: list[MessageRecord],
        run: RunRecord,
        approval: Json,
        decision: ApprovalDecision,
    ) -> None:
        message_id = F.new_id("message")
        call_id = decision.request["tool_call"]["tool_call_id"]
        item: Json = {
            "id": message_id,
            "date": F.message_date(),
            "name": None,
            "message_type": "approval_response_message",
            "otid": approval.get("otid") or str(uuid.uuid4()),
            "sender_id": None,
            "step_id": run.first_step_id,
            "is_err": None,
            "seq_id": None,
            "run_id": run.id,
            "approvals": [
                {
                    "type": "approval",
                    "tool_call_id": call_id,
                    "approve": decision.approve,
                    "reason": decision.reason,
                }
            ],
            "approve": decision.approve,
            "approval_request_id": decision.request["message_id"],
            "reason": decision.reason,
        }
        history.append(
            MessageRecord(id=message_id, items=[item], run_id=run.id, role="approval", text="")
        )
        if conversation is None:
            agent.context_ids.append(message_id)

    # --- streaming -----------------------------------------------------------------------

    def _ping(self, run: RunRecord) -> bytes:
        return F.encode_data(F.ping(run.id))

    async def _follow(
        self,
        sse: SSEResponse,
        run: RunRecord,
        *,
        include_pings: bool,
        first_ping: bool,
        starting_after: int | None,
        cancel_aware: bool = False,
    ) -> None:
        """Write the run's frames as they come, with keep-alive pings in the silences.

        ``starting_after=None`` follows a foreground run by position; an int follows a
        background run by ``seq`` (replaying everything logged after it first).

        A background reader ends only by sending the run's final frame (``[DONE]``, or the
        error event of a failed run), as the real server's Redis reader does. Asked for the
        frames after that one, the real server never finds it and keeps the stream open with
        pings; so does this one, for ``async_stream_timeout`` seconds (the real server's
        limit for a stream of pings only is 1800 s).

        ``cancel_aware`` readers (``/v1/runs/{id}/stream`` and a conversation's stream) that
        were attached while the run went on end on its ``cancelled`` stop reason without the
        ``[DONE]`` logged after it: the real server's reader notices the cancel itself and
        stops there. A replay of a run cancelled before gets the whole log.
        """
        loop = asyncio.get_running_loop()
        live = not run.finished
        if first_ping:
            await sse.send(self._ping(run), "ping")
        last = loop.time()
        position = 0
        past_end_until: float | None = None
        while not self._closing:
            frames = run.frames
            if position < len(frames):
                frame = frames[position]
                position += 1
                if starting_after is not None and (
                    frame.seq is None or frame.seq <= starting_after
                ):
                    continue
                await sse.send(frame.data, frame.kind)
                last = loop.time()
                if starting_after is not None and frame.kind in _FINAL_KINDS:
                    return
                if frame.kind == "cancelled" and cancel_aware and live:
                    return
                continue
            if run.finished:
                if starting_after is None or not any(f.kind in _FINAL_KINDS for f in frames):
                    return
                if past_end_until is None:
                    past_end_until = loop.time() + self.async_stream_timeout
                if loop.time() >= past_end_until:
                    return
            changed = run.changed
            timeout: float | None = None
            if include_pings:
                timeout = last + self.keepalive_interval - loop.time()
                if timeout <= 0:
                    await sse.send(self._ping(run), "ping")
                    last = loop.time()
                    continue
            if past_end_until is not None:
                remaining = past_end_until - loop.time()
                timeout = remaining if timeout is None else min(timeout, remaining)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout)
        await abort_connection(sse.request)
        raise StreamClosed("server closing")

    async def _pings_only(self, sse: SSEResponse, run: RunRecord, *, include_pings: bool) -> None:
        """What the real server does for a ``messages/async`` run: nothing but pings."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.async_stream_timeout
        closing = self._closing_event
        if include_pings:
            await sse.send(self._ping(run), "ping")
        while not self._closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            wait = min(remaining, self.keepalive_interval)
            if closing is None:
                await asyncio.sleep(wait)
            else:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(closing.wait(), wait)
            if include_pings and not self._closing and loop.time() < deadline:
                await sse.send(self._ping(run), "ping")
        await abort_connection(sse.request)
        raise StreamClosed("server closing")

    async def _stream(
        self,
        request: web.Request,
        run: RunRecord,
        *,
        include_pings: bool,
        starting_after: int | None,
        first_ping: bool,
        cancel_aware: bool = False,
    ) -> web.StreamResponse:
        sse = SSEResponse(request, _CONTEXT.get(_NO_CONTEXT).fault, run_id=run.id)
        try:
            await sse.open()
            if run.logs_frames:
                await self._follow(
                    sse,
                    run,
                    include_pings=include_pings,
                    first_ping=first_ping,
                    starting_after=starting_after,
                    cancel_aware=cancel_aware,
                )
            else:
                await self._pings_only(sse, run, include_pings=include_pings)
            await sse.close()
        except StreamClosed:
            pass
        return sse.response

    async def _respond(
        self, request: web.Request, run: RunRecord, req: _MessageRequest
    ) -> web.StreamResponse:
        """Serve a started run as SSE (foreground or background) or as one JSON answer."""
        if req.streaming and run.background:
            return await self._stream(
                request, run, include_pings=req.include_pings, starting_after=0, first_ping=False
            )
        if req.streaming:
            return await self._stream(
                request,
                run,
                include_pings=req.include_pings,
                starting_after=None,
                first_ping=req.include_pings,
            )
        await run.wait_finished()
        if run.status == "failed" and run.error is not None:
            return _json({"error": run.error}, 500)
        messages = run.result_messages
        if run.include_return_message_types is not None:
            wanted = set(run.include_return_message_types)
            messages = [m for m in messages if m.get("message_type") in wanted]
        usage = run.usage_event or F.usage_statistics(
            completion_tokens=run.completion_tokens,
            prompt_tokens=run.prompt_tokens,
            step_count=len(run.steps),
            token_mode=False,
        )
        return _json(
            {
                "messages": messages,
                "stop_reason": F.stop_reason(run.stop_reason or "end_turn"),
                "usage": usage,
                "logprobs": None,
                "turns": None,
            }
        )

    # --- routes: health and agents -------------------------------------------------------

    async def _health(self, request: web.Request) -> web.StreamResponse:
        return _json({"version": SERVER_VERSION, "status": "ok"})

    async def _create_agent_route(self, request: web.Request) -> web.StreamResponse:
        body = self._body_object(request, required=True)
        return _json(self._create_agent(body).to_json())

    async def _list_agents(self, request: web.Request) -> web.StreamResponse:
        q = _Query(request)
        agents: Iterable[AgentRecord] = self.state.agents.values()
        name = q.get("name")
        if name is not None:
            agents = [a for a in agents if a.data.get("name") == name]
        tags = q.get_list("tags")
        if tags:
            match_all = q.get_bool("match_all_tags", False)
            wanted = set(tags)
            agents = [
                a
                for a in agents
                if (wanted <= set(a.data.get("tags") or []))
                or (not match_all and wanted & set(a.data.get("tags") or []))
            ]
        order = q.order("desc", legacy_ascending=True)
        page = page_by_order(
            list(agents),
            key=lambda a: a.id,
            created=lambda a: a.order,
            limit=q.get_int("limit", 50),
            order=order,
            before=q.get("before"),
            after=q.get("after"),
        )
        return _json([a.to_json() for a in page])

    async def _get_agent(self, request: web.Request) -> web.StreamResponse:
        return _json(self._agent(request.match_info["agent_id"]).to_json())

    async def _patch_agent(self, request: web.Request) -> web.StreamResponse:
        agent = self._agent(request.match_info["agent_id"])
        body = self._body_object(request, required=True)
        for key in ("name", "description", "metadata", "tags", "system", "model", "embedding"):
            if key in body:
                agent.data[key] = body[key]
        agent.data["updated_at"] = F.created_timestamp()
        return _json(agent.to_json())

    async def _delete_agent(self, request: web.Request) -> web.StreamResponse:
        agent = self._agent(request.match_info["agent_id"])
        for run in self.state.runs_of(agent_id=agent.id):
            run.request_cancel()
        del self.state.agents[agent.id]
        return _json({"message": f"Agent id={agent.id} successfully deleted"})

    # --- routes: messages ----------------------------------------------------------------

    async def _send_message(self, request: web.Request) -> web.StreamResponse:
        req = self._parse_message_request(request, streaming_default=False)
        if req.streaming and not self._sdk_allowed(request):
            return _detail(422, "streaming=true is only supported for SDK v1.0+ clients.")
        agent = self._agent(request.match_info["agent_id"])
        if req.streaming and req.background:
            self._require_redis(prefix="INTERNAL_SERVER_ERROR: ")
        run = self._start_run(
            agent,
            None,
            req,
            background=req.streaming and req.background,
            token_mode=req.streaming and req.stream_tokens,
            include_pings=req.include_pings,
            logs_frames=req.streaming,
        )
        return await self._respond(request, run, req)

    async def _send_message_stream(self, request: web.Request) -> web.StreamResponse:
        """The deprecated always-streaming endpoint; it has no SDK gate."""
        req = self._parse_message_request(request, streaming_default=True)
        req.streaming = True
        agent = self._agent(request.match_info["agent_id"])
        if req.background:
            self._require_redis(prefix="INTERNAL_SERVER_ERROR: ")
        run = self._start_run(
            agent,
            None,
            req,
            background=req.background,
            token_mode=req.stream_tokens,
            include_pings=req.include_pings,
            logs_frames=True,
        )
        return await self._respond(request, run, req)

    async def _send_message_async(self, request: web.Request) -> web.StreamResponse:
        req = self._parse_message_request(request, streaming_default=False)
        agent = self._agent(request.match_info["agent_id"])
        run = self._start_run(
            agent,
            None,
            req,
            background=True,
            token_mode=False,
            include_pings=False,
            logs_frames=False,
            run_type="send_message_async",
        )
        return _json(run.to_json())

    async def _list_agent_messages(self, request: web.Request) -> web.StreamResponse:
        agent_id = request.match_info["agent_id"]
        if agent_id not in self.state.agents and _AGENT_ID.match(agent_id):
            return _detail(404, "Agent not found")  # this route's own wording
        agent = self._agent(agent_id)
        # The agent's history holds the messages of its conversations too.
        records = [*agent.messages]
        for conv in self.state.conversations.values():
            if conv.agent_id == agent.id:
                records.extend(conv.messages)
        q = _Query(request)
        for cursor in (q.get("before"), q.get("after")):
            if cursor is not None and not any(m.id == cursor for m in records):
                return _detail(404, f"No message found with id '{cursor}' for agent '{agent.id}'.")
        return self._message_page(request, records, default_order="desc")

    def _message_page(
        self,
        request: web.Request,
        records: list[MessageRecord],
        *,
        default_order: str,
        newest_first: bool = False,
    ) -> web.Response:
        q = _Query(request)
        page = page_messages(
            records,
            limit=q.get_int("limit", 100),
            order=q.order(default_order),
            before=q.get("before"),
            after=q.get("after"),
            newest_first=newest_first,
        )
        items = [item for record in page for item in record.items]
        types = q.get_list("include_return_message_types")
        if types:
            wanted = set(types)
            items = [i for i in items if i.get("message_type") in wanted]
        return _json(items)

    def _cancel_runs(self, runs: list[RunRecord], extra: Json | None = None) -> web.Response:
        result: Json = {}
        for run in runs:
            run.request_cancel()
            result[run.id] = "cancelled"
        result.update(extra or {})
        return _json(result)

    async def _cancel_agent(self, request: web.Request) -> web.StreamResponse:
        agent = self._agent(request.match_info["agent_id"])
        body = self._body_object(request, required=False)
        run_ids = body.get("run_ids")
        if isinstance(run_ids, list) and run_ids:
            targets = [
                self.state.runs[r] for r in run_ids if isinstance(r, str) and r in self.state.runs
            ]
            # A run id the server does not know is answered "failed".
            unknown: Json = {
                r: "failed" for r in run_ids if isinstance(r, str) and r not in self.state.runs
            }
            return self._cancel_runs(targets, extra=unknown)
        active = [r for r in self.state.runs_of(agent_id=agent.id) if r.active]
        if not active and self.redis and agent.last_run_id in self.state.runs:
            active = [self.state.runs[str(agent.last_run_id)]]
        if not active:
            return _detail(409, f"CONFLICT: No active runs to cancel for agent {agent.id}")
        return self._cancel_runs(active)

    async def _reset_messages(self, request: web.Request) -> web.StreamResponse:
        agent = self._agent(request.match_info["agent_id"])
        self._body_object(request, required=True)
        agent.messages[:] = [m for m in agent.messages if m.role == "system"][:1]
        agent.context_ids[:] = [m.id for m in agent.messages]
        agent.pending_approval = None
        return _json(agent.to_json())

    async def _summarize(self, request: web.Request) -> web.StreamResponse:
        agent = self._agent(request.match_info["agent_id"])
        self._body_object(request, required=False)
        before = len(agent.context_ids)
        if before > 3:
            agent.context_ids[:] = agent.context_ids[:1] + agent.context_ids[-2:]
        after = len(agent.context_ids)
        return _json(
            {
                "summary": f"The conversation so far: {before - after} messages were summarized.",
                "num_messages_before": before,
                "num_messages_after": after,
            }
        )

    # --- routes: runs --------------------------------------------------------------------

    async def _list_runs(self, request: web.Request) -> web.StreamResponse:
        q = _Query(request)
        runs: list[RunRecord] = list(self.state.runs.values())
        agent_ids = set(q.get_list("agent_ids"))
        single = q.get("agent_id")
        if single is not None:
            agent_ids.add(single)
        if agent_ids:
            runs = [r for r in runs if r.agent_id in agent_ids]
        statuses = set(q.get_list("statuses"))
        for status in sorted(statuses - set(_RUN_STATUSES)):
            return _detail(400, f"'{status}' is not a valid RunStatus")
        if statuses:
            runs = [r for r in runs if r.status in statuses]
        background = q.opt_bool("background")
        if background is not None:
            runs = [r for r in runs if r.background == background]
        stop = q.get("stop_reason")
        if stop is not None and stop not in _STOP_REASONS:
            expected = _one_of(_STOP_REASONS)
            raise _validation(
                [
                    {
                        "type": "enum",
                        "loc": ("query", "stop_reason"),
                        "msg": f"Input should be {expected}",
                        "input": stop,
                        "ctx": {"expected": expected},
                    }
                ]
            )
        if stop is not None:
            runs = [r for r in runs if r.stop_reason == stop]
        conv = q.get("conversation_id")
        if conv is not None:
            runs = [r for r in runs if r.conversation_id == conv]
        if q.get_bool("active", False):
            runs = [r for r in runs if r.active]
        limit = q.get_int("limit", 100)
        if limit < 1:
            raise _validation(
                [
                    {
                        "type": "greater_than_equal",
                        "loc": ("query", "limit"),
                        "msg": "Input should be greater than or equal to 1",
                        "input": str(limit),
                        "ctx": {"ge": 1},
                    }
                ]
            )
        # Letta 0.16.8 reads the run cursors against the sort order: in either order,
        # ``after`` pages towards the start of the listing and ``before`` towards its end
        # (desc: after=X lists runs newer than X). Mirrored as it is, so that code paging runs
        # meets here what it meets on the server.
        page = page_by_order(
            runs,
            key=lambda r: r.id,
            created=lambda r: r.order,
            limit=limit,
            order=q.order("desc", legacy_ascending=True),
            before=q.get("after"),
            after=q.get("before"),
        )
        return _json([r.to_json() for r in page])

    async def _get_run(self, request: web.Request) -> web.StreamResponse:
        return _json(self._run(request.match_info["run_id"]).to_json())

    async def _delete_run(self, request: web.Request) -> web.StreamResponse:
        run = self._run(request.match_info["run_id"])
        run.request_cancel()
        del self.state.runs[run.id]
        return _json(None)

    async def _run_stream(self, request: web.Request) -> web.StreamResponse:
        run = self._run(request.match_info["run_id"])
        self._resume_body(request)  # the body is validated before anything else is checked
        self._require_redis()
        if not run.background:
            return _detail(
                400,
                "INVALID_ARGUMENT: Run was not created in background mode, so it cannot be "
                "retrieved.",
            )
        return await self._resume(request, run)

    def _resume_body(self, request: web.Request) -> tuple[int, bool]:
        """``starting_after`` and ``include_pings`` of a resume request, checked as pydantic's
        lax mode does: ``"5"``, ``true`` and ``2.0`` are integers; ``1.5``, ``"x"`` and ``null``
        are 422."""
        body = self._body_object(request, required=False)
        raw = body.get("starting_after", 0)
        starting_after = _lax_int(raw)
        if starting_after is None:
            if isinstance(raw, float):
                kind, msg = "int_from_float", "got a number with a fractional part"
            elif isinstance(raw, str):
                kind, msg = "int_parsing", "unable to parse string as an integer"
            else:
                kind, msg = "int_type", ""
            raise _validation(
                [
                    {
                        "type": kind,
                        "loc": ("body", "starting_after"),
                        "msg": "Input should be a valid integer" + (f", {msg}" if msg else ""),
                        "input": raw,
                    }
                ]
            )
        include_pings = body.get("include_pings")
        return starting_after, True if include_pings is None else bool(include_pings)

    async def _resume(self, request: web.Request, run: RunRecord) -> web.StreamResponse:
        starting_after, include_pings = self._resume_body(request)
        return await self._stream(
            request,
            run,
            include_pings=include_pings,
            starting_after=starting_after,
            first_ping=False,
            cancel_aware=True,
        )

    async def _run_messages(self, request: web.Request) -> web.StreamResponse:
        run = self._run(request.match_info["run_id"])
        records = [m for m in self.state.history(run) if m.run_id == run.id]
        return self._message_page(request, records, default_order="asc", newest_first=True)

    async def _run_steps(self, request: web.Request) -> web.StreamResponse:
        run = self._run(request.match_info["run_id"])
        q = _Query(request)
        indexed = list(enumerate(run.steps))
        page = page_by_order(
            indexed,
            key=lambda pair: str(pair[1]["id"]),
            created=lambda pair: pair[0],
            limit=q.get_int("limit", 100),
            order=q.order("desc"),
            before=q.get("before"),
            after=q.get("after"),
        )
        return _json([step for _, step in page])

    async def _run_usage(self, request: web.Request) -> web.StreamResponse:
        return _json(self._run(request.match_info["run_id"]).usage_json())

    # --- routes: conversations -----------------------------------------------------------

    async def _create_conversation_route(self, request: web.Request) -> web.StreamResponse:
        agent_id = request.query.get("agent_id")
        if agent_id is None:
            raise _validation(
                [
                    {
                        "type": "missing",
                        "loc": ("query", "agent_id"),
                        "msg": "Field required",
                        "input": None,
                    }
                ]
            )
        agent = self._agent(agent_id)
        body = self._body_object(request, required=False)
        return _json(self._create_conversation(agent.id, body).created_json())

    async def _list_conversations(self, request: web.Request) -> web.StreamResponse:
        q = _Query(request)
        convs: list[ConversationRecord] = list(self.state.conversations.values())
        agent_id = q.get("agent_id")
        if agent_id is not None:
            convs = [c for c in convs if c.agent_id == agent_id]
        page = page_by_order(
            convs,
            key=lambda c: c.id,
            created=lambda c: c.order,
            limit=q.get_int("limit", 50),
            order=q.order("desc"),
            before=q.get("before"),
            after=q.get("after"),
        )
        return _json([c.to_json() for c in page])

    async def _get_conversation(self, request: web.Request) -> web.StreamResponse:
        return _json(self._conversation(request.match_info["conversation_id"]).to_json())

    async def _list_conv_messages(self, request: web.Request) -> web.StreamResponse:
        conv = self._conversation(request.match_info["conversation_id"])
        return self._message_page(request, conv.messages, default_order="desc", newest_first=True)

    async def _send_conv_message(self, request: web.Request) -> web.StreamResponse:
        conv = self._conversation(request.match_info["conversation_id"])
        req = self._parse_message_request(request, streaming_default=True)
        agent = self._agent(conv.agent_id)
        if req.streaming and req.background:
            self._require_redis(prefix="INTERNAL_SERVER_ERROR: ")
        run = self._start_run(
            agent,
            conv,
            req,
            background=req.streaming and req.background,
            token_mode=req.streaming and req.stream_tokens,
            include_pings=req.include_pings,
            logs_frames=req.streaming,
        )
        return await self._respond(request, run, req)

    async def _cancel_conversation(self, request: web.Request) -> web.StreamResponse:
        conv = self._conversation(request.match_info["conversation_id"])
        active = [r for r in self.state.runs_of(conversation_id=conv.id) if r.active]
        if not active:
            return _detail(409, f"CONFLICT: No active runs to cancel for conversation {conv.id}")
        return self._cancel_runs(active)

    async def _compact_conversation(self, request: web.Request) -> web.StreamResponse:
        conv = self._conversation(request.match_info["conversation_id"])
        self._body_object(request, required=False)
        before = len(conv.messages)
        return _json(
            {
                "summary": f"The conversation so far: {before} messages.",
                "num_messages_before": before,
                "num_messages_after": before,
            }
        )

    async def _conversation_stream(self, request: web.Request) -> web.StreamResponse:
        conv = self._conversation(request.match_info["conversation_id"])
        body = self._body_object(request, required=False)
        run_id = body.get("run_id") or conv.last_run_id
        run = self.state.runs.get(str(run_id)) if run_id else None
        self._require_redis()
        if run is None or not run.active:
            # Only a run still going can be joined here; a finished one is read through
            # /v1/runs/{run_id}/stream.
            return _detail(400, "INVALID_ARGUMENT: No active runs found for this conversation.")
        if not run.background:
            return _detail(
                400,
                "INVALID_ARGUMENT: Run was not created in background mode, so it cannot be "
                "retrieved.",
            )
        return await self._resume(request, run)


SERVER_KEY = web.AppKey("letta_test_server", LettaTestServer)
"""``app[SERVER_KEY]`` is the :class:`LettaTestServer` behind an app from :func:`create_app`."""


def create_app(server: LettaTestServer | None = None, **options: Any) -> web.Application:
    """The aiohttp application, for aiohttp's own test utilities (``aiohttp_client(app)``).

    ``options`` go to :class:`LettaTestServer` when no ``server`` is given. The server object is
    reachable as ``app[SERVER_KEY]`` (its state, faults and request log). Runs are stopped by
    the application's shutdown signal.
    """
    if server is None:
        server = LettaTestServer(**options)
    elif options:
        raise TypeError("pass either a server or options, not both")
    return server.app


# --- small helpers -------------------------------------------------------------------------


def _bad_role_errors(index: int, msg: Json) -> list[Json]:
    """What pydantic reports for a message whose role is none of user/system/assistant: the
    body's message is a union, so each member says why it did not match."""
    kind = msg.get("type", "message")
    loc = ("body", "messages", index)
    create = "function-after[generate_otid_if_missing(), MessageCreate]"
    approval = (
        "function-after[migrate_deprecated_fields(), "
        "function-after[generate_otid_if_missing(), ApprovalCreate]]"
    )
    tool_return = "function-after[generate_otid_if_missing(), ToolReturnCreate]"
    roles = (
        "<MessageRole.user: 'user'>, <MessageRole.system: 'system'> or "
        "<MessageRole.assistant: 'assistant'>"
    )
    errors: list[Json] = [
        {
            "type": "literal_error",
            "loc": (*loc, create, "role"),
            "msg": f"Input should be {roles}",
            "input": msg.get("role"),
            "ctx": {"expected": roles},
        }
    ]
    for member, name in ((approval, "approval"), (tool_return, "tool_return")):
        expected = f"<MessageCreateType.{name}: '{name}'>"
        errors.append(
            {
                "type": "literal_error",
                "loc": (*loc, member, "type"),
                "msg": f"Input should be {expected}",
                "input": kind,
                "ctx": {"expected": expected},
            }
        )
    if "tool_returns" not in msg:
        errors.append(
            {
                "type": "missing",
                "loc": (*loc, tool_return, "tool_returns"),
                "msg": "Field required",
                "input": {**msg, "type": kind},
            }
        )
    return errors


def _lax_int(value: Any) -> int | None:
    """An integer as pydantic's lax mode reads one, or None when it would refuse it."""
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _disturbs_transport(fault: Fault) -> bool:
    return fault.cut is not None or fault.stall > 0 or fault.slow_loris is not None


def _fault_body(fault: Fault, status: int) -> tuple[bytes, str]:
    body = fault.body
    content_type = fault.content_type or "application/json"
    if body is None:
        try:
            from http import HTTPStatus

            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Error"
        return F.encode_json({"detail": reason}), content_type
    if isinstance(body, bytes):
        return body, content_type
    if isinstance(body, str):
        return body.encode(), fault.content_type or "text/plain"
    return F.encode_json(body), content_type


class _Query:
    """Typed access to query parameters with FastAPI-style 422s."""

    def __init__(self, request: web.Request) -> None:
        self.query = request.query

    def get(self, name: str) -> str | None:
        return self.query.get(name)

    def get_list(self, name: str) -> list[str]:
        return list(self.query.getall(name, []))

    def get_int(self, name: str, default: int) -> int:
        raw = self.query.get(name)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise _validation(
                [
                    {
                        "type": "int_parsing",
                        "loc": ("query", name),
                        "msg": "Input should be a valid integer, unable to parse string as an"
                        " integer",
                        "input": raw,
                    }
                ]
            ) from None

    def opt_bool(self, name: str) -> bool | None:
        raw = self.query.get(name)
        if raw is None:
            return None
        lowered = raw.lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        raise _validation(
            [
                {
                    "type": "bool_parsing",
                    "loc": ("query", name),
                    "msg": "Input should be a valid boolean, unable to interpret input",
                    "input": raw,
                }
            ]
        )

    def get_bool(self, name: str, default: bool) -> bool:
        value = self.opt_bool(name)
        return default if value is None else value

    def order(self, default: str, *, legacy_ascending: bool = False) -> str:
        raw = self.query.get("order")
        if raw is None:
            if legacy_ascending:
                ascending = self.opt_bool("ascending")
                if ascending is not None:
                    return "asc" if ascending else "desc"
            return default
        if raw not in ("asc", "desc"):
            raise _validation(
                [
                    {
                        "type": "literal_error",
                        "loc": ("query", "order"),
                        "msg": "Input should be 'asc' or 'desc'",
                        "input": raw,
                        "ctx": {"expected": "'asc' or 'desc'"},
                    }
                ]
            )
        return raw
