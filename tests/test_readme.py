"""The README's promises: its set-up commands, its sections, and every python block runs.

Convention (stated in the README): every fenced ``python`` block is a complete program. The
blocks read the server from ``LETTA_BASE_URL`` and an existing agent from ``LETTA_AGENT_ID``;
here both point at a local test server. Each block runs in a worker thread with its own event
loop (``asyncio.run``), while the server keeps serving on the test's loop.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import anyio
import pytest

from letta_async import AsyncLetta, Hooks
from letta_async import __all__ as public_names
from letta_async.testing import REPLY, Fault, LettaTestServer

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)
BLOCKS = BLOCK.findall(README)


def _title(code: str) -> str:
    """The README section a block sits in, for readable test ids."""
    before = README[: README.index(code)]
    headings = re.findall(r"^## (.+)$", before, re.MULTILINE)
    return headings[-1] if headings else "top"


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
    assert len(BLOCKS) >= 8


def test_every_exception_is_in_the_error_tree() -> None:
    tree = README[README.index("## Errors") : README.index("## Retries and timeouts")]
    errors = [n for n in public_names if n.endswith("Error")]
    missing = [n for n in errors if n not in tree]
    assert missing == []


@pytest.mark.usefixtures("_restore_logging")
@pytest.mark.parametrize("code", BLOCKS, ids=[_title(b) for b in BLOCKS])
async def test_python_block_runs(
    code: str,
    server: LettaTestServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    agent = server.create_agent(name="readme")
    monkeypatch.setenv("LETTA_BASE_URL", server.base_url)
    monkeypatch.setenv("LETTA_AGENT_ID", agent["id"])
    monkeypatch.delenv("LETTA_API_KEY", raising=False)
    # dont_inherit: this module's `from __future__ import annotations` must not leak into the
    # snippet, or its annotations would never be evaluated (a misspelt type would pass).
    compiled = compile(code, f"README block ({_title(code)})", "exec", dont_inherit=True)

    def run() -> None:
        exec(compiled, {"__name__": "__main__"})

    with anyio.fail_after(30):
        await anyio.to_thread.run_sync(run)
    out = capsys.readouterr().out
    print(out)  # shown by pytest -rP when a block's output needs a look
    assert out.strip(), "every block shows something"
    if "Quickstart" in _title(code):
        # The streamed reply, then the first page of agents (newest first) and whether the
        # page names a next one (it does whenever it has items, as in the official SDK).
        assert out == REPLY + "\n" + "['quickstart', 'readme'] True\n"


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
