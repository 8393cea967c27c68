"""DuckDB in process, reading Patron's live store: the one door of every report and model.

DuckDB attaches the SQLite file (``sqlite_scanner``) or the PostgreSQL database
(``postgres_scanner``) read-only, and a handful of views give every reader the same shape of
data whatever the engine: orders, lines, events and carts, each with the *customer* it
belongs to, read through the identity graph (a record's profile node, then that node's
canonical root). Nothing is copied, so there is nothing to keep in sync.

The scanner extensions come from the PyPI packages ``duckdb-extension-sqlite-scanner`` and
``duckdb-extension-postgres-scanner`` and are loaded by file path: DuckDB's own download of
extensions would need the internet, and an extension of another DuckDB version refuses to
load.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Self

import duckdb
from sqlalchemy.engine import make_url

from patron.analytics.rollups import ROLLUP_NAMES, ROLLUP_NEWEST_COLUMN
from patron.storage import StoreScanError, normalise_url, offline_duckdb, quote, store_scanner

if TYPE_CHECKING:
    from types import TracebackType

# The store's tables are attached under this name (the views below name it); the views live
# in DuckDB's own in-memory catalogue.
STORE = "store"

# Times are UTC in the store; views give them as naive UTC timestamps on both engines.
_VIEWS = {
    "sources_v": """
        SELECT id AS source_id, name AS source, channel FROM store.sources
    """,
    # A profile node and the customer it belongs to now (its canonical root).
    "profile_customers": """
        SELECT id AS profile_id, canonical_id AS customer_id FROM store.profiles
    """,
    "orders_v": """
        SELECT o.id AS order_pk, o.order_id, s.source, o.channel, o.store_id,
               CAST(o.ordered_at AS TIMESTAMP) AS ordered_at, o.currency,
               o.total_minor, o.discount_minor, o.voucher_code,
               p.canonical_id AS customer_id
        FROM store.orders AS o
        JOIN sources_v AS s ON s.source_id = o.source_id
        LEFT JOIN store.order_profiles AS op ON op.order_pk = o.id
        LEFT JOIN store.profiles AS p ON p.id = op.profile_id
    """,
    # Products are listed once per selling system: a line takes its product from the
    # catalogue of the source that sold it.
    "order_lines_v": """
        SELECT l.order_pk, l.line_no, l.sku, l.quantity, l.unit_price_minor,
               l.discount_minor, l.total_minor, pr.name AS product_name,
               pr.category, pr.brand
        FROM store.order_lines AS l
        JOIN store.orders AS o ON o.id = l.order_pk
        LEFT JOIN store.products AS pr ON pr.source_id = o.source_id AND pr.sku = l.sku
    """,
    "events_v": """
        SELECT e.id AS event_pk, s.source, s.channel, e.type, e.name,
               CAST(e.timestamp AS TIMESTAMP) AS timestamp, p.canonical_id AS customer_id
        FROM store.events AS e
        JOIN sources_v AS s ON s.source_id = e.source_id
        LEFT JOIN store.event_profiles AS ep ON ep.event_id = e.id
        LEFT JOIN store.profiles AS p ON p.id = ep.profile_id
    """,
    "carts_v": """
        SELECT c.id AS cart_pk, s.source, s.channel, c.cart_id, c.status, c.currency,
               c.value_minor, c.order_id, CAST(c.created_at AS TIMESTAMP) AS created_at,
               CAST(c.updated_at AS TIMESTAMP) AS updated_at
        FROM store.carts AS c
        JOIN sources_v AS s ON s.source_id = c.source_id
    """,
}


# The views every report reads, in the order they are built (later ones use earlier ones).
VIEW_NAMES = tuple(_VIEWS)
# A snapshot younger than this is read instead of the live store when none is asked for.
SNAPSHOT_MAX_AGE = timedelta(hours=1)
SNAPSHOT_INFO = "snapshot_info"


class AnalyticsStoreError(RuntimeError):
    """The store could not be opened for analysis (unsupported URL, missing extension)."""


def snapshot_path(database_url: str) -> Path:
    """Where the analytics snapshot of a store lives: next to a SQLite file, under
    ``var/analytics/`` for a PostgreSQL database."""
    url = make_url(normalise_url(database_url))
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(f"{url.database}.analytics.duckdb")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{url.host}_{url.port or 5432}_{url.database}")
    return Path("var") / "analytics" / f"{name}.duckdb"


def snapshot_info(path: Path, column: str) -> object | None:
    """A column of the snapshot's info row (``taken_at``, ``fingerprint``...), or None when
    there is no readable snapshot at ``path`` or the value is missing."""
    if not path.is_file():
        return None
    try:
        with duckdb.connect(str(path), read_only=True) as connection:
            row = connection.execute(f"SELECT {column} FROM {SNAPSHOT_INFO}").fetchone()  # noqa: S608 - names of the code's own
    except duckdb.Error:
        return None
    return row[0] if row else None


def snapshot_taken_at(path: Path) -> datetime | None:
    """When the snapshot at ``path`` was taken (UTC), or None if there is none readable."""
    taken_at = snapshot_info(path, "taken_at")
    return taken_at.replace(tzinfo=UTC) if isinstance(taken_at, datetime) else None


def snapshot_confirmation_path(path: Path) -> Path:
    """The file beside the snapshot at ``path`` that says when the store was last found
    unchanged since the snapshot was taken (``refresh_stale_snapshot`` writes it)."""
    return path.with_name(path.name + ".confirmed")


def snapshot_current_as_of(path: Path) -> datetime | None:
    """The last time the snapshot at ``path`` was known to match the store (UTC): when it
    was taken, or later when the store was since found unchanged; None if there is none.

    The snapshot itself is never rewritten to say so (readers hold it open), so the later
    time lives in a file beside it, naming the snapshot it confirms: a confirmation left
    from an older snapshot is ignored.
    """
    taken_at = snapshot_taken_at(path)
    if taken_at is None:
        return None
    try:
        recorded = json.loads(snapshot_confirmation_path(path).read_text(encoding="utf-8"))
        confirms = datetime.fromisoformat(recorded["taken_at"])
        confirmed_at = datetime.fromisoformat(recorded["confirmed_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return taken_at
    if confirms != taken_at or confirmed_at.tzinfo is None:
        return taken_at
    return max(taken_at, confirmed_at)


class AnalyticsStore:
    """A DuckDB connection with the live store attached read-only and the views above.

    Use it as a context manager; ``connection`` is the DuckDB connection to query. One
    store per thread: DuckDB connections are not shared between threads.
    """

    def __init__(
        self,
        database_url: str,
        *,
        threads: int | None = None,
        snapshot: bool | None = None,
        snapshot_max_age: timedelta = SNAPSHOT_MAX_AGE,
        now: datetime | None = None,
    ) -> None:
        try:
            scanner = store_scanner(database_url)
        except StoreScanError as error:
            raise AnalyticsStoreError(str(error)) from error
        self.database_url = database_url
        # When the data read is a snapshot, the last time it was known to match the store
        # (taken, or found unchanged since); None for the live store.
        self.data_as_of: datetime | None = None
        # Whether the snapshot read holds the rollups (``patron.analytics.rollups``).
        self.rollups = False
        path = snapshot_path(database_url)
        if snapshot is not False:
            current_as_of = snapshot_current_as_of(path)
            if current_as_of is None and snapshot:
                msg = f"there is no analytics snapshot at {path}: run patron analytics refresh"
                raise AnalyticsStoreError(msg)
            if current_as_of is not None and (
                snapshot or (now or datetime.now(UTC)) - current_as_of <= snapshot_max_age
            ):
                self.data_as_of = current_as_of
        try:
            # A missing extension is said before anything is opened.
            scanner.extension_path()
        except StoreScanError as error:
            raise AnalyticsStoreError(str(error)) from error
        self.connection = offline_duckdb()
        try:
            if threads is not None:
                self.connection.execute(f"SET threads = {int(threads)}")
            self.connection.execute("SET TimeZone = 'UTC'")
            if self.data_as_of is not None:
                # The snapshot holds the views' rows as tables of the same names.
                self.connection.execute(f"ATTACH {quote(str(path))} AS snapshot (READ_ONLY)")
                for name in VIEW_NAMES:
                    self.connection.execute(
                        f"CREATE VIEW {name} AS SELECT * FROM snapshot.{name}"  # noqa: S608 - constant names
                    )
                self.rollups = self._attach_rollups()
                return
            scanner.attach(self.connection, STORE)
            for name, sql in _VIEWS.items():
                self.connection.execute(f"CREATE VIEW {name} AS {sql}")
        except duckdb.Error as error:
            self.connection.close()
            msg = f"could not open the store for analysis: {error}"
            raise AnalyticsStoreError(msg) from error

    def _attach_rollups(self) -> bool:
        # A snapshot written before the rollups existed has none: reports then read rows.
        found = self.connection.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'snapshot' "  # noqa: S608 - constant names, quoted
            f"AND table_name IN ({', '.join(quote(name) for name in ROLLUP_NAMES)})"
        ).fetchone()
        if not found or found[0] != len(ROLLUP_NAMES):
            return False
        # Nor does one written before customer_months held its months' first order times.
        newest = self.connection.execute(
            "SELECT count(*) FROM duckdb_columns() WHERE database_name = 'snapshot' "  # noqa: S608 - a constant, quoted
            f"AND table_name = 'customer_months' AND column_name = {quote(ROLLUP_NEWEST_COLUMN)}"
        ).fetchone()
        if not newest or newest[0] != 1:
            return False
        for name in ROLLUP_NAMES:
            self.connection.execute(f"CREATE VIEW {name} AS SELECT * FROM snapshot.{name}")  # noqa: S608 - constant names
        return True

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def open_store(
    database_url: str,
    *,
    threads: int | None = None,
    snapshot: bool | None = None,
    snapshot_max_age: timedelta = SNAPSHOT_MAX_AGE,
    now: datetime | None = None,
) -> AnalyticsStore:
    """Open the store at ``database_url`` (SQLite file or PostgreSQL) for analysis.

    ``snapshot`` True reads the analytics snapshot (``refresh_snapshot``), False the live
    store; None reads the snapshot when it was known to match the store less than
    ``snapshot_max_age`` before ``now`` (default: the clock), and the live store otherwise.
    ``data_as_of`` says which: the last time the snapshot was known to match the store
    (when it was taken, or when ``refresh_stale_snapshot`` last found the store unchanged),
    or None.

    Raises ``AnalyticsStoreError`` for an in-memory or unsupported database, a missing or
    mismatched scanner extension, a store that cannot be attached, or a snapshot asked for
    that does not exist.
    """
    return AnalyticsStore(
        database_url,
        threads=threads,
        snapshot=snapshot,
        snapshot_max_age=snapshot_max_age,
        now=now,
    )
