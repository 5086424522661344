"""The bundled test server against the real Letta 0.16.8 server, scenario by scenario.

Users' own test suites run on ``letta_async.testing`` (through the pytest plugin), so every
way it differs from the real server is a way their tests can pass and their program fail. Each
scenario of :mod:`.differential.scenarios` runs against both servers at once; the normalised
observations must be equal, except for the differences listed with their reasons in
:data:`.differential.compare.KNOWN`. A listed difference that went away fails too, and so does
a checked-in report (``differential/REPORT.md``) that no longer matches what this run saw:
``LETTA_E2E_WRITE_REPORT=1 nox -s e2e -- -k differential`` rewrites it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest

from letta_async.testing import LettaTestServer

from .differential.compare import REPORT_PATH, Outcome, compare, render_report
from .differential.scenarios import KEEPALIVE, SCENARIOS, Scenario, run_scenario

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

_outcomes: dict[str, Outcome] = {}


@pytest.fixture
async def test_server() -> AsyncIterator[LettaTestServer]:
    async with LettaTestServer(keepalive_interval=KEEPALIVE) as server:
        yield server


@pytest.mark.timeout(180)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_scenario(scenario: Scenario, base_url: str, test_server: LettaTestServer) -> None:
    real, test = await asyncio.gather(
        run_scenario(base_url, scenario), run_scenario(test_server.base_url, scenario)
    )
    outcome = compare(scenario.name, scenario.what, real, test)
    _outcomes[scenario.name] = outcome
    assert outcome.ok, outcome.failure()


def test_report_is_current() -> None:
    """Runs after the scenarios (file order); needs all of them to have run in this session."""
    missing = [s.name for s in SCENARIOS if s.name not in _outcomes]
    if missing:
        pytest.skip(f"the report needs every scenario; not run here: {', '.join(missing)}")
    report = render_report([_outcomes[s.name] for s in SCENARIOS])
    if os.environ.get("LETTA_E2E_WRITE_REPORT") == "1":
        REPORT_PATH.write_text(report)
        return
    current = REPORT_PATH.read_text() if REPORT_PATH.is_file() else ""
    assert current == report, (
        f"{REPORT_PATH} is stale; rewrite it with "
        "LETTA_E2E_WRITE_REPORT=1 nox -s e2e -- -k differential"
    )
