"""The migration corpus: programs written for the official SDK must run unchanged on letta_async.

Every program in ``migration/programs`` is a complete script for ``letta_client`` (the official
SDK, 1.12.1). Each test here runs one program twice against the real server of the e2e stack,
once as written and once with only its imports switched to ``letta_async``
(``migration/switch.py``), and requires both runs to exit 0 with identical standard output.
The programs print only what is stable across runs and across the two libraries, so any
difference is a compatibility gap. ``test_mypy_strict`` and ``test_pyright`` type-check both
versions.

Programs marked ``# server: letta_async.testing`` call routes newer than the real 0.16.8
server; both their runs go to one bundled test server (``letta_async.testing``) instead, so
the two SDKs are still compared on the same answers. A program with a ``# known gap:``
comment exposes a gap not closed yet: once its original has run cleanly, a differing switched
run is an expected failure (xfail), and a matching one fails until the comment is removed.

The official SDK is needed to run and type-check the originals; without it those tests are
skipped (the ``e2e`` nox session installs ``letta-client==1.12.1``).
"""

from __future__ import annotations

import ast
import asyncio
import difflib
import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from letta_async.testing import BackgroundLettaServer
from tests.model_diff import differences, observe
from tools.model_calls import call_for_exchange

from .migration.switch import switch_source
from .recorder import Exchange, RecordingRelay

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PROGRAMS_DIR = HERE / "migration" / "programs"
PROGRAMS = sorted(PROGRAMS_DIR.glob("[0-9][0-9]_*.py"))
#: One program normally takes 2-10 s; this only stops a hung run from stalling the suite.
RUN_TIMEOUT = 180.0
MYPY_TIMEOUT = 600.0

pytestmark = pytest.mark.e2e

#: A program with this line runs against the bundled test server instead of the real one:
#: it calls routes newer than Letta 0.16.8 (scheduled messages, templates, environments,
#: access tokens), which the test server serves.
TEST_SERVER_MARK = re.compile(r"^# server: letta_async\.testing$", re.MULTILINE)

#: A program that exposes a gap not closed yet says so in a comment block starting with this
#: line (the reason follows, over as many ``#`` lines as it needs). Its original must still
#: run cleanly; a differing switched run is then an expected failure, and a matching one
#: fails the test until the comment goes.
KNOWN_GAP_MARK = re.compile(r"^# known gap: (.+(?:\n# .+)*)$", re.MULTILINE)


def runs_on_test_server(program: Path) -> bool:
    """Whether the program asks for the bundled test server (see TEST_SERVER_MARK)."""
    return TEST_SERVER_MARK.search(program.read_text(encoding="utf-8")) is not None


def known_gap(program: Path) -> str | None:
    """The reason a program is expected to fail for now (see KNOWN_GAP_MARK), or None."""
    found = KNOWN_GAP_MARK.search(program.read_text(encoding="utf-8"))
    return None if found is None else " ".join(found.group(1).replace("\n# ", " ").split())


#: Running or type-checking the originals needs the official SDK in this interpreter.
needs_official_sdk = pytest.mark.skipif(
    importlib.util.find_spec("letta_client") is None,
    reason="migration corpus skipped: the official SDK (letta-client==1.12.1) is not "
    "installed in this interpreter, so the original programs cannot run; `nox -s e2e` "
    "installs it",
)

SWITCH_SAMPLE = """\
\"\"\"Mentions letta_client in a docstring.\"\"\"
import asyncio, letta_client
import letta_client as lc
import letta_client.types
from letta_client import (
    AsyncLetta,  # from letta_client
    NotFoundError,
)
from letta_client.types.agents import AssistantMessage
import os.path, letta_client.types.agents as ag


def f() -> str:
    from letta_client import APIError
    return "from letta_client import X"
"""

SWITCH_EXPECTED = """\
\"\"\"Mentions letta_client in a docstring.\"\"\"
import asyncio, letta_async as letta_client
import letta_async as lc
import letta_async.types; import letta_async as letta_client
from letta_async import (
    AsyncLetta,  # from letta_client
    NotFoundError,
)
from letta_async.types.agents import AssistantMessage
import os.path, letta_async.types.agents as ag


def f() -> str:
    from letta_async import APIError
    return "from letta_client import X"
"""


@pytest.fixture(scope="module")
def test_server() -> Iterator[BackgroundLettaServer]:
    """One bundled test server for the programs marked with TEST_SERVER_MARK.

    It holds one environment (a device running Letta Code), since no route creates one.
    The programs clean up after themselves, so both runs of each see the same state.
    """
    with BackgroundLettaServer() as server:
        server.add_environment("laptop")
        yield server


@pytest.fixture(scope="module")
def switched_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Switched copies of every program, under the same file names."""
    target = tmp_path_factory.mktemp("switched")
    for program in PROGRAMS:
        (target / program.name).write_text(
            switch_source(program.read_text(encoding="utf-8")), encoding="utf-8"
        )
    return target


def _env(base_url: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # Settings that would change what either client does must come from the test alone.
    for name in ("LETTA_API_KEY", "LETTA_CUSTOM_HEADERS", "LETTA_LOG", "LETTA_BASE_URL"):
        env.pop(name, None)
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if base_url is not None:
        env["LETTA_BASE_URL"] = base_url
    return env


def _run(script: Path, base_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [sys.executable, str(script)],
            cwd=cwd,
            env=_env(base_url),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{script.name} did not finish within {RUN_TIMEOUT:.0f} s (cwd {cwd}): {exc}")


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def test_switch_rewrites_every_import_form() -> None:
    assert switch_source(SWITCH_SAMPLE) == SWITCH_EXPECTED


def test_corpus_is_complete() -> None:
    assert len(PROGRAMS) >= 42, [p.name for p in PROGRAMS]
    numbers = [p.name[:2] for p in PROGRAMS]
    assert len(set(numbers)) == len(numbers), "two programs share a number"


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_switch_changes_imports_only(program: Path) -> None:
    """The switched copy differs only in its import lines and no longer imports letta_client."""
    original = program.read_text(encoding="utf-8")
    switched = switch_source(original)
    assert "letta_client" in original
    for before, after in zip(original.splitlines(), switched.splitlines(), strict=True):
        if before != after:
            assert before.lstrip().startswith(("import letta_client", "from letta_client")), before
            assert "letta_async" in after, after
    imports = [line.strip() for line in switched.splitlines() if "import " in line]
    assert not any(
        line.startswith(("from letta_client", "import letta_client")) for line in imports
    ), imports


def _better_history_walk(official: str, ours: str) -> str | None:
    """``descending:`` differs where the official SDK stops after the first desc page.

    Letta's desc pages come oldest-first, so the official ``after=<last id>`` finds nothing
    after page one (README, Migrating). Ours must start with exactly what the official walk
    printed and go on to every message the ascending walk printed, each once.
    """
    prefix = "descending: "
    if not (official.startswith(prefix) and ours.startswith(prefix)):
        return "only the descending walk may differ"
    lost = ast.literal_eval(official[len(prefix) :])
    walked = ast.literal_eval(ours[len(prefix) :])
    if walked[: len(lost)] != lost:
        return "the first page differs from the official SDK's"
    if len(walked) <= len(lost):
        return "the walk did not go past the first page"
    return None


def _better_manual_pages(official: str, ours: str) -> str | None:
    """``desc: page sizes``: the official walk ends after one page for the same reason."""
    pattern = re.compile(r"desc: page sizes \[([\d, ]*)\], (\d+) messages, unique True")
    theirs, mine = pattern.fullmatch(official), pattern.fullmatch(ours)
    if theirs is None or mine is None:
        return "only the desc page walk may differ"
    if int(mine.group(2)) <= int(theirs.group(2)):
        return "the desc walk did not go past the official SDK's first page"
    if mine.group(1).split(",")[0] != theirs.group(1).split(",")[0]:
        return "the first desc page differs"
    return None


def _stream_error_class(official: str, ours: str) -> str | None:
    """In-stream errors raise ``StreamError``, an ``APIStatusError`` subclass (the program
    prints ``isinstance(e, APIStatusError)`` too, and that line must match)."""
    for prefix in ("stream raised: ", "token stream raised: "):
        if official == prefix + "APIStatusError" and ours == prefix + "StreamError":
            return None
    return "only the class name of an in-stream error may differ"


DOCUMENTED_DIFFERENCES: dict[str, Callable[[str, str], str | None]] = {
    # Programs whose output legitimately differs, each line checked by a function that
    # returns why a difference is wrong (or None): where the official SDK loses data (its
    # desc history walks stop after one page) and where the error class is a documented
    # subclass of the official one.
    "10_history_auto_pagination": _better_history_walk,
    "11_history_manual_pages": _better_manual_pages,
    "25_llm_error_stream": _stream_error_class,
}


def _compare(program: str, official: str, ours: str) -> list[str]:
    """Reasons the outputs disagree beyond what DOCUMENTED_DIFFERENCES allows."""
    left, right = official.splitlines(), ours.splitlines()
    check = DOCUMENTED_DIFFERENCES.get(program)
    if check is None or len(left) != len(right):
        return [] if official == ours else ["output differs"]
    problems = []
    for theirs, mine in zip(left, right, strict=True):
        if theirs != mine:
            reason = check(theirs, mine)
            if reason is not None:
                problems.append(f"{reason}: {mine!r}")
    return problems


def test_test_server_programs_are_marked() -> None:
    """The routes newer than 0.16.8 are exercised, and only on the bundled test server."""
    marked = [p.stem for p in PROGRAMS if runs_on_test_server(p)]
    assert marked, "no program runs against the bundled test server"
    for program in PROGRAMS:
        text = program.read_text(encoding="utf-8")
        newer = any(f"client.{r}." in text for r in ("templates", "environments", "access_tokens"))
        if newer or "agents.schedule." in text:
            assert program.stem in marked, program.name


@pytest.fixture(scope="module")
def received() -> list[Exchange]:
    """Every exchange between the original programs and the server, in order."""
    return []


@needs_official_sdk
@pytest.mark.timeout(2 * RUN_TIMEOUT + 60)
@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_program_output_matches(
    program: Path,
    request: pytest.FixtureRequest,
    switched_dir: Path,
    tmp_path: Path,
    received: list[Exchange],
) -> None:
    """The original and the switched copy print the same, on the real server or, for
    programs marked with TEST_SERVER_MARK, on the bundled test server (KNOWN_GAP_MARK: an
    expected difference)."""
    if runs_on_test_server(program):
        base_url = request.getfixturevalue("test_server").base_url
    else:
        base_url = request.getfixturevalue("stack").base_url
    # The original talks to the server through a relay that keeps each answer, so that
    # test_every_answer_the_corpus_received_reads_as_officially can read them all again.
    with RecordingRelay(base_url) as relay:
        original = _run(program, relay.url, tmp_path)
    received.extend(relay.exchanges)
    assert original.returncode == 0, (
        f"{program.name} failed with the official SDK (exit {original.returncode}); the corpus "
        f"or the stack is broken, not letta_async.\nstdout:\n{_tail(original.stdout)}\n"
        f"stderr:\n{_tail(original.stderr)}"
    )
    assert original.stdout.strip(), f"{program.name} printed nothing"

    switched = _run(switched_dir / program.name, base_url, tmp_path)
    gap = known_gap(program)
    diff = "\n".join(
        difflib.unified_diff(
            original.stdout.splitlines(),
            switched.stdout.splitlines(),
            fromfile=f"{program.name} (letta_client)",
            tofile=f"{program.name} (letta_async)",
            lineterm="",
        )
    )
    assert switched.returncode == 0 or gap is not None, (
        f"{program.name} failed after switching to letta_async (exit {switched.returncode})\n"
        f"stdout diff:\n{diff}\nstderr:\n{_tail(switched.stderr)}"
    )
    problems = _compare(program.stem, original.stdout, switched.stdout)
    if gap is not None:
        if switched.returncode == 0 and not problems:
            pytest.fail(
                f"{program.name} now matches the official SDK: the gap is closed, so remove "
                "its '# known gap:' comment"
            )
        pytest.xfail(f"known gap: {gap}")
    assert not problems, f"output differs ({'; '.join(problems)}):\n{diff}"


@needs_official_sdk
@pytest.mark.timeout(MYPY_TIMEOUT + 60)
@pytest.mark.parametrize("version", ["original", "switched"])
def test_mypy_strict(version: str, switched_dir: Path, tmp_path: Path) -> None:
    """``mypy --strict`` (with the project's mypy settings) is clean on both versions."""
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed in this interpreter")
    target = PROGRAMS_DIR if version == "original" else switched_dir
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            str(REPO / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "mypy-cache"),
            str(target),
        ],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=MYPY_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"mypy --strict on the {version} programs:\n{result.stdout}"
    assert "Success: no issues found" in result.stdout, result.stdout


# Mistakes pyright must report in either version (a tool-call fragment's name may be None;
# an agent's name is no int), so that a clean verdict on the corpus cannot come from pyright
# not seeing the SDK's types, the sync client's (programs 35-40) included.
PYRIGHT_MISTAKE = """
from letta_client import Letta
from letta_client.types.agents import ToolCallMessage


def name_of(message: ToolCallMessage) -> str:
    return message.tool_call.name


def sync_agent_name(client: Letta) -> int:
    return client.agents.retrieve("agent-x").name
"""


@needs_official_sdk
@pytest.mark.timeout(MYPY_TIMEOUT + 60)
@pytest.mark.parametrize("version", ["original", "switched"])
def test_pyright(version: str, switched_dir: Path, tmp_path: Path) -> None:
    """pyright (standard mode) is clean on both versions and still catches a planted mistake."""
    if importlib.util.find_spec("basedpyright") is None:
        pytest.skip("basedpyright is not installed in this interpreter")
    from tests.test_typing_idioms import pyright_lines

    source = PROGRAMS_DIR if version == "original" else switched_dir
    names = [program.name for program in PROGRAMS]
    for name in names:
        (tmp_path / name).write_text((source / name).read_text(encoding="utf-8"))
    mistake = PYRIGHT_MISTAKE if version == "original" else switch_source(PYRIGHT_MISTAKE)
    (tmp_path / "mistake.py").write_text(mistake)
    lines = pyright_lines(tmp_path, [*names, "mistake.py"])
    corpus = [line for line in lines if not line.startswith("mistake.py")]
    assert corpus == [], f"pyright on the {version} programs:\n" + "\n".join(corpus)
    assert any(line.startswith("mistake.py:7:") for line in lines), lines
    assert any(line.startswith("mistake.py:11:") for line in lines), lines
    sync = [p.name for p in PROGRAMS if re.search(r"\bLetta\(", p.read_text(encoding="utf-8"))]
    assert len(sync) >= 6, f"the sync programs are missing from the checked corpus: {sync}"


@needs_official_sdk
@pytest.mark.timeout(600)
def test_every_answer_the_corpus_received_reads_as_officially(received: list[Exchange]) -> None:
    """Models, field by field, on everything the real server sent the original programs.

    Each successful, complete answer is served again from loopback and read through the
    official method for its route (``tools/model_calls.py``) by the official SDK and by this
    client; what a program sees must be the same, attribute by attribute
    (``tests/model_diff.py``). Runs after the programs (it reads what they received).
    """
    from tools.record_official_models import Answering
    from tools.record_official_models import observe as observe_officially

    if not received:
        pytest.skip("no program of the corpus ran in this session")
    read, found = 0, []
    seen: set[tuple[str, bytes]] = set()
    with Answering() as server:
        for exchange in received:
            if not (200 <= exchange.status < 300 and exchange.complete):
                continue
            body = dict(exchange.body) if isinstance(exchange.body, dict) else exchange.body
            call = call_for_exchange(exchange.method, exchange.target, body, exchange.content_type)
            if call is None or (call.expression, exchange.answer) in seen:
                continue
            seen.add((call.expression, exchange.answer))
            server.answer(
                exchange.status, [("content-type", exchange.content_type)], exchange.answer
            )
            official = asyncio.run(observe_officially(call, server.url))
            ours = asyncio.run(observe(call, server.url))
            for line in differences(official, ours):
                found.append(f"{call.expression[:100]}: {line}")
            read += 1
    assert read >= 1
    assert not found, f"{len(found)} differences over {read} answers:\n" + "\n".join(found[:60])
