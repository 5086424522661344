"""fan_out at its edges: the smallest limit and buffer, the defaults, the counters a caller reads
(``active``, ``started``, ``failed``, ``statistics()``) and the misuse errors."""

from __future__ import annotations

import gc
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from letta_async import FanOut, fan_out

pytestmark = pytest.mark.anyio


class Event:
    """An event a weak reference can follow (ints and strings cannot be referenced weakly)."""

    def __init__(self, n: int) -> None:
        self.n = n


def counted(
    key: str, count: int, running: list[str], *, hold: anyio.Event | None = None
) -> Callable[[], AsyncIterator[int]]:
    async def gen() -> AsyncIterator[int]:
        running.append(key)
        try:
            for i in range(count):
                yield i
                await anyio.lowlevel.checkpoint()
            if hold is not None:
                await hold.wait()
        finally:
            running.remove(key)

    return gen


async def test_limit_one_runs_the_streams_one_after_the_other() -> None:
    running: list[str] = []
    peak = 0
    requests = {f"k{n}": counted(f"k{n}", 5, running) for n in range(4)}
    seen: list[tuple[str, int]] = []
    with anyio.fail_after(5):
        async with fan_out(requests, limit=1, buffer=2) as events:
            async for key, event in events:
                assert not isinstance(event, Exception)
                peak = max(peak, len(running), events.active)
                seen.append((key, event))
    assert peak == 1
    # One at a time, so the keys do not interleave at all.
    assert seen == [(f"k{n}", i) for n in range(4) for i in range(5)]


async def test_buffer_zero_hands_every_event_over_directly() -> None:
    running: list[str] = []
    requests = {f"k{n}": counted(f"k{n}", 20, running) for n in range(3)}
    got: dict[str, list[int]] = {}
    with anyio.fail_after(5):
        async with fan_out(requests, limit=3, buffer=0) as events:
            assert events.statistics().max_buffer_size == 0
            async for key, event in events:
                assert not isinstance(event, Exception)
                assert events.statistics().current_buffer_used == 0
                got.setdefault(key, []).append(event)
    assert got == {key: list(range(20)) for key in requests}


async def test_the_defaults_are_fifty_streams_and_a_hundred_batches() -> None:
    """The documented defaults, through ``fan_out`` and through ``FanOut`` itself."""
    for make in (fan_out, FanOut):
        release = anyio.Event()
        running: list[str] = []
        requests = {f"k{n}": counted(f"k{n}", 1, running, hold=release) for n in range(60)}
        with anyio.fail_after(5):
            async with make(requests) as events:
                assert events.statistics().max_buffer_size == 100
                got = 0
                async for _key, _event in events:
                    got += 1
                    if got == 50:
                        # Every running stream has sent its one event and now waits.
                        await anyio.sleep(0.05)
                        assert events.active == 50 and len(running) == 50
                        assert events.started == 50
                        release.set()
                assert got == 60 and events.started == 60
            assert events.active == 0 and running == []


async def test_active_counts_the_streams_holding_a_slot() -> None:
    release = anyio.Event()
    running: list[str] = []
    limiter = anyio.CapacityLimiter(3)
    requests = {f"k{n}": counted(f"k{n}", 1, running, hold=release) for n in range(5)}
    with anyio.fail_after(5):
        async with fan_out(requests, limit=limiter) as events:
            got = 0
            async for _key, _event in events:
                got += 1
                if got == 3:
                    await anyio.sleep(0.05)
                    assert events.active == 3 == limiter.borrowed_tokens
                    release.set()
            # Every stream has ended: each gave its slot back as it finished.
            assert events.active == 0 and limiter.borrowed_tokens == 0
            assert events.started == 5 and events.failed == 0


async def test_a_fan_out_is_entered_once() -> None:
    running: list[str] = []
    events = fan_out({"a": counted("a", 1, running)})
    with anyio.fail_after(5):
        async with events:
            with pytest.raises(RuntimeError, match=r"^a FanOut can be entered only once$"):
                await events.__aenter__()
            assert [item async for item in events] == [("a", 0)]


async def test_statistics_before_the_block_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match=r"^the fan-out has not started$"):
        fan_out({}).statistics()


async def test_misuse_is_reported_in_the_words_of_the_api() -> None:
    """Each misuse names what to do instead, in words a caller can search for."""
    with pytest.raises(ValueError, match=r"^limit must be at least 1$"):
        fan_out({}, limit=0)
    with pytest.raises(ValueError, match=r"^buffer must be 0 or more$"):
        fan_out({}, buffer=-1)
    with pytest.raises(
        RuntimeError, match=r"^use `async with fan_out\(\.\.\.\) as events:` before iterating$"
    ):
        await fan_out({}).__anext__()
    # Leaving a block that was never entered is a bug in the caller's own context handling.
    with pytest.raises(AssertionError, match=r"^FanOut\.__aexit__ without __aenter__"):
        await fan_out({}).__aexit__(None, None, None)


async def test_handed_out_events_are_not_kept_by_the_fan_out() -> None:
    """Once the loop has taken a batch's events, dropping them frees them: the fan-out does not
    hold the last batch until it is closed (a long-lived fan-out would pin it)."""
    refs: list[weakref.ref[Event]] = []

    async def stream() -> AsyncIterator[Event]:
        for n in range(3):
            event = Event(n)
            refs.append(weakref.ref(event))
            yield event
            del event

    async def failing() -> AsyncIterator[Event]:
        await anyio.sleep(0.2)
        if refs:
            raise ValueError("late")
        yield Event(-1)

    items: list[tuple[str, Any]] = []
    with anyio.fail_after(5):
        async with fan_out({"a": stream, "b": failing}, limit=2) as events:
            async for key, event in events:
                if isinstance(event, Exception):
                    items.append((key, event))
                    gc.collect()
                    # The error arrived after all of "a"'s events: none is alive any more.
                    assert [ref() for ref in refs] == [None, None, None]
                del event
    assert [(key, str(error)) for key, error in items] == [("b", "late")]


async def test_every_failed_stream_is_counted() -> None:
    def broken(n: int) -> Callable[[], AsyncIterator[int]]:
        async def gen() -> AsyncIterator[int]:
            yield n
            raise ValueError(f"broke {n}")

        return gen

    async with fan_out({f"k{n}": broken(n) for n in range(3)}, limit=2) as events:
        errors = [key async for key, event in events if isinstance(event, Exception)]
        assert sorted(errors) == ["k0", "k1", "k2"]
        assert events.failed == 3 and events.started == 3


async def test_iterating_after_the_block_ends_at_once() -> None:
    running: list[str] = []
    async with fan_out({"a": counted("a", 100, running)}, buffer=1) as events:
        async for _ in events:
            break
    with anyio.fail_after(5):
        assert [item async for item in events] == []


async def test_a_stream_that_awaits_while_closing_finishes_before_a_cancelled_block_returns() -> (
    None
):
    """Leaving by cancellation still lets each stream's own cleanup run to its end (it may
    have a connection to give back), not stop at its first await."""
    cleaned: list[str] = []

    def endless(key: str) -> Callable[[], AsyncIterator[int]]:
        async def gen() -> AsyncIterator[int]:
            try:
                while True:
                    yield 1  # waits here while the fan-out's buffer is full
            finally:
                await anyio.sleep(0.01)
                cleaned.append(key)

        return gen

    with anyio.fail_after(5), anyio.move_on_after(0.1) as scope:
        async with fan_out({k: endless(k) for k in ("a", "b")}, limit=2, buffer=1) as events:
            async for _ in events:
                await anyio.sleep(0.01)  # slower than the streams: they wait on the buffer
    assert scope.cancelled_caught
    assert sorted(cleaned) == ["a", "b"]


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit])
async def test_an_interrupt_in_the_loop_body_leaves_the_block_as_itself(
    interrupt: type[BaseException],
) -> None:
    """Ctrl-C (or ``sys.exit()``) inside ``async for`` reaches the caller as itself, as it
    would from a plain loop, not wrapped in a ``BaseExceptionGroup``; the streams still
    running are closed on the way out."""
    running: list[str] = []
    release = anyio.Event()
    requests = {f"k{n}": counted(f"k{n}", 3, running, hold=release) for n in range(4)}
    with anyio.fail_after(5):
        with pytest.raises(interrupt) as raised:
            async with fan_out(requests, limit=4) as events:
                async for _key, _event in events:
                    raise interrupt()
    assert type(raised.value) is interrupt
    assert running == []
