"""The send-once rule, request by request, against the local Letta-compatible server.

Each test counts what the server really received and stored: how many POSTs, how many runs,
which ``otid`` each carried. The rule itself is in ``letta_async/_retry.py``; the README's
"Retries: what is sent again" section is the same table in prose.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from letta_async import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncLetta,
    ConflictError,
    InternalServerError,
    RateLimitError,
    ResumeSettings,
    StreamResumeError,
    Timeout,
)
from letta_async._retry import decide, kind_of, verdict
from letta_async.testing import Fault, LettaTestServer

pytestmark = pytest.mark.anyio

SEND = r"/v1/agents/[^/]+/messages$"


def say(text: str, **extra: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text, **extra}]


@pytest.fixture
async def server() -> AsyncIterator[LettaTestServer]:
    async with LettaTestServer(keepalive_interval=0.05, shutdown_timeout=0.2) as s:
        yield s


@pytest.fixture
async def client(server: LettaTestServer) -> AsyncIterator[AsyncLetta]:
    async with AsyncLetta(base_url=server.base_url, max_retries=2) as c:
        # No waiting between attempts: the tests count requests, not seconds.
        c._transport.retry = type(c._transport.retry)(initial_delay=0.0, max_delay=0.0)
        yield c


@pytest.fixture
def agent_id(server: LettaTestServer) -> str:
    return str(server.create_agent(name="send-once")["id"])


def posts(server: LettaTestServer, pattern: str = SEND) -> list[Any]:
    return server.requests_to(pattern, "POST")


# --- a message send whose agent step ran ----------------------------------------------------


async def test_llm_500_on_a_blocking_create_runs_the_agent_once(
    server: LettaTestServer, client: AsyncLetta, agent_id: str
) -> None:
    with pytest.raises(InternalServerError) as caught:
        await client.agents.messages.create(agent_id, messages=say("hi [error500]"))
    error = caught.value
    assert len(posts(server)) == 1
    assert len(server.state.runs) == 1
    (run,) = server.state.runs.values()
    assert (error.run_exists, error.run_id, error.run_status) == (True, run.id, "failed")
    assert error.may_have_applied is True
    assert str(error) == (
        f"{error.message} [not sent again: the server holds run {run.id} for this message "
        "(status failed, found by its message's otid)]"
    )
    assert "not sent again" not in error.message, "the official text stays as it is"


async def test_a_run_whose_status_the_server_leaves_out_is_said_to_be_of_unknown_status(
    server: LettaTestServer, client: AsyncLetta, agent_id: str
) -> None:
    """The run is found by the message's otid, but the server's answer about it carries no
    ``status`` (the field is optional in the API): the error says so instead of inventing one."""
    server.faults.add(Fault(method="GET", path=r"/v1/runs/[^/]+$", body={"id": "run-x"}))
    with pytest.raises(InternalServerError) as caught:
        await client.agents.messages.create(agent_id, messages=say("hi [error500]"))
    (run,) = server.state.runs.values()
    assert caught.value.run_exists is True and caught.value.run_status is None
    assert str(caught.value).endswith(
        f" [not sent again: the server holds run {run.id} for this message "
        "(status unknown, found by its message's otid)]"
    )


async def test_run_found_by_time_when_the_history_has_no_message(
    server: LettaTestServer, client: AsyncLetta, agent_id: str
) -> None:
    """Letta stores the input only after a successful step: the run list must answer.

    An earlier run of the same agent, finished more than a second before the send, is not
    taken for this one; the failing run takes over a second, so only a window that starts
    at the send (not at its answer) finds it.
    """
    await client.agents.messages.create(agent_id, messages=say("hi"))
    (earlier,) = server.state.runs
    await anyio.sleep(1.1)
    server.faults.add(Fault(method="GET", path=r"/messages$", body=[], times=None))
    with pytest.raises(InternalServerError) as caught:
        await client.agents.messages.create(agent_id, messages=say("hi [delay=1.1] [error500]"))
    (run,) = [r for r in server.state.runs.values() if r.id != earlier]
    assert caught.value.run_exists is True and caught.value.run_id == run.id
    assert "runs started since it was sent" in str(caught.value)
    assert "other runs" not in str(caught.value)
    assert len(posts(server)) == 2


async def _first_run(server: LettaTestServer) -> str:
    """The id of the first run the server started, as soon as there is one."""
    with anyio.fail_after(10):
        while not server.state.runs:
            await anyio.sleep(0.01)
    return next(iter(server.state.runs))


async def _send_failing_beside(
    server: LettaTestServer, client: AsyncLetta, agent_id: str, others: list[str]
) -> tuple[str, InternalServerError]:
    """Our send's run fails (its message is not in the history), and while it runs another
    client sends ``others`` to the same agent, one after the other. Returns our run's id and
    the error our send raised."""
    server.faults.add(Fault(method="GET", path=r"/messages$", body=[], times=None))
    failures: list[InternalServerError] = []

    async def ours() -> None:
        try:
            await client.agents.messages.create(agent_id, messages=say("hi [delay=1] [error500]"))
        except InternalServerError as exc:
            failures.append(exc)

    async with AsyncLetta(base_url=server.base_url) as other, anyio.create_task_group() as tg:
        tg.start_soon(ours)
        mine = await _first_run(server)
        for text in others:
            await other.agents.messages.create(agent_id, messages=say(text))
    (error,) = failures
    return mine, error


async def test_with_two_senders_a_failed_send_is_told_of_its_own_run(
    server: LettaTestServer, client: AsyncLetta, agent_id: str
) -> None:
    """While our send's run is failing, another client starts a run on the same agent. Both
    started after our send; ours is the first of them, and the other is named as such."""
    mine, error = await _send_failing_beside(server, client, agent_id, ["someone else's"])
    (theirs,) = [run for run in server.state.runs if run != mine]
    assert error.run_exists is True and error.run_id == mine
    assert f"other runs started meanwhile: {theirs}" in str(error)
    assert len(posts(server)) == 2  # ours once, theirs once


async def test_a_failed_send_names_every_run_that_started_meanwhile(
    server: LettaTestServer, client: AsyncLetta, agent_id: str
) -> None:
    """Two other clients' runs start while ours is failing: the error text names ours as the
    run it holds, with its status, and lists the other two, oldest first, after it."""
    mine, error = await _send_failing_beside(
        server, client, agent_id, ["someone else's", "and another"]
    )
    first, second = [run for run in server.state.runs if run != mine]
    assert str(error).endswith(
        f" [not sent again: the server holds run {mine} for this message (status failed, "
        f"found by the runs started since it was sent); other runs started meanwhile: "
        f"{first}, {second}]"
    )


async def test_with_two_senders_a_stream_cut_before_its_run_was_named_resumes_its_own(
    server: LettaTestServer, client: AsyncLetta, agent_id: str
) -> None:
    """The first connection breaks before any frame names the run, and the history does not
    show our message; meanwhile another client starts a run on the same agent. The stream
    must resume the run its own send started, not the newest one."""
    route = r"/v1/agents/[^/]+/messages/stream$"
    server.faults.add(Fault(method="POST", path=route, cut="after_headers"))
    server.faults.add(Fault(method="GET", path=r"/messages$", body=[], times=None))
    stream = client.agents.messages.stream(
        agent_id, messages=say("hi [tokens=6] [chunkdelay=0.05]"), background=True
    )
    async with AsyncLetta(base_url=server.base_url) as other, anyio.create_task_group() as tg:
        tg.start_soon(stream.__aenter__)
        mine = await _first_run(server)
        await other.agents.messages.create(agent_id, messages=say("someone else's"))
    with anyio.fail_after(20):
        events = await stream.until_done()
    assert stream.run_id == mine
    assert len(server.state.runs) == 2
    logged = [
        json.loads(line[len("data: ") :])["message_type"]
        for frame in server.state.runs[mine].frames
        for line in frame.data.decode().splitlines()
        if line.startswith("data: {")
    ]
    assert [e.message_type for e in events if e.message_type != "ping"] == [
        kind for kind in logged if kind != "ping"
    ]
    assert stream.completed and stream.stop_reason == "end_turn"


async def test_conversation_send_with_llm_500_runs_once(
    server: LettaTestServer, client: AsyncLetta, agent_id: str
) -> None:
    conversation = server.create_conversation(agent_id)
    # As on a real server, the failed run's message is not in the history: the run list of
    # the conversation has to answer.
    server.faults.add(Fault(method="GET", path=r"/messages$", body=[], times=None))
    with pytest.raises(InternalServerError) as caught:
        await client.conversations.messages.create(
            conversation["id"], messages=say("hi [error500]"), streaming=False
        )
    assert len(server.state.runs) == 1
    assert caught.value.run_exists is True
    assert len(posts(server, r"/v1/conversations/[^/]+/messages$")) == 1


async def test_when_the_server_cannot_be_asked_nothing_is_sent_again(
    server: LettaTestServer, client: AsyncLetta, agent_id: str
) -> None:
    server.faults.add(Fault.http_status(502, method="POST", path=SEND))
    server.faults.add(Fault.http_status(500, method="GET", path=r"/messages$", times=None))
    with pytest.raises(InternalServerError) as caught:
        await client.agents.messages.create(agent_id, messages=say("hi"))
    assert caught.value.status_code == 502
    assert caught.value.run_exists is None and caught.value.may_have_applied is True
    assert str(caught.value).endswith(
        " [not sent again: could not ask the server whether it started a run for this "
        "message; look before sending it again]"
    )
    assert len(posts(server)) == 1


async def test_a_send_that_never_started_a_run_is_sent_until_retries_run_out_then_says_so(
    server: LettaTestServer, client: AsyncLetta, agent_id: str
) -> None:
    """A gateway answers 502 to every attempt before the server acts: each time the server is
    asked, holds no run, and the message goes again (the client allows two retries). The last
    error says that the server holds no run for it."""
    server.faults.add(Fault.html(502, method="POST", path=SEND, times=None))
    with pytest.raises(InternalServerError) as caught:
        await client.agents.messages.create(agent_id, messages=say("hi"))
    assert caught.value.status_code == 502
    assert caught.value.run_exists is False and caught.value.may_have_applied is False
    assert str(caught.value).endswith(" [not sent again: the server holds no run for this message]")
    assert len(posts(server)) == 3 and not server.state.runs


async def test_a_gateway_500_before_the_server_acted_is_sent_again_with_the_same_otid(
    server: LettaTestServer, client: AsyncLetta, agent_id: str
) -> None:
    """The server holds no run for the message, so sending it again cannot duplicate one."""
    server.faults.add(Fault.html(502, method="POST", path=SEND))
    reply = await client.agents.messages.create(agent_id, messages=say("hi"))
    assert reply.stop_reason.stop_reason == "end_turn"
    sent = posts(server)
    assert len(sent) == 2 and len(server.state.runs) == 1
    otids = [r.json["messages"][0]["otid"] for r in sent]
    assert otids[0] == otids[1]
    # Asked before sending again: history by otid, then the runs since the send.
    assert server.requests_to(r"/v1/runs/$", "GET")


async def test_a_cut_before_the_answer_asks_first_then_sends_again(
    server: LettaTestServer, client: AsyncLetta, agent_id: str
) -> None:
    server.faults.add(Fault(method="POST", path=SEND, cut="before_headers"))
    reply = await client.agents.messages.create(agent_id, messages=say("hi"))
    assert reply.messages
    assert len(posts(server)) == 2 and len(server.state.runs) == 1
    # The connection was made, so the request may have arrived: asked before re-sending.
    order = [(r.method, r.path) for r in server.requests]
    second_post = [i for i, (m, p) in enumerate(order) if m == "POST"][1]
    assert ("GET", "/v1/runs/") in order[:second_post]


async def test_a_foreground_stream_refused_before_its_first_byte_asks_first(
    server: LettaTestServer, client: AsyncLetta, agent_id: str
) -> None:
    route = r"/v1/agents/[^/]+/messages/stream$"
    server.faults.add(Fault.http_status(500, method="POST", path=route))
    events = await client.agents.messages.stream(agent_id, messages=say("hi")).until_done()
    assert events and len(posts(server, route)) == 2
    assert len(server.state.runs) == 1


async def test_create_async_is_not_sent_twice_when_its_run_exists(
    server: LettaTestServer, client: AsyncLetta, agent_id: str
) -> None:
    """The run was started, the answer lost: asking finds it, nothing is re-sent."""
    route = r"/messages/async$"
    server.faults.add(Fault(method="POST", path=route, cut="after_headers"))
    with pytest.raises(APIConnectionError) as caught:
        await client.agents.messages.create_async(agent_id, messages=say("hi [delay=0.3]"))
    (run,) = server.state.runs.values()
    assert caught.value.run_exists is True and caught.value.run_id == run.id
    assert len(posts(server, route)) == 1


async def test_a_429_is_sent_again_without_asking(
    server: LettaTestServer, client: AsyncLetta, agent_id: str
) -> None:
    server.faults.add(Fault.http_status(429, method="POST", path=SEND, retry_after=0))
    await client.agents.messages.create(agent_id, messages=say("hi"))
    assert len(posts(server)) == 2
    assert not server.requests_to(r"/v1/runs/$", "GET")


async def test_a_gateway_503_with_retry_after_is_sent_again(
    server: LettaTestServer, client: AsyncLetta, agent_id: str
) -> None:
    server.faults.add(Fault.http_status(503, method="POST", path=SEND, retry_after=0))
    await client.agents.messages.create(agent_id, messages=say("hi"))
    assert len(posts(server)) == 2 and len(server.state.runs) == 1


async def test_a_callers_otid_reaches_the_wire_unchanged(
    server: LettaTestServer, client: AsyncLetta, agent_id: str
) -> None:
    mine = "11111111-2222-4333-8444-555555555555"
    await client.agents.messages.create(agent_id, messages=say("hi", otid=mine))
    await client.agents.messages.stream(agent_id, messages=say("hi", otid=mine)).until_done()
    bodies = [r.json for r in server.requests if r.method == "POST" and r.json]
    assert [b["messages"][0]["otid"] for b in bodies] == [mine, mine]


# --- statuses a retry cannot fix ---------------------------------------------------------------


@pytest.mark.parametrize("status", [501, 505, 400, 404, 409, 422])
async def test_a_status_that_cannot_succeed_is_not_retried(
    server: LettaTestServer, client: AsyncLetta, status: int
) -> None:
    server.faults.add(Fault.http_status(status, method="GET", path=r"/v1/tags/?$"))
    with pytest.raises(Exception) as caught:
        await client.tags.list()
    assert getattr(caught.value, "status_code", None) == status
    assert len(server.requests_to(r"/v1/tags/?$", "GET")) == 1


async def test_no_redis_503_is_raised_at_once(server: LettaTestServer, agent_id: str) -> None:
    server.redis = False
    async with AsyncLetta(base_url=server.base_url) as client:
        with pytest.raises(InternalServerError) as caught:
            await client.agents.messages.stream(agent_id, messages=say("hi"), background=True)
    assert caught.value.status_code == 503
    assert len(posts(server, r"/messages/stream$")) == 1


# --- the other kinds ---------------------------------------------------------------------------


async def test_reads_are_retried_on_a_500(server: LettaTestServer, client: AsyncLetta) -> None:
    server.faults.add(Fault.http_status(500, method="GET", path=r"/v1/tags/?$", times=2))
    assert await client.tags.list() is not None
    assert len(server.requests_to(r"/v1/tags/?$", "GET")) == 3


SEARCHES: dict[str, Callable[[AsyncLetta], Awaitable[Any]]] = {
    "/v1/tools/search": lambda c: c.tools.search(query="x"),
    "/v1/agents/messages/search": lambda c: c.agents.messages.search(query="x"),
    "/v1/messages/search": lambda c: c.messages.search(query="x"),
    "/v1/passages/search": lambda c: c.passages.search(query="x"),
}


def test_every_search_of_the_api_is_covered_below() -> None:
    """The searches are the POST operations the server's OpenAPI document calls "Search ..."
    (the document the real server published, copied into the fixtures)."""
    spec = json.loads((Path(__file__).parent / "fixtures" / "openapi.json").read_bytes())
    searches = {
        route
        for route, operations in spec["paths"].items()
        if operations.get("post", {}).get("summary", "").startswith("Search")
    }
    assert searches == set(SEARCHES)


@pytest.mark.parametrize("route", sorted(SEARCHES))
async def test_a_search_is_retried_after_a_500_like_a_get(
    server: LettaTestServer, client: AsyncLetta, route: str
) -> None:
    """A search is a POST that creates nothing: a 500 is no reason to give up on it."""
    pattern = route + "$"
    server.faults.add(Fault.http_status(500, method="POST", path=pattern))
    # The local server has no search routes: the retry is answered with a final 400 instead.
    server.faults.add(Fault.http_status(400, method="POST", path=pattern))
    with pytest.raises(APIStatusError) as caught:
        await SEARCHES[route](client)
    assert caught.value.status_code == 400
    assert len(server.requests_to(pattern, "POST")) == 2


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_idempotent_methods_are_retried_on_a_500(
    server: LettaTestServer, client: AsyncLetta, agent_id: str, method: str
) -> None:
    route = rf"/v1/agents/{agent_id}/?$"
    server.faults.add(Fault.http_status(500, method=method, path=route))
    if method == "PATCH":
        await client.agents.update(agent_id, name="renamed")
    else:
        await client.agents.delete(agent_id)
    assert len(server.requests_to(route, method)) == 2


async def test_a_creating_post_is_not_sent_twice_after_a_500(
    server: LettaTestServer, client: AsyncLetta
) -> None:
    server.faults.add(Fault.http_status(500, method="POST", path=r"/v1/agents/?$"))
    with pytest.raises(InternalServerError) as caught:
        await client.agents.create(name="one", model="openai/gpt-4o-mini")
    assert caught.value.may_have_applied is True
    assert str(caught.value).endswith(
        " [not sent again: a POST that creates something may already have been carried out; "
        "check before sending it again]"
    )
    assert len(server.requests_to(r"/v1/agents/?$", "POST")) == 1


async def test_a_read_whose_answer_is_malformed_is_not_sent_again(
    server: LettaTestServer, client: AsyncLetta, agent_id: str
) -> None:
    """A body that is not what the API says (an HTML page with status 200) will be the same
    on the next attempt: the error is raised after one request, although reads are retried."""
    route = rf"/v1/agents/{agent_id}$"
    server.faults.add(Fault(method="GET", path=route, body="<html>maintenance</html>", times=None))
    with pytest.raises(APIResponseValidationError):
        await client.agents.retrieve(agent_id)
    assert len(server.requests_to(route, "GET")) == 1
    # The same for a stream answered with a page instead of events (a replay is a read).
    stream_route = r"/v1/runs/[^/]+/stream$"
    page = Fault(
        method="POST", path=stream_route, status=200, body="<html>maintenance</html>",
        content_type="text/html", times=None,
    )  # fmt: skip
    server.faults.add(page)
    with pytest.raises(APIResponseValidationError, match="expected an event stream"):
        async for _ in client.runs.stream("run-00000000-0000-4000-8000-000000000001"):
            pass
    assert len(server.requests_to(stream_route, "POST")) == 1


async def test_a_creating_post_is_not_sent_twice_after_a_timeout(server: LettaTestServer) -> None:
    server.faults.add(Fault(method="POST", path=r"/v1/agents/?$", delay=0.5))
    async with AsyncLetta(base_url=server.base_url, timeout=Timeout(read=0.1)) as client:
        with pytest.raises(APITimeoutError) as caught:
            await client.agents.create(name="one", model="openai/gpt-4o-mini")
    assert caught.value.may_have_applied is True and not caught.value.connect_failed
    assert len(server.requests_to(r"/v1/agents/?$", "POST")) == 1


async def test_a_creating_post_is_sent_again_after_a_429(
    server: LettaTestServer, client: AsyncLetta
) -> None:
    server.faults.add(Fault.http_status(429, method="POST", path=r"/v1/agents/?$", retry_after=0))
    await client.agents.create(name="one", model="openai/gpt-4o-mini")
    assert len(server.requests_to(r"/v1/agents/?$", "POST")) == 2


async def test_a_batch_is_not_sent_twice_after_a_500(
    server: LettaTestServer, client: AsyncLetta, agent_id: str
) -> None:
    server.faults.add(Fault.http_status(500, method="POST", path=r"/v1/messages/batches$"))
    with pytest.raises(InternalServerError):
        await client.batches.create(requests=[{"agent_id": agent_id, "messages": say("hi")}])
    assert len(server.requests_to(r"/v1/messages/batches$", "POST")) == 1


async def test_a_refused_connection_is_known_not_to_have_reached_a_server() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with AsyncLetta(base_url=f"http://127.0.0.1:{port}", max_retries=0) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.agents.create(name="x")
    assert caught.value.connect_failed is True
    assert verdict(caught.value) == "unsent"
    assert caught.value.may_have_applied is None


def test_the_rule_table() -> None:
    """Every row of the README table, as the function that decides it."""
    assert [kind_of(m) for m in ("GET", "PUT", "PATCH", "DELETE", "POST")] == [
        "read",
        "idempotent",
        "idempotent",
        "idempotent",
        "create",
    ]
    # HTTP's other safe methods change nothing either, in whatever case they are written.
    assert [kind_of(m) for m in ("HEAD", "OPTIONS", "head", "options")] == ["read"] * 4
    for kind in ("read", "idempotent", "create", "send"):
        assert decide(kind, "final", can_ask=True) == "raise"
        assert decide(kind, "unsent", can_ask=True) == "retry"
    for found in ("answered", "pending"):
        assert decide("read", found, can_ask=False) == "retry"
        assert decide("idempotent", found, can_ask=False) == "retry"
        assert decide("create", found, can_ask=True) == "raise"
        assert decide("send", found, can_ask=True) == "ask"
        assert decide("send", found, can_ask=False) == "raise"


def test_verdicts_of_statuses() -> None:
    def status(code: int, **headers: str) -> Any:
        cls = {409: ConflictError, 429: RateLimitError}.get(code, InternalServerError)
        return cls("x", status_code=code, headers=headers)

    assert verdict(status(429)) == "unsent"
    assert verdict(status(409)) == "final"
    assert verdict(status(503, **{"Retry-After": "1"})) == "unsent"
    assert verdict(status(503)) == "answered"
    assert verdict(status(500)) == "answered"
    assert verdict(status(502)) == "answered"
    assert verdict(status(504)) == "pending"
    assert verdict(status(501)) == "final"
    assert verdict(status(505)) == "final"
    no_redis = InternalServerError(
        "x", status_code=503, body={"detail": "Background streaming requires Redis"}
    )
    assert verdict(no_redis) == "final"


async def test_a_background_stream_never_reaching_the_server_gives_up_naming_the_cause(
    server: LettaTestServer, agent_id: str
) -> None:
    """Every send of a background stream is cut before an answer, and the server never saw
    one: the stream sends it again a bounded number of times, then fails with the reason it gave up,
    the last connection failure chained as its cause (what a caller logs or inspects)."""
    route = r"/v1/agents/[^/]+/messages/stream$"
    server.faults.add(Fault(method="POST", path=route, cut="before_headers", times=None))
    settings = ResumeSettings(max_attempts=1, initial_delay=0.0, max_delay=0.0)
    async with AsyncLetta(base_url=server.base_url, max_retries=0, resume=settings) as c:
        stream = c.agents.messages.stream(agent_id, messages=say("hi"), background=True)
        with pytest.raises(StreamResumeError) as caught:
            await stream.until_done()
    error = caught.value
    assert isinstance(error.__cause__, APIConnectionError)
    assert "Gave up resuming after 1 attempts: " in str(error)
    assert str(error.__cause__) in str(error)
    # Nothing ran: every send was cut before the server acted on it.
    assert not server.state.runs
    assert len(posts(server, route)) == 2


# --- finding the run a cut stream started, by its otid --------------------------------------

STREAM = r"/v1/agents/[^/]+/messages/stream$"
HISTORY = r"/v1/agents/[^/]+/messages$"


class _NapLog:
    """``anyio`` as the sending module sees it: its otid lookup's naps are noted, not taken."""

    def __init__(self) -> None:
        self.naps: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(anyio, name)

    async def sleep(self, seconds: float) -> None:
        if "_find_run_by_otid" in sys._getframe(1).f_code.co_name:
            self.naps.append(seconds)
            seconds = 0
        await anyio.sleep(seconds)


async def test_a_cut_stream_reads_the_latest_twenty_messages_four_times_for_its_otid(
    server: LettaTestServer, client: AsyncLetta, agent_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before its run is named the connection breaks; the history never shows the message.
    The stream asks for the newest page of history (20, newest first) four times, waiting a
    quarter second longer each time for the server to store the message, then finds the
    run by when it started."""
    from letta_async.resources import _sending

    log = _NapLog()
    monkeypatch.setattr(_sending, "anyio", log)
    server.faults.add(Fault(method="POST", path=STREAM, cut="after_headers"))
    server.faults.add(Fault(method="GET", path=HISTORY, body=[], times=None))
    stream = client.agents.messages.stream(agent_id, messages=say("hi [tokens=3]"), background=True)
    with anyio.fail_after(20):
        await stream.until_done()
    assert [r.query for r in server.requests_to(HISTORY, "GET")] == [
        {"limit": "20", "order": "desc"}
    ] * 4
    assert log.naps[:3] == [0.25, 0.5, 0.75]
    assert stream.run_id == next(iter(server.state.runs)) and stream.completed


async def test_a_cut_stream_finds_its_run_by_otid_once_the_history_shows_it(
    server: LettaTestServer, client: AsyncLetta, agent_id: str
) -> None:
    """The history shows nothing on the first two looks, then the message with our otid and
    its run: that run is resumed, found without asking which runs started meanwhile."""
    server.faults.add(Fault(method="POST", path=STREAM, cut="after_headers"))
    server.faults.add(Fault(method="GET", path=HISTORY, body=[], times=2))
    stream = client.agents.messages.stream(
        agent_id, messages=say("hi [tokens=3]", otid="otid-mine-1"), background=True
    )
    with anyio.fail_after(20):
        events = await stream.until_done()
    mine = next(iter(server.state.runs))
    assert stream.run_id == mine and stream.completed
    assert len(server.requests_to(HISTORY, "GET")) == 3
    assert server.requests_to(r"/v1/runs/?$", "GET") == []
    assert [e.message_type for e in events if e.message_type != "ping"][-1] == "usage_statistics"


async def test_a_message_kind_this_client_does_not_know_does_not_stop_the_otid_lookup(
    server: LettaTestServer, client: AsyncLetta, agent_id: str
) -> None:
    """A newer server may keep kinds of message this client has no type for; they carry no
    otid here, and the lookup reads past them to the next look at the history."""
    server.faults.add(Fault(method="POST", path=STREAM, cut="after_headers"))
    newer = {"id": "message-later", "message_type": "a_later_kind", "date": "2026-12-01T00:00:00Z"}
    server.faults.add(Fault(method="GET", path=HISTORY, body=[newer], times=1))
    stream = client.agents.messages.stream(agent_id, messages=say("hi [tokens=3]"), background=True)
    with anyio.fail_after(20):
        await stream.until_done()
    assert stream.run_id == next(iter(server.state.runs)) and stream.completed
    assert len(server.requests_to(HISTORY, "GET")) == 2
    assert server.requests_to(r"/v1/runs/?$", "GET") == []
