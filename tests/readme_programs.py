"""The README's python programs and what each one is documented to print.

Both the local run (``tests/test_readme.py``, against ``letta_async.testing``) and the real
one (``tests/e2e/test_readme.py``, against a Letta 0.16.8 server) check every program against
the expectations here, so a program that runs but does not do what the README says fails on
both. An expectation is the program's whole output, line by line: each line must match its
pattern completely, and there must be no other line. So an error that a program catches and
prints ("... failed: ...") fails the check, as does a traceback or a warning on stderr, unless
the README documents that line as the program's outcome.

Patterns are regular expressions with three placeholders, filled in (escaped) per run:
``<reply>`` (the scripted model's reply text on that server), ``<base_url>`` and
``<agent_id>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_HEADING = re.compile(r"^#{2,3} (.+)$", re.MULTILINE)

# A line that reports a failure: only a program documented to print one may print it.
ERROR_LINE = re.compile(
    r"Traceback|\b\w*(Error|Exception|Warning)\b|\bfailed\b|\berror\b", re.IGNORECASE
)


@dataclass(frozen=True)
class Program:
    """One fenced ``python`` block of the README and the (sub)section it sits in."""

    title: str
    code: str


def programs() -> list[Program]:
    found: list[Program] = []
    for match in _BLOCK.finditer(README):
        headings = _HEADING.findall(README, 0, match.start())
        found.append(Program(headings[-1] if headings else "top", match.group(1)))
    return found


@dataclass(frozen=True)
class Outcome:
    """What a program prints: its stdout lines, its stderr lines (none by default)."""

    stdout: tuple[str, ...] = ()
    stderr: tuple[str, ...] = ()
    # For output no single pattern can say (a suffix of the reply, say): called with the
    # stdout lines and the reply; returns a complaint, or None when the output is right.
    check: Callable[[list[str], str], str | None] | None = None
    # The documented output itself reports a failure (a caught, expected error).
    reports_failure: bool = False


def _rest_of_reply(lines: list[str], reply: str) -> str | None:
    """Resuming after the first streamed chunk prints the rest of the reply, and only it."""
    if len(lines) != 1:
        return f"expected one line (the rest of the reply), got {lines!r}"
    rest = lines[0]
    if not (rest and len(rest) < len(reply) and reply.endswith(rest)):
        return f"{rest!r} is not what follows the first chunk of {reply!r}"
    return None


RUN = r"run-[0-9a-f-]+"

OUTCOMES: dict[str, Outcome] = {
    "Quickstart": Outcome(
        stdout=(r"<reply>", r"\['quickstart'(, '[^']*')*\] True"),
    ),
    "Streaming": Outcome(
        stdout=(
            r"<reply>",
            rf"run {RUN}: end_turn, usage LettaUsageStatistics\(completion_tokens=[1-9]\d*, "
            r"prompt_tokens=[1-9]\d*, total_tokens=[1-9]\d*, step_count=1, .*\)",
            r"[1-9]\d* events",
        )
    ),
    "Background runs and resume": Outcome(check=_rest_of_reply),
    "Cancelling": Outcome(stdout=(rf"run {RUN} stopped: cancelled",)),
    "Synchronous code": Outcome(
        stdout=(r"<reply>", rf"run {RUN}: end_turn, last_seq_id [1-9]\d*", r"True"),
    ),
    "Many streams at once": Outcome(
        stdout=(
            r"What is Letta\? -> <reply>",
            r"What is a memory block\? -> <reply>",
            r"What is a tool\? -> <reply>",
            r"3 answers, [1-9]\d* tokens",
        )
    ),
    "Durable streams": Outcome(
        stdout=(r"\[\('order-42', 'completed', 'end_turn'\)\] 1 events applied",)
    ),
    "Errors": Outcome(
        stdout=(r"no such agent: .*agent-00000000-0000-4000-8000-000000000000.* not found",)
    ),
    "Retries and timeouts": Outcome(
        stdout=(
            r"Timeout\(connect=5, read=120, request=None, stream_idle=30, stream_total=600, "
            r"pool=None, write=None\)",
        )
    ),
    "Retries: what is sent again": Outcome(
        stdout=(rf"the agent ran once, in {RUN} \(failed\); not re-sent",),
        reports_failure=True,
    ),
    "Testing your own code: `letta_async.testing`": Outcome(
        stdout=(r"survived the cut: [1-9]\d* events, resumed 1 time",)
    ),
    "Observability": Outcome(
        stdout=(r"hook: GET <base_url>/v1/agents/<agent_id>", r"trace: new connection"),
        stderr=(r"DEBUG:letta_async:request GET <base_url>/v1/agents/<agent_id>",),
    ),
    "OpenTelemetry": Outcome(
        stdout=(
            r"GET /v1/agents/\{agent_id\} 200 None",
            rf"POST /v1/agents/\{{agent_id\}}/messages 200 {RUN}",
        )
    ),
}


def _fill(pattern: str, values: dict[str, str]) -> re.Pattern[str]:
    for name, value in values.items():
        pattern = pattern.replace(f"<{name}>", re.escape(value))
    return re.compile(pattern)


def _compare(
    what: str, lines: list[str], patterns: tuple[str, ...], values: dict[str, str]
) -> list[str]:
    compiled = [_fill(p, values) for p in patterns]
    problems: list[str] = []
    if len(lines) != len(compiled):
        problems.append(f"{what}: {len(lines)} lines, the README documents {len(compiled)}")
    for number, (line, pattern) in enumerate(zip(lines, compiled, strict=False), 1):
        if not pattern.fullmatch(line):
            problems.append(f"{what} line {number}: {line!r} does not match {pattern.pattern!r}")
    return problems


def mismatches(
    title: str, stdout: str, stderr: str, *, reply: str, base_url: str, agent_id: str
) -> list[str]:
    """Every way the output differs from the documented outcome (empty when it matches)."""
    outcome = OUTCOMES.get(title)
    if outcome is None:
        return [f"no documented outcome for the README program in {title!r}: add one"]
    values = {"reply": reply, "base_url": base_url, "agent_id": agent_id}
    out = stdout.splitlines()
    err = [line for line in stderr.splitlines() if line.strip()]
    problems: list[str] = []
    for line in (out if not outcome.reports_failure else []) + err:
        if ERROR_LINE.search(line):
            problems.append(f"reports a failure: {line!r}")
    if outcome.check is not None:
        complaint = outcome.check(out, reply)
        if complaint is not None:
            problems.append(complaint)
    else:
        problems += _compare("stdout", out, outcome.stdout, values)
    problems += _compare("stderr", err, outcome.stderr, values)
    return problems
