"""How long every report takes on a large store, against a bare scan of its orders.

Opens the store once (as ``patron report`` and the API do per request), then for every
report in the registry runs it ``--repeats`` times over the same request and prints the
median wall time, and its ratio to the baseline measured in the same process: one scan of
``orders_v`` (count, sum of totals, distinct channels), every order read through the scanner
and the identity graph's joins, or from the snapshot's columns. With ``--snapshot`` the
reports read the analytics snapshot next to the store (``patron analytics refresh``) instead
of the live store. The target is every report under 2 s on 1,000,000 customers and
10,000,000 orders on 2 cores.

    .venv/bin/python bench/reports_speed.py \\
        --database-url sqlite:////work/var-bench/store-1m.db --snapshot
    .venv/bin/python bench/reports_speed.py --database-url ... --snapshot \\
        --from 2025-07-01 --to 2026-06-30 --compare previous-year --channel pos --channel app

With a snapshot written by this version, reports read its rollups (per customer, month,
channel and store; see ``patron.analytics.rollups``); the first line printed says whether
they did (``rollups``). The last line gives the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from typing import TYPE_CHECKING

from patron import analytics

if TYPE_CHECKING:
    from collections.abc import Callable

TARGET_SECONDS = 2.0
# Every order read once, through the same view the reports read.
BASELINE = "SELECT count(*), sum(total_minor), count(DISTINCT channel) FROM orders_v"


def _median(repeats: int, work: Callable[[], object]) -> float:
    return _medians(repeats, work)[0]


def _medians(repeats: int, work: Callable[[], object]) -> tuple[float, float]:
    """Median wall time and median CPU time of the process (every DuckDB thread) of
    ``work``: on a shared machine the CPU time says what the run needed, whatever the load."""
    times, cpu = [], []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        work()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return statistics.median(times), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--period", default=None, help="a named period (default: all)")
    parser.add_argument("--from", dest="date_from", default=None, help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="date_to", default=None, help="last day, YYYY-MM-DD")
    parser.add_argument("--compare", default=None, help="previous-period, previous-year, none")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timezone", default="Europe/London")
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads")
    parser.add_argument("--snapshot", action="store_true", help="read the analytics snapshot")
    parser.add_argument("--channel", action="append", default=None, help="a channel filter")
    parser.add_argument("--store", action="append", default=None, help="a store filter")
    parser.add_argument("--only", nargs="*", default=None, help="report names to time")
    arguments = parser.parse_args()

    request = analytics.parse_request(
        period=arguments.period,
        date_from=arguments.date_from,
        date_to=arguments.date_to,
        compare=arguments.compare,
        channels=arguments.channel,
        stores=arguments.store,
        timezone=arguments.timezone,
    )
    opened = time.perf_counter()
    store = analytics.open_store(
        arguments.database_url, threads=arguments.threads, snapshot=arguments.snapshot
    )
    open_seconds = time.perf_counter() - opened
    results: dict[str, object] = {
        "database_url": arguments.database_url,
        "period": str(request.period or "all"),
        "comparison": str(request.comparison_period or "none"),
        "filters": request.filters.describe(),
        "snapshot": arguments.snapshot,
        "rollups": store.rollups,
        "data_as_of": store.data_as_of.isoformat() if store.data_as_of else None,
        "open_s": round(open_seconds, 3),
        "load_average": os.getloadavg(),
    }
    with store:
        orders = store.connection.execute("SELECT count(*) FROM orders_v").fetchone()
        results["orders"] = orders[0] if orders else 0
        baseline = _median(
            arguments.repeats,
            lambda: store.connection.execute(BASELINE).fetchall(),
        )
        results["baseline_scan_orders_s"] = round(baseline, 3)
        print(json.dumps(results), flush=True)
        for definition in analytics.builtin_reports():
            if arguments.only and definition.name not in arguments.only:
                continue
            seconds, cpu_seconds = _medians(
                arguments.repeats, lambda d=definition: d.run(store, request)
            )
            print(
                json.dumps(
                    {
                        "report": definition.name,
                        "median_s": round(seconds, 3),
                        "median_cpu_s": round(cpu_seconds, 3),
                        "x_baseline": round(seconds / baseline, 1) if baseline else None,
                        "under_target": seconds < TARGET_SECONDS,
                    }
                ),
                flush=True,
            )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_rss_mb": round(peak_mb), "load_average": os.getloadavg()}))


if __name__ == "__main__":
    main()
