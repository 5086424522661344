"""Every README program, run as written against the real Letta 0.16.8 server.

Each fenced ``python`` block runs as its own process (the way a reader runs it), with
``LETTA_BASE_URL`` pointing at the stack's server, ``LETTA_AGENT_ID`` at a fresh scenario
agent and ``LETTA_DEMO_MODEL`` at the model the stack has. Its output must be exactly what
the README documents (``tests/readme_programs.py``): the scripted LLM's reply where a reply is
printed, the right counts, no error caught and printed, nothing on stderr it does not
document. Each program has a hard time limit, so one that hangs fails instead of stalling the
suite. The demo (``examples/demo.py``) runs the same way, on a model the server lacks and on
one it has.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

import letta_async

from ..readme_programs import Program, mismatches, programs
from .conftest import create_agent
from .fake_llm import REPLY_TEXT
from .stack import AGENT_MODEL

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

PROGRAMS = programs()
ROOT = Path(__file__).resolve().parents[2]
# The slowest program reads a few seconds of a slow reply; a hang is cut off well before the
# suite's own patience runs out.
PROGRAM_TIMEOUT = 90.0


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[letta_async.AsyncLetta]:
    async with letta_async.AsyncLetta(base_url) as c:
        yield c


async def run_program(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """Run a Python program to its end (or kill it at the time limit); (code, out, err)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("LETTA_")}
    full_env.update(env)
    full_env["PYTHONUNBUFFERED"] = "1"
    with anyio.fail_after(PROGRAM_TIMEOUT):
        done = await anyio.run_process([sys.executable, *args], env=full_env, cwd=cwd, check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.title for p in PROGRAMS])
async def test_readme_program_on_the_real_server(
    program: Program, base_url: str, client: letta_async.AsyncLetta, tmp_path: Path
) -> None:
    agent_id = await create_agent(client)
    script = tmp_path / "program.py"
    script.write_text(program.code, encoding="utf-8")
    env = {
        "LETTA_BASE_URL": base_url,
        "LETTA_AGENT_ID": agent_id,
        "LETTA_DEMO_MODEL": AGENT_MODEL,
    }
    code, out, err = await run_program([str(script)], env, tmp_path)
    print(out, err, sep="\n")  # shown with -rP, and on failure
    assert code == 0, f"exit code {code}:\n{err}"
    problems = mismatches(
        program.title, out, err, reply=REPLY_TEXT, base_url=base_url, agent_id=agent_id
    )
    assert problems == []


async def test_demo_names_the_models_the_server_has(base_url: str, tmp_path: Path) -> None:
    """A first run on a server without the default model says what to pick instead."""
    env = {"LETTA_BASE_URL": base_url, "LETTA_DEMO_MODEL": "openai/gpt-4o-mini"}
    code, out, err = await run_program([str(ROOT / "examples" / "demo.py")], env, tmp_path)
    assert code == 1, out + err
    assert "Traceback" not in err
    assert "no model 'openai/gpt-4o-mini'" in err
    assert AGENT_MODEL in err, "the server's own handle is named"
    assert "LETTA_DEMO_MODEL=<handle>" in err
    assert "embedding" not in err, "the embedding exists: only the model is at fault"


async def test_demo_streams_with_a_model_the_server_has(base_url: str, tmp_path: Path) -> None:
    env = {"LETTA_BASE_URL": base_url, "LETTA_DEMO_MODEL": AGENT_MODEL}
    code, out, err = await run_program([str(ROOT / "examples" / "demo.py")], env, tmp_path)
    assert code == 0, out + err
    assert out.count(f"assistant: {REPLY_TEXT}") == 2, "the streamed and the blocking reply"
    assert "ended: end_turn" in out
    assert err == ""
