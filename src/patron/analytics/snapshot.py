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

import fcntl
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import duckdb
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from patron.analytics.isolation import run_in_own_process
from patron.analytics.rollups import write_rollups
from patron.analytics.store import (
    SNAPSHOT_INFO,
    SNAPSHOT_MAX_AGE,
    VIEW_NAMES,
    AnalyticsStoreError,
    open_store,
    snapshot_confirmation_path,
    snapshot_current_as_of,
    snapshot_info,
    snapshot_path,
    snapshot_taken_at,
)
from patron.storage import make_engine, reads_need_own_process

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


# What changes when anything a report reads changes: rows added (ids), rows updated
# (updated_at: carts, profiles on a merge), merges made or undone. Each is one indexed or
# single-column read; the worker asks only when a snapshot is due for a refresh.
_FINGERPRINT = """
    SELECT (SELECT max(id) FROM sources), (SELECT max(id) FROM orders),
           (SELECT max(updated_at) FROM orders), (SELECT max(id) FROM order_lines),
           (SELECT count(*) FROM order_profiles), (SELECT max(id) FROM products),
           (SELECT max(updated_at) FROM products), (SELECT max(id) FROM profiles),
           (SELECT max(updated_at) FROM profiles), (SELECT max(id) FROM merges),
           (SELECT max(undone_at) FROM merges), (SELECT max(id) FROM events),
           (SELECT count(*) FROM event_profiles), (SELECT max(id) FROM carts),
           (SELECT max(updated_at) FROM carts)
"""


def store_fingerprint(database_url: str) -> str:
    """A text that changes whenever the data reports read changes in the store.

    Raises ``AnalyticsStoreError`` when the store cannot be read.
    """
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            row = connection.execute(text(_FINGERPRINT)).one()
    except SQLAlchemyError as error:
        msg = f"cannot read the store to see whether it changed: {error}"
        raise AnalyticsStoreError(msg) from error
    finally:
        engine.dispose()
    return "|".join("" if value is None else str(value) for value in row)


def snapshot_fingerprint(path: Path) -> str | None:
    """The store's fingerprint when the snapshot at ``path`` was taken (None: unknown)."""
    fingerprint = snapshot_info(path, "fingerprint")
    return None if fingerprint is None else str(fingerprint)


def refresh_snapshot(database_url: str, *, threads: int | None = None) -> SnapshotInfo:
    """Write the analytics snapshot of the store at ``database_url`` (replacing any older one).

    Raises ``AnalyticsStoreError`` when the store cannot be read or the file not written.
    """
    path = snapshot_path(database_url)
    partial = path.with_name(path.name + ".partial")
    started = time.perf_counter()
    # Taken before reading: what is written while the copy runs may or may not be in it (and
    # changes the fingerprint, so the next refresh that is due takes it).
    taken_at = datetime.now(UTC)
    fingerprint = store_fingerprint(database_url)
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
                f"CREATE TABLE fresh.{SNAPSHOT_INFO} AS "
                "SELECT CAST(? AS TIMESTAMP) AS taken_at, CAST(? AS VARCHAR) AS fingerprint",
                [taken_at.replace(tzinfo=None), fingerprint],
            )
            connection.execute("DETACH fresh")
        except duckdb.Error as error:
            partial.unlink(missing_ok=True)
            msg = f"could not write the analytics snapshot: {error}"
            raise AnalyticsStoreError(msg) from error
    partial.replace(path)
    return SnapshotInfo(path, taken_at, rows, time.perf_counter() - started)


def _confirm_snapshot(path: Path, taken_at: datetime, confirmed_at: datetime) -> None:
    # Written beside and renamed, like the snapshot: a reader sees the old time or the new.
    confirmation = snapshot_confirmation_path(path)
    partial = confirmation.with_name(confirmation.name + ".partial")
    recorded = {"taken_at": taken_at.isoformat(), "confirmed_at": confirmed_at.isoformat()}
    try:
        partial.write_text(json.dumps(recorded), encoding="utf-8")
        partial.replace(confirmation)
    except OSError as error:
        msg = f"cannot record that the analytics snapshot at {path} is current: {error.strerror}"
        raise AnalyticsStoreError(msg) from error


def refresh_stale_snapshot(
    database_url: str,
    *,
    refresh_after: timedelta = SNAPSHOT_MAX_AGE / 2,
    threads: int | None = None,
    now: datetime | None = None,
) -> SnapshotInfo | None:
    """Refresh the store's snapshot if there is one that was last known to match the store
    more than ``refresh_after`` before ``now`` (default: the clock) and the store has changed
    since; returns the new snapshot, or None when nothing was written.

    When the store is found unchanged, the snapshot is still exact: the time of this check
    is recorded beside it, and readers count its age (and give its ``data_as_of``) from then,
    so an idle store's snapshot stays in use instead of reports falling back to the live
    store an hour after it was taken.

    A store without a snapshot is left without one (reports read it live: it was never
    asked for). The default refreshes at half the age after which reports stop reading a
    snapshot, so that they keep reading one while the next is written. Two refreshers of
    the same snapshot at once (two workers on one machine) are kept apart by a lock file:
    the second returns None. The snapshot of a SQLite store is written by a child process,
    so that a caller which writes the store meanwhile is safe. Raises
    ``AnalyticsStoreError`` as ``refresh_snapshot`` does, or when the check's time cannot be
    recorded.
    """
    # Taken before the store is read: the store is known identical to the snapshot as of then.
    checked_at = now or datetime.now(UTC)
    path = snapshot_path(database_url)
    current_as_of = snapshot_current_as_of(path)
    if current_as_of is None or checked_at - current_as_of <= refresh_after:
        return None
    lock_path = path.with_name(path.name + ".lock")
    try:
        with lock_path.open("w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None
            # Read under the lock: another refresher may have replaced the snapshot meanwhile.
            taken_at = snapshot_taken_at(path)
            if taken_at is None:
                return None
            if snapshot_fingerprint(path) == store_fingerprint(database_url):
                _confirm_snapshot(path, taken_at, checked_at)
                return None
            # The caller writes the store (the worker); DuckDB's copy of SQLite must not open
            # it beside Python's in one process (``patron.analytics.isolation``).
            if reads_need_own_process(database_url):
                return run_in_own_process(refresh_snapshot, database_url, threads=threads)
            return refresh_snapshot(database_url, threads=threads)
    except OSError as error:
        msg = f"cannot lock the analytics snapshot at {lock_path}: {error.strerror}"
        raise AnalyticsStoreError(msg) from error
