"""Delivery and acknowledgement, recovery after a crash, and the otid rules, embedded.

The reference for what a run produced is always the test server's own frame log
(``server.state.runs[run_id].frames``), never what the client reports.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from letta_async import (
    APIConnectionError,
    APIStatusError,
    AsyncLetta,
    StreamError,
    StreamResumeError,
)
from letta_async.durable import (
    Batch,
    DuplicateKeyError,
    DurableStreams,
    OtidLookup,
    Outcome,
    SQLiteCursorStore,
)
from letta_async.durable._job import prepare
from letta_async.durable._reading import read_batch
from letta_async.testing import Fault, LettaTestServer
from letta_async.types import LettaErrorMessage
from tests.replay import ReplayServer, fixture_bytes, sse_answer

pytestmark = pytest.mark.anyio

FAST = OtidLookup(grace=0.5)


class Crash(BaseException):
    """Stands in for the process dying: not an Exception, so nothing catches it."""


def contains(error: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``error`` is ``kind`` or an exception group holding one (task groups wrap)."""
    if isinstance(error, kind):
        return True
    return any(contains(e, kind) for e in getattr(error, "exceptions", ()))


class Sink:
    """Records every batch as delivered: (seq_ids, message types) per batch."""

    def __init__(self) -> None:
        self.batches: list[Batch] = []

    async def __call__(self, batch: Batch) -> None:
        self.batches.append(batch)

    def seqs(self) -> list[int | None]:
        return [s for b in self.batches for s in b.seq_ids]

    def kinds(self) -> list[str]:
        return [e.message_type for b in self.batches for e in b.events]


def logged(server: LettaTestServer, run_id: str) -> list[tuple[int | None, str]]:
    """The server's frame log of a run, as a handler should see it: no pings, no [DONE]."""
    frames = server.state.runs[run_id].frames
    return [(f.seq, f.kind) for f in frames if f.kind not in ("ping", "done")]


def runs_for(server: LettaTestServer, otid: str) -> list[str]:
    return [
        str(item["run_id"])
        for agent in server.state.agents.values()
        for record in agent.messages
        for item in record.items
        if item.get("otid") == otid and item.get("message_type") == "user_message"
    ]


@pytest.fixture
async def server() -> AsyncIterator[LettaTestServer]:
    async with LettaTestServer(keepalive_interval=0.2) as s:
        yield s


@pytest.fixture
async def client(server: LettaTestServer) -> AsyncIterator[AsyncLetta]:
    async with AsyncLetta(base_url=server.base_url) as c:
        yield c


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "cursors.db"


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


async def test_every_event_once_numbered_as_the_server_logged_it(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    agent = server.create_agent()["id"]
    sink = Sink()
    async with SQLiteCursorStore(db) as store:
        async with DurableStreams(client, store, sink) as durable:
            await durable.send("k", agent, messages=user("hi [tool] [reasoning]"))
        assert await store.in_flight() == []  # a finished run leaves the store
    (run_id,) = {b.run_id for b in sink.batches}
    log = logged(server, run_id)
    assert sink.seqs() == [seq for seq, _ in log]
    assert sink.kinds()[-2:] == ["stop_reason", "usage_statistics"]
    assert "ping" not in sink.kinds()
    assert {b.fence for b in sink.batches} == {None}  # no lease when embedded
    keys = [d.idempotency_key for b in sink.batches for d in b.deliveries()]
    assert keys == [f"{run_id}:{seq}" for seq, _ in log]


async def test_crash_between_handler_and_ack_replays_exactly_that_batch(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    agent = server.create_agent()["id"]

    class CrashingStore(SQLiteCursorStore):
        acks = 0

        async def ack(self, key: str, run_id: str, seq_id: int, fence: int | None = None) -> bool:
            self.acks += 1
            if self.acks == 4:
                raise Crash  # the handler finished the batch; the acknowledgement never lands
            return await super().ack(key, run_id, seq_id, fence)

    first = Sink()
    with pytest.raises(BaseException) as crashed:
        async with (
            CrashingStore(db) as store,
            DurableStreams(client, store, first, max_batch=3) as durable,
        ):
            await durable.send("k", agent, messages=user("count [tokens=30]"), stream_tokens=True)
            await durable.join()
    assert contains(crashed.value, Crash)
    unacked = first.batches[-1]
    run_id = unacked.run_id
    await server.wait_for_run(run_id)

    second = Sink()
    async with SQLiteCursorStore(db) as store:
        async with DurableStreams(client, store, second) as durable:
            found = await durable.recover()
            assert [(c.key, c.phase) for c in found] == [("k", "streaming")]
        assert await store.in_flight() == []
    again = set(first.seqs()) & set(second.seqs())
    assert again == set(unacked.seq_ids)  # exactly the unacknowledged batch, nothing older
    assert second.seqs()[: len(unacked)] == unacked.seq_ids
    whole = sorted(set(first.seqs()) | set(second.seqs()))
    assert whole == [seq for seq, _ in logged(server, run_id)]  # and nothing lost


async def test_a_failing_handler_leaves_the_cursor_before_its_batch(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    agent = server.create_agent()["id"]
    seen: list[int | None] = []

    async def flaky(batch: Batch) -> None:
        if len(seen) >= 5:
            raise RuntimeError("sink down")
        seen.extend(batch.seq_ids)

    async with SQLiteCursorStore(db) as store:
        async with DurableStreams(client, store, flaky, max_batch=1) as durable:
            await durable.send("k", agent, messages=user("count [tokens=20]"), stream_tokens=True)
            (outcome,) = await durable.join()
        assert outcome.status == "failed" and isinstance(outcome.error, RuntimeError)
        (cursor,) = await store.in_flight()
        assert cursor.seq_id == seen[-1]  # acknowledged up to the last handled event
        rest = Sink()
        async with DurableStreams(client, store, rest) as durable:
            await durable.recover()
            (outcome,) = await durable.join()
        assert outcome.status == "completed"
    assert seen + rest.seqs() == [seq for seq, _ in logged(server, outcome.run_id or "")]


async def test_per_event_acknowledgement(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    agent = server.create_agent()["id"]
    cursors: list[int] = []
    async with SQLiteCursorStore(db) as store:

        async def handler(batch: Batch) -> None:
            assert len(batch) == 1
            cursor = await store.get("k")
            assert cursor is not None
            cursors.append(cursor.seq_id)  # the cursor before this event: the last one's

        async with DurableStreams(client, store, handler, max_batch=1) as durable:
            await durable.send("k", agent, messages=user("count [tokens=8]"), stream_tokens=True)
    # Every event was acknowledged before the next was handed over (pings move it too).
    assert cursors[1:] == sorted(cursors[1:]) and len(set(cursors)) == len(cursors)


async def test_a_send_recorded_but_never_made_is_sent_by_recover(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    agent = server.create_agent()["id"]
    cursor = prepare("k", agent, user("hi"), {})
    async with SQLiteCursorStore(db) as store:
        await store.record(cursor)  # the process died right after recording
        sink = Sink()
        async with DurableStreams(client, store, sink) as durable:
            await durable.recover()
            (outcome,) = await durable.join()
    assert outcome.status == "completed"
    assert runs_for(server, cursor.otids[0]) == [outcome.run_id]


async def test_a_run_whose_id_was_never_seen_is_found_by_otid(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    agent = server.create_agent()["id"]
    cursor = prepare("k", agent, user("count [tokens=10] [chunkdelay=0.02]"), {})
    async with SQLiteCursorStore(db) as store:
        await store.record(cursor)
        await store.mark_sending("k", time.time())
        # The request goes out and the process dies before it reads the run id.
        messages = [dict(user("count [tokens=10] [chunkdelay=0.02]")[0], otid=cursor.otids[0])]
        stream = client.agents.messages.stream(agent, messages=messages, background=True)
        await stream.__aenter__()
        await stream.aclose()
        sink = Sink()
        async with DurableStreams(client, store, sink, lookup=FAST) as durable:
            await durable.recover()
            (outcome,) = await durable.join()
    assert outcome.status == "completed"
    (run_id,) = runs_for(server, cursor.otids[0])  # found, not sent a second time
    assert outcome.run_id == run_id
    assert sink.seqs() == [seq for seq, _ in logged(server, run_id)]


async def test_an_unseen_otid_is_parked_not_resent(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    agent = server.create_agent()["id"]
    cursor = prepare("k", agent, user("hi"), {})
    async with SQLiteCursorStore(db) as store:
        await store.record(cursor)
        await store.mark_sending("k", time.time())  # died before the request left, or not
        outcomes: list[Outcome] = []
        async with DurableStreams(
            client, store, Sink(), lookup=FAST, on_outcome=outcomes.append
        ) as durable:
            await durable.recover()
            await durable.join()
            assert [o.status for o in outcomes] == ["unconfirmed"]
            assert (outcomes[0].key, outcomes[0].run_id, outcomes[0].seq_id) == ("k", None, 0)
            assert runs_for(server, cursor.otids[0]) == []
            (parked,) = await store.in_flight()
            assert parked.phase == "unconfirmed"
            # A later recover leaves it alone; the caller decides.
            await durable.recover()
            assert await durable.join() == [] and len(outcomes) == 1
            assert await durable.resolve("k", resend=True)
            (outcome,) = await durable.join()
        assert outcome.status == "completed"
        assert await store.in_flight() == []
    assert runs_for(server, cursor.otids[0]) == [outcome.run_id]


async def test_refused_and_gone_keys_leave_the_store(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    agent = server.create_agent()["id"]
    async with SQLiteCursorStore(db) as store:
        async with DurableStreams(client, store, Sink()) as durable:
            await durable.send(
                "refused", "agent-00000000-0000-4000-8000-00000000dead", messages=user("hi")
            )
            await store.record(prepare("gone", agent, user("hi"), {}))
            await store.ack("gone", "run-00000000-0000-4000-8000-000000000000", 3)
            await durable.recover()
            outcomes = {o.key: o.status for o in await durable.join()}
        assert outcomes == {"refused": "rejected", "gone": "gone"}
        assert await store.in_flight() == []
        # The store remembers why, in the server's words.
        why = {e.key: e.error for e in await store.ended()}
    dead = "agent-00000000-0000-4000-8000-00000000dead"
    assert why["refused"] == f"HTTP 404: Agent with ID {dead} not found"
    assert why["gone"].startswith("HTTP 404: Run not found with id=")


async def test_a_refusal_without_a_reason_is_recorded_by_its_status(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    """A 4xx with an empty body (a proxy's, say): the ended record still says what came
    back, the status and the error's own text, never a placeholder for the missing reason."""
    agent = server.create_agent()["id"]
    server.faults.add(Fault.http_status(422, method="POST", path=SEND_STREAM, body=""))
    async with SQLiteCursorStore(db) as store:
        async with DurableStreams(client, store, Sink()) as durable:
            await durable.send("k", agent, messages=user("hi"))
            (outcome,) = await durable.join()
        (ended,) = await store.ended()
    assert outcome.status == "rejected"
    assert ended.error.startswith("HTTP 422: Error code: 422")
    # A printed outcome (a log line, the REPL) shows the error when there is one.
    assert repr(outcome) == (
        f"<Outcome 'k' rejected run_id=None seq_id=0 stop_reason=None error={outcome.error!r}>"
    )
    done = Outcome("k", "completed", "run-1", 7, "end_turn")
    assert repr(done) == "<Outcome 'k' completed run_id='run-1' seq_id=7 stop_reason='end_turn'>"


@pytest.mark.parametrize("status", [404, 410])
async def test_a_run_that_expires_during_a_resume_is_gone_and_says_why(
    server: LettaTestServer, client: AsyncLetta, db: Path, status: int
) -> None:
    """The connection breaks mid-run and the server answers the resume with a 404 or a 410
    (the run's stream expired): the key ends ``gone`` at the last delivered position, and the
    ended record gives the resume's failure with the server's reason."""
    agent = server.create_agent()["id"]
    server.faults.add(Fault.cut_after(4, method="POST", path=SEND_STREAM))
    expired = {"detail": "Run stream expired"}
    server.faults.add(
        Fault.http_status(status, method="POST", path=r"/v1/runs/[^/]+/stream$", body=expired)
    )
    sink = Sink()
    async with SQLiteCursorStore(db) as store:
        async with DurableStreams(client, store, sink) as durable:
            await durable.send("k", agent, messages=user("count [tokens=8]"), stream_tokens=True)
            (outcome,) = await durable.join()
        (ended,) = await store.ended()
        assert await store.in_flight() == []
    assert outcome.status == "gone" and sink.seqs()
    # How far it got: the last event handed over, in the outcome and in the ended record.
    assert outcome.seq_id == sink.seqs()[-1] == ended.seq_id > 0
    assert (ended.key, ended.status, ended.run_id) == ("k", "gone", outcome.run_id)
    assert ended.error.endswith(f"(HTTP {status}: Run stream expired)")
    assert ended.error != f"(HTTP {status}: Run stream expired)"  # the resume's account first


async def test_an_error_event_is_delivered_numbered_and_ends_the_key(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    agent = server.create_agent()["id"]
    sink = Sink()
    async with SQLiteCursorStore(db) as store, DurableStreams(client, store, sink) as durable:
        await durable.send("k", agent, messages=user("hi [error500]"))
        (outcome,) = await durable.join()
    assert outcome.status == "completed"
    assert "error_message" in sink.kinds()
    assert sink.seqs() == [seq for seq, _ in logged(server, outcome.run_id or "")]


async def test_duplicate_keys_are_refused(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    agent = server.create_agent()["id"]
    async with SQLiteCursorStore(db) as store, DurableStreams(client, store, Sink()) as durable:
        await durable.send("k", agent, messages=user("hi [delay=0.3]"))
        with pytest.raises(DuplicateKeyError):
            await durable.send("k", agent, messages=user("again"))


async def test_limit_and_buffer_bound_the_work_in_hand(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    agent = server.create_agent()["id"]
    in_handler = peak_handlers = 0
    async with SQLiteCursorStore(db) as store:

        async def slow(batch: Batch) -> None:
            nonlocal in_handler, peak_handlers
            in_handler += 1
            peak_handlers = max(peak_handlers, in_handler)
            await anyio.sleep(0.005)
            in_handler -= 1

        async with DurableStreams(client, store, slow, limit=4, buffer=2) as durable:
            for i in range(12):
                await durable.send(f"k{i}", agent, messages=user("count [tokens=5]"))
            outcomes = await durable.join()
    assert len(outcomes) == 12 and {o.status for o in outcomes} == {"completed"}
    assert peak_handlers <= 2
    assert max(len(r.frames) for r in server.state.runs.values()) > 0
    active = [r for r in server.state.runs.values() if r.active]
    assert not active


class _RaisingStream:
    """A stream that raises the server's error instead of yielding it."""

    def __init__(self, error: LettaErrorMessage) -> None:
        self._error = error

    async def __anext__(self) -> Any:
        raise StreamError(self._error)


async def test_a_raised_stream_error_is_delivered_as_its_event() -> None:
    error = LettaErrorMessage(error_type="llm_error", message="boom", seq_id=7, run_id="run-1")
    assert await read_batch(_RaisingStream(error)) == [error]  # type: ignore[arg-type]


async def test_a_read_hands_over_every_event_the_same_network_read_decoded(
    replay: ReplayServer,
) -> None:
    """A batch is one event plus whatever arrived with it, not one event at a time: a captured
    stream sent in one write comes out in fewer reads than events, in order."""
    body = fixture_bytes("stream_steps.sse")
    agent = "agent-00000000-0000-4000-8000-000000000001"
    route = f"/v1/agents/{agent}/messages/stream"
    replay.on("POST", route, sse_answer(body), sse_answer(body))
    hi = [{"role": "user", "content": "hi"}]
    async with AsyncLetta(base_url=replay.base_url, max_retries=0) as client:
        with anyio.fail_after(10):
            async with await client.agents.messages.stream(agent, messages=hi) as stream:
                one_by_one = [event async for event in stream]
            reads = []
            async with await client.agents.messages.stream(agent, messages=hi) as stream:
                while (read := await read_batch(stream)) is not None:
                    reads.append(read)
    assert [event for read in reads for event in read] == one_by_one
    assert len(reads) < len(one_by_one) > 1


async def test_a_failing_store_fails_the_key_not_the_runner(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    agent = server.create_agent()["id"]

    class BrokenStore(SQLiteCursorStore):
        async def ack(self, key: str, run_id: str, seq_id: int, fence: int | None = None) -> bool:
            raise OSError("disk full")

    async with BrokenStore(db) as store, DurableStreams(client, store, Sink()) as durable:
        slow = user("count [tokens=20] [chunkdelay=0.05]")
        await durable.send("broken", agent, messages=slow, stream_tokens=True)
        await durable.send("fine", agent, messages=user("hi"))
        outcomes = {o.key: o for o in await durable.join()}
    assert set(outcomes) == {"broken", "fine"}  # each key ended; the runner did not
    assert outcomes["broken"].status == "failed"
    assert isinstance(outcomes["broken"].error, OSError)


async def test_a_store_failing_on_a_resumed_key_reports_where_the_key_stays(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    """The store fails while a key is resumed: the outcome gives the run and the position
    the key keeps in the store (its last acknowledgement), where the next attempt starts."""
    agent = server.create_agent()["id"]

    async def stops(batch: Batch) -> None:
        if batch.after > 0:
            raise RuntimeError("sink down")

    class BrokenStore(SQLiteCursorStore):
        broken = False

        async def ack(self, key: str, run_id: str, seq_id: int, fence: int | None = None) -> bool:
            if self.broken:
                raise OSError("disk full")
            return await super().ack(key, run_id, seq_id, fence)

    async with BrokenStore(db) as store:
        async with DurableStreams(client, store, stops, max_batch=1) as durable:
            await durable.send("k", agent, messages=user("count [tokens=8]"), stream_tokens=True)
            (first,) = await durable.join()
        (kept,) = await store.in_flight()
        assert first.status == "failed" and kept.run_id is not None and kept.seq_id > 0
        store.broken = True
        async with DurableStreams(client, store, Sink(), max_batch=1) as durable:
            await durable.recover()
            (outcome,) = await durable.join()
        assert (outcome.key, outcome.status, outcome.run_id, outcome.seq_id) == (
            "k",
            "failed",
            kept.run_id,
            kept.seq_id,
        )
        assert isinstance(outcome.error, OSError)
        (still,) = await store.in_flight()
        assert (still.run_id, still.seq_id) == (kept.run_id, kept.seq_id)


async def test_a_poison_batch_parks_its_key_after_max_failures(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    agent = server.create_agent()["id"]
    seen: list[int | None] = []
    poison: list[int | None] = []

    async def choking(batch: Batch) -> None:
        (seq,) = batch.seq_ids
        if seq in poison or (not poison and len(seen) == 3):
            poison[:] = [seq]
            raise ValueError(f"cannot store event {seq}")
        seen.append(seq)

    async with SQLiteCursorStore(db) as store:
        ended: list[Outcome] = []
        async with DurableStreams(client, store, choking, max_batch=1, max_failures=3) as durable:
            await durable.send("k", agent, messages=user("count [tokens=8]"), stream_tokens=True)
            ended += await durable.join()
            for _ in range(3):  # restarts: the first two fail again, the third parks the key
                await durable.recover()
                ended += await durable.join()
        statuses = [o.status for o in ended]
        assert statuses == ["failed", "failed", "dead"]  # the fourth recover ran nothing
        # Each says where the key stands: its run, the last acknowledged event, the count.
        (run,) = {o.run_id for o in ended}
        assert run is not None and {o.key for o in ended} == {"k"}
        assert [(o.seq_id, o.failures) for o in ended] == [
            (seen[-1], 1),
            (seen[-1], 2),
            (seen[-1], 0),
        ]
        assert all(isinstance(o.error, ValueError) for o in ended)
        (cursor,) = await store.in_flight()
        assert (cursor.phase, cursor.seq_id, cursor.failures) == ("dead", seen[-1], 3)
        assert cursor.error == repr(ValueError(f"cannot store event {poison[0]}"))
        rest = Sink()
        async with DurableStreams(client, store, rest) as durable:
            assert await durable.revive("k")
            (outcome,) = await durable.join()
            assert not await durable.revive("k")  # it is gone: finished
        assert outcome.status == "completed"
        assert await store.in_flight() == []
    # Every event exactly once across the dead key and its revival, the poison one included.
    assert seen + rest.seqs() == [seq for seq, _ in logged(server, outcome.run_id or "")]


async def test_a_handler_that_fails_once_per_batch_never_dies(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    agent = server.create_agent()["id"]
    attempted: set[int | None] = set()
    handled: list[int | None] = []

    async def stutter(batch: Batch) -> None:
        (seq,) = batch.seq_ids
        if seq not in attempted:
            attempted.add(seq)
            raise RuntimeError("first try fails")
        handled.append(seq)

    async with (
        SQLiteCursorStore(db) as store,
        DurableStreams(client, store, stutter, max_batch=1, max_failures=2) as durable,
    ):
        await durable.send("k", agent, messages=user("count [tokens=4]"), stream_tokens=True)
        outcomes = await durable.join()
        for _ in range(40):
            if outcomes[-1].status != "failed":
                break
            assert outcomes[-1].failures == 1  # progress cleared the count each time
            await durable.recover()
            outcomes = await durable.join()
    assert outcomes[-1].status == "completed"
    log = [seq for seq, _ in logged(server, outcomes[-1].run_id or "")]
    assert handled == log and attempted == set(log)


def conversation_runs_for(server: LettaTestServer, conversation_id: str, otid: str) -> list[str]:
    return [
        str(item["run_id"])
        for record in server.state.conversations[conversation_id].messages
        for item in record.items
        if item.get("otid") == otid and item.get("message_type") == "user_message"
    ]


async def test_a_conversation_send_streams_in_the_conversation(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    agent = server.create_agent()["id"]
    conversation = server.create_conversation(agent)["id"]
    sink = Sink()
    async with SQLiteCursorStore(db) as store:
        async with DurableStreams(client, store, sink) as durable:
            cursor = await durable.send(
                "c",
                agent,
                messages=user("look [tool]"),
                conversation_id=conversation,
                stream_tokens=True,
            )
            (outcome,) = await durable.join()
        assert await store.in_flight() == []
    assert outcome.status == "completed"
    run_id = outcome.run_id or ""
    assert server.state.runs[run_id].conversation_id == conversation
    assert conversation_runs_for(server, conversation, cursor.otids[0]) == [run_id]
    assert runs_for(server, cursor.otids[0]) == []  # not the agent's default history
    assert sink.seqs() == [seq for seq, _ in logged(server, run_id)]
    (post,) = server.requests_to(r"/v1/conversations/[^/]+/messages$", "POST")
    assert (post.json["streaming"], post.json["background"], post.json["include_pings"]) == (
        True,
        True,
        True,
    )
    assert post.json["stream_tokens"] is True  # the caller's options go with the send


async def test_a_conversation_run_whose_id_was_never_seen_is_found_in_the_conversation(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    agent = server.create_agent()["id"]
    conversation = server.create_conversation(agent)["id"]
    text = "count [tokens=10] [chunkdelay=0.02]"
    cursor = prepare("c", agent, user(text), {}, conversation)
    async with SQLiteCursorStore(db) as store:
        await store.record(cursor)
        await store.mark_sending("c", time.time())
        # The request goes out and the process dies before it reads the run id.
        messages = [dict(user(text)[0], otid=cursor.otids[0])]
        stream = await client.conversations.messages.create(
            conversation, messages=messages, background=True, streaming=True
        )
        await stream.__aenter__()
        await stream.aclose()
        sink = Sink()
        async with DurableStreams(client, store, sink, lookup=FAST) as durable:
            (found,) = await durable.recover()
            assert found.conversation_id == conversation
            (outcome,) = await durable.join()
    assert outcome.status == "completed"
    (run_id,) = conversation_runs_for(server, conversation, cursor.otids[0])  # never re-sent
    assert outcome.run_id == run_id
    assert sink.seqs() == [seq for seq, _ in logged(server, run_id)]


async def test_a_refused_conversation_send_leaves_the_store(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    agent = server.create_agent()["id"]
    conversation = server.create_conversation(agent)["id"]
    missing = "conv-00000000-0000-4000-8000-00000000dead"
    async with SQLiteCursorStore(db) as store:
        async with DurableStreams(client, store, Sink()) as durable:
            await durable.send("missing", agent, messages=user("hi"), conversation_id=missing)
            bad = [{"role": "nobody", "content": "hi"}]  # the server answers 422
            await durable.send("invalid", agent, messages=bad, conversation_id=conversation)
            ended = {o.key: o for o in await durable.join()}
        outcomes = {key: o.status for key, o in ended.items()}
        assert outcomes == {"missing": "rejected", "invalid": "rejected"}
        assert all(isinstance(o.error, APIStatusError) for o in ended.values())
        assert await store.in_flight() == []
        # The store remembers why, in the server's words, at the position nothing moved from.
        why = {e.key: (e.status, e.run_id, e.seq_id, e.error[:9]) for e in await store.ended()}
    assert why == {
        "missing": ("rejected", None, 0, "HTTP 404:"),
        "invalid": ("rejected", None, 0, "HTTP 422:"),
    }


async def test_a_key_resumed_past_its_stop_reason_still_reports_it(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    """A process that acknowledged the ``stop_reason`` and died before the usage statistics
    (a real server may send them in separate reads) resumes after it: the outcome still
    names how the run ended."""
    agent = server.create_agent()["id"]
    sink = Sink()
    async with SQLiteCursorStore(db) as store:
        async with DurableStreams(client, store, sink) as durable:
            await durable.send("first", agent, messages=user("hi"))
            (first,) = await durable.join()
        assert first.status == "completed" and first.stop_reason == "end_turn"
        assert first.run_id is not None
        numbered = dict(zip(sink.kinds(), sink.seqs(), strict=True))
        stopped_at = numbered["stop_reason"]
        assert stopped_at is not None
        await store.record(prepare("again", agent, user("hi"), {}))
        await store.ack("again", first.run_id, stopped_at)
        rest = Sink()
        async with DurableStreams(client, store, rest) as durable:
            await durable.recover()
            (again,) = await durable.join()
    assert rest.kinds() == ["usage_statistics"]
    assert (again.status, again.run_id, again.stop_reason) == (
        "completed",
        first.run_id,
        "end_turn",
    )


SEND_STREAM = r"/v1/agents/[^/]+/messages/stream$"


async def test_a_crash_during_the_send_never_sends_it_again(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    """The process dies after the request reached the server and before any frame named the
    run (the server holds its first bytes back): the restarted process finds the run by
    ``otid`` and delivers it; the message reaches the agent once."""
    agent = server.create_agent()["id"]
    server.faults.add(Fault(method="POST", path=SEND_STREAM, stall=3.0))
    text = "count [tokens=8] [chunkdelay=0.02]"
    with pytest.raises(BaseException) as crashed:
        async with SQLiteCursorStore(db) as store, DurableStreams(client, store, Sink()) as durable:
            cursor = await durable.send("k", agent, messages=user(text), stream_tokens=True)
            with anyio.fail_after(10):
                while not server.state.runs:  # the server started the run
                    await anyio.sleep(0.01)
            raise Crash
    assert contains(crashed.value, Crash)
    sink = Sink()
    async with SQLiteCursorStore(db) as store:
        async with DurableStreams(client, store, sink, lookup=FAST) as durable:
            await durable.recover()
            (outcome,) = await durable.join()
        assert await store.in_flight() == []
    assert outcome.status == "completed"
    (run_id,) = runs_for(server, cursor.otids[0])
    assert len(server.requests_to(SEND_STREAM, "POST")) == 1
    assert outcome.run_id == run_id
    assert sink.seqs() == [seq for seq, _ in logged(server, run_id)]


async def test_a_send_cut_before_its_run_was_named_is_not_sent_again(
    server: LettaTestServer, db: Path
) -> None:
    """The connection breaks before the server answered: the request may have arrived. The
    durable layer neither re-sends it then nor at recovery; with no message carrying its
    ``otid`` it is parked as ``unconfirmed`` for the caller to decide."""
    agent = server.create_agent()["id"]
    server.faults.add(Fault(method="POST", path=SEND_STREAM, cut="before_headers"))
    async with (
        AsyncLetta(base_url=server.base_url, max_retries=0) as client,
        SQLiteCursorStore(db) as store,
    ):
        async with DurableStreams(client, store, Sink(), lookup=FAST) as durable:
            cursor = await durable.send("k", agent, messages=user("hi"))
            (first,) = await durable.join()
            assert first.status == "failed"
            # The stream says why: it broke before the server named the run.
            assert isinstance(first.error, StreamResumeError) and first.error.run_id is None
            assert [(c.key, c.phase) for c in await store.in_flight()] == [("k", "sending")]
            await durable.recover()
            (second,) = await durable.join()
        assert second.status == "unconfirmed"
        assert [(c.key, c.phase) for c in await store.in_flight()] == [("k", "unconfirmed")]
    (post,) = server.requests_to(SEND_STREAM, "POST")
    # In the background and with pings: the run can be resumed, and is named at once.
    assert post.json["background"] is True and post.json["include_pings"] is True
    assert runs_for(server, cursor.otids[0]) == []


@pytest.mark.parametrize("status", [400, 422])
async def test_a_send_refused_outright_is_rejected_and_dropped(
    server: LettaTestServer, db: Path, status: int
) -> None:
    """A 4xx other than 408/429 to the send (400 included) means the server will never take
    it: the key ends ``rejected`` and leaves the store, and nothing is sent again."""
    agent = server.create_agent()["id"]
    server.faults.add(Fault.http_status(status, method="POST", path=SEND_STREAM))
    async with (
        AsyncLetta(base_url=server.base_url, max_retries=0) as client,
        SQLiteCursorStore(db) as store,
    ):
        async with DurableStreams(client, store, Sink(), lookup=FAST) as durable:
            await durable.send("k", agent, messages=user("hi"))
            (outcome,) = await durable.join()
        assert outcome.status == "rejected"
        assert await store.in_flight() == []
    assert len(server.requests_to(SEND_STREAM, "POST")) == 1


@pytest.mark.parametrize("status", [408, 429])
async def test_a_send_told_to_come_back_later_is_kept_not_rejected(
    server: LettaTestServer, db: Path, status: int
) -> None:
    """408 and 429 say "not now", not "never": the key stays in the store (it is not
    ``rejected`` and dropped), and once resolved the message is delivered, once."""
    agent = server.create_agent()["id"]
    later = server.faults.add(
        Fault.http_status(status, method="POST", path=SEND_STREAM, retry_after=0, times=None)
    )
    sink = Sink()
    async with (
        AsyncLetta(base_url=server.base_url, max_retries=1) as client,
        SQLiteCursorStore(db) as store,
    ):
        async with DurableStreams(client, store, sink, lookup=FAST) as durable:
            cursor = await durable.send("k", agent, messages=user("hi"))
            (refused,) = await durable.join()
            assert refused.status == "failed"
            assert [c.key for c in await store.in_flight()] == ["k"]
            server.faults.remove(later)
            await durable.recover()  # nothing on the server carries its otid: parked
            assert [o.status for o in await durable.join()] == ["unconfirmed"]
            assert await durable.resolve("k", resend=True)
            (outcome,) = await durable.join()
        assert await store.in_flight() == []
    assert outcome.status == "completed"
    assert runs_for(server, cursor.otids[0]) == [outcome.run_id]
    assert sink.seqs() == [seq for seq, _ in logged(server, outcome.run_id or "")]


# --- the runner's own promises: its settings, its words, its scheduling ------------------------


async def test_misuse_is_reported_in_the_words_of_the_api(db: Path) -> None:
    """Each misuse says what to do instead, in words a caller can search for."""
    async with (
        AsyncLetta(base_url="http://127.0.0.1:9") as client,  # nothing is requested
        SQLiteCursorStore(db) as store,
    ):
        with pytest.raises(ValueError, match=r"^limit must be at least 1$"):
            DurableStreams(client, store, Sink(), limit=0)
        with pytest.raises(ValueError, match=r"^buffer must be at least 1$"):
            DurableStreams(client, store, Sink(), buffer=0)
        outside = DurableStreams(client, store, Sink())
        with pytest.raises(
            RuntimeError, match=r"^use `async with DurableStreams\(\.\.\.\) as durable:` first$"
        ):
            await outside.send("k", "agent-1", messages=user("hi"))
        # Leaving a block that was never entered is a bug in the caller's own context handling.
        with pytest.raises(AssertionError, match=r"^__aexit__ without __aenter__"):
            await outside.__aexit__(None, None, None)
        async with DurableStreams(client, store, Sink()) as durable:
            with pytest.raises(RuntimeError, match=r"^DurableStreams can be entered only once$"):
                await durable.__aenter__()
        assert await store.in_flight() == []  # the send outside the block recorded nothing


async def test_the_smallest_limit_and_buffer_work(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    """``limit=1, buffer=1``: one stream and one handler at a time, every key delivered."""
    agent = server.create_agent()["id"]
    inside = peak = 0

    async def one_at_a_time(batch: Batch) -> None:
        nonlocal inside, peak
        inside += 1
        peak = max(peak, inside)
        await anyio.sleep(0.005)
        inside -= 1

    async with (
        SQLiteCursorStore(db) as store,
        DurableStreams(client, store, one_at_a_time, limit=1, buffer=1) as durable,
    ):
        for key in ("a", "b", "c"):
            await durable.send(key, agent, messages=user("count [tokens=3]"))
        outcomes = await durable.join()
    assert sorted((o.key, o.status) for o in outcomes) == [
        ("a", "completed"),
        ("b", "completed"),
        ("c", "completed"),
    ]
    assert peak == 1


async def test_a_key_the_store_holds_is_refused_by_name_and_not_sent(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    agent = server.create_agent()["id"]
    async with SQLiteCursorStore(db) as store:
        await store.record(prepare("order-42", agent, user("hi"), {}))  # unfinished, from before
        async with DurableStreams(client, store, Sink()) as durable:
            with pytest.raises(DuplicateKeyError) as caught:
                await durable.send("order-42", agent, messages=user("hi again"))
            assert await durable.join() == []
    assert caught.value.args == ("order-42",)
    assert server.requests_to(SEND_STREAM, "POST") == []


async def test_resolve_refuses_a_key_that_is_not_parked(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    """``resolve`` is for ``unconfirmed`` (and ``dead``) keys only: anything else is False and
    nothing happens to it, whichever way the caller decided."""
    agent = server.create_agent()["id"]
    async with SQLiteCursorStore(db) as store:
        await store.record(prepare("waiting", agent, user("hi"), {}))
        async with DurableStreams(client, store, Sink()) as durable:
            for resend in (True, False):
                assert await durable.resolve("waiting", resend=resend) is False
                assert await durable.resolve("unknown", resend=resend) is False
            assert await durable.join() == []
        assert [(c.key, c.phase) for c in await store.in_flight()] == [("waiting", "recorded")]
    assert server.requests_to(SEND_STREAM, "POST") == []


async def test_an_async_on_outcome_is_awaited_before_join_returns(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    agent = server.create_agent()["id"]
    told: list[Outcome] = []

    async def tell(outcome: Outcome) -> None:
        await anyio.sleep(0.01)
        told.append(outcome)

    async with (
        SQLiteCursorStore(db) as store,
        DurableStreams(client, store, Sink(), on_outcome=tell) as durable,
    ):
        await durable.send("a", agent, messages=user("hi"))
        await durable.send("b", agent, messages=user("hi"))
        outcomes = await durable.join()
    assert sorted(o.key for o in told) == ["a", "b"]
    assert sorted(told, key=lambda o: o.key) == sorted(outcomes, key=lambda o: o.key)


async def test_a_key_ending_other_than_completed_is_logged_and_a_completed_one_is_not(
    server: LettaTestServer, client: AsyncLetta, db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A runner with thousands of keys stays quiet about the ones that simply finished; each
    key that ended any other way leaves an INFO line with its outcome."""
    agent = server.create_agent()["id"]
    missing = "agent-00000000-0000-4000-8000-00000000dead"
    async with SQLiteCursorStore(db) as store:
        with caplog.at_level("INFO", logger="letta_async.durable"):
            async with DurableStreams(client, store, Sink()) as durable:
                await durable.send("fine", agent, messages=user("hi"))
                await durable.send("refused", missing, messages=user("hi"))
                outcomes = {o.key: o for o in await durable.join()}
    statuses = {key: outcome.status for key, outcome in outcomes.items()}
    assert statuses == {"fine": "completed", "refused": "rejected"}
    ended = [r for r in caplog.records if r.getMessage().startswith("durable key ended")]
    assert [(r.levelname, r.getMessage()) for r in ended] == [
        ("INFO", f"durable key ended: {outcomes['refused']!r}")
    ]


class Holding:
    """A handler that keeps every batch until released: the keys it entered hold their slots."""

    def __init__(self) -> None:
        self.entered: list[str] = []
        self.batches: list[Batch] = []
        self.release = anyio.Event()

    async def __call__(self, batch: Batch) -> None:
        self.entered.append(batch.key)
        self.batches.append(batch)
        await self.release.wait()

    async def wait_for(self, count: int) -> None:
        """Until ``count`` batches are in the handler, then a moment for any more to arrive."""
        with anyio.fail_after(20):
            while len(self.entered) < count:
                await anyio.sleep(0.01)
        await anyio.sleep(0.2)


async def test_the_default_limit_is_fifty_streams(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    """README: ``limit`` means what it means for ``fan_out``, whose default is 50. With every
    key held in its handler, fifty sends return and the fifty-first waits for a slot."""
    agent = server.create_agent()["id"]
    holding = Holding()
    sent: list[str] = []
    async with SQLiteCursorStore(db) as store, DurableStreams(client, store, holding) as durable:

        async def send_all() -> None:
            for n in range(51):
                await durable.send(f"k{n}", agent, messages=user("hi"))
                sent.append(f"k{n}")

        async with anyio.create_task_group() as group:
            group.start_soon(send_all)
            await holding.wait_for(50)
            assert len(holding.entered) == 50 and len(sent) == 50
            holding.release.set()
        outcomes = await durable.join()
    assert len(outcomes) == 51 and {o.status for o in outcomes} == {"completed"}


async def test_the_default_buffer_is_a_hundred_batches_in_handlers(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    """README: ``buffer`` means what it means for ``fan_out``, whose default is 100: with room
    for more streams, the hundred-and-first batch waits until a handler returns."""
    agent = server.create_agent()["id"]
    holding = Holding()
    async with (
        SQLiteCursorStore(db) as store,
        DurableStreams(client, store, holding, limit=101) as durable,
    ):
        for n in range(101):
            await durable.send(f"k{n}", agent, messages=user("hi"))
        await holding.wait_for(100)
        assert len(holding.entered) == 100
        holding.release.set()
        outcomes = await durable.join()
    assert len(outcomes) == 101 and {o.status for o in outcomes} == {"completed"}
    assert sorted(holding.entered) == sorted(f"k{n}" for n in range(101))


async def test_a_handler_that_always_fails_kills_its_key_at_the_tenth_failure_by_default(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    """``max_failures`` unset: the README's default of 10 failures in a row parks the key."""
    agent = server.create_agent()["id"]

    async def down(batch: Batch) -> None:
        raise ValueError("the sink is down")

    statuses: list[str] = []
    async with SQLiteCursorStore(db) as store:
        async with DurableStreams(client, store, down) as durable:
            await durable.send("k", agent, messages=user("hi"))
            statuses += [o.status for o in await durable.join()]
            for _ in range(10):  # restarts: the tenth finds the key parked and runs nothing
                await durable.recover()
                statuses += [o.status for o in await durable.join()]
        (cursor,) = await store.in_flight()
    assert statuses == ["failed"] * 9 + ["dead"]
    assert (cursor.phase, cursor.failures) == ("dead", 10)


async def test_a_capacity_limiter_passed_as_limit_is_the_budget_used(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    """As with ``fan_out``, a limiter shares one budget of streams: its tokens are what the
    keys hold, and a key waits while the limiter has none."""
    agent = server.create_agent()["id"]
    limiter = anyio.CapacityLimiter(2)
    holding = Holding()
    sent: list[str] = []
    async with (
        SQLiteCursorStore(db) as store,
        DurableStreams(client, store, holding, limit=limiter) as durable,
    ):

        async def send_all() -> None:
            for key in ("a", "b", "c"):
                await durable.send(key, agent, messages=user("hi"))
                sent.append(key)

        async with anyio.create_task_group() as group:
            group.start_soon(send_all)
            await holding.wait_for(2)
            assert sorted(holding.entered) == sent == ["a", "b"]
            assert limiter.borrowed_tokens == 2
            holding.release.set()
        outcomes = await durable.join()
    assert sorted(o.key for o in outcomes) == ["a", "b", "c"]
    assert limiter.borrowed_tokens == 0  # every key gave its token back


async def test_the_lookup_given_is_the_one_used(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    """A send whose run id was never seen is looked up with the ``OtidLookup`` passed in: one
    that reads only the newest history item misses the message under the run's replies and
    parks the key (the default, 200 items deep, would have found it). Nothing is re-sent."""
    agent = server.create_agent()["id"]
    text = "count [tokens=5] [tool]"
    cursor = prepare("k", agent, user(text), {})
    shallow = OtidLookup(depth=1, grace=0.2)
    async with SQLiteCursorStore(db) as store:
        await store.record(cursor)
        await store.mark_sending("k", time.time())
        # The request goes out and the process dies before it reads the run id.
        messages = [dict(user(text)[0], otid=cursor.otids[0])]
        stream = client.agents.messages.stream(agent, messages=messages, background=True)
        await stream.__aenter__()
        await stream.aclose()
        (run_id,) = runs_for(server, cursor.otids[0])
        await server.wait_for_run(run_id)  # its replies are now newer than the message
        async with DurableStreams(client, store, Sink(), lookup=shallow) as durable:
            await durable.recover()
            (outcome,) = await durable.join()
        assert [(c.key, c.phase) for c in await store.in_flight()] == [("k", "unconfirmed")]
    assert outcome.status == "unconfirmed"
    assert runs_for(server, cursor.otids[0]) == [run_id]


async def test_a_send_cancelled_while_waiting_for_a_slot_is_run_by_a_later_recover(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    """``send`` records first, then waits for a slot: a caller that gives up waiting leaves
    the key recorded, and ``recover`` in the same block sends it, once."""
    agent = server.create_agent()["id"]
    holding = Holding()
    async with SQLiteCursorStore(db) as store:
        async with DurableStreams(client, store, holding, limit=1) as durable:
            await durable.send("first", agent, messages=user("hi"))
            await holding.wait_for(1)
            with anyio.move_on_after(0.2) as waited:
                await durable.send("second", agent, messages=user("hi"))
            assert waited.cancelled_caught  # the one slot was taken
            recorded = await store.get("second")
            assert recorded is not None and recorded.phase == "recorded"
            holding.release.set()
            assert [o.key for o in await durable.join()] == ["first"]
            assert [c.key for c in await durable.recover()] == ["second"]
            (outcome,) = await durable.join()
        assert await store.in_flight() == []
    assert (outcome.key, outcome.status) == ("second", "completed")
    assert runs_for(server, recorded.otids[0]) == [outcome.run_id]


async def test_a_key_recovered_twice_while_it_waits_for_a_slot_runs_once(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    """A second ``recover`` while the first one's keys still wait for a slot lists them again
    but does not schedule them again: each is sent once and ends once."""
    agent = server.create_agent()["id"]
    holding = Holding()
    left = prepare("left", agent, user("hi"), {})
    async with SQLiteCursorStore(db) as store:
        await store.record(left)  # what a previous process left unsent
        async with DurableStreams(client, store, holding, limit=1) as durable:
            await durable.send("busy", agent, messages=user("hi"))
            await holding.wait_for(1)
            for _ in range(2):
                assert {c.key for c in await durable.recover()} == {"busy", "left"}
            holding.release.set()
            outcomes = await durable.join()
        assert await store.in_flight() == []
    assert sorted((o.key, o.status) for o in outcomes) == [
        ("busy", "completed"),
        ("left", "completed"),
    ]
    assert len(runs_for(server, left.otids[0])) == 1
    assert holding.entered.count("left") == 1


async def test_an_error_raised_in_the_block_stops_the_keys_and_comes_out_as_from_a_task_group(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    """Like any anyio task group, the block's own exception comes out inside an exception
    group (with whatever a key raised beside it), the very exception the block raised; the
    keys stop where their last acknowledgement put them."""
    agent = server.create_agent()["id"]
    holding = Holding()
    error = ValueError("the caller's own failure")
    with pytest.raises(BaseException) as caught:
        async with SQLiteCursorStore(db) as store, DurableStreams(client, store, holding) as d:
            await d.send("k", agent, messages=user("count [tokens=5]"))
            await holding.wait_for(1)
            raise error
    assert list(getattr(caught.value, "exceptions", ())) == [error]
    (held,) = holding.batches
    async with SQLiteCursorStore(db) as store:
        (cursor,) = await store.in_flight()
    assert cursor.key == "k"
    assert cursor.seq_id < min(s for s in held.seq_ids if s is not None)  # never acknowledged


async def test_a_send_answered_with_a_server_error_is_kept_not_rejected(
    server: LettaTestServer, db: Path
) -> None:
    """A 500 to the send is the server failing, not refusing: the request may even have
    started a run, so the key is neither ``rejected`` nor dropped; it stays in the store for
    a lookup by ``otid`` to decide."""
    agent = server.create_agent()["id"]
    server.faults.add(Fault.http_status(500, method="POST", path=SEND_STREAM))
    async with (
        AsyncLetta(base_url=server.base_url, max_retries=0) as client,
        SQLiteCursorStore(db) as store,
    ):
        async with DurableStreams(client, store, Sink(), lookup=FAST) as durable:
            await durable.send("k", agent, messages=user("hi"))
            (outcome,) = await durable.join()
        assert outcome.status == "failed" and not outcome.final
        assert [(c.key, c.phase) for c in await store.in_flight()] == [("k", "sending")]
        assert await store.ended() == []


LIST = r"/v1/agents/[^/]+/messages$"


async def test_a_maybe_sent_key_whose_agent_is_gone_leaves_the_store(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    """A key left ``sending`` for an agent the server no longer has (its lookup by ``otid``
    is answered 404): no run can be found or resumed, so the key ends ``gone`` and leaves
    the store, its ended record saying why."""
    dead = "agent-00000000-0000-4000-8000-00000000dead"
    async with SQLiteCursorStore(db) as store:
        await store.record(prepare("k", dead, user("hi"), {}))
        await store.mark_sending("k", time.time())
        async with DurableStreams(client, store, Sink(), lookup=FAST) as durable:
            await durable.recover()
            (outcome,) = await durable.join()
        assert await store.in_flight() == []
        (ended,) = await store.ended()
    assert (outcome.key, outcome.status, outcome.run_id, outcome.seq_id) == ("k", "gone", None, 0)
    assert isinstance(outcome.error, APIStatusError) and outcome.error.status_code == 404
    assert (ended.key, ended.status, ended.agent_id, ended.run_id, ended.seq_id) == (
        "k",
        "gone",
        dead,
        None,
        0,
    )
    assert ended.error.startswith("HTTP 404: ")


@pytest.mark.parametrize("cut", [False, True])
async def test_a_lookup_that_fails_keeps_the_key_to_try_again(
    server: LettaTestServer, db: Path, cut: bool
) -> None:
    """The lookup by ``otid`` of a maybe-sent key fails (the server answers 500, or the
    connection breaks): nothing is known either way, so the key ``failed`` and stays
    ``sending`` for a later attempt to decide; it is neither dropped nor parked."""
    agent = server.create_agent()["id"]
    fault = (
        Fault(method="GET", path=LIST, cut="before_headers", times=None)
        if cut
        else Fault.http_status(500, method="GET", path=LIST, times=None)
    )
    server.faults.add(fault)
    async with (
        AsyncLetta(base_url=server.base_url, max_retries=0) as client,
        SQLiteCursorStore(db) as store,
    ):
        await store.record(prepare("k", agent, user("hi"), {}))
        await store.mark_sending("k", time.time())
        async with DurableStreams(client, store, Sink(), lookup=FAST) as durable:
            await durable.recover()
            (outcome,) = await durable.join()
            assert (outcome.key, outcome.status, outcome.run_id, outcome.seq_id) == (
                "k",
                "failed",
                None,
                0,
            )
            kind = APIConnectionError if cut else APIStatusError
            assert isinstance(outcome.error, kind)
            assert [(c.key, c.phase) for c in await store.in_flight()] == [("k", "sending")]
            assert await store.ended() == []
            server.faults.remove(fault)
            await durable.recover()  # the lookup answers now: no such otid, parked
            assert [o.status for o in await durable.join()] == ["unconfirmed"]


async def test_a_handler_failing_on_the_first_batch_keeps_the_run_named(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    """The handler raises on the run's very first events, before any acknowledgement: the
    stored failure names the run, so the next attempt resumes it (no lookup by ``otid``) and
    delivers every event once."""
    agent = server.create_agent()["id"]
    tries: list[int] = []
    sink = Sink()

    async def first_fails(batch: Batch) -> None:
        tries.append(1)
        if len(tries) == 1:
            raise RuntimeError("not yet")
        await sink(batch)

    async with SQLiteCursorStore(db) as store:
        async with DurableStreams(client, store, first_fails) as durable:
            await durable.send("k", agent, messages=user("hi"))
            (failed,) = await durable.join()
        assert failed.status == "failed" and failed.run_id is not None
        (cursor,) = await store.in_flight()
        assert (cursor.run_id, cursor.seq_id, cursor.failures) == (failed.run_id, 0, 1)
        async with DurableStreams(client, store, first_fails) as durable:
            await durable.recover()
            (outcome,) = await durable.join()
    assert (outcome.status, outcome.run_id) == ("completed", failed.run_id)
    assert sink.seqs() == [seq for seq, _ in logged(server, failed.run_id)]


async def test_a_send_made_long_ago_is_parked_without_waiting_out_the_grace(
    server: LettaTestServer, client: AsyncLetta, db: Path
) -> None:
    """The lookup's grace counts from when the send was made: a key found ``sending`` a
    minute after its send (a restart much later) has its ``otid`` looked for at once, not for ten
    seconds more, and is parked as ``unconfirmed`` (well within 5 s)."""
    agent = server.create_agent()["id"]
    async with SQLiteCursorStore(db) as store:
        await store.record(prepare("k", agent, user("hi"), {}))
        await store.mark_sending("k", time.time() - 60)
        async with DurableStreams(client, store, Sink(), lookup=OtidLookup(grace=10)) as durable:
            with anyio.fail_after(5):
                await durable.recover()
                (outcome,) = await durable.join()
    assert outcome.status == "unconfirmed"
