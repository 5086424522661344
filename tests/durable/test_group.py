"""Group commit: writes share flushes, each waiter gets its own result, cancels are clean."""

from __future__ import annotations

import time
from collections.abc import Sequence

import anyio
import pytest

from letta_async.durable._group import GroupCommit

pytestmark = pytest.mark.anyio


class Recorder:
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.flushes: list[list[int]] = []
        self.running = 0
        self.peak = 0

    async def __call__(self, ops: Sequence[int]) -> list[int]:
        self.running += 1
        self.peak = max(self.peak, self.running)
        self.flushes.append(list(ops))
        await anyio.sleep(self.delay)
        self.running -= 1
        if -1 in ops:
            raise ValueError("bad write")
        return [op * 10 for op in ops]


@pytest.mark.parametrize("concurrency", [1, 3])
async def test_writes_share_flushes_and_get_their_own_results(concurrency: int) -> None:
    flush = Recorder(delay=0.01)
    group: GroupCommit[int, int] = GroupCommit(flush, concurrency=concurrency)
    results: dict[int, int] = {}

    async def write(n: int) -> None:
        results[n] = await group.submit(n)

    async with anyio.create_task_group() as tasks:
        for n in range(100):
            tasks.start_soon(write, n)
    assert results == {n: n * 10 for n in range(100)}
    assert sorted(op for ops in flush.flushes for op in ops) == list(range(100))
    assert len(flush.flushes) < 20
    assert flush.peak <= concurrency
    assert group.flushes == len(flush.flushes)  # the count a store reports: what really ran


async def test_a_failed_flush_fails_its_writes_only() -> None:
    flush = Recorder(delay=0.01)
    group: GroupCommit[int, int] = GroupCommit(flush)
    outcomes: dict[int, object] = {}

    async def write(n: int) -> None:
        try:
            outcomes[n] = await group.submit(n)
        except ValueError as exc:
            outcomes[n] = exc

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(write, 1)
        await anyio.sleep(0.001)
        tasks.start_soon(write, -1)
        tasks.start_soon(write, 2)
    assert outcomes[1] == 10
    assert isinstance(outcomes[-1], ValueError) and isinstance(outcomes[2], ValueError)
    assert await group.submit(3) == 30


async def test_a_cancelled_waiter_never_writes() -> None:
    flush = Recorder(delay=0.05)
    group: GroupCommit[int, int] = GroupCommit(flush)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(group.submit, 1)  # leads; its flush takes a while
        await anyio.sleep(0.01)
        with anyio.move_on_after(0.01):
            await group.submit(2)  # queued behind the running flush, then cancelled
        tasks.start_soon(group.submit, 3)
    assert [op for ops in flush.flushes for op in ops] == [1, 3]


class Gate:
    """A flush that records which writes it applied, and runs ``then`` before answering."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.taken: list[list[int]] = []
        self.applied: list[list[int]] = []
        self.then: dict[int, anyio.CancelScope] = {}

    async def __call__(self, ops: Sequence[int]) -> list[int]:
        self.taken.append(list(ops))
        await anyio.sleep(self.delay)
        self.applied.append(list(ops))
        for op in ops:
            if op in self.then:
                self.then[op].cancel()
        return [op * 10 for op in ops]


async def submit_in(scope: anyio.CancelScope, group: GroupCommit[int, int], op: int) -> None:
    with scope:
        await group.submit(op)


async def test_a_flush_under_way_still_answers_its_writes_when_its_leader_is_cancelled() -> None:
    """Once writes are handed to the database, their waiters must hear how it went: the
    leader's cancellation does not cut the flush short."""
    flush = Gate(delay=0.1)
    group: GroupCommit[int, int] = GroupCommit(flush)
    results: dict[int, int] = {}

    async def write(n: int) -> None:
        results[n] = await group.submit(n)

    leader = anyio.CancelScope()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(submit_in, leader, group, 1)
            tasks.start_soon(write, 2)
            await anyio.sleep(0.03)
            assert flush.taken == [[1, 2]] and flush.applied == []
            leader.cancel()
    assert flush.applied == [[1, 2]]
    assert results == {2: 20}
    assert await group.submit(3) == 30


async def test_writes_arriving_within_linger_share_the_flush() -> None:
    flush = Gate()
    group: GroupCommit[int, int] = GroupCommit(flush, linger=0.5)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(group.submit, 1)
            await anyio.sleep(0.05)
            tasks.start_soon(group.submit, 2)
    assert flush.applied == [[1, 2]]
    assert group.flushes == 1


async def test_a_leader_cancelled_while_it_lingers_hands_on_the_flush_and_its_slot() -> None:
    """Its own write never happens; the writes queued behind it are flushed without waiting
    for another writer, and the flush slot it held is free again (one flush at a time)."""
    flush = Gate(delay=0.05)
    group: GroupCommit[int, int] = GroupCommit(flush, linger=0.3)
    results: dict[int, int] = {}

    async def write(n: int) -> None:
        results[n] = await group.submit(n)

    leader = anyio.CancelScope()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(submit_in, leader, group, 1)
            await anyio.sleep(0.05)
            tasks.start_soon(write, 2)
            tasks.start_soon(write, 3)
            await anyio.sleep(0.05)
            leader.cancel()
        assert results == {2: 20, 3: 30}
        assert flush.applied == [[2, 3]]
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(write, 4)
            await anyio.sleep(0.05)
            tasks.start_soon(write, 5)  # joins the lingering flush: the only slot is taken
    assert results == {2: 20, 3: 30, 4: 40, 5: 50}
    assert flush.applied == [[2, 3], [4, 5]]
    assert group.flushes == 2


async def test_a_waiter_cancelled_as_it_is_woken_to_lead_passes_the_lead_on() -> None:
    flush = Gate(delay=0.05)
    group: GroupCommit[int, int] = GroupCommit(flush)
    results: dict[int, int] = {}

    async def write(n: int) -> None:
        results[n] = await group.submit(n)

    second = anyio.CancelScope()
    flush.then[1] = second  # cancelled as the first flush ends, just before it is woken
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(write, 1)
            await anyio.sleep(0.02)
            tasks.start_soon(submit_in, second, group, 2)
            tasks.start_soon(write, 3)
    assert results == {1: 10, 3: 30}
    assert flush.applied == [[1], [3]]


async def test_a_waiter_cancelled_during_the_flush_of_its_write_leaves_quietly() -> None:
    """Its write was handed over and is applied; the cancellation ends its task like any
    other, and the other writes of the flush get their results."""
    flush = Gate(delay=0.1)
    group: GroupCommit[int, int] = GroupCommit(flush)
    results: dict[int, int] = {}

    async def write(n: int) -> None:
        results[n] = await group.submit(n)

    second = anyio.CancelScope()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(write, 1)
            tasks.start_soon(submit_in, second, group, 2)
            tasks.start_soon(write, 3)
            await anyio.sleep(0.03)
            assert flush.taken == [[1, 2, 3]]
            second.cancel()
    assert results == {1: 10, 3: 30}
    assert flush.applied == [[1, 2, 3]]
    assert await group.submit(4) == 40


async def test_a_waiter_beaten_to_the_free_slot_waits_without_spinning() -> None:
    """Woken to lead just as a new write takes the only slot, a waiter waits for that flush
    like any other: it does not keep the event loop busy while the new leader lingers."""
    flushed: list[list[int]] = []
    results: dict[int, int] = {}

    async def write(n: int) -> None:
        results[n] = await group.submit(n)

    async def flush(ops: Sequence[int]) -> list[int]:
        await anyio.sleep(0.2)
        flushed.append(list(ops))
        if ops == [1]:
            tasks.start_soon(write, 3)  # runs before 2 is woken, and takes the free slot
        return [op * 10 for op in ops]

    group: GroupCommit[int, int] = GroupCommit(flush, linger=0.5)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(write, 1)
            await anyio.sleep(0.6)  # 1 is flushing now
            tasks.start_soon(write, 2)
            await anyio.sleep(0.2)  # 1's flush ended: 3 lingers, 2 waits for it
            started = time.process_time()
        busy = time.process_time() - started
    assert results == {1: 10, 2: 20, 3: 30}
    assert flushed == [[1], [2, 3]]
    assert busy < 0.1, f"{busy:.2f} s of CPU while waiting"
