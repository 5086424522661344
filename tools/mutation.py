"""Mutation testing: do the tests notice when the code is subtly wrong?

mutmut (configured under ``[tool.mutmut]`` in pyproject.toml) makes every mechanical mutant of
the modules where the promises live (a flipped comparison, a dropped argument, a changed
constant) and runs, for each one, the tests that reached the mutated function. A mutant is
*killed* when they fail and *survives* when they pass.

Every survivor has been read and recorded in ``tools/mutation_survivors.toml``: either it is
*equivalent* (nothing a caller can observe changes, with the reason) or a test that kills it is
*pending*. A run fails when a survivor is not in that file, so each run shows only the new ones.
The strings mutmut cannot mutate meaningfully (the Lua scripts, the SQL) keep their
hand-written mutants in ``tools/mutants.json`` (``tools/mutation_strings.py``).

    nox -s mutation                         # everything; writes the per-module scores
    nox -s mutation -- --only _stream,durable
    nox -s mutation -- --only _stream --tests tests/test_stream.py,tests/test_resume.py
    nox -s mutation -- --quick              # CI: a fixed sample of the core promises' mutants
    nox -s mutation -- --changed            # the functions the last change touched
    nox -s mutation -- --report-only        # re-read the results of the last run

A full run keeps its results in ``mutants/``; the next one re-checks only the functions that
changed since.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

ROOT = Path(__file__).resolve().parent.parent
SURVIVORS = ROOT / "tools" / "mutation_survivors.toml"
REPORT = ROOT / "benchmarks" / "results" / "mutation.md"

# mutmut's exit-code vocabulary, by meaning (its ``status_by_exit_code``).
KILLED = {1, 3, 24, -24, 152, 255, 36, 37, -11, -9}  # failed, crashed, timed out, type error
SURVIVED = {0}
NO_TESTS = {5, 33}
UNCHECKED = {None, 2, 34}  # not run yet, interrupted, skipped


def config() -> dict[str, object]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    section: dict[str, object] = data["tool"]["mutmut"]
    return section


def promise_files() -> list[str]:
    """The files ``[tool.mutmut] only_mutate`` names, expanded, without the empty ones."""
    patterns = [str(p) for p in config()["only_mutate"]]  # type: ignore[attr-defined]
    return sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "letta_async").rglob("*.py")
        if any(fnmatch.fnmatch(str(path.relative_to(ROOT)), p) for p in patterns)
    )


def module_of(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")


def function_of(mutant: str) -> str:
    """``letta_async.sse.xǁSSEDecoderǁ_feed__mutmut_12`` without its ``__mutmut_12``."""
    return re.sub(r"__mutmut_\d+$", "", mutant)


def short(mutant: str) -> str:
    """The mutant's name the way a reader wants it: ``sse SSEDecoder._feed #12``."""
    module, _, rest = mutant.rpartition(".")
    name, _, number = rest.rpartition("__mutmut_")
    name = name.removeprefix("x").lstrip("_ǁ").replace("ǁ", ".") if "ǁ" in name else name[2:]
    return f"{module.removeprefix('letta_async.')} {name} #{number}"


# ---------------------------------------------------------------------------------------------
# The survivor file


@dataclass
class Triage:
    function: str
    change: str  # the mutant's diff, "-" and "+" lines only, stripped: its identity
    verdict: str  # "equivalent" | "pending"
    why: str


def fingerprint(diff: str) -> str:
    lines = [
        line[0] + " ".join(line[1:].split())
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    return "\n".join(lines)


def load_triage() -> dict[tuple[str, str], Triage]:
    if not SURVIVORS.exists():
        return {}
    data = tomllib.loads(SURVIVORS.read_text(encoding="utf-8"))
    found: dict[tuple[str, str], Triage] = {}
    for item in data.get("survivor", []):
        entry = Triage(item["function"], item["change"].strip("\n"), item["verdict"], item["why"])
        if entry.verdict not in ("equivalent", "pending"):
            raise SystemExit(f"{SURVIVORS.name}: unknown verdict {entry.verdict!r}")
        found[(entry.function, fingerprint(entry.change))] = entry
    return found


def toml_entry(function: str, change: str) -> str:
    return (
        "[[survivor]]\n"
        f'function = "{function}"\n'
        f"change = '''\n{change}\n'''\n"
        'verdict = "equivalent"  # or "pending"\n'
        'why = ""\n'
    )


# ---------------------------------------------------------------------------------------------
# Which mutants

# The quick form's fixed sample: the functions that keep the send-once, resume,
# acknowledgement, lease and fence promises, checked against the test files that state them.
# The same mutants every time, whatever the change and however the checkout was made (a
# merge commit, a shallow clone), so a new survivor there fails CI on any change.
CORE_FUNCTIONS = [
    "letta_async.durable._lease.xǁLeaseBookǁbefore_delivery",
    "letta_async.durable._lease.xǁLeaseBookǁrenew_all",
    "letta_async.durable._lease.xǁLeaseBookǁ_lose",
    "letta_async.durable._deliver.x__refused",
    "letta_async.durable._deliver.xǁKeyRunnerǁ_write",
    "letta_async.durable._deliver.xǁKeyRunnerǁ_open",
    "letta_async.durable._lookup.xǁOtidLookupǁfind",
    "letta_async._stream.xǁMessageStreamǁ_resume_now",
    "letta_async._stream.xǁMessageStreamǁ_reconnect",
    "letta_async._stream.xǁMessageStreamǁcancel",
]
CORE_TESTS = [
    "tests/durable/test_leases.py",
    "tests/durable/test_delivery.py",
    "tests/durable/test_lookup.py",
    "tests/test_send_once.py",
    "tests/test_resume.py",
    "tests/test_stream_guarantees.py",
    "tests/test_otel.py",  # a resume's span event (where it started from)
    # A worker's lookup of a send that died unnamed (the embedded recover resolves it before).
    "tests/durable/test_worker.py::"
    "test_a_worker_finds_a_conversation_send_that_died_unnamed_and_never_resends_it",
]


def mangled(qualname: str) -> str:
    cls, _, name = qualname.rpartition(".")
    return f"xǁ{cls}ǁ{name}" if cls else f"x_{name}"


def touched_functions(base: str) -> set[str]:
    """The top-level functions and methods whose lines differ from ``base`` (mutmut's unit)."""
    files = promise_files()
    diff = subprocess.run(
        ["git", "diff", "--unified=0", base, "--", *files],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    lines: dict[str, set[int]] = {}
    current = None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            current = line[6:] if line.startswith("+++ b/") else None
        elif line.startswith("@@") and current:
            start, _, count = re.match(r"@@ -\S+ \+(\d+)(,(\d+))? @@", line).groups()  # type: ignore[union-attr]
            n = int(count) if count is not None else 1
            lines.setdefault(current, set()).update(range(int(start), int(start) + max(n, 1)))
    touched: set[str] = set()
    for path, changed in lines.items():
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        for node in tree.body:
            defs: list[tuple[str, ast.AST]] = []
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                defs.append((node.name, node))
            elif isinstance(node, ast.ClassDef):
                defs += [
                    (f"{node.name}.{sub.name}", sub)
                    for sub in node.body
                    if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef)
                ]
            for qualname, sub in defs:
                first = min([sub.lineno] + [d.lineno for d in sub.decorator_list])  # type: ignore[attr-defined]
                if changed & set(range(first, sub.end_lineno + 1)):  # type: ignore[attr-defined]
                    touched.add(f"{module_of(path)}.{mangled(qualname)}")
    return touched


def only_functions(source: str, module: str, functions: set[str]) -> str:
    """``source`` cut down to the ``functions`` it defines (methods inside a bare class of
    the same name): mutmut numbers mutants per function, so the names come out the same as
    for the whole file, and mutating a few functions takes a moment instead of most of a
    minute."""
    lines = source.splitlines(keepends=True)
    kept: list[str] = []

    def cut(node: ast.AST) -> str:
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])  # type: ignore[attr-defined]
        return "".join(lines[first - 1 : node.end_lineno])  # type: ignore[attr-defined]

    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if f"{module}.{mangled(node.name)}" in functions:
                kept.append(cut(node))
        elif isinstance(node, ast.ClassDef):
            methods = [
                cut(sub)
                for sub in node.body
                if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef)
                and f"{module}.{mangled(f'{node.name}.{sub.name}')}" in functions
            ]
            if methods:
                kept.append(f"class {node.name}:\n" + "".join(methods))
    return "\n\n".join(kept)


def mutants_of(functions: set[str]) -> list[str]:
    """Every mutant name mutmut makes for ``functions``, in its own numbering."""
    os.chdir(ROOT)  # mutmut reads its configuration (what not to mutate) from the current folder
    from mutmut.mutation.file_mutation import mutate_file_contents

    names: list[str] = []
    for path in promise_files():
        module = module_of(path)
        if not any(f.startswith(module + ".x") for f in functions):
            continue
        source = only_functions((ROOT / path).read_text(encoding="utf-8"), module, functions)
        made = mutate_file_contents(path, source)
        names += [
            f"{module}.{n}" for n in made.mutant_names if function_of(f"{module}.{n}") in functions
        ]
    return names


def sample(names: list[str], limit: int) -> list[str]:
    """A fixed, spread-out choice: the same change always checks the same mutants."""
    if len(names) <= limit:
        return names
    return sorted(names, key=lambda n: hashlib.sha256(n.encode()).hexdigest())[:limit]


def default_base() -> str:
    """What "the change" is: ``$LETTA_MUTATION_BASE``, else the merge base with main (or
    origin/main) when HEAD has left it, else the first parent (after a merge: the branch)."""
    if os.environ.get("LETTA_MUTATION_BASE"):
        return os.environ["LETTA_MUTATION_BASE"]

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    head = git("rev-parse", "HEAD")
    for main in ("main", "origin/main"):
        merge_base = git("merge-base", "HEAD", main)
        if merge_base and merge_base != head:
            return merge_base
    return git("rev-parse", "HEAD^1") or head


# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class ModuleScore:
    module: str
    killed: int = 0
    survived: int = 0
    equivalent: int = 0
    pending: int = 0
    no_tests: int = 0
    unchecked: int = 0
    other: Counter[str] = field(default_factory=Counter)

    @property
    def scored(self) -> int:
        return self.killed + self.survived + self.pending + self.no_tests

    @property
    def score(self) -> float:
        return 100.0 * self.killed / self.scored if self.scored else 100.0


def results() -> dict[str, int | None]:
    """mutant name -> mutmut's exit code, from the ``.meta`` files of the last run."""
    codes: dict[str, int | None] = {}
    for path in promise_files():
        meta = ROOT / "mutants" / (path + ".meta")
        if meta.exists():
            data = json.loads(meta.read_text(encoding="utf-8"))
            module = module_of(path)
            for key, code in data["exit_code_by_key"].items():
                name = key if key.startswith(module + ".") else f"{module}.{key}"
                codes[name] = code
    return codes


def diff_of(mutant: str) -> str:
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    module = mutant.rpartition(".")[0]
    path = next(p for p in promise_files() if module_of(p) == module)
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return get_diff_for_mutant(mutant, path=path)
    finally:
        os.chdir(cwd)


def report(selected: list[str] | None, write: Path | None, elapsed: float | None) -> int:
    """Score each module, list the survivors the triage file does not know; 1 if any."""
    triage = load_triage()
    used: set[tuple[str, str]] = set()
    scores: dict[str, ModuleScore] = {}
    new: list[tuple[str, str]] = []
    for name, code in sorted(results().items()):
        if selected is not None and name not in selected:
            continue
        module = name.rpartition(".")[0]
        score = scores.setdefault(module, ModuleScore(module))
        if code in UNCHECKED:
            score.unchecked += 1
        elif code in KILLED:
            score.killed += 1
        elif code in SURVIVED or code in NO_TESTS:
            key = (function_of(name), fingerprint(diff_of(name)))
            entry = triage.get(key)
            if entry is not None:
                used.add(key)
                if entry.verdict == "equivalent":
                    score.equivalent += 1
                else:
                    score.pending += 1
            else:
                if code in NO_TESTS:
                    score.no_tests += 1
                else:
                    score.survived += 1
                new.append((name, key[1]))
        else:
            score.other[str(code)] += 1
            score.killed += 1
    lines = [
        "| module | mutants | killed | equivalent | pending test | survived | no test reaches it "
        "| not run | score |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for module, s in sorted(scores.items()):
        total = s.scored + s.equivalent + s.unchecked
        lines.append(
            f"| {module} | {total} | {s.killed} | {s.equivalent} | {s.pending} | {s.survived} "
            f"| {s.no_tests} | {s.unchecked} | {f'{s.score:.1f}%' if s.scored else '-'} |"
        )
    table = "\n".join(lines)
    print(table)
    for name, change in new:
        print(f"\nNEW SURVIVOR {short(name)}  ({name})\n{change}")
    if new:
        print(f"\n{len(new)} survivors not in {SURVIVORS.relative_to(ROOT)}: add a test that")
        print("kills each, or record it (`--stubs` prints entries to fill in).")
    if write is not None:
        took = f" The run took {elapsed / 60:.0f} min." if elapsed else ""
        write.write_text(
            "# Mutation scores\n\n"
            "Written by `nox -s mutation` (tools/mutation.py). *Score* is killed out of the\n"
            "mutants that are not equivalent; *pending test* survivors have a test on its way;\n"
            f"*not run* are mutants the run did not reach.{took}\n\n{table}\n",
            encoding="utf-8",
        )
    return 1 if new else 0


def stubs() -> None:
    triage = load_triage()
    for name, code in sorted(results().items()):
        if code in SURVIVED or code in NO_TESTS:
            change = fingerprint(diff_of(name))
            if (function_of(name), change) not in triage:
                print(f"# {short(name)}\n" + toml_entry(function_of(name), change))


def run_mutmut(
    names: list[str],
    children: int,
    only: list[str] | None = None,
    budget: float | None = None,
    tests: list[str] | None = None,
) -> int:
    """``mutmut run`` in a child process; ``only`` narrows what it mutates (and so what the
    tests it runs up front must trace) to some files, ``tests`` the test selection to some
    test files, ``budget`` stops it after so many seconds, keeping the verdicts it has (the
    rest count as not run)."""
    narrowed = {"only": only or [], "tests": tests or []}
    command = [sys.executable, __file__, "--mutmut", json.dumps(narrowed)]
    command += ["run", "--max-children", str(children), *names]
    with subprocess.Popen(command, cwd=ROOT) as child:
        try:
            return child.wait(timeout=budget)
        except subprocess.TimeoutExpired:
            print(f"\nstopping mutmut after its budget of {budget:.0f} s", flush=True)
            child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
            return 0


class _NoCallStack:
    """Stands in for mutmut's call stack when dependencies are not tracked: no caller, depth 0."""

    @staticmethod
    def get() -> tuple[None, int]:
        return None, 0

    @staticmethod
    def set(value: object) -> None:
        return None

    @staticmethod
    def reset(token: object) -> None:
        return None


def mutmut_cli(only: list[str], tests: list[str], args: list[str]) -> None:
    """mutmut's own command line, with ``only_mutate`` narrowed to ``only`` and the test
    selection to the files ``tests`` when given.

    mutmut runs the selected tests once more without mutants before it starts ("clean
    tests"). When it has just traced the whole selection, that run passed already (tracing
    stops at the first failure), so the second one is skipped: on the whole suite it is the
    slowest step of a run.
    """
    import mutmut.__main__ as mutmut_main
    from mutmut.configuration import config as mutmut_config
    from mutmut.workers.isolation import ForkRunner

    if only:
        mutmut_config().only_mutate = only
    if tests:
        mutmut_config().pytest_add_cli_args_test_selection = tests
    traced_all: list[bool] = []
    trace = mutmut_main.run_stats_collection
    clean = ForkRunner.run_clean_tests

    def trace_and_remember(runner: Any, tests: Any = None) -> None:
        trace(runner, tests)
        if not tests:
            traced_all.append(True)

    def clean_unless_traced(self: Any, tests: Any) -> int:
        return 0 if traced_all else int(clean(self, tests))

    mutmut_main.run_stats_collection = trace_and_remember
    if not mutmut_config().track_dependencies:
        # Tracing keeps each call's caller in a context variable, set and reset on every call
        # of a mutated function; on Python 3.11 that crashed the interpreter (a segfault)
        # minutes into the suite. Without dependency tracking the caller is not needed.
        import mutmut.mutation.trampoline as trampoline

        trampoline.MutmutCallStack = _NoCallStack  # type: ignore[misc,assignment]
    ForkRunner.run_clean_tests = clean_unless_traced  # type: ignore[method-assign]
    mutmut_main.cli(args)


def quick(
    names: list[str],
    only: list[str],
    children: int,
    budget: float | None,
    tests: list[str] | None = None,
) -> int:
    full = ROOT / "mutants"
    kept = ROOT / "mutants.full"
    if full.exists():
        if kept.exists():
            raise SystemExit(f"{kept} is in the way: a quick run was interrupted; move it back")
        full.rename(kept)
    try:
        code = run_mutmut(names, children, only, budget, tests)
        if code != 0:
            print(f"mutmut exited {code}")
            return code
        failed = report(names, write=None, elapsed=None)
        unchecked = [n for n, c in results().items() if n in names and c in UNCHECKED]
        if unchecked:
            # Not a failure: a slow machine must not fail CI; the log says what was left.
            print(f"{len(unchecked)} of {len(names)} mutants not checked within the budget")
        return failed
    finally:
        if kept.exists():
            shutil.rmtree(full, ignore_errors=True)
            kept.rename(full)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated parts of module names (_stream,durable)")
    parser.add_argument("--quick", action="store_true", help="a fixed sample: the core promises")
    parser.add_argument("--changed", action="store_true", help="the functions the change touched")
    parser.add_argument("--base", help="with --changed: the git revision the change is against")
    parser.add_argument("--max-mutants", type=int, default=150, help="--quick's, --changed's cap")
    parser.add_argument("--children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--budget", type=float, help="stop mutmut after so many seconds")
    parser.add_argument("--report-only", action="store_true", help="score the last run's results")
    parser.add_argument("--stubs", action="store_true", help="print survivor-file entries to fill")
    parser.add_argument("--write", action="store_true", help=f"write the scores to {REPORT.name}")
    parser.add_argument("--no-strings", action="store_true", help="skip the Lua and SQL mutants")
    parser.add_argument(
        "--tests",
        help="comma-separated test files or directories to run instead of the whole selection"
        " (faster; a mutant they miss may still be killed by another file)",
    )
    args = parser.parse_args(argv)
    if args.stubs:
        stubs()
        return 0
    started = time.monotonic()
    selected: list[str] | None = None
    patterns: list[str] = []
    only: list[str] | None = None
    tests: list[str] | None = None
    if args.quick:
        selected = sample(mutants_of(set(CORE_FUNCTIONS)), args.max_mutants)
        tests = CORE_TESTS
        print(f"the core promises: {len(CORE_FUNCTIONS)} functions, {len(selected)} mutants")
    elif args.changed:
        base = args.base or default_base()
        functions = touched_functions(base)
        selected = sample(mutants_of(functions), args.max_mutants)
        print(f"change against {base[:12]}: {len(functions)} functions, {len(selected)} mutants")
        if not selected:
            return 0
    if selected is not None:
        patterns = selected
        only = sorted(
            {p for p in promise_files() if any(n.startswith(module_of(p) + ".x") for n in selected)}
        )
    elif args.only:
        parts = args.only.split(",")
        modules = [module_of(p) for p in promise_files() if any(part in p for part in parts)]
        # Every mutant's name is its module, a dot and ``x``: the package's own pattern
        # (``durable/__init__``) must not take in its submodules' mutants.
        patterns = [f"{m}.x*" for m in modules]
    if selected is not None and not args.report_only:
        # A run of its own: its narrowed mutants and traces must not mix with a full run's.
        return quick(patterns, only or [], args.children, args.budget, tests)
    if args.tests and tests is None:
        tests = args.tests.split(",")
    if not args.report_only:
        code = run_mutmut(patterns, args.children, only, args.budget, tests)
        if code != 0:
            print(f"mutmut exited {code}")
            return code
    if args.only and selected is None:
        selected = [n for n in results() if any(fnmatch.fnmatch(n, p) for p in patterns)]
    failed = report(
        selected,
        write=REPORT if args.write or not (args.only or args.report_only) else None,
        elapsed=time.monotonic() - started,
    )
    if not args.no_strings and not args.report_only and not (args.quick or args.changed):
        from mutation_strings import main as strings

        failed |= strings([])
    return failed


if __name__ == "__main__":
    if sys.argv[1:2] == ["--mutmut"]:
        narrowed = json.loads(sys.argv[2])
        mutmut_cli(narrowed["only"], narrowed["tests"], sys.argv[3:])
    sys.path.insert(0, str(Path(__file__).parent))
    raise SystemExit(main())
