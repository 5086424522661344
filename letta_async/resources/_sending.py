"""The hand-written half of the message resources: sending, streaming, following runs, uploads.

The generated resource classes own the signatures (the official ones, plus a few keywords
of this client's own) and forward their arguments here. What lives here is behaviour no
table can describe.

The SDK gate: Letta 0.16 answers ``streaming: true`` with 422 unless the caller looks like
the official SDK v1 (its User-Agent or an ``X-Stainless-*`` header) *or sends no User-Agent
at all*. Rather than impersonate the official SDK, streaming requests are sent without a
User-Agent header; every other request identifies itself as ``letta-async/<ver>``.

Idempotency: every outgoing message gets an ``otid`` (the server's offline thread id) before
the first attempt, and a retry resends the same one. That id is also how a stream that broke
before learning its ``run_id`` finds its run again.
"""

from __future__ import annotations

import inspect
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import aiohttp
import msgspec

from .._config import Timeout, TimeoutLike
from .._errors import APIConnectionError, APIStatusError, APITimeoutError
from .._funnel import make_request_options, strip_omitted
from .._lazy import LazyModule
from .._observe import StreamOrigin
from .._resource import APIResource
from .._retry import Locator, is_no_redis
from .._stream import MessageStream, ResumeSettings
from .._transport import PreparedRequest
from .._types import NotGiven, Omit, RequestOptions, not_given, omit
from .._urls import path
from ..types import LettaResponse
from ._locate import make_locator, runs_since
from ._upload import read_file

if TYPE_CHECKING:
    from ..types import Run


if TYPE_CHECKING:
    import anyio
else:  # anyio costs start-up time and is needed only to wait (retries, resumes, closing)
    anyio = LazyModule("anyio")
__all__ = [
    "AgentMessageSending",
    "BatchSending",
    "ConversationMessageSending",
    "MessageInput",
    "RunFollowing",
    "StreamFollowing",
    "Uploading",
    "with_otids",
]

logger = logging.getLogger("letta_async")

MessageInput = Mapping[str, Any] | msgspec.Struct
"""A message to send: a plain dict (or ``TypedDict``) or a request struct such as
``MessageCreate``."""

_FINISHED = frozenset({"completed", "failed", "cancelled"})
_no_redis_logged = False


def with_otids(messages: Any) -> tuple[list[Any] | Omit | None, list[str]]:
    """Give each message an ``otid`` unless it has one, and return the ids in use."""
    if messages is None or isinstance(messages, Omit):
        return messages, []
    if isinstance(messages, str | bytes | Mapping):
        raise TypeError("messages must be a list of messages, not a single message or string")
    prepared: list[Any] = []
    otids: list[str] = []
    for message in messages:
        if isinstance(message, msgspec.Struct):
            otid = getattr(message, "otid", None)
            if otid is None and "otid" in message.__struct_fields__:
                otid = str(uuid.uuid4())
                message = msgspec.structs.replace(message, otid=otid)
            prepared.append(message)
        elif isinstance(message, Mapping):
            item = dict(message)
            otid = item.get("otid")
            if otid is None:
                otid = item["otid"] = str(uuid.uuid4())
            prepared.append(item)
        else:
            raise TypeError(f"a message must be a dict or a request struct, got {type(message)!r}")
        if isinstance(otid, str):
            otids.append(otid)
    return prepared, otids


class _Sending(APIResource):
    """Request building shared by agent and conversation messages.

    Every send is a ``send`` request (:mod:`letta_async._retry`): sent again only when the
    server cannot have acted on it, or after asking the server (``_locator``) showed that it
    started no run.
    """

    _owner_template: str
    _owner_filter: str

    def _locator(self, owner_id: str, otids: list[str]) -> Locator:
        owner = path(self._owner_template, owner_id)
        return make_locator(self._transport, owner, {self._owner_filter: owner_id}, otids)

    def _prepare_body(self, body: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        sent = strip_omitted(body)
        if "messages" in sent:
            sent["messages"], otids = with_otids(sent["messages"])
        else:
            otids = []
        if sent.get("messages") is None and sent.get("input") is None:
            raise ValueError("pass messages=[...] or input=...")
        return sent, otids

    def _open_stream(
        self,
        route: str,
        *,
        body: Mapping[str, Any],
        options: RequestOptions,
        owner_id: str,
        resumable: bool = False,
        cancel_on_exit: bool = False,
        poll_interval: float | None = None,
        resume: ResumeSettings | None = None,
        errors_as_events: bool = False,
    ) -> MessageStream:
        sent, otids = self._prepare_body(body)
        sent.pop("streaming", None)
        background = bool(sent.get("background", False))
        funnel = self._funnel
        transport = self._transport
        state = {"background": background or resumable}
        locate = self._locator(owner_id, otids)
        first_sent: list[float] = []

        def request(stream: MessageStream) -> PreparedRequest:
            payload = dict(sent, streaming=True)
            if state["background"] or "background" in sent:
                payload["background"] = state["background"]
            prepared = funnel.prepare(
                "POST",
                route,
                body=payload,
                options=options,
                stream=True,
                kind="send",
                locate=locate,
            )
            prepared.omit_user_agent = True
            prepared.trace = stream._trace
            return prepared

        async def opener(stream: MessageStream) -> aiohttp.ClientResponse:
            global _no_redis_logged
            if not first_sent:
                first_sent.append(time.monotonic())
            try:
                # A send that fails after it may have reached the server is not re-sent
                # blindly: the server is asked for the run it may have started first.
                return await transport.open_stream(request(stream))
            except APIConnectionError as exc:
                if exc.run_id is not None:
                    stream.run_id = exc.run_id  # found by asking: resume it, do not re-send
                raise
            except APIStatusError as exc:
                if not (resumable and not background and is_no_redis(exc)):
                    raise
                if not _no_redis_logged:
                    _no_redis_logged = True
                    logger.warning(
                        "server has no Redis, so background streams are unavailable; "
                        "resumable streams fall back to plain (non-resumable) streams"
                    )
                state["background"] = False
                stream.fall_back_to_foreground()
                return await transport.open_stream(request(stream))

        async def recover_run_id() -> str | None:
            found = await self._find_run_by_otid(owner_id, otids)
            if found is not None or not first_sent:
                return found
            # Letta stores the message only once the run's first step succeeded; the run
            # itself exists from the start.
            try:
                rows = await runs_since(transport, {self._owner_filter: owner_id}, first_sent[0])
            except (APIStatusError, APIConnectionError, ValueError, msgspec.DecodeError):
                return None
            return rows[0].id if rows else None

        return MessageStream(
            transport,
            opener,
            background=state["background"],
            poll_interval=poll_interval,
            resume=resume or self._client._resume,
            canceller=lambda run_id: self._cancel_run(owner_id, run_id),
            recover_run_id=recover_run_id if otids else None,
            cancel_on_exit=cancel_on_exit,
            errors_as_events=errors_as_events,
            origin=StreamOrigin("POST", route, sends=True, **{self._owner_filter: owner_id}),
        )

    async def _send(
        self,
        route: str,
        *,
        body: Mapping[str, Any],
        options: RequestOptions,
        owner_id: str,
        resumable: bool = False,
        cancel_on_exit: bool = False,
        poll_interval: float | None = None,
        resume: ResumeSettings | None = None,
        errors_as_events: bool = False,
    ) -> Any:
        """A send that streams or waits, depending on ``streaming`` (and the route's default)."""
        streaming = body.get("streaming", omit)
        if isinstance(streaming, Omit):
            streaming = self._streams_by_default
        if streaming:
            stream = self._open_stream(
                route,
                body=body,
                options=options,
                owner_id=owner_id,
                resumable=resumable,
                cancel_on_exit=cancel_on_exit,
                poll_interval=poll_interval,
                resume=resume,
                errors_as_events=errors_as_events,
            )
            return await stream
        # Here `streaming` is false or the route does not stream by default; either way the
        # body says what the caller said (a route that streams by default got streaming=False).
        sent, otids = self._prepare_body(body)
        return await self._funnel.request(
            "POST",
            route,
            cast_to=LettaResponse,
            body=sent,
            options=options,
            kind="send",
            locate=self._locator(owner_id, otids),
        )

    _streams_by_default = False

    async def _send_async(
        self,
        route: str,
        *,
        body: Mapping[str, Any],
        options: RequestOptions,
        owner_id: str,
        cast_to: Any,
    ) -> Any:
        sent, otids = self._prepare_body(body)
        return await self._funnel.request(
            "POST",
            route,
            cast_to=cast_to,
            body=sent,
            options=options,
            kind="send",
            locate=self._locator(owner_id, otids),
        )

    async def _cancel_run(self, owner_id: str, run_id: str) -> Any:
        raise NotImplementedError

    async def _find_run_by_otid(self, owner_id: str, otids: list[str]) -> str | None:
        """Find the run our request started, by the otid we gave its message.

        The server stores the message (with our otid and its run_id) when the run starts;
        a few short retries cover the moment before that write lands.
        """
        wanted = set(otids)
        route = path(self._owner_template + "/messages", owner_id)
        for attempt in range(4):
            try:
                page = await self._get_api_list(
                    route,
                    page=_array_page(),
                    model=_message_union(),
                    options=make_request_options(query={"limit": 20, "order": "desc"}),
                    rule="message_history",
                )
            except APIStatusError:
                return None
            for item in page.items:
                if getattr(item, "otid", None) in wanted:
                    run_id = getattr(item, "run_id", None)
                    if isinstance(run_id, str):
                        return run_id
            await anyio.sleep(0.25 * (attempt + 1))
        return None


def _array_page() -> Any:
    from .._pagination import AsyncArrayPage

    return AsyncArrayPage


def _message_union() -> Any:
    from ..types import StreamEvent

    return StreamEvent


class AgentMessageSending(_Sending):
    """Sending to an agent: ``client.agents.messages``."""

    _owner_template = "/v1/agents/{agent_id}"
    _owner_filter = "agent_id"

    async def _cancel_run(self, owner_id: str, run_id: str) -> Any:
        return await self._funnel.request(
            "POST",
            path("/v1/agents/{agent_id}/messages/cancel", owner_id),
            cast_to=object,
            body={"run_ids": [run_id]},
        )

    def _unsent_stream(self, agent_id: str, **arguments: Any) -> MessageStream:
        """``stream(...)`` without its deprecation warning, for this package's own callers.

        The durable worker and the CLI need the stream before its request is sent (to
        set it up, or to hand it to a Ctrl-C handler), which ``await create(...,
        streaming=True)`` cannot give; the warning is meant for programs, not for them.
        """
        unwarned = inspect.unwrap(type(self).stream)  # type: ignore[attr-defined]
        stream: MessageStream = unwarned(self, agent_id, **arguments)
        return stream


class ConversationMessageSending(_Sending):
    """Sending within a conversation: ``client.conversations.messages``.

    The server streams a conversation's reply unless told ``streaming: false``, and the
    official SDK's ``create`` follows it: it returns a stream by default.
    """

    _owner_template = "/v1/conversations/{conversation_id}"
    _owner_filter = "conversation_id"
    _streams_by_default = True

    async def _cancel_run(self, owner_id: str, run_id: str) -> Any:
        return await self._funnel.request(
            "POST", path("/v1/conversations/{conversation_id}/cancel", owner_id), cast_to=object
        )

    def _follow_run(
        self,
        route: str,
        *,
        body: Mapping[str, Any],
        options: RequestOptions,
        resume: ResumeSettings | None = None,
    ) -> MessageStream:
        return _follow(self, route, body=body, options=options, resume=resume)


class StreamFollowing(APIResource):
    """Reading a run's stream again from any point (``runs.messages.stream``, and
    ``conversations.messages.stream`` for a conversation's current run)."""

    def _follow_run(
        self,
        route: str,
        *,
        body: Mapping[str, Any],
        options: RequestOptions,
        resume: ResumeSettings | None = None,
    ) -> MessageStream:
        return _follow(self, route, body=body, options=options, resume=resume)


class RunFollowing(APIResource):
    """``client.runs``: this client's ``stream`` (resume from a saved position) and ``wait``."""

    def stream(
        self,
        run_id: str,
        *,
        starting_after: int | None = None,
        include_pings: bool = True,
        poll_interval: float | None = None,
        batch_size: int | None = None,
        resume: ResumeSettings | None = None,
        errors_as_events: bool = False,
    ) -> MessageStream:
        """Follow a background run from after ``starting_after`` (its replay, then live).

        The explicit form for a process that restarts: persist ``stream.run_id`` and
        ``stream.last_seq_id`` as you go, and after a restart pass them here to carry on
        with no event lost or repeated. The stream resumes by itself after disconnects.
        ``client.runs.messages.stream(run_id, starting_after=...)`` is the official SDK's
        name for the same call.
        """
        body: dict[str, Any] = {
            "starting_after": starting_after if starting_after is not None else 0,
            "include_pings": include_pings,
        }
        if poll_interval is not None:
            body["poll_interval"] = poll_interval
        if batch_size is not None:
            body["batch_size"] = batch_size
        return _follow(
            self,
            path("/v1/runs/{run_id}/stream", run_id),
            body=body,
            options={},
            resume=resume,
            run_id=run_id,
            errors_as_events=errors_as_events,
        )

    async def wait(
        self, run_id: str, *, poll_interval: float = 1.0, timeout: float | None = None
    ) -> Run:
        """Poll until the run is completed, failed or cancelled, and return it.

        Raises :class:`APITimeoutError` when ``timeout`` seconds pass first.
        """
        from ..types import Run

        started = time.monotonic()
        with anyio.move_on_after(timeout) as scope:
            while True:
                run: Run = await self._get(path("/v1/runs/{run_id}", run_id), cast_to=Run)
                if run.status in _FINISHED:
                    return run
                await anyio.sleep(poll_interval)
        assert scope.cancelled_caught
        raise APITimeoutError(
            f"run {run_id} still not finished after {time.monotonic() - started:.1f}s"
        )


def _follow(
    resource: APIResource,
    route: str,
    *,
    body: Mapping[str, Any],
    options: RequestOptions,
    resume: ResumeSettings | None,
    run_id: str | None = None,
    errors_as_events: bool = False,
) -> MessageStream:
    """A stream over ``POST .../stream`` (a run's, or a conversation's current run)."""
    client = resource._client
    sent = strip_omitted(body)
    run_id = run_id or _run_id_of(route, sent)
    starting_after = sent.get("starting_after")
    settings = resume or client._resume
    include_pings = sent.get("include_pings")
    batch_size = sent.get("batch_size")
    if (include_pings is not None and include_pings != settings.include_pings) or (
        batch_size is not None
    ):
        settings = ResumeSettings(
            max_attempts=settings.max_attempts,
            initial_delay=settings.initial_delay,
            max_delay=settings.max_delay,
            include_pings=settings.include_pings if include_pings is None else include_pings,
            batch_size=batch_size,
            end_check_after=settings.end_check_after,
            end_check_max_interval=settings.end_check_max_interval,
        )
    funnel = resource._funnel
    transport = resource._transport

    async def opener(stream: MessageStream) -> aiohttp.ClientResponse:
        # Replaying a run's stream changes nothing on the server: retried like a GET.
        prepared = funnel.prepare(
            "POST", route, body=sent, options=options, stream=True, kind="read"
        )
        prepared.omit_user_agent = True
        prepared.trace = stream._trace
        return await transport.open_stream(prepared)

    async def canceller(target: str) -> Any:
        from ..types import Run

        run: Run = await funnel.request("GET", path("/v1/runs/{run_id}", target), cast_to=Run)
        if run.agent_id is None:
            raise RuntimeError(f"run {target} has no agent to cancel through")
        return await funnel.request(
            "POST",
            path("/v1/agents/{agent_id}/messages/cancel", run.agent_id),
            cast_to=object,
            body={"run_ids": [target]},
        )

    return MessageStream(
        transport,
        opener,
        background=True,
        run_id=run_id,
        starting_after=starting_after if isinstance(starting_after, int) else None,
        poll_interval=sent.get("poll_interval"),
        resume=settings,
        canceller=canceller,
        errors_as_events=errors_as_events,
        follows=True,
        origin=StreamOrigin("POST", route, conversation_id=_conversation_of(route), sends=False),
    )


def _conversation_of(route: str) -> str | None:
    """The conversation a ``/v1/conversations/{id}/stream`` route follows, if it is one."""
    parts = route.split("/")
    if len(parts) >= 4 and parts[2] == "conversations":
        from urllib.parse import unquote

        return unquote(parts[3])
    return None


def _run_id_of(route: str, body: Mapping[str, Any]) -> str | None:
    """The run a ``/v1/runs/{id}/stream`` route (or a body's ``run_id``) names."""
    run_id = body.get("run_id")
    if isinstance(run_id, str):
        return run_id
    parts = route.split("/")
    if len(parts) >= 4 and parts[2] == "runs":
        from urllib.parse import unquote

        return unquote(parts[3])
    return None


class BatchSending(APIResource):
    """Submitting message batches: ``client.batches.create``."""

    async def create(
        self,
        *,
        requests: Sequence[Mapping[str, Any] | msgspec.Struct],
        callback_url: str | Omit | None = omit,
        extra_headers: Mapping[str, str | Omit] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: object | None = None,
        timeout: float | Timeout | TimeoutLike | NotGiven | None = not_given,
    ) -> Any:
        """Submit one request per agent; ``callback_url`` is POSTed the job when it finishes.

        Each request's messages get ``otid``s, as single sends do.
        """
        from ..types._spec import BatchJob

        prepared = []
        for item in requests:
            if isinstance(item, msgspec.Struct):
                item = msgspec.to_builtins(item)
            entry = dict(item)
            if "messages" in entry:
                entry["messages"], _ = with_otids(entry["messages"])
            prepared.append(entry)
        return await self._funnel.request(
            "POST",
            "/v1/messages/batches",
            cast_to=BatchJob,
            body={"requests": prepared, "callback_url": callback_url},
            options=make_request_options(
                extra_headers=extra_headers,
                extra_query=extra_query,
                extra_body=extra_body,
                timeout=timeout,
            ),
        )


class Uploading(APIResource):
    """``multipart/form-data`` uploads (folder files, agent files)."""

    async def _upload(
        self,
        route: str,
        *,
        form: Mapping[str, Any],
        body: Mapping[str, Any] | None = None,
        options: RequestOptions,
        cast_to: Any,
    ) -> Any:
        from ._upload import encode_multipart

        fields = strip_omitted(form)
        file = fields.pop("file")
        if route == "/v1/agents/import":
            default_name = "agent.af"  # ``name`` there is the new agent's, not the file's
        else:
            default_name = str(fields.get("name") or "upload")
        named = await read_file(file, default_name=default_name)
        content, content_type = encode_multipart(fields, {"file": named})
        return await self._funnel.request(
            "POST",
            route,
            cast_to=cast_to,
            options=options,
            content=content,
            content_type=content_type,
        )
