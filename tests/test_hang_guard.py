"""The suite's time limits hold even where the code under test swallows the timeout's failure.

Each case runs a small hanging suite in a pytest of its own (``pytester``), with a one-second
limit, and reads what that run printed.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytest_plugins = ("pytester",)

ROOT = Path(__file__).resolve().parent.parent


def run_hanging_suite(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, source: str, *args: str
) -> tuple[pytest.RunResult, float]:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makepyfile(test_hangs=source)
    started = time.monotonic()
    result = pytester.runpytest_subprocess(
        "-p", "tests.hang_guard", "-p", "no:cacheprovider", "-p", "no:asyncio", *args, timeout=90
    )
    return result, time.monotonic() - started


SWALLOWS_ONCE = """
import time
import pytest

@pytest.mark.timeout(1)
def test_swallows_the_first_failure():
    try:
        while True:
            time.sleep(0.01)
    except BaseException:
        pass  # as an event loop does with an exception raised in a callback
    while True:
        time.sleep(0.01)

def test_after_it():
    pass
"""


def test_a_test_that_swallows_the_timeout_still_fails_and_the_run_goes_on(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, took = run_hanging_suite(pytester, monkeypatch, SWALLOWS_ONCE)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        ["*Timeout (>1s): test_hangs.py::test_swallows_the_first_failure ran past its time limit"]
    )
    assert took < 60


TIMES_OUT_IN_A_TASK_GROUP = """
import anyio
import pytest

pytestmark = pytest.mark.anyio

@pytest.fixture(scope="module")
def anyio_backend():
    return "asyncio"

@pytest.fixture(scope="module")
async def shared():
    yield "shared"

@pytest.mark.timeout(1)
async def test_hangs_in_a_task_group(shared):
    async with anyio.create_task_group() as group:
        group.start_soon(anyio.sleep_forever)

async def test_next_one_shares_the_runner(shared):
    assert shared == "shared"
"""


def test_an_async_timeout_in_a_task_group_fails_that_test_only(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, took = run_hanging_suite(pytester, monkeypatch, TIMES_OUT_IN_A_TASK_GROUP)
    result.assert_outcomes(failed=1, passed=1, errors=0)
    result.stdout.fnmatch_lines(["*test_hangs_in_a_task_group ran past its time limit*"])
    assert took < 60


SWALLOWS_EVERYTHING = """
import subprocess
import sys
import time
import pytest

@pytest.mark.timeout(1)
def test_never_lets_go():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    with open("child.pid", "w") as f:
        f.write(str(child.pid))
    while True:
        try:
            time.sleep(0.01)
        except BaseException:
            pass
"""


def test_a_test_that_never_lets_go_ends_the_run_by_name(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, took = run_hanging_suite(
        pytester, monkeypatch, SWALLOWS_EVERYTHING, "-o", "hang_guard_grace=2"
    )
    assert result.ret == 1
    result.stderr.fnmatch_lines(
        [
            "*hang guard: test_hangs.py::test_never_lets_go is still running after its 1 s*",
            "*test_hangs.py*in test_never_lets_go*",
            "FAILED test_hangs.py::test_never_lets_go - hung past its time limit*",
        ]
    )
    assert took < 60
    # The process the hung test started does not outlive the run.
    child = int((pytester.path / "child.pid").read_text())
    deadline = time.monotonic() + 10
    while running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(child)


def running(pid: int) -> bool:
    """Whether the process exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")
