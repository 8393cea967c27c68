"""How fast files import: a generated retail world, imported on SQLite and on PostgreSQL.

Generates a world (10,000 customers by default: about 370,000 rows of customers, products,
receipts, order lines, orders and events), imports it with ``patron.ingest.import_world``
into a new database, then imports it again (every row unchanged: the idempotent path). Beside
it, in the same run, a bare loop inserts the same customer rows into the same table with the
driver alone (csv reader, ``executemany`` of a plain INSERT, one commit per 5,000 rows): the
floor that parsing, validation, hashing and the upsert are measured against.

    .venv/bin/python bench/import_throughput.py
    .venv/bin/python bench/import_throughput.py --customers 50000 --engine sqlite
"""

from __future__ import annotations

import argparse
import csv
import os
import sqlite3
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from benchdb import DEFAULT_POSTGRES, create_throwaway
from patron import ingest
from patron.storage import make_engine, make_session_factory
from patron.world import generate_world

CHUNK = 5_000
COLUMNS = (
    "record_id, first_name, last_name, email, phone, loyalty_card, street, city, postcode, "
    "region, country"
)


def import_pass(url: str, world: Path) -> dict[str, tuple[int, float]]:
    """Rows and seconds per kind of file for one import of the whole world."""
    engine = make_engine(url, pool_size=2)
    try:
        summaries = ingest.import_world(make_session_factory(engine), world)
    finally:
        engine.dispose()
    per_kind: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for summary in summaries:
        if summary.error is not None or summary.rejected:
            msg = f"the world did not import cleanly: {summary.describe()}"
            raise SystemExit(msg)
        per_kind[summary.kind.value][0] += summary.rows_read
        per_kind[summary.kind.value][1] += summary.seconds
    return {kind: (int(rows), seconds) for kind, (rows, seconds) in per_kind.items()}


def customer_rows(world: Path, source_id: int) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for path in sorted(world.glob("*_customers.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            rows.extend(
                (
                    source_id,
                    f"{path.stem}:{row['id']}",
                    row["first_name"],
                    row["last_name"],
                    row["email"],
                    row["phone"],
                    row["loyalty_card"],
                    row["street"],
                    row["city"],
                    row["postcode"],
                    row["region"],
                    row["country"],
                )
                for row in csv.DictReader(handle)
            )
    return rows


def bare_loop(url: str, rows: list[tuple[Any, ...]]) -> float:
    """Seconds for the driver alone to insert ``rows`` into source_records."""
    parsed = make_url(url)
    sql = (
        f"INSERT INTO source_records (source_id, {COLUMNS}, attributes, is_placeholder, "
        "content_hash, created_at, updated_at) VALUES ({marks}, '{{}}', false, '', "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )
    if parsed.get_backend_name() == "sqlite":
        connection = sqlite3.connect(parsed.database or "")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        statement = sql.format(marks=", ".join("?" * 12))
        started = time.perf_counter()
        for start in range(0, len(rows), CHUNK):
            connection.executemany(statement, rows[start : start + CHUNK])
            connection.commit()
        elapsed = time.perf_counter() - started
        connection.close()
        return elapsed
    with psycopg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, dbname=parsed.database
    ) as connection:
        statement = sql.format(marks=", ".join(["%s"] * 12))
        started = time.perf_counter()
        for start in range(0, len(rows), CHUNK):
            with connection.cursor() as cursor:
                cursor.executemany(statement, rows[start : start + CHUNK])
            connection.commit()
        return time.perf_counter() - started


def bench_engine(engine_name: str, world: Path, postgres_url: str) -> None:
    with tempfile.TemporaryDirectory(prefix="patron-import-bench-") as temporary:
        url, drop = create_throwaway(engine_name, postgres_url, Path(temporary))
        try:
            first = import_pass(url, world)
            again = import_pass(url, world)
            engine = make_engine(url, pool_size=1)
            with make_session_factory(engine).begin() as session:
                baseline = ingest.create_source(session, "bare-loop", ingest.Channel.CRM)
            engine.dispose()
            rows = customer_rows(world, baseline.source.id)
            bare_seconds = bare_loop(url, rows)
        finally:
            drop()
    print(f"\n{engine_name}")
    print("| file kind | rows | first import rows/s | re-import (unchanged) rows/s |")
    print("|---|---:|---:|---:|")
    for kind, (count, seconds) in first.items():
        print(f"| {kind} | {count:,} | {count / seconds:,.0f} | {count / again[kind][1]:,.0f} |")
    customers, seconds = first["customers"]
    print(
        f"customers: bare driver loop {len(rows) / bare_seconds:,.0f} rows/s; "
        f"import_file {customers / seconds:,.0f} rows/s "
        f"(ratio {(customers / seconds) / (len(rows) / bare_seconds):.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("PATRON_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    )
    args = parser.parse_args()
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    with tempfile.TemporaryDirectory(prefix="patron-import-world-") as temporary:
        world = Path(temporary) / "world"
        summary = generate_world(world, customers=args.customers, seed=2026)
        print(
            f"world of {args.customers:,} customers: {summary.rows:,} rows, {os.cpu_count()} CPUs"
        )
        for engine_name in engines:
            bench_engine(engine_name, world, args.postgres_url)


if __name__ == "__main__":
    main()
