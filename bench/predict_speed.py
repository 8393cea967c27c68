"""Speed and memory of ``patron predict``: each model stage, the CLV fit and scoring alone,
and the whole run with its writes, on an existing store or one built for the benchmark.

    .venv/bin/python bench/predict_speed.py --database-url sqlite:////path/store.db
    .venv/bin/python bench/predict_speed.py --build 100000 --orders-per-customer 10

``--build N`` makes a store of N customers with ``bench/retail_store.py`` (the analytics and
prediction benchmarks' loader) in a temporary directory first. Each measurement is the median
of ``--repeat`` runs in this process; the baseline is a plain scan of every order through the
identity graph (``SELECT count(*), sum(total_minor) FROM orders_v``) in the same process, and
every stage is also given as a multiple of it. Peak RSS is the process's high-water mark
(``ru_maxrss``), which includes DuckDB's memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from patron import predict
from patron.analytics import open_store
from patron.predict import clv, inputs

ROOT = Path(__file__).resolve().parent.parent


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _build(customers: int, orders_per_customer: float, directory: Path) -> str:
    path = directory / f"store-{customers}.db"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "retail_store.py"),
            "--customers", str(customers),
            "--orders-per-customer", str(orders_per_customer),
            "--out", str(path),
        ],
        check=True,
    )  # fmt: skip
    return f"sqlite:///{path}"


def _progress(what: str, figures: object) -> None:
    # Each measurement as it is taken, so that a long run shows where it is.
    print(f"{what}: {figures} (peak RSS {_peak_rss_mb():.0f} MB)", file=sys.stderr, flush=True)


def _scan(database_url: str) -> float:
    with open_store(database_url) as store:
        started = time.perf_counter()
        store.connection.execute("SELECT count(*), sum(total_minor) FROM orders_v").fetchall()
        return time.perf_counter() - started


def _clv_alone(database_url: str, options: predict.PredictionOptions) -> dict[str, float]:
    """The issue's CLV budget: summary, BG/NBD + Gamma-Gamma fit, scoring of every customer."""
    with open_store(database_url) as store:
        connection = store.connection
        as_of = predict.resolve_as_of(connection, options)
        window = inputs.make_window(connection, None, as_of, options.timezone)
        currency = inputs.main_currency(connection, window) or "GBP"
        started = time.perf_counter()
        summary = clv.rfm_summary(
            inputs.purchase_days(connection, window, currency), as_of - timedelta(days=1)
        )
        read = time.perf_counter()
        model = clv.fit_clv(summary)
        fitted = time.perf_counter()
        clv.score_clv(model, summary)
        scored = time.perf_counter()
    return {
        "customers": float(len(summary)),
        "summary": read - started,
        "fit": fitted - read,
        "score": scored - fitted,
        "total": scored - started,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--database-url", help="a migrated, resolved store")
    target.add_argument("--build", type=int, metavar="N", help="build a store of N customers")
    parser.add_argument("--orders-per-customer", type=float, default=10.0)
    parser.add_argument("--as-of", type=date.fromisoformat, default=None)
    parser.add_argument("--timezone", default="Europe/London")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="patron-predict-bench-") as scratch:
        database_url = args.database_url or _build(
            args.build, args.orders_per_customer, Path(scratch)
        )
        options = predict.PredictionOptions(as_of=args.as_of, timezone=args.timezone)
        scans, clv_runs, stages, wholes = [], [], [], []
        for _ in range(args.repeat):
            scans.append(_scan(database_url))
            _progress("scan", scans[-1])
            clv_runs.append(_clv_alone(database_url, options))
            _progress("clv alone", clv_runs[-1])
            started = time.perf_counter()
            summary = predict.run_predictions(database_url, options)
            wholes.append(time.perf_counter() - started)
            stages.append(summary.seconds)
            _progress("predict", {"whole": wholes[-1], **summary.seconds})
        scan = statistics.median(scans)
        result = {
            "database": database_url.split("///")[-1]
            if database_url.startswith("sqlite")
            else "postgresql",
            "customers_scored": summary.customers,
            "as_of": summary.as_of.isoformat(),
            "repeat": args.repeat,
            "baseline_scan_seconds": round(scan, 3),
            "clv_fit_and_score_seconds": {
                key: round(statistics.median(run[key] for run in clv_runs), 3)
                for key in ("summary", "fit", "score", "total")
            },
            "clv_customers": int(clv_runs[0]["customers"]),
            "stages_seconds": {
                stage: round(statistics.median(run[stage] for run in stages), 3)
                for stage in stages[0]
            },
            "whole_predict_seconds": round(statistics.median(wholes), 3),
            "peak_rss_mb": round(_peak_rss_mb(), 1),
            "load_average": [round(value, 2) for value in os.getloadavg()],
        }
        result["whole_predict_vs_scan"] = round(result["whole_predict_seconds"] / scan, 1)
        print(json.dumps(result, indent=2))
        if args.json:
            args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
