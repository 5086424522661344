"""Every test ends within its time limit, and the failure names it.

pytest-timeout's ``signal`` method raises its failure once, in whatever Python code the main
thread runs when SIGALRM arrives. In an asyncio test that is often not the test's own code but
a transport's callback or a server's handler task, where the event loop logs the exception and
carries on: the test keeps running with no timer left (a page walk that never stopped ran for
nine minutes that way). So this plugin takes over pytest-timeout's timer:

- an async test is cancelled at its deadline, from inside the event loop, and fails;
- the alarm (a few seconds later for an async test) repeats every ``REPEAT`` seconds while
  the phase it interrupted (setup, call or teardown) is still running, so one of its failures
  lands in the test itself;
- after the limit, each phase that is left (the teardown, typically) gets ``hang_guard_grace``
  seconds of its own, so a hung clean-up ends as well;
- a watchdog thread ends the whole run when the test is still running ``hang_guard_grace``
  seconds past its limit (code that swallows every exception, or that never returns to the
  interpreter): it names the test, prints every thread's stack, stops the processes the run
  started and exits with status 1. ``faulthandler`` does the same without the name, should
  even the watchdog thread never get to run.
"""

from __future__ import annotations

import contextlib
import faulthandler
import functools
import inspect
import os
import signal
import sys
import threading
import time
from collections.abc import Coroutine, Generator
from pathlib import Path
from types import FrameType
from typing import Any

import anyio
import pytest
from _pytest.outcomes import OutcomeException

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found,unused-ignore]
from pytest_timeout import is_debugging  # type: ignore[import-untyped]

REPEAT = 1.0
ASYNC_HEADSTART = 5.0
GRACE_HELP = "seconds a test may run past its timeout before the hang guard ends the run"


STDERR = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("hang_guard_grace", GRACE_HELP, default="60")


def pytest_configure(config: pytest.Config) -> None:
    # The terminal's stderr, kept while output capture is off: during a test, fd 2 is a file.
    config.stash[STDERR] = os.dup(2)


def pytest_unconfigure(config: pytest.Config) -> None:
    os.close(config.stash[STDERR])


class Guard:
    """The timer of one test item, from the start of its setup to the end of its teardown."""

    def __init__(self, item: pytest.Item, timeout: float) -> None:
        self.item = item
        self.timeout = timeout
        self.grace = float(item.config.getini("hang_guard_grace"))
        self.expired = False
        self._stderr = item.config.stash[STDERR]
        self._previous: Any = None
        self._watchdog = threading.Timer(timeout + self.grace, self._end_the_run)
        self._watchdog.name = f"hang guard for {item.nodeid}"
        self._watchdog.daemon = True

    def arm(self) -> None:
        self.deadline = time.monotonic() + self.timeout
        self._previous = signal.signal(signal.SIGALRM, self._alarm)
        # An async test is cancelled at its deadline (see pytest_pyfunc_call); the alarm comes
        # a little later, for a loop that never gives the event loop a turn.
        late = (
            ASYNC_HEADSTART if inspect.iscoroutinefunction(getattr(self.item, "obj", None)) else 0
        )
        signal.setitimer(signal.ITIMER_REAL, self.timeout + late, REPEAT)
        self._watchdog.start()
        later = self.timeout + 2 * self.grace
        faulthandler.dump_traceback_later(later, exit=True, file=self._stderr)

    def disarm(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self._previous or signal.SIG_DFL)
        faulthandler.cancel_dump_traceback_later()
        self._watchdog.cancel()

    def phase_ended(self, last: bool) -> None:
        """Past the limit, the next phase starts on a fresh ``grace`` of its own.

        After the last phase the alarm stops at once: one going off in pytest's own code
        between the teardown and :meth:`disarm` would end the session instead of the test.
        """
        if last:
            signal.setitimer(signal.ITIMER_REAL, 0)
        elif self.expired:
            signal.setitimer(signal.ITIMER_REAL, self.grace, REPEAT)

    def _alarm(self, signum: int, frame: FrameType | None) -> None:
        if is_debugging():
            return
        self.expired = True
        __tracebackhide__ = True
        pytest.fail(f"Timeout (>{self.timeout:g}s): {self.item.nodeid} ran past its time limit")

    def _end_the_run(self) -> None:
        capture = self.item.config.pluginmanager.getplugin("capturemanager")
        with contextlib.suppress(Exception):  # what the test printed, when it can be had
            capture.suspend_global_capture(in_=True)
            out, err = capture.read_global_capture()
            self._say(out + err)
        late = f"{self.timeout:g} s limit + {self.grace:g} s"
        self._say(
            f"\n+++ hang guard: {self.item.nodeid} is still running after its {late}; "
            "the stack of every thread follows, then the run ends +++\n"
        )
        faulthandler.dump_traceback(file=self._stderr, all_threads=True)
        stopped = _stop_children()
        self._say(
            f"FAILED {self.item.nodeid} - hung past its time limit; the run was ended"
            f" (child processes stopped: {stopped})\n"
        )
        os._exit(1)

    def _say(self, text: str) -> None:
        os.write(self._stderr, text.encode(errors="replace"))


def _stop_children() -> int:
    """SIGKILL the processes this one started (servers, workers), so none outlives the run."""
    me, stopped = str(os.getpid()), 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == me:
            with contextlib.suppress(OSError):
                os.kill(int(stat.parent.name), signal.SIGKILL)
                stopped += 1
    return stopped


_GUARDS: dict[str, Guard] = {}


@pytest.hookimpl
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    if settings.method != "signal" or threading.current_thread() is not threading.main_thread():
        return None  # pytest-timeout's thread method: it ends the run itself
    guard = Guard(item, float(settings.timeout))
    _GUARDS[item.nodeid] = guard
    guard.arm()
    return True


@pytest.hookimpl
def pytest_timeout_cancel_timer(item: pytest.Item) -> bool | None:
    guard = _GUARDS.pop(item.nodeid, None)
    if guard is None:
        return None
    guard.disarm()
    return True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    finally:
        _phase_ended(item, last=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    finally:
        _phase_ended(item, last=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    finally:
        _phase_ended(item, last=True)


def _phase_ended(item: pytest.Item, *, last: bool) -> None:
    guard = _GUARDS.get(item.nodeid)
    if guard is not None:
        guard.phase_ended(last)


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    """An async test is cancelled at its deadline, inside its own task.

    An alarm that lands in the event loop's own code (its ``select``) leaves the test's task
    pending in the loop, and the next test that shares anyio's runner waits behind it
    forever; a cancellation ends the test where it is. And anyio's runner treats a test's
    ``pytest.fail()`` as a failure but the same failure inside a task group's exception group
    as a crash of the runner, so that group is unwrapped.
    """
    test = pyfuncitem.obj
    if not inspect.iscoroutinefunction(test):
        return (yield)

    guard = _GUARDS.get(pyfuncitem.nodeid)

    @functools.wraps(test)
    async def outcome_unwrapped(*args: Any, **kwargs: Any) -> Any:
        if guard is None:
            return await _unwrapped(test(*args, **kwargs))
        with anyio.move_on_after(guard.deadline - time.monotonic()) as scope:
            return await _unwrapped(test(*args, **kwargs))
        if scope.cancelled_caught:
            guard.expired = True
            pytest.fail(
                f"Timeout (>{guard.timeout:g}s): {pyfuncitem.nodeid} ran past its time limit"
            )
        return None

    pyfuncitem.obj = outcome_unwrapped
    try:
        return (yield)
    finally:
        pyfuncitem.obj = test


async def _unwrapped(test: Coroutine[Any, Any, Any]) -> Any:
    try:
        return await test
    except BaseExceptionGroup as group:
        only, rest = group.split(OutcomeException)
        if only is None or rest is not None:
            raise
        raise _first_leaf(only) from group


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
