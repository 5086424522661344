"""Group commit: writes share flushes, each waiter gets its own result, cancels are clean."""

from __future__ import annotations

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
