"""Chaos: worker processes killed, stopped and restarted while they stream; nothing may be
lost or applied twice (see ``chaos.py`` for the set-up and ``chaos_check.py`` for the
rules). The long variants are ``benchmarks/bench_chaos.py``."""

from __future__ import annotations

import pytest

from .chaos import FleetChaos, SQLiteChaos, run_fleet_chaos, run_sqlite_chaos
from .chaos_check import percentile
from .conftest import CLOSING_LINES, needs_redis

pytestmark = pytest.mark.anyio


@needs_redis
@pytest.mark.timeout(110)
async def test_fleet_survives_kills_and_a_stop() -> None:
    config = FleetChaos(runs=200)
    report = await run_fleet_chaos(config)
    CLOSING_LINES.append(report.line())
    print(report.line())
    assert report.ok, report.problems
    assert report.kills >= 3 and report.stops == 1
    assert report.kills_in_send >= 1, "no failure landed between a send and its first frame"
    assert report.verdict.runs + report.unconfirmed == config.runs
    assert report.takeovers, "no key was taken over"
    p99 = percentile(report.takeovers, 0.99)
    assert p99 <= config.lease_ttl + 1.0, sorted(report.takeovers)[-5:]


@pytest.mark.timeout(90)
async def test_embedded_survives_a_kill_loop() -> None:
    config = SQLiteChaos(runs=100)
    report = await run_sqlite_chaos(config)
    CLOSING_LINES.append(report.line())
    print(report.line())
    assert report.ok, report.problems
    assert report.kills >= 3
    assert report.kills_in_send >= 1, "no kill landed between a send and its first frame"
    assert report.verdict.runs + report.unconfirmed == config.runs
