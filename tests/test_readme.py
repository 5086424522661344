"""The README's promises: its set-up commands, its sections, and every python block runs.

Convention (stated in the README): every fenced ``python`` block is a complete program. The
blocks read the server from ``LETTA_BASE_URL`` and an existing agent from ``LETTA_AGENT_ID``;
here both point at a local test server. Each block runs in a worker thread with its own event
loop (``asyncio.run``), while the server keeps serving on the test's loop, and must print
exactly what ``tests/readme_programs.py`` says the README documents (``tests/e2e`` checks the
same against a real server).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import aiohttp
import anyio
import pytest

from letta_async import AsyncLetta, Hooks
from letta_async import __all__ as public_names
from letta_async.testing import REPLY, Fault, LettaTestServer

from .readme_programs import OUTCOMES, README, Program, mismatches, programs

pytestmark = pytest.mark.anyio

PROGRAMS = programs()

# The local scripted agent answers at once, where a real model takes seconds over a long
# essay (the end-to-end suite's scripted LLM paces a request for something "long" that way):
# here the same pacing is asked for with the test server's marker, so the cancel lands
# mid-reply as it does for a reader.
LOCAL_PACING = {"Cancelling": ("Write a long essay.", "Write a long essay. [delay=5]")}


@pytest.fixture
def _restore_logging() -> Iterator[None]:
    """Blocks may call logging.basicConfig: undo it, so later tests log nowhere new."""
    root = logging.getLogger()
    ours = logging.getLogger("letta_async")
    saved = (root.handlers[:], root.level, ours.level)
    try:
        yield
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        ours.setLevel(saved[2])


@pytest.fixture
async def server() -> AsyncIterator[LettaTestServer]:
    async with LettaTestServer(keepalive_interval=0.5) as s:
        yield s


def test_setup_commands_are_exact() -> None:
    assert "```sh\npython3 -m pip install nox && nox -s demo\n```" in README
    assert "```sh\npython3 -m pip install nox && nox -s tests\n```" in README
    assert "## Streaming and the server's SDK gate" in README


def test_placeholders_for_figures_are_marked() -> None:
    for marker in ("benchmarks:start", "benchmarks:end", "api-coverage:start", "api-coverage:end"):
        assert f"<!-- {marker}" in README


def test_there_are_blocks_to_run() -> None:
    assert len(PROGRAMS) >= 8


def test_every_program_has_a_documented_outcome() -> None:
    titles = [program.title for program in PROGRAMS]
    assert sorted(titles) == sorted(OUTCOMES), "one outcome per program, and no stale ones"


def test_a_swallowed_error_fails_the_check() -> None:
    """The failure this check exists for: a block that catches an error and prints it."""
    printed = "conv-1 failed: stream() got an unexpected keyword argument 'messages'\n0 answers\n"
    found = mismatches("Many streams at once", printed, "", reply=REPLY, base_url="", agent_id="")
    assert any("reports a failure" in problem for problem in found)
    assert mismatches(
        "Errors",
        "no such agent: x\n",
        "Traceback (most recent call last):\n",
        reply=REPLY,
        base_url="",
        agent_id="",
    )


def test_the_tracing_example_says_what_to_install() -> None:
    """The extra brings the OpenTelemetry API only; the example also needs the SDK."""
    section = README[README.index("### OpenTelemetry") : README.index("## Migrating")]
    assert "from opentelemetry.sdk" in section
    assert "pip install 'letta-async[otel]' opentelemetry-sdk" in section


def test_every_exception_is_in_the_error_tree() -> None:
    tree = README[README.index("## Errors") : README.index("## Retries and timeouts")]
    errors = [n for n in public_names if n.endswith("Error")]
    missing = [n for n in errors if n not in tree]
    assert missing == []


@pytest.mark.usefixtures("_restore_logging")
@pytest.mark.parametrize("program", PROGRAMS, ids=[p.title for p in PROGRAMS])
async def test_python_block_prints_its_documented_outcome(
    program: Program,
    server: LettaTestServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    agent = server.create_agent(name="readme")
    monkeypatch.setenv("LETTA_BASE_URL", server.base_url)
    monkeypatch.setenv("LETTA_AGENT_ID", agent["id"])
    monkeypatch.delenv("LETTA_API_KEY", raising=False)
    monkeypatch.delenv("LETTA_DEMO_MODEL", raising=False)
    # dont_inherit: this module's `from __future__ import annotations` must not leak into the
    # snippet, or its annotations would never be evaluated (a misspelt type would pass).
    code = program.code
    if program.title in LOCAL_PACING:
        as_written, paced = LOCAL_PACING[program.title]
        assert as_written in code
        code = code.replace(as_written, paced)
    compiled = compile(code, f"README block ({program.title})", "exec", dont_inherit=True)

    def run() -> None:
        # pytest's log capture sits on the root logger during the test; without it a block's
        # basicConfig takes effect and its records reach stderr, as when the program runs alone.
        logging.getLogger().handlers[:] = []
        exec(compiled, {"__name__": "__main__"})

    with anyio.fail_after(30):
        await anyio.to_thread.run_sync(run)
    captured = capsys.readouterr()
    print(captured.out)  # shown by pytest -rP when a block's output needs a look
    problems = mismatches(
        program.title,
        captured.out,
        captured.err,
        reply=REPLY,
        base_url=server.base_url,
        agent_id=agent["id"],
    )
    assert problems == []


# --- what the Observability section promises -----------------------------------------------


async def test_resume_is_logged_and_hooked_without_the_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = "sk-observability-secret"
    seen: list[tuple[Any, ...]] = []

    def broken_hook(method: str, url: str) -> None:
        raise RuntimeError("a hook that fails must not break the stream")

    async def on_resume(run_id: str, starting_after: int | None, attempt: int) -> None:
        seen.append(("resume", run_id, starting_after, attempt))

    hooks = Hooks(
        on_request=[broken_hook, lambda method, url: seen.append(("request", method))],
        on_resume=[on_resume],
    )
    caplog.set_level(logging.DEBUG, logger="letta_async")
    async with LettaTestServer(api_key=key) as server:
        agent = server.create_agent(name="observed")
        server.faults.add(Fault(path=r"/messages/stream$", cut="after_frames", frames=3))
        async with AsyncLetta(server.base_url, api_key=key, hooks=hooks) as client:
            stream = client.agents.messages.stream(
                agent["id"], messages=[{"role": "user", "content": "hi"}], background=True
            )
            await stream.until_done()
    assert stream.completed and stream.resumes == 1
    assert seen == [
        ("request", "POST"),
        ("resume", stream.run_id, 3, 1),
        ("request", "POST"),
    ]
    messages = [r.getMessage() for r in caplog.records if r.name == "letta_async"]
    assert f"resuming run {stream.run_id} after seq_id 3 (attempt 1)" in messages
    assert sum(m.startswith("request POST http://127.0.0.1:") for m in messages) == 2
    assert any("hook" in m and "failed" in m for m in messages), "a failing hook is logged"
    assert key not in caplog.text


async def test_trace_configs_reach_the_aiohttp_session() -> None:
    starts: list[str] = []

    async def on_request_start(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        starts.append(f"{params.method} {params.url.path}")

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    async with LettaTestServer() as server:
        agent = server.create_agent(name="traced")
        async with AsyncLetta(server.base_url, trace_configs=[trace]) as client:
            await client.agents.retrieve(agent["id"])
            await client.agents.messages.stream(
                agent["id"], messages=[{"role": "user", "content": "hi"}]
            ).until_done()
    assert starts == [
        f"GET /v1/agents/{agent['id']}",
        f"POST /v1/agents/{agent['id']}/messages/stream",
    ]
