"""The pytest plugin, as a user's suite meets it: test files that use only its fixtures, run
by pytest's own ``pytester`` under anyio's plugin and under pytest-asyncio."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from letta_async.testing import REPLY, TOOL_ANSWER, parse_script, say

pytest_plugins = ("pytester",)

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")

USER_SUITE = """
import pytest

from letta_async import InternalServerError, StreamTruncatedError
from letta_async.testing import REPLY, Fault, say

pytestmark = pytest.mark.anyio


async def test_the_agent_answers(letta_client, letta_agent):
    stream = await letta_client.agents.messages.create(
        letta_agent.id, messages=say("hello"), streaming=True
    )
    events = await stream.until_done()
    texts = [e.content for e in events if e.message_type == "assistant_message"]
    assert texts == [REPLY]


async def test_a_503_burst_fails_the_call(letta_server, letta_client, letta_agent):
    letta_server.faults.add(Fault.http_status(503, times=3, path="/v1/agents/", retry_after=0))
    with pytest.raises(InternalServerError):
        await letta_client.agents.retrieve(letta_agent.id)
    assert len(letta_server.requests_to("/v1/agents/agent-", "GET")) == 3


async def test_a_cut_stream_is_truncated(letta_server, letta_client, letta_agent):
    letta_server.faults.add(Fault.cut_after(2, method="POST", path="/messages$"))
    stream = await letta_client.agents.messages.create(
        letta_agent.id, messages=say("hi", tokens=10), streaming=True
    )
    with pytest.raises(StreamTruncatedError):
        await stream.until_done()
"""


# pytest-asyncio warns at start-up unless the loop scope of async fixtures is set.
QUIET_ASYNCIO = ("-o", "asyncio_default_fixture_loop_scope=function")


def run_suite(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_user=source)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=120)


def test_a_users_suite_runs_on_the_fixtures_alone(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, USER_SUITE, "-p", "no:asyncio")
    result.assert_outcomes(passed=3, warnings=0)


def test_anyio_tests_and_pytest_asyncio_live_side_by_side(pytester: pytest.Pytester) -> None:
    pytest.importorskip("pytest_asyncio")
    result = run_suite(pytester, USER_SUITE, *QUIET_ASYNCIO)
    result.assert_outcomes(passed=3, warnings=0)


def test_the_fixtures_run_under_pytest_asyncio_strict_mode(pytester: pytest.Pytester) -> None:
    pytest.importorskip("pytest_asyncio")
    source = USER_SUITE.replace("pytest.mark.anyio", "pytest.mark.asyncio")
    result = run_suite(pytester, source, "-o", "asyncio_mode=strict", *QUIET_ASYNCIO)
    result.assert_outcomes(passed=3, warnings=0)


def test_the_fixtures_run_under_pytest_asyncio_auto_mode(pytester: pytest.Pytester) -> None:
    pytest.importorskip("pytest_asyncio")
    source = USER_SUITE.replace("pytestmark = pytest.mark.anyio\n", "")
    result = run_suite(pytester, source, "-o", "asyncio_mode=auto", *QUIET_ASYNCIO)
    result.assert_outcomes(passed=3, warnings=0)


def test_each_test_gets_a_server_of_its_own(pytester: pytest.Pytester) -> None:
    source = """
import pytest
from letta_async.testing import Fault

SEEN = {}


def test_first(letta_server, letta_agent):
    letta_server.faults.add(Fault.http_status(500, times=None))
    letta_server.create_agent(name="left-behind")
    SEEN["port"] = letta_server.port


def test_second(letta_server):
    assert letta_server.port != SEEN["port"]
    assert len(letta_server.faults) == 0
    assert letta_server.state.agents == {}
    assert letta_server.requests == []


def test_the_session_server_is_shared_first(letta_session_server):
    letta_session_server.create_agent(name="shared")


def test_the_session_server_is_shared_second(letta_session_server):
    names = [a.data["name"] for a in letta_session_server.state.agents.values()]
    assert names == ["shared"]
"""
    result = run_suite(pytester, source)
    result.assert_outcomes(passed=4)


def test_options_reach_the_server_and_the_client(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
import pytest


@pytest.fixture(scope="session")
def letta_server_options():
    return {"api_key": "sk-from-conftest"}


@pytest.fixture
def letta_client_options():
    return {"max_retries": 0}
"""
    )
    source = """
import pytest

pytestmark = pytest.mark.anyio


async def test_the_key_is_demanded_and_sent(letta_server, letta_client):
    assert letta_client.max_retries == 0
    await letta_client.agents.list()
    (request,) = letta_server.requests_to("^/v1/agents/$")
    assert request.headers["Authorization"] == "Bearer sk-from-conftest"
"""
    result = run_suite(pytester, source)
    result.assert_outcomes(passed=1)


def test_an_async_fixture_without_an_async_runner_says_what_to_do(
    pytester: pytest.Pytester,
) -> None:
    source = """
def test_sync(letta_client):
    pass
"""
    result = run_suite(pytester, source, "-p", "no:asyncio")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*letta_client is an async fixture: mark the test*"])


def test_the_readme_example_passes(pytester: pytest.Pytester) -> None:
    section = README[README.index("### pytest fixtures") :]
    (example,) = re.findall(r"^```py\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)[:1]
    result = run_suite(pytester, example)
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 3 and "failed" not in outcomes, result.stdout.str()


def test_loading_the_plugin_imports_no_http_stack() -> None:
    program = (
        "import sys, letta_async.pytest_plugin\n"
        "heavy = [m for m in ('aiohttp', 'msgspec', 'letta_async.testing', 'letta_async._client')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr


def test_say_writes_the_markers_the_scripted_agent_reads() -> None:
    (message,) = say("what now", tool=True, reasoning=True, delay=0.25, tokens=7)
    assert message["role"] == "user"
    script = parse_script(message["content"])
    assert script.text == "what now"
    assert (script.tool, script.reasoning, script.delay, script.tokens) == (True, True, 0.25, 7)
    assert parse_script(say()[0]["content"]).text == "hi"
    assert REPLY and TOOL_ANSWER
    with pytest.raises(ValueError, match="delay"):
        say(delay=-1.0)
