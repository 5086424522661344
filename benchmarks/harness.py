"""Shared plumbing for the loopback benchmarks: the server child, timing and statistics.

Why a child process for the server: the client and the server would otherwise share one
event loop and one core, and the figures would measure their sum. In a child, on a 2-core
machine, each side gets a core, as with a real server on another host.

Why the statistics look the way they do: the machine is shared, so a single run can be slowed
by a neighbour at any moment. Every benchmark alternates its contestants (A B C A B C ...)
after a warm-up, so a busy moment slows all of them; it reports the median and the spread
((max - min) / median), and ratios are computed from medians.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SERVER_SCRIPT = HERE / "loopback_server.py"
SERVER_START_TIMEOUT = 60.0

__all__ = [
    "HERE",
    "RESULTS",
    "ServerProcess",
    "machine_info",
    "median",
    "percentile",
    "raise_nofile_limit",
    "read_peak_rss",
    "read_rss",
    "spread",
    "summary",
    "write_json",
]


def raise_nofile_limit(wanted: int = 8192) -> int:
    """Lift the soft open-files limit towards the hard one: 1,000 streams need 1,000+ fds."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def read_rss() -> int:
    """Resident set size now, in bytes (Linux; 0 elsewhere)."""
    kib = _status_kib("VmRSS:")
    return (kib or 0) * 1024


def read_peak_rss() -> int:
    """Peak resident set size of this process so far, in bytes.

    VmHWM where /proc exists; ``ru_maxrss`` otherwise (KiB on Linux, bytes on macOS).
    """
    kib = _status_kib("VmHWM:")
    if kib is not None:
        return kib * 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def spread(values: Sequence[float]) -> float:
    """(max - min) / median: how much the repetitions disagreed."""
    mid = statistics.median(values)
    return (max(values) - min(values)) / mid if mid else 0.0


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile; enough for 1,000 samples and free of interpolation choices."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary(values: Sequence[float]) -> dict[str, Any]:
    return {"median": median(values), "spread": spread(values), "runs": list(values)}


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git_state() -> str:
    """The commit measured, and whether the work tree differed from it (others' edits)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "../letta_async"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + (" + uncommitted changes to letta_async" if dirty else "")


def machine_info() -> dict[str, Any]:
    """What the figures depend on: interpreter, CPU, load, and the library versions."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "commit": _git_state(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "loadavg": [round(x, 2) for x in load],
        "versions": {
            name: _version(name)
            for name in (
                "letta-async",
                "letta-client",
                "msgspec",
                "aiohttp",
                "anyio",
                "httpx",
                "pydantic",
            )
        },
    }


def write_json(path: str | None, payload: dict[str, Any]) -> None:
    """Results go to a file for ``run_all.py``; ``-`` means stdout."""
    if path is None:
        return
    text = json.dumps(payload, indent=1)
    if path == "-":
        print(text)
    else:
        Path(path).write_text(text + "\n", encoding="utf-8")


class ServerProcess:
    """``loopback_server.py`` in a child process on a free 127.0.0.1 port.

    The child prints its port once it listens; it exits when its stdin closes, so it cannot
    outlive this process even if the parent dies without cleaning up.
    """

    def __init__(self, *args: str) -> None:
        self._args = args
        self._proc: subprocess.Popen[str] | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerProcess:
        self._proc = subprocess.Popen(
            [sys.executable, str(SERVER_SCRIPT), *self._args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        line = ""
        while time.monotonic() < deadline:
            line = self._proc.stdout.readline()
            if line.startswith("PORT "):
                self.port = int(line.split()[1])
                return self
            if not line and self._proc.poll() is not None:
                break
        self.__exit__(None, None, None)
        raise RuntimeError(f"benchmark server did not start (last line {line!r})")

    def __exit__(self, *exc: object) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            assert proc.stdin is not None
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
