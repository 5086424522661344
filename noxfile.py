"""Developer tasks. ``nox -s tests`` is what CI runs; every install step lives here."""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests"]

PYTHON = os.environ.get("LETTA_ASYNC_NOX_PYTHON", "python3")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Lint, format check, strict typing, then the whole test suite."""
    session.install("-e", ".[dev]")
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
