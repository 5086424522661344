"""The sync client ``Letta`` against ``letta_async.testing``: calls, pages, streams, raw
responses, and its one event loop thread (threads, fork, Ctrl-C, close and collection)."""

from __future__ import annotations

import functools
import gc
import inspect
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

import letta_async
from letta_async import (
    APIResponse,
    AsyncLetta,
    Letta,
    NotFoundError,
    ResumeSettings,
    Stream,
    SyncArrayPage,
    SyncMessageStream,
    Timeout,
)
from letta_async.testing import BackgroundLettaServer, Fault
from letta_async.types import AgentState, AssistantMessage, LettaResponse

LOOP_THREAD = "letta-sync"


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundLettaServer]:
    with BackgroundLettaServer(keepalive_interval=0.05) as s:
        yield s


@pytest.fixture
def client(server: BackgroundLettaServer) -> Iterator[Letta]:
    settings = ResumeSettings(initial_delay=0.01, max_delay=0.05)
    with Letta(server.base_url, timeout=Timeout(stream_idle=2, request=5), resume=settings) as c:
        yield c
    assert c.is_closed()


def say(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == LOOP_THREAD]


# --- calls, pages, streams -------------------------------------------------------------------


def test_calls_return_what_the_async_client_returns(client: Letta) -> None:
    agent = client.agents.create(name="sync-a", model="openai-proxy/fake", embedding="e")
    assert isinstance(agent, AgentState)
    assert client.agents.retrieve(agent.id).name == "sync-a"
    with pytest.raises(NotFoundError):
        client.agents.retrieve("agent-00000000-0000-4000-8000-000000000000")
    with pytest.raises(ValueError, match="non-empty value for `agent_id`"):
        client.agents.retrieve("")
    reply = client.agents.messages.create(agent.id, messages=say("hello"))
    assert isinstance(reply, LettaResponse)
    assert any(isinstance(m, AssistantMessage) for m in reply.messages)
    client.agents.delete(agent.id)


def test_pages_iterate_across_pages(server: BackgroundLettaServer, client: Letta) -> None:
    names = {server.create_agent(name=f"page-{i}")["name"] for i in range(5)}
    page = client.agents.list(limit=2)
    assert isinstance(page, SyncArrayPage)
    assert len(page.items) == 2 and page.has_next_page()
    walked = [a.name for a in client.agents.list(limit=2)]
    assert names <= set(walked) and len(walked) == len(set(walked))
    pages = list(client.agents.list(limit=2).iter_pages())
    assert len(pages) >= 3 and all(isinstance(p, SyncArrayPage) for p in pages)
    assert pages[1].items[0].id == page.get_next_page().items[0].id


def test_stream_hands_out_every_event_in_order_with_progress(
    server: BackgroundLettaServer, client: Letta
) -> None:
    agent = server.create_agent(name="stream")
    stream = client.agents.messages.stream(
        agent["id"], messages=say("hi [tokens=40]"), stream_tokens=True, background=True
    )
    assert isinstance(stream, Stream) and isinstance(stream, SyncMessageStream)
    seqs = []
    with stream:
        for event in stream:
            seq = getattr(event, "seq_id", None)
            if seq is not None:
                seqs.append(seq)
                assert stream.last_seq_id == seq, "progress moves per event, not per read"
    assert seqs == list(range(1, len(seqs) + 1))
    assert stream.stop_reason == "end_turn" and stream.completed
    replay = client.runs.stream(stream.run_id or "", starting_after=0).until_done()
    assert [e.seq_id for e in replay if getattr(e, "seq_id", None)] == seqs  # type: ignore[union-attr]


def test_stream_resumes_after_a_cut(server: BackgroundLettaServer, client: Letta) -> None:
    agent = server.create_agent(name="cut")
    server.faults.add(Fault(path=r"/messages/stream$", cut="after_frames", frames=3))
    stream = client.agents.messages.stream(
        agent["id"], messages=say("hi [tool] [tokens=20]"), stream_tokens=True, background=True
    )
    events = list(stream)
    assert stream.resumes == 1
    seqs = [e.seq_id for e in events if getattr(e, "seq_id", None) is not None]  # type: ignore[union-attr]
    assert seqs == list(range(1, len(seqs) + 1))


def test_stream_takes_a_read_per_hop_and_reads_only_a_few_reads_ahead(
    server: BackgroundLettaServer, client: Letta
) -> None:
    from letta_async._bridge import Pump
    from letta_async._sync_stream import _AHEAD

    agent = server.create_agent(name="batch")
    takes = 0
    take = Pump.take

    def counting(self: Pump, timeout: float | None = None) -> object:
        nonlocal takes
        takes += 1
        return take(self, timeout)

    Pump.take = counting  # type: ignore[method-assign]
    try:
        events = []
        stream = client.agents.messages.stream(
            agent["id"], messages=say("hi [tokens=300]"), stream_tokens=True
        )
        for event in stream:
            events.append(event)
            # A consumer a little slower than the network, so events are ready when it asks:
            # then each hop must bring several (how many a busy machine's reads carry varies).
            time.sleep(0.0005)
    finally:
        Pump.take = take  # type: ignore[method-assign]
    assert len(events) > 300
    assert takes < len(events) / 3, f"{takes} takes for {len(events)} events"

    slow = client.agents.messages.stream(
        agent["id"], messages=say("hi [tokens=2000]"), stream_tokens=True
    )
    with slow:
        next(slow)
        time.sleep(0.5)  # a consumer slower than the server
        pump = slow._pump
        assert pump is not None
        assert len(pump.items) <= _AHEAD, "the task stops reading when it is that far ahead"
        rest = sum(1 for _ in slow)
    assert rest > 2000


def test_cancel_stops_the_run(server: BackgroundLettaServer, client: Letta) -> None:
    agent = server.create_agent(name="cancel")
    stream = client.agents.messages.stream(
        agent["id"],
        messages=say("hi [tokens=500] [chunkdelay=0.01]"),
        stream_tokens=True,
        background=True,
    )
    next(stream)
    stream.cancel(wait=5)
    assert stream.stop_reason == "cancelled"
    assert client.runs.retrieve(stream.run_id or "").status == "cancelled"


def test_raw_and_streaming_responses(server: BackgroundLettaServer, client: Letta) -> None:
    agent = server.create_agent(name="raw")
    raw = client.agents.with_raw_response.retrieve(agent["id"])
    assert isinstance(raw, APIResponse)
    assert raw.status_code == 200 and raw.headers["content-type"].startswith("application/json")
    assert raw.parse().name == "raw"
    page = client.with_raw_response.agents.list(limit=1).parse()
    assert isinstance(page, SyncArrayPage)
    with client.agents.with_streaming_response.retrieve(agent["id"]) as response:
        assert response.json()["id"] == agent["id"]
    assert response.is_closed


def test_copy_shares_the_loop_and_any_route(server: BackgroundLettaServer, client: Letta) -> None:
    agent = server.create_agent(name="copy")
    copy = client.with_options(max_retries=0, default_headers={"X-Test": "1"})
    assert copy.max_retries == 0 and copy._bridge is client._bridge
    assert copy.agents.retrieve(agent["id"]).id == agent["id"]
    assert server.requests[-1].headers.get("X-Test") == "1"
    copy.close()  # a copy closes nothing
    assert client.get(f"/v1/agents/{agent['id']}", cast_to=AgentState).name == "copy"
    listed = client.get_api_list("/v1/agents/", model=AgentState, page=SyncArrayPage[AgentState])
    assert agent["id"] in [a.id for a in listed]
    assert client.health().status


def test_fan_out_runs_streams_concurrently_as_a_blocking_iterator(
    server: BackgroundLettaServer, client: Letta
) -> None:
    agents = [server.create_agent(name=f"fan-{i}")["id"] for i in range(3)]
    missing = "agent-00000000-0000-4000-8000-000000000000"
    requests = {
        key: functools.partial(
            client.agents.messages.create, key, messages=say("hi [tokens=5]"), streaming=True
        )
        for key in [*agents, missing]
    }
    received: dict[str, list[object]] = {}
    for key, event in client.fan_out(requests, limit=2):
        received.setdefault(key, []).append(event)
    assert set(received) == {*agents, missing}
    for key in agents:
        kinds = [getattr(e, "message_type", None) for e in received[key]]
        assert "assistant_message" in kinds and kinds[-1] == "usage_statistics", kinds
    assert len(received[missing]) == 1 and isinstance(received[missing][0], NotFoundError)

    session = client.async_client.session
    assert session is not None and session.connector is not None
    slow = {
        key: functools.partial(
            client.agents.messages.create,
            key,
            messages=say("hi [tokens=300] [chunkdelay=0.01]"),
            streaming=True,
        )
        for key in agents
    }
    events = client.fan_out(slow)
    next(events)
    events.close()  # leaving early closes every stream before close() returns
    assert not session.connector._acquired


def test_every_async_method_has_a_sync_twin_with_its_parameters() -> None:
    """The drift guard: same namespaces, same methods, same parameters and defaults."""
    from letta_async._resource import APIResource
    from letta_async._sync import SyncAPIResource

    def compare(async_cls: type, sync_cls: type, where: str) -> int:
        count = 0
        for name, member in inspect.getmembers(async_cls):
            if name.startswith("_") or name in ("with_raw_response", "with_streaming_response"):
                continue
            twin = getattr(sync_cls, name, None)
            assert twin is not None, f"{where}.{name} has no sync twin"
            if isinstance(member, property) or hasattr(member, "func"):
                child = member.func if hasattr(member, "func") else member.fget
                ret = inspect.signature(child).return_annotation
                twin_ret = inspect.signature(twin.func).return_annotation
                assert twin_ret == f"Sync{ret}", f"{where}.{name}"
                continue
            if callable(member):
                a, s = inspect.signature(member), inspect.signature(twin)
                pairs = [(p.name, p.kind, p.default) for p in a.parameters.values()]
                assert pairs == [(p.name, p.kind, p.default) for p in s.parameters.values()], (
                    f"{where}.{name}"
                )
                count += 1
        return count

    import letta_async.resources as async_resources
    import letta_async.resources._sync as sync_resources

    checked = 0
    for name in async_resources.__all__:
        async_cls = getattr(async_resources, name)
        sync_cls = getattr(sync_resources, "Sync" + name)
        assert issubclass(async_cls, APIResource) and issubclass(sync_cls, SyncAPIResource)
        stack = [(async_cls, sync_cls, name)]
        while stack:
            a, s, where = stack.pop()
            checked += compare(a, s, where)
            for attr, value in vars(a).items():
                if hasattr(value, "func") and not attr.startswith("_"):
                    child = value.func.__annotations__["return"]
                    module = sys.modules[a.__module__]
                    sync_module = sys.modules[s.__module__]
                    stack.append(
                        (getattr(module, child), getattr(sync_module, "Sync" + child), child)
                    )
    assert checked > 200
    top_async = {n for n, v in vars(AsyncLetta).items() if hasattr(v, "func")}
    assert top_async <= set(dir(Letta))
    for name in ("get", "post", "patch", "put", "delete", "get_api_list", "health", "copy"):
        a = inspect.signature(getattr(AsyncLetta, name)).parameters
        s = inspect.signature(getattr(Letta, name)).parameters
        assert list(a) == list(s), name


def test_package_names_sync_programs_import() -> None:
    from letta_async.pagination import SyncArrayPage as Page
    from letta_async.pagination import SyncNextFilesPage, SyncObjectPage

    assert Page is SyncArrayPage
    assert SyncNextFilesPage is letta_async.SyncNextFilesPage
    assert SyncObjectPage is letta_async.SyncObjectPage
    for name in ("Letta", "Client", "Stream", "DefaultHttpxClient", "APIResponse"):
        assert name in letta_async.__all__ and getattr(letta_async, name)
    Letta("http://127.0.0.1:1", http_client=letta_async.DefaultHttpxClient()).close()
    with pytest.raises(TypeError, match="httpx client"):
        Letta("http://127.0.0.1:1", http_client=object())


# --- the loop thread -------------------------------------------------------------------------


def test_threads_share_one_client(server: BackgroundLettaServer, client: Letta) -> None:
    agent = server.create_agent(name="threads")

    def work(i: int) -> int:
        if i % 4 == 0:
            return len(list(client.agents.messages.stream(agent["id"], messages=say("hi"))))
        return len(client.agents.retrieve(agent["id"]).id)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(40)))
    assert all(r > 0 for r in results)
    assert len(loop_threads()) == 1


async def _hook_calls_back(client: Letta) -> None:
    client.health()


def test_called_inside_a_running_event_loop(server: BackgroundLettaServer) -> None:
    import asyncio

    async def main() -> str:
        with Letta(server.base_url) as client:
            return client.health().status  # a sync helper inside async code

    assert asyncio.run(main())


def test_calling_from_its_own_loop_thread_raises_instead_of_deadlocking(
    server: BackgroundLettaServer, client: Letta
) -> None:
    with pytest.raises(RuntimeError, match="own event loop thread"):
        client._bridge.call(_hook_calls_back, client)


def test_close_and_collection_stop_the_loop_thread(server: BackgroundLettaServer) -> None:
    before = len(loop_threads())
    client = Letta(server.base_url)
    client.health()
    assert len(loop_threads()) == before + 1
    session = client.async_client.session
    client.close()
    assert session is not None and session.closed
    assert len(loop_threads()) == before and client.is_closed()
    with pytest.raises(RuntimeError, match="closed"):
        client.health()
    client.close()  # twice is harmless

    dropped = Letta(server.base_url)
    dropped.health()
    assert len(loop_threads()) == before + 1
    del dropped
    gc.collect()
    deadline = time.monotonic() + 5
    while len(loop_threads()) > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(loop_threads()) == before


def test_a_stream_keeps_its_client_and_a_dropped_stream_frees_its_connection(
    server: BackgroundLettaServer,
) -> None:
    agent = server.create_agent(name="keep")
    stream = Letta(server.base_url).agents.messages.stream(
        agent["id"], messages=say("hi [tokens=50]"), stream_tokens=True
    )
    gc.collect()  # the client is referenced by nothing but the stream
    assert len(list(stream)) > 50

    with Letta(server.base_url) as client:
        dropped = client.agents.messages.stream(
            agent["id"], messages=say("hi [tokens=500] [chunkdelay=0.01]"), stream_tokens=True
        )
        next(dropped)
        del dropped  # left mid-stream, without `with`
        gc.collect()
        session = client.async_client.session
        assert session is not None and session.connector is not None
        deadline = time.monotonic() + 5
        while session.connector._acquired and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not session.connector._acquired


def _run_program(source: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_after_fork_a_clear_error_not_a_hang(server: BackgroundLettaServer) -> None:
    program = f"""
        import os, sys
        from letta_async import Letta
        client = Letta({server.base_url!r})
        client.health()
        pid = os.fork()
        if pid == 0:
            try:
                client.health()
            except RuntimeError as exc:
                print("child:", exc, flush=True)
            client.close()
            os._exit(0)
        os.waitpid(pid, 0)
        print("parent:", client.health().status, flush=True)
        client.close()
    """
    done = _run_program(program)
    assert done.returncode == 0, done.stderr
    assert "child: this Letta client was created before os.fork()" in done.stdout
    assert "parent: " in done.stdout


@pytest.mark.parametrize("where", ["call", "stream"])
def test_ctrl_c_cancels_the_request_and_leaves_nothing(
    server: BackgroundLettaServer, where: str
) -> None:
    """SIGINT to a program blocked in a call (or a stream): it exits through
    KeyboardInterrupt, with the request cancelled, the connection closed and no thread left."""
    agent = server.create_agent(name=f"ctrl-c-{where}")
    if where == "call":
        server.faults.add(Fault(path=r"/v1/agents/[^/]+$", delay=30))
        blocking = f"client.agents.retrieve({agent['id']!r})"
    else:
        blocking = (
            f"list(client.agents.messages.stream({agent['id']!r}, "
            "messages=[{'role': 'user', 'content': 'hi [tokens=2000] [chunkdelay=0.05]'}], "
            "stream_tokens=True))"
        )
    program = f"""
        import asyncio, sys, threading
        from letta_async import Letta
        client = Letta({server.base_url!r})
        client.health()
        print("ready", flush=True)
        try:
            {blocking}
        except KeyboardInterrupt:
            session = client.async_client.session
            connector = session.connector
            print("interrupted", len(connector._acquired), flush=True)
            client.close()
            names = [t.name for t in threading.enumerate()]
            print("threads", names, flush=True)
            sys.exit(3)
    """
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(program)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 3, err
    assert "interrupted 0" in out, out
    assert "threads ['MainThread']" in out, out
