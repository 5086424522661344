"""Import time: how long ``import letta_async`` and ``import letta_client`` take.

Import time is paid by every short-lived process: a CLI, a serverless function, each worker
of a test suite. Each measurement is a fresh interpreter (so nothing is cached in
``sys.modules``) that times the import with ``time.perf_counter`` around it; interpreter
start-up is left out, since it is the same for both. One unmeasured import of each first
makes sure the bytecode caches exist, so no run pays for compiling. Runs alternate between the
packages and the median is reported.

Two statements per package: the bare import, and "ready to stream": the import plus building
a client and reaching ``client.agents.messages`` (the official SDK loads its resource modules
lazily on that first attribute access, so the bare import alone would flatter it).

``import aiohttp`` alone is measured in the same alternation: it is the floor of any aiohttp
client, and letta-async's "ready to stream" is reported as a ratio to it.

Usage: ``python benchmarks/bench_import.py [--reps N] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from consumers import official_version
from harness import machine_info, median, spread, summary, write_json

STATEMENTS = {
    ("aiohttp", "import"): "import aiohttp",
    ("letta-async", "import"): "import letta_async",
    ("letta-client", "import"): "import letta_client",
    ("letta-async", "ready"): (
        "import letta_async\n"
        "client = letta_async.AsyncLetta(base_url='http://127.0.0.1:9', api_key='x')\n"
        "client.agents.messages.stream\n"
    ),
    ("letta-client", "ready"): (
        "import letta_client\n"
        "client = letta_client.AsyncLetta(base_url='http://127.0.0.1:9', api_key='x')\n"
        "client.agents.messages.stream\n"
    ),
}

_PROBE = """
import time
_start = time.perf_counter()
exec(compile({code!r}, "<import>", "exec"))
print(time.perf_counter() - _start)
"""


# Every interpreter may write bytecode caches, whatever this one was told: with
# PYTHONDONTWRITEBYTECODE set, a package installed in development mode would be compiled
# from source in every run while aiohttp (compiled when pip installed it) would not.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure_once(code: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(code=code)],
        env=_ENV,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=11, help="fresh interpreters per statement")
    parser.add_argument("--json", help="write the results here ('-' for stdout)")
    args = parser.parse_args()
    statements = dict(STATEMENTS)
    if official_version() is None:
        statements = {key: code for key, code in statements.items() if key[0] != "letta-client"}
    for code in statements.values():
        measure_once(code)  # bytecode caches, file system caches
    times: dict[tuple[str, str], list[float]] = {key: [] for key in statements}
    for _ in range(args.reps):
        for key, code in statements.items():
            times[key].append(measure_once(code))
    print(f"import time, fresh interpreter each (median of {args.reps}):")
    out: dict[str, dict[str, Any]] = {}
    for (package, what), values in times.items():
        out.setdefault(what, {})[package] = summary(values)
        print(
            f"  {package:13} {what:7} {median(values) * 1e3:7.1f} ms spread {spread(values):5.0%}"
        )
    floor = times[("aiohttp", "import")]
    ready = times[("letta-async", "ready")]
    print(f"  letta-async ready / import aiohttp: {median(ready) / median(floor):.2f}x")
    write_json(
        args.json,
        {
            "machine": machine_info(),
            "reps": args.reps,
            "official_version": official_version(),
            "times": out,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
