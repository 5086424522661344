"""Durable-stream tests: skip those needing Redis without the server wheel, and print the
chaos runs' closing lines at the end of the session."""

from __future__ import annotations

from typing import Any

CLOSING_LINES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not CLOSING_LINES:
        return
    terminalreporter.section("durable streams chaos")
    for line in CLOSING_LINES:
        terminalreporter.write_line(line)
