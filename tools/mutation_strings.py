"""Hand-written mutants of what mutmut cannot mutate meaningfully: the Lua and SQL text.

mutmut mutates Python functions; the Redis store's Lua scripts are module-level strings it
leaves alone, and in a SQL string it can only garble the whole text. ``tools/mutants.json``
lists realistic mistakes in that text (a fence check that always passes, an acknowledgement
that moves back), each a unique piece of source and what it becomes. For each one this copies
the package and tests into a scratch directory, applies the change, and runs the tests that
cover it (``TESTS`` below). ``tools/mutation.py`` runs it after mutmut; alone:
``python tools/mutation_strings.py`` (``--list`` to see the mutants).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "tools" / "mutants.json"

TESTS: dict[str, list[str]] = {
    # Module (as named in mutants.json) -> the test files that must catch its mutants.
    "sqlite": ["tests/durable/test_stores.py", "tests/durable/test_delivery.py"],
    "lua": ["tests/durable/test_stores.py", "tests/durable/test_leases.py"],
}

FILES: dict[str, str] = {
    "sqlite": "letta_async/durable/_sqlite.py",
    "lua": "letta_async/durable/_lua.py",
}


@dataclass
class Mutant:
    id: str
    module: str
    find: str
    replace: str
    why: str
    equivalent: str | None = None


def load() -> list[Mutant]:
    raw = json.loads(MUTANTS.read_text(encoding="utf-8"))
    return [Mutant(**item) for item in raw]


def check(mutants: list[Mutant]) -> None:
    """Every ``find`` must occur exactly once, so a mutant can never silently do nothing."""
    for mutant in mutants:
        source = (ROOT / FILES[mutant.module]).read_text(encoding="utf-8")
        count = source.count(mutant.find)
        if count != 1:
            raise SystemExit(f"mutant {mutant.id}: its text occurs {count} times, not once")


def run_one(mutant: Mutant, scratch: Path, timeout: float) -> tuple[bool, float]:
    """Apply ``mutant`` in ``scratch``, run its tests, restore; True when they failed."""
    target = scratch / FILES[mutant.module]
    original = target.read_text(encoding="utf-8")
    target.write_text(original.replace(mutant.find, mutant.replace, 1), encoding="utf-8")
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
             "-o", "addopts=", "-W", "error::ResourceWarning", *TESTS[mutant.module]],
            cwd=scratch,
            capture_output=True,
            timeout=timeout,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            check=False,
        )  # fmt: skip
        killed = done.returncode != 0
    except subprocess.TimeoutExpired:
        killed = True  # a hang is noticed too: the suite's own timeouts would fail it
    finally:
        target.write_text(original, encoding="utf-8")
    return killed, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated modules (sse,stream,...)")
    parser.add_argument("--list", action="store_true", help="print the mutants and exit")
    parser.add_argument("--min", type=float, default=95.0, help="lowest passing score, in %%")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per mutant")
    parser.add_argument("--report", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    mutants = load()
    if args.only:
        wanted = set(args.only.split(","))
        mutants = [m for m in mutants if m.module in wanted]
    check(mutants)
    if args.list:
        for m in mutants:
            note = f"  [equivalent: {m.equivalent}]" if m.equivalent else ""
            print(f"{m.id:<28} {m.module:<10} {m.why}{note}")
        return 0
    baseline_failures = []
    with tempfile.TemporaryDirectory(prefix="letta-mutation-") as tmp:
        scratch = Path(tmp)
        for name in ("letta_async", "tests", "pyproject.toml"):
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, scratch / name, ignore=shutil.ignore_patterns("e2e"))
            else:
                shutil.copy2(source, scratch / name)
        for module in sorted({m.module for m in mutants}):
            clean = Mutant("baseline", module, "", "", "no change")
            failed, _ = run_one(clean, scratch, args.timeout)
            if failed:
                baseline_failures.append(module)
        if baseline_failures:
            print(f"tests fail without any mutant for: {', '.join(baseline_failures)}")
            return 2
        results = []
        for mutant in mutants:
            killed, seconds = run_one(mutant, scratch, args.timeout)
            verdict = "killed" if killed else "SURVIVED"
            if mutant.equivalent:
                verdict += " (equivalent)"
            print(f"{verdict:<22} {mutant.id:<28} {seconds:5.1f}s  {mutant.why}", flush=True)
            results.append({"id": mutant.id, "module": mutant.module, "killed": killed,
                            "equivalent": mutant.equivalent, "why": mutant.why})  # fmt: skip
    scored = [r for r in results if not r["equivalent"]]
    killed_count = sum(1 for r in scored if r["killed"])
    score = 100.0 * killed_count / len(scored) if scored else 100.0
    survivors = [r["id"] for r in scored if not r["killed"]]
    print(
        f"\nmutation score: {killed_count}/{len(scored)} non-equivalent mutants killed "
        f"({score:.1f}%); {len(results) - len(scored)} marked equivalent"
    )
    if survivors:
        print("survivors: " + ", ".join(survivors))
    if args.report:
        args.report.write_text(json.dumps({"score": score, "results": results}, indent=2))
    return 0 if score >= args.min else 1


if __name__ == "__main__":
    raise SystemExit(main())
