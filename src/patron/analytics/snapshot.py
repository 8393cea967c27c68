"""The analytics snapshot: the views' rows written once into a DuckDB file next to the store.

Reading the live store through the scanner extensions costs a full scan (and the identity
graph's joins) per query: measured at 1,000,000 orders, a report takes tens of seconds, far
from the 2 s target (docs/benchmarks.md). The snapshot holds every view as a DuckDB table
(orders sorted by time, each order with its customer resolved through the identity graph as
it was at refresh), so reports read columnar data without joins. It is a copy as of a time:
reports read from it say so (``Report.data_as_of``), and a refresh replaces it whole,
atomically (written beside, then renamed), so a reader never sees half a snapshot.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import duckdb

from patron.analytics.rollups import write_rollups
from patron.analytics.store import (
    SNAPSHOT_INFO,
    VIEW_NAMES,
    AnalyticsStoreError,
    open_store,
    snapshot_path,
)

if TYPE_CHECKING:
    from pathlib import Path

# Sorting by time lets DuckDB skip whole row groups for a period (zone maps).
_ORDER_BY = {"orders_v": "ordered_at", "events_v": "timestamp", "carts_v": "created_at"}


@dataclass(frozen=True)
class SnapshotInfo:
    """A snapshot just written: where, as of when, how many rows per view, how long it took."""

    path: Path
    taken_at: datetime
    rows: dict[str, int]
    seconds: float


def refresh_snapshot(database_url: str, *, threads: int | None = None) -> SnapshotInfo:
    """Write the analytics snapshot of the store at ``database_url`` (replacing any older one).

    Raises ``AnalyticsStoreError`` when the store cannot be read or the file not written.
    """
    path = snapshot_path(database_url)
    partial = path.with_name(path.name + ".partial")
    started = time.perf_counter()
    # Taken before reading: what is written while the copy runs may or may not be in it.
    taken_at = datetime.now(UTC)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.unlink(missing_ok=True)
    except OSError as error:
        msg = f"cannot write the analytics snapshot at {path}: {error.strerror}"
        raise AnalyticsStoreError(msg) from error
    rows: dict[str, int] = {}
    with open_store(database_url, threads=threads, snapshot=False) as store:
        connection = store.connection
        try:
            quoted = str(partial).replace("'", "''")
            connection.execute(f"ATTACH '{quoted}' AS fresh")
            for name in VIEW_NAMES:
                order = f" ORDER BY {_ORDER_BY[name]}" if name in _ORDER_BY else ""
                connection.execute(f"CREATE TABLE fresh.{name} AS SELECT * FROM {name}{order}")  # noqa: S608 - constant names
                counted = connection.execute(f"SELECT count(*) FROM fresh.{name}").fetchone()  # noqa: S608 - constant names
                rows[name] = int(counted[0]) if counted else 0
            rows |= write_rollups(connection, "fresh")
            connection.execute(
                f"CREATE TABLE fresh.{SNAPSHOT_INFO} AS SELECT CAST(? AS TIMESTAMP) AS taken_at",
                [taken_at.replace(tzinfo=None)],
            )
            connection.execute("DETACH fresh")
        except duckdb.Error as error:
            partial.unlink(missing_ok=True)
            msg = f"could not write the analytics snapshot: {error}"
            raise AnalyticsStoreError(msg) from error
    partial.replace(path)
    return SnapshotInfo(path, taken_at, rows, time.perf_counter() - started)
