"""``bench/retail_store.py``: the benchmark store is a valid Patron store that Patron reads."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from patron.analytics import open_store
from tests.conftest import TEST_SECRET

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "retail_store.py"
CUSTOMERS = 500
ORDERS_PER_CUSTOMER = 6


def build(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    out = tmp_path_factory.mktemp("bench-store") / "store.db"
    result = build(
        out,
        "--customers", str(CUSTOMERS),
        "--orders-per-customer", str(ORDERS_PER_CUSTOMER),
        "--seed", "3",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out, json.loads(result.stdout)


def test_the_store_holds_the_customers_and_about_the_orders_asked_for(
    store: tuple[Path, dict[str, object]],
) -> None:
    path, summary = store
    with sqlite3.connect(path) as connection:
        counts = {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("sources", "profiles", "orders", "order_lines", "order_profiles",
                          "events", "event_profiles", "carts", "merges")
        }  # fmt: skip
        roots = connection.execute("SELECT count(*) FROM profiles WHERE id = canonical_id")
        canonical = roots.fetchone()[0]
        merged = connection.execute(
            "SELECT count(*) FROM profiles WHERE merged_into_id = canonical_id"
        ).fetchone()[0]

    rows = summary["rows"]
    assert isinstance(rows, dict)
    assert {table: rows[table] for table in counts} == counts
    assert counts["sources"] == 5
    assert canonical == CUSTOMERS
    assert merged == counts["merges"] > 0
    assert counts["profiles"] == CUSTOMERS + merged
    assert counts["orders"] > 0.8 * CUSTOMERS * ORDERS_PER_CUSTOMER
    assert counts["orders"] < 1.2 * CUSTOMERS * ORDERS_PER_CUSTOMER
    assert counts["orders"] <= counts["order_lines"] <= 4 * counts["orders"]
    assert 0 < counts["order_profiles"] < counts["orders"]
    assert counts["events"] == counts["event_profiles"] > 0
    assert counts["carts"] > 0


def test_every_constraint_holds_and_the_file_is_handed_over_in_wal_mode(
    store: tuple[Path, dict[str, object]],
) -> None:
    path, _ = store
    with sqlite3.connect(path) as connection:
        foreign_keys = connection.execute("PRAGMA foreign_key_check").fetchall()
        integrity = connection.execute("PRAGMA integrity_check").fetchall()
        journal = connection.execute("PRAGMA journal_mode").fetchone()[0]
        indexes = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
        broken_totals = connection.execute(
            """
            SELECT count(*) FROM orders AS o
            JOIN (SELECT order_pk, sum(total_minor) AS lines FROM order_lines GROUP BY order_pk)
              AS l ON l.order_pk = o.id
            WHERE o.total_minor != l.lines - o.discount_minor
            """
        ).fetchone()[0]
        broken_lines = connection.execute(
            "SELECT count(*) FROM order_lines"
            " WHERE total_minor != quantity * unit_price_minor - discount_minor"
        ).fetchone()[0]

    assert foreign_keys == []
    assert integrity == [("ok",)]
    assert journal == "wal"
    assert {"ix_orders_ordered_at", "ix_order_lines_sku", "ix_profiles_canonical_id"} <= indexes
    assert broken_totals == 0
    assert broken_lines == 0


def test_patron_reads_the_store_through_the_identity_graph(
    store: tuple[Path, dict[str, object]],
) -> None:
    path, summary = store
    url = f"sqlite:///{path}"

    stats = subprocess.run(
        [sys.executable, "-m", "patron", "stats", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "PATRON_DATABASE_URL": url, "PATRON_SECRET_KEY": TEST_SECRET},
        check=False,
        timeout=60,
    )
    with open_store(url) as analytics:
        orders = analytics.connection.sql(
            """
            SELECT count(*), count(o.customer_id), count(op.order_pk),
                   count(DISTINCT o.customer_id), count(DISTINCT o.channel)
            FROM orders_v AS o LEFT JOIN store.order_profiles AS op ON op.order_pk = o.order_pk
            """
        ).fetchone()
        unnamed_lines = analytics.connection.sql(
            "SELECT count(*) FROM order_lines_v WHERE product_name IS NULL"
        ).fetchone()

    assert stats.returncode == 0, stats.stderr
    counts = json.loads(stats.stdout)
    rows = summary["rows"]
    assert counts["orders"] == rows["orders"]  # type: ignore[index]
    assert counts["customers"] == CUSTOMERS
    assert counts["profile_nodes"] == rows["profiles"]  # type: ignore[index]
    assert orders is not None
    total, with_customer, identified, customers, channels = orders
    assert total == rows["orders"]  # type: ignore[index]
    # Every identified order has its customer (the root, even when the order sits on a
    # merged node); anonymous receipts have none.
    assert with_customer == identified < total
    assert customers <= CUSTOMERS
    assert channels == 3
    assert unnamed_lines == (0,)


def test_an_existing_target_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "store.db"
    out.write_bytes(b"")

    result = build(out, "--customers", "10")

    assert result.returncode == 2
    assert "exists" in result.stderr
