"""``bench/retail_store.py``: the benchmark store is a valid Patron store that Patron reads."""

import importlib.util
import json
import shutil
import sqlite3
import sys
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from patron.analytics import open_store
from patron.cli import app
from patron.storage import make_engine
from tests.conftest import TEST_SECRET

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "retail_store.py"
CUSTOMERS = 300
ORDERS_PER_CUSTOMER = 6
TABLES = (
    "sources", "products", "profiles", "merges", "orders", "order_lines", "order_profiles",
    "events", "event_profiles", "carts",
)  # fmt: skip


@pytest.fixture(scope="module")
def retail_store() -> ModuleType:
    spec = importlib.util.spec_from_file_location("retail_store", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Dataclasses look their module up in sys.modules while the script is executed.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def build(retail_store: ModuleType, *args: str) -> int:
    main = retail_store.main
    return int(main(["--customers", str(CUSTOMERS), "--seed", "3", *args]))


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in TABLES
        }


def test_the_store_holds_what_was_asked_for_and_patron_reads_it(
    retail_store: ModuleType, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = build(
        retail_store,
        "--database-url", database_url,
        "--orders-per-customer", str(ORDERS_PER_CUSTOMER),
    )  # fmt: skip

    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    engine = make_engine(database_url, pool_size=1)
    try:
        rows = counts(engine)
        with engine.connect() as connection:
            roots = connection.execute(
                text("SELECT count(*) FROM profiles WHERE id = canonical_id")
            ).scalar_one()
            merged = connection.execute(
                text("SELECT count(*) FROM profiles WHERE merged_into_id = canonical_id")
            ).scalar_one()
            unbalanced = connection.execute(
                text(
                    """
                    SELECT count(*) FROM orders AS o
                    JOIN (SELECT order_pk, sum(total_minor) AS lines
                          FROM order_lines GROUP BY order_pk) AS l ON l.order_pk = o.id
                    WHERE o.total_minor != l.lines - o.discount_minor
                    """
                )
            ).scalar_one()
            bad_lines = connection.execute(
                text(
                    "SELECT count(*) FROM order_lines"
                    " WHERE total_minor != quantity * unit_price_minor - discount_minor"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    stats = CliRunner().invoke(
        app,
        ["stats", "--json"],
        env={
            "PATRON_DATABASE_URL": database_url,
            "PATRON_ENVIRONMENT": "test",
            "PATRON_SECRET_KEY": TEST_SECRET,
        },
    )
    with open_store(database_url) as analytics:
        orders = analytics.connection.sql(
            """
            SELECT count(*), count(o.customer_id), count(op.order_pk),
                   count(DISTINCT o.customer_id), count(DISTINCT o.channel)
            FROM orders_v AS o
            LEFT JOIN store.order_profiles AS op ON op.order_pk = o.order_pk
            """
        ).fetchone()
        unnamed = analytics.connection.sql(
            "SELECT count(*) FROM order_lines_v WHERE product_name IS NULL"
        ).fetchone()

    assert summary["rows"] == rows
    assert rows["sources"] == 5
    assert roots == CUSTOMERS
    assert merged == rows["merges"] > 0
    assert rows["profiles"] == CUSTOMERS + merged
    assert rows["orders"] > 0.8 * CUSTOMERS * ORDERS_PER_CUSTOMER
    assert rows["orders"] < 1.2 * CUSTOMERS * ORDERS_PER_CUSTOMER
    assert rows["orders"] <= rows["order_lines"] <= 4 * rows["orders"]
    assert rows["events"] == rows["event_profiles"] > 0
    assert rows["carts"] > 0
    assert unbalanced == 0
    assert bad_lines == 0
    assert stats.exit_code == 0, stats.stderr
    patron_counts = json.loads(stats.stdout)
    assert patron_counts["orders"] == rows["orders"]
    assert patron_counts["customers"] == CUSTOMERS
    assert patron_counts["profile_nodes"] == rows["profiles"]
    assert orders is not None
    total, with_customer, identified, customers, channels = orders
    assert total == rows["orders"]
    # Every identified order has its customer (the root, even for an order resolved to a
    # merged node); anonymous receipts have none.
    assert with_customer == identified == rows["order_profiles"] < total
    assert customers <= CUSTOMERS
    assert channels == 3
    assert unnamed == (0,)


def empty_store(sqlite_template: Path, path: Path) -> Path:
    shutil.copyfile(sqlite_template, path)
    return path


def test_a_sqlite_store_passes_its_checks_and_is_handed_over_in_wal_mode(
    retail_store: ModuleType,
    sqlite_template: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = empty_store(sqlite_template, tmp_path / "store.db")

    first = build(retail_store, "--out", str(path))
    again = build(retail_store, "--out", str(path))

    assert first == 0
    assert again == 2
    assert "already holds data" in capsys.readouterr().err
    with sqlite3.connect(path) as connection:
        foreign_keys = connection.execute("PRAGMA foreign_key_check").fetchall()
        integrity = connection.execute("PRAGMA integrity_check").fetchall()
        journal = connection.execute("PRAGMA journal_mode").fetchone()[0]
        indexes = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
    assert foreign_keys == []
    assert integrity == [("ok",)]
    assert journal == "wal"
    assert {"ix_orders_ordered_at", "ix_order_lines_sku", "ix_profiles_canonical_id"} <= indexes


def test_the_same_seed_gives_the_same_store(
    retail_store: ModuleType,
    sqlite_template: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    paths = [empty_store(sqlite_template, tmp_path / name) for name in ("a.db", "b.db")]

    for path in paths:
        assert build(retail_store, "--out", str(path), "--no-check") == 0
    capsys.readouterr()

    dumps = []
    for path in paths:
        with sqlite3.connect(path) as connection:
            dumps.append(
                connection.execute(
                    "SELECT group_concat(order_id || total_minor || ordered_at, ',')"
                    " FROM (SELECT * FROM orders ORDER BY id)"
                ).fetchone()
            )
    assert dumps[0] == dumps[1]
    assert dumps[0][0]
