"""The worker keeps the analytics snapshot fresh while it writes the store."""

import threading
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from sqlalchemy.orm import Session, sessionmaker
from tests.integration.analytics.retail import build_store
from tests.integration.profiles.graph_state import import_jsonl

from patron import analytics
from patron.ingest import Channel
from patron.settings import Settings
from patron.worker import run_worker


def age_snapshot(path: Path, by: timedelta) -> None:
    """Make the snapshot at ``path`` look taken ``by`` earlier than it was."""
    with duckdb.connect(str(path)) as connection:
        connection.execute("UPDATE snapshot_info SET taken_at = taken_at - ?", [by])


def test_the_worker_rewrites_a_stale_snapshot_of_a_changed_store_while_it_resolves(
    sessions: sessionmaker[Session],
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a snapshot two hours old, and an order imported since that the worker will resolve
    monkeypatch.chdir(tmp_path)
    build_store(sessions, settings, tmp_path)
    url = settings.database_url
    path = analytics.refresh_snapshot(url).path
    age_snapshot(path, timedelta(hours=2))
    stale = analytics.open_store(url, snapshot=True)
    stale_at = stale.data_as_of
    stale.close()
    import_jsonl(
        sessions,
        tmp_path,
        "orders",
        source="shop",
        channel=Channel.ESHOP,
        rows=[
            {
                "id": "late-1",
                "customer_id": "s2",
                "ordered_at": "2025-03-01T10:00:00+00:00",
                "currency": "GBP",
                "total": 12.0,
                "lines": [{"sku": "JAM", "quantity": 3, "unit_price": 4.0}],
            }
        ],
    )

    # when the worker runs, resolving the order while its keeper looks at the snapshot
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(settings, stop), daemon=True)
    worker.start()
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            with analytics.open_store(url, snapshot=True) as store:
                if store.data_as_of != stale_at:
                    break
            time.sleep(0.5)
    finally:
        stop.set()
        worker.join(timeout=60)

    # then the snapshot was written again, with the order imported before the worker started
    # (whether the worker had resolved it to Cat by then depends on which thread came first)
    assert stale_at is not None
    with analytics.open_store(url, snapshot=True) as store:
        assert store.data_as_of is not None
        assert store.data_as_of > stale_at + timedelta(hours=1)
        in_snapshot = store.connection.execute(
            "SELECT order_id, total_minor FROM orders_v ORDER BY order_id"
        ).fetchall()
    with analytics.open_store(url, snapshot=False) as store:
        live = store.connection.execute(
            "SELECT order_id, total_minor FROM orders_v ORDER BY order_id"
        ).fetchall()
    assert ("late-1", 1200) in in_snapshot
    assert in_snapshot == live
