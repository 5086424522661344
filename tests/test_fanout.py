"""fan_out: many streams read as one, with a concurrency cap, bounded buffering, clean exits."""

from __future__ import annotations

import functools
import random
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import pytest

from letta_async import AsyncLetta, MessageStream, NotFoundError, Timeout, fan_out
from letta_async.testing import REPLY, LettaTestServer, say
from letta_async.types import AssistantMessage, LettaStopReason, LettaUsageStatistics

pytestmark = pytest.mark.anyio


class Counter:
    """Shared bookkeeping for synthetic streams: how many run, and how much they produced."""

    def __init__(self) -> None:
        self.running = 0
        self.max_running = 0
        self.produced = 0
        self.closed: list[str] = []

    def stream(
        self, key: str, count: int, *, delay: float = 0.0, fail_after: int | None = None
    ) -> Callable[[], AsyncIterator[int]]:
        async def gen() -> AsyncIterator[int]:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
            try:
                for i in range(count):
                    if fail_after is not None and i == fail_after:
                        raise ValueError(f"{key} broke at {i}")
                    if delay:
                        await anyio.sleep(delay * random.random())
                    self.produced += 1
                    yield i
            finally:
                self.running -= 1
                self.closed.append(key)

        return gen


def connector_idle(client: AsyncLetta) -> bool:
    session = client.session
    assert session is not None and session.connector is not None
    acquired: Any = getattr(session.connector, "_acquired")  # noqa: B009
    return len(acquired) == 0


# --- synthetic streams ---------------------------------------------------------------------


async def test_each_key_keeps_its_order_and_every_event_arrives() -> None:
    counter = Counter()
    requests = {f"k{n}": counter.stream(f"k{n}", 40, delay=0.002) for n in range(8)}
    seen: dict[str, list[int]] = defaultdict(list)
    async with fan_out(requests, limit=3, buffer=5) as events:
        async for key, event in events:
            assert not isinstance(event, Exception)
            seen[key].append(event)
    assert seen == {key: list(range(40)) for key in requests}
    assert counter.max_running == 3, "the cap is reached and never exceeded"
    assert sorted(counter.closed) == sorted(requests)


async def test_slow_consumer_holds_producers_back() -> None:
    counter = Counter()
    limit, buffer = 4, 6
    requests = {f"k{n}": counter.stream(f"k{n}", 50) for n in range(limit)}
    consumed = 0
    max_ahead = 0
    max_used = 0
    async with fan_out(requests, limit=limit, buffer=buffer) as events:
        async for _key, _event in events:
            consumed += 1
            await anyio.sleep(0.001)
            stats = events.statistics()
            max_used = max(max_used, stats.current_buffer_used)
            max_ahead = max(max_ahead, counter.produced - consumed)
    assert consumed == 50 * limit
    assert stats.max_buffer_size == buffer
    assert max_used == buffer, "the buffer fills up when the consumer is slow..."
    # ...and then producers wait: at most the buffer plus one event in hand per stream.
    assert max_ahead <= buffer + limit


async def test_requests_are_pulled_lazily_one_slot_at_a_time() -> None:
    counter = Counter()
    pulled = 0

    def requests() -> Iterator[tuple[str, Callable[[], AsyncIterator[int]]]]:
        nonlocal pulled
        for n in range(1000):
            pulled += 1
            yield f"k{n}", counter.stream(f"k{n}", 1000, delay=0.01)

    async with fan_out(requests(), limit=5, buffer=1) as events:
        async for _ in events:
            break
    assert pulled <= 6, "no request is taken before a slot is free for it"
    assert counter.running == 0 and len(counter.closed) == 5


async def test_a_failing_stream_is_delivered_in_its_place_and_the_others_finish() -> None:
    counter = Counter()
    requests = {
        "good1": counter.stream("good1", 20, delay=0.002),
        "bad": counter.stream("bad", 20, delay=0.002, fail_after=3),
        "good2": counter.stream("good2", 20, delay=0.002),
    }
    seen: dict[str, list[Any]] = defaultdict(list)
    async with fan_out(requests, limit=3) as events:
        async for key, event in events:
            seen[key].append(event)
        assert events.failed == 1 and events.started == 3
    assert seen["good1"] == list(range(20)) and seen["good2"] == list(range(20))
    assert seen["bad"][:3] == [0, 1, 2] and len(seen["bad"]) == 4
    error = seen["bad"][3]
    assert isinstance(error, ValueError) and str(error) == "bad broke at 3"


async def test_a_factory_that_raises_is_isolated_too() -> None:
    def broken() -> AsyncIterator[int]:
        raise RuntimeError("cannot open")

    counter = Counter()
    requests = {"broken": broken, "fine": counter.stream("fine", 3)}
    items = [item async for item in _collect(requests)]
    assert [e for k, e in items if k == "fine"] == [0, 1, 2]
    (error,) = [e for k, e in items if k == "broken"]
    assert isinstance(error, RuntimeError)


async def _collect(requests: Any) -> AsyncIterator[tuple[str, Any]]:
    async with fan_out(requests) as events:
        async for item in events:
            yield item


async def test_consumer_exception_propagates_as_itself_and_closes_streams() -> None:
    counter = Counter()
    requests = {f"k{n}": counter.stream(f"k{n}", 10_000, delay=0.001) for n in range(4)}
    with pytest.raises(KeyError, match="stop"):
        async with fan_out(requests, limit=4) as events:
            async for _ in events:
                raise KeyError("stop")
    assert counter.running == 0 and len(counter.closed) == 4


async def test_outer_cancellation_closes_streams_and_returns_shared_slots() -> None:
    counter = Counter()
    limiter = anyio.CapacityLimiter(3)
    requests = {f"k{n}": counter.stream(f"k{n}", 10_000, delay=0.001) for n in range(10)}
    with anyio.move_on_after(0.2) as scope:
        async with fan_out(requests, limit=limiter, buffer=2) as events:
            async for _ in events:
                pass
    assert scope.cancelled_caught
    assert counter.running == 0
    assert limiter.borrowed_tokens == 0, "a shared limiter gets every slot back"


async def test_streams_that_never_wait_still_let_a_deadline_through() -> None:
    async def busy() -> AsyncIterator[int]:
        i = 0
        while True:  # never awaits anything itself
            yield i
            i += 1

    got = 0
    with anyio.fail_after(5), anyio.move_on_after(0.2) as scope:
        async with fan_out({"a": busy, "b": busy}, limit=2, buffer=10) as events:
            async for _ in events:
                got += 1  # and neither does the consumer
    assert scope.cancelled_caught and got > 10


async def test_argument_checks() -> None:
    with pytest.raises(ValueError, match="limit"):
        fan_out({}, limit=0)
    with pytest.raises(ValueError, match="buffer"):
        fan_out({}, buffer=-1)
    with pytest.raises(RuntimeError, match="async with"):
        await fan_out({}).__anext__()
    empty: dict[str, Callable[[], AsyncIterator[int]]] = {}
    async with fan_out(empty) as events:
        assert [item async for item in events] == []


# --- real streams against the local server -------------------------------------------------


@pytest.fixture
async def server() -> AsyncIterator[LettaTestServer]:
    async with LettaTestServer(keepalive_interval=0.5) as s:
        yield s


@pytest.fixture
async def client(server: LettaTestServer) -> AsyncIterator[AsyncLetta]:
    async with AsyncLetta(server.base_url, timeout=Timeout(stream_idle=5, request=10)) as c:
        yield c


def _stream(client: AsyncLetta, agent_id: str, text: str, **kwargs: Any) -> MessageStream:
    return client.agents.messages.stream(
        agent_id, messages=[{"role": "user", "content": text}], stream_tokens=True, **kwargs
    )


async def test_message_streams_fan_out_in_order_per_agent(
    server: LettaTestServer, client: AsyncLetta
) -> None:
    agents = [server.create_agent(name=f"a{n}")["id"] for n in range(12)]
    requests = {
        agent_id: functools.partial(_stream, client, agent_id, "go [tokens=30]", background=True)
        for agent_id in agents
    }
    text: dict[str, str] = defaultdict(str)
    seqs: dict[str, list[int]] = defaultdict(list)
    usage: dict[str, LettaUsageStatistics] = {}
    stops: dict[str, str] = {}
    async with fan_out(requests, limit=5, buffer=8) as events:
        async for agent_id, event in events:
            assert not isinstance(event, Exception), event
            seq = getattr(event, "seq_id", None)
            if seq is not None:
                seqs[agent_id].append(seq)
            if isinstance(event, AssistantMessage):
                assert isinstance(event.content, str)
                text[agent_id] += event.content
            elif isinstance(event, LettaUsageStatistics):
                usage[agent_id] = event
            elif isinstance(event, LettaStopReason):
                stops[agent_id] = event.stop_reason
    expected = "".join(f"t{i} " for i in range(30))
    assert text == dict.fromkeys(agents, expected)
    assert all(s == list(range(1, len(s) + 1)) for s in seqs.values())
    assert stops == dict.fromkeys(agents, "end_turn")
    assert sum(u.completion_tokens for u in usage.values()) == 30 * len(agents)
    assert connector_idle(client)


async def test_leaving_early_frees_every_connection(
    server: LettaTestServer, client: AsyncLetta
) -> None:
    agents = [server.create_agent(name=f"a{n}")["id"] for n in range(10)]
    requests = {
        agent_id: functools.partial(_stream, client, agent_id, "go [tokens=400] [chunkdelay=0.02]")
        for agent_id in agents
    }
    got = 0
    async with fan_out(requests, limit=10, buffer=4) as events:
        async for _agent_id, event in events:
            assert not isinstance(event, Exception), event
            got += 1
            if got == 20:
                assert not connector_idle(client), "streams hold connections while running"
                break
    assert connector_idle(client)
    # A closed stream is not a cancel: the runs carry on server-side.
    assert any(run.active for run in server.state.runs.values())


async def test_cancel_on_exit_streams_stop_their_runs_when_the_fan_out_is_left(
    server: LettaTestServer, client: AsyncLetta
) -> None:
    agents = [server.create_agent(name=f"a{n}")["id"] for n in range(4)]
    requests = {
        agent_id: functools.partial(
            _stream, client, agent_id, "go [tokens=200] [chunkdelay=0.01]", cancel_on_exit=True
        )
        for agent_id in agents
    }
    with anyio.fail_after(10):
        async with fan_out(requests, limit=4) as events:
            seen: set[str] = set()
            async for agent_id, event in events:
                if isinstance(event, AssistantMessage):
                    seen.add(agent_id)
                if len(seen) == len(agents):
                    break
        for run in list(server.state.runs.values()):
            finished = await server.wait_for_run(run.id)
            assert finished.status == "cancelled"
    assert connector_idle(client)


async def test_one_missing_agent_does_not_disturb_the_others(
    server: LettaTestServer, client: AsyncLetta
) -> None:
    good = server.create_agent(name="good")["id"]
    missing = "agent-00000000-0000-4000-8000-000000000000"
    requests = [
        ("good", functools.partial(_stream, client, good, "hi")),
        ("missing", functools.partial(_stream, client, missing, "hi")),
    ]
    items: dict[str, list[Any]] = defaultdict(list)
    async with fan_out(requests, limit=2) as events:
        async for key, event in events:
            items[key].append(event)
    (error,) = items["missing"]
    assert isinstance(error, NotFoundError)
    assert isinstance(items["good"][-1], LettaUsageStatistics)
    assert connector_idle(client)


# --- coroutine factories: the official send into a conversation -----------------------------


async def test_conversation_sends_fan_out_through_the_official_create(
    server: LettaTestServer, client: AsyncLetta
) -> None:
    """``conversations.messages.create`` is a coroutine returning the stream: it is awaited in
    its slot, and its events arrive like any stream's."""
    agent = server.create_agent(name="threads")["id"]
    conversations = [await client.conversations.create(agent_id=agent) for _ in range(3)]
    requests = {
        c.id: functools.partial(
            client.conversations.messages.create,
            c.id,
            messages=[{"role": "user", "content": f"question {n}"}],
            streaming=True,
        )
        for n, c in enumerate(conversations)
    }
    answers: dict[str, str] = defaultdict(str)
    async with fan_out(requests, limit=2) as events:
        async for key, event in events:
            assert not isinstance(event, Exception), event
            if isinstance(event, AssistantMessage) and isinstance(event.content, str):
                answers[key] += event.content
    assert answers == {c.id: REPLY for c in conversations}
    sent = server.requests_to(r"/v1/conversations/[^/]+/messages$", "POST")
    assert len(sent) == 3, "each conversation got its one send"
    assert connector_idle(client)


async def test_a_coroutine_factory_that_fails_is_delivered_in_its_place(
    server: LettaTestServer, client: AsyncLetta
) -> None:
    agent = server.create_agent(name="threads")["id"]
    good = await client.conversations.create(agent_id=agent)
    missing = "conv-00000000-0000-4000-8000-000000000000"
    requests = [
        (key, functools.partial(client.conversations.messages.create, key, messages=say()))
        for key in (good.id, missing)
    ]
    items: dict[str, list[Any]] = defaultdict(list)
    async with fan_out(requests, limit=2) as events:
        async for key, event in events:
            items[key].append(event)
    (error,) = items[missing]
    assert isinstance(error, NotFoundError)
    assert isinstance(items[good.id][-1], LettaUsageStatistics)
    assert connector_idle(client)


async def test_leaving_early_closes_streams_opened_by_coroutines(
    server: LettaTestServer, client: AsyncLetta
) -> None:
    agent = server.create_agent(name="threads")["id"]
    conversations = [await client.conversations.create(agent_id=agent) for _ in range(4)]
    requests = {
        c.id: functools.partial(
            client.conversations.messages.create,
            c.id,
            messages=say(tokens=200, chunk_delay=0.01),
            stream_tokens=True,
        )
        for c in conversations
    }
    async with fan_out(requests, limit=4) as events:
        async for _key, event in events:
            assert not isinstance(event, Exception), event
            if isinstance(event, AssistantMessage):
                break
    assert connector_idle(client)


async def test_an_awaitable_that_is_a_stream_is_iterated_not_awaited() -> None:
    """An async iterable that can also be awaited (as MessageStream can) is entered as a
    stream; only a plain awaitable is awaited for the stream it returns."""
    awaited: list[str] = []

    class Both:
        def __init__(self) -> None:
            self.items = iter([1, 2])

        def __await__(self) -> Any:
            awaited.append("stream")
            return iter(())

        def __aiter__(self) -> Both:
            return self

        async def __anext__(self) -> int:
            try:
                return next(self.items)
            except StopIteration:
                raise StopAsyncIteration from None

    async def opens() -> AsyncIterator[int]:
        async def gen() -> AsyncIterator[int]:
            yield 7

        return gen()

    seen: list[tuple[str, Any]] = []
    async with fan_out({"both": Both, "coroutine": opens}, limit=2) as events:
        async for key, event in events:
            seen.append((key, event))
    assert sorted(seen) == [("both", 1), ("both", 2), ("coroutine", 7)]
    assert awaited == []
