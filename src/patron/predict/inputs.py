"""What the models read from the store, through the analytics views, for one time window.

Every reader takes a window ``[start, end)`` of local dates in the retailer's time zone: the
models see only what happened before the as-of date (``end``), and a back-test reads the
holdout that follows it with the same code. ``make_window`` reads the window's identified
orders and the events the models use once from the store into DuckDB temporary tables (the
store's scanners are the slow part); the readers aggregate those in DuckDB, so what reaches
pandas is one row per customer (and day, SKU, hour or channel), never per order or event.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from patron import ingest

if TYPE_CHECKING:
    from datetime import date

    import duckdb

# Events that show when a customer pays attention: app opens, and opens and clicks of
# messages (named as Segment's specs name them). Purchases count too (read from orders).
ATTENTION_EVENTS = (
    "Application Opened",
    "Email Opened",
    "Email Link Clicked",
    "Push Notification Opened",
    "Push Notification Tapped",
    "SMS Link Clicked",
)


class PredictionDataError(ValueError):
    """The store holds no data the models can use for the requested window."""


@dataclass(frozen=True)
class Purchases:
    """What customers bought: one entry per customer and product, ordered by customer and
    product, with the catalogue of the products bought (once per product).

    ``skus`` (sorted), ``names`` and ``categories`` (None where unknown) are indexed by a
    product's code; ``customer_ids``, ``products`` (codes), ``days`` (distinct local days the
    customer bought the product) and ``last_days`` (the last of them) by entry.
    """

    skus: np.ndarray
    names: np.ndarray
    categories: np.ndarray
    customer_ids: np.ndarray
    products: np.ndarray
    days: np.ndarray
    last_days: np.ndarray

    @property
    def empty(self) -> bool:
        return len(self.customer_ids) == 0

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Purchases:
        """From one row per customer and SKU: ``customer_id, sku, product_name, category,
        days, last_day`` (a product's name and category are taken from its first row)."""
        skus, first, codes = np.unique(
            frame["sku"].to_numpy(dtype=object), return_index=True, return_inverse=True
        )
        customer_ids = frame["customer_id"].to_numpy(np.int64)
        order = np.lexsort((codes, customer_ids))
        categories = frame["category"].to_numpy(dtype=object)[first]
        return cls(
            skus=skus,
            names=frame["product_name"].to_numpy(dtype=object)[first],
            categories=np.array(
                [None if pd.isna(category) else category for category in categories], dtype=object
            ),
            customer_ids=customer_ids[order],
            products=codes[order].astype(np.int32),
            days=frame["days"].to_numpy(np.int32)[order],
            last_days=frame["last_day"].to_numpy(dtype="datetime64[D]")[order],
        )


@dataclass(frozen=True)
class Window:
    """Local dates ``[start, end)`` in ``timezone`` (``start`` None: from the beginning) and
    the temporary tables holding what happened in it.

    ``orders``: identified orders (``order_pk, customer_id, channel, currency, total_minor,
    local_at``); ``first_events``: each customer's first event (``customer_id, local_at``);
    ``attention``: the events of ``ATTENTION_EVENTS`` (``customer_id, local_at``).
    """

    start: date | None
    end: date
    timezone: str
    orders: str
    first_events: str
    attention: str


_tables = itertools.count()


def _checked_timezone(connection: duckdb.DuckDBPyConnection, timezone: str) -> None:
    # The name is put into SQL text below: accept only a name DuckDB knows.
    known = connection.execute(
        "SELECT count(*) FROM pg_timezone_names() WHERE name = ?", [timezone]
    ).fetchone()
    if not known or not known[0]:
        msg = f"unknown time zone {timezone!r}"
        raise PredictionDataError(msg)


def _utc_bound(day: date, timezone: str) -> str:
    # Local midnight as the naive UTC time the views give: the filter then compares the
    # stored times as they are, with no conversion per row.
    instant = datetime.combine(day, time(), tzinfo=ZoneInfo(timezone)).astimezone(UTC)
    return f"TIMESTAMP '{instant.replace(tzinfo=None).isoformat(sep=' ')}'"


def _local(column: str, timezone: str) -> str:
    # Views give naive UTC; the session's TimeZone is UTC, so the cast reads it as UTC.
    return f"timezone('{timezone}', CAST({column} AS TIMESTAMPTZ))"


def make_window(
    connection: duckdb.DuckDBPyConnection, start: date | None, end: date | None, timezone: str
) -> Window:
    """Read the window's orders and events from the store into temporary tables.

    ``end`` None: up to the day after the local date of the newest order in the store
    (anonymous orders included), which the window's ``end`` then gives; the orders are then
    read in the same pass as that date.

    Raises ``PredictionDataError`` for a time zone DuckDB does not know, and for a store
    without orders (after ``start``) when ``end`` is None.
    """
    _checked_timezone(connection, timezone)
    number = next(_tables)
    orders = f"predict_orders_{number}"

    def within(column: str, end: date | None) -> str:
        conditions = ["TRUE"]
        if end is not None:
            conditions.append(f"{column} < {_utc_bound(end, timezone)}")
        if start is not None:
            conditions.append(f"{column} >= {_utc_bound(start, timezone)}")
        return " AND ".join(conditions)

    # The models read identified orders only. Without an end, every order is read first (the
    # newest, anonymous or not, gives the end) and the anonymous ones are deleted after.
    identified = "" if end is None else " AND customer_id IS NOT NULL"
    connection.execute(
        f"""CREATE TEMP TABLE {orders} AS
            SELECT order_pk, customer_id, channel, currency, total_minor,
                   {_local("ordered_at", timezone)} AS local_at
            FROM orders_v WHERE {within("ordered_at", end)}{identified}"""  # noqa: S608
    )
    if end is None:
        row = connection.execute(
            f"SELECT CAST(max(local_at) AS DATE) FROM {orders}"  # noqa: S608
        ).fetchone()
        if not row or row[0] is None:
            connection.execute(f"DROP TABLE {orders}")
            msg = "the store holds no orders: there is nothing to predict from"
            raise PredictionDataError(msg)
        end = row[0] + timedelta(days=1)
        connection.execute(f"DELETE FROM {orders} WHERE customer_id IS NULL")  # noqa: S608
    window = Window(
        start,
        end,
        timezone,
        orders=orders,
        first_events=f"predict_first_events_{number}",
        attention=f"predict_attention_{number}",
    )
    # One pass over the events for both tables (each pass through the store's scanner costs
    # about as much as the other).
    events = f"predict_events_{number}"
    names = ", ".join(f"'{name}'" for name in ATTENTION_EVENTS)
    connection.execute(
        f"""CREATE TEMP TABLE {events} AS
            SELECT customer_id, timestamp, name IN ({names}) AS attention
            FROM events_v WHERE customer_id IS NOT NULL AND {within("timestamp", end)}"""  # noqa: S608
    )
    try:
        connection.execute(
            f"""CREATE TEMP TABLE {window.first_events} AS
                SELECT customer_id, {_local("min(timestamp)", timezone)} AS local_at
                FROM {events} GROUP BY customer_id"""  # noqa: S608
        )
        connection.execute(
            f"""CREATE TEMP TABLE {window.attention} AS
                SELECT customer_id, {_local("timestamp", timezone)} AS local_at
                FROM {events} WHERE attention"""  # noqa: S608
        )
    finally:
        connection.execute(f"DROP TABLE IF EXISTS {events}")
    return window


def main_currency(connection: duckdb.DuckDBPyConnection, window: Window) -> str | None:
    """The currency of most orders in the window (spend models use that currency only)."""
    row = connection.execute(
        f"""SELECT currency FROM {window.orders}
            GROUP BY currency ORDER BY count(*) DESC, currency LIMIT 1"""  # noqa: S608
    ).fetchone()
    return str(row[0]) if row else None


def latest_order_day(connection: duckdb.DuckDBPyConnection, timezone: str) -> date | None:
    """The local date of the newest order in the store (None for a store without orders)."""
    _checked_timezone(connection, timezone)
    row = connection.execute(
        f"SELECT CAST({_local('max(ordered_at)', timezone)} AS DATE) FROM orders_v"  # noqa: S608
    ).fetchone()
    return row[0] if row and row[0] is not None else None


def purchase_days(
    connection: duckdb.DuckDBPyConnection, window: Window, currency: str
) -> duckdb.DuckDBPyRelation:
    """One row per customer and local day with purchases: ``customer_id, day, spend`` (major
    units of ``currency``; orders in other currencies are left out)."""
    scale = 10 ** ingest.currency_exponent(currency)
    return connection.sql(
        f"""SELECT customer_id, CAST(local_at AS DATE) AS day, SUM(total_minor) / {scale} AS spend
            FROM {window.orders} WHERE currency = '{currency}'
            GROUP BY ALL"""  # noqa: S608 - the currency is a known ISO code, the rest ours
    )


def customers_seen(connection: duckdb.DuckDBPyConnection, window: Window) -> pd.DataFrame:
    """Every customer with an order or an event in the window: ``customer_id, first_seen``."""
    return connection.sql(
        f"""SELECT customer_id, CAST(min(local_at) AS DATE) AS first_seen FROM (
                SELECT customer_id, local_at FROM {window.orders}
                UNION ALL
                SELECT customer_id, local_at FROM {window.first_events}
            ) GROUP BY customer_id ORDER BY customer_id"""  # noqa: S608
    ).df()


def channel_counts(connection: duckdb.DuckDBPyConnection, window: Window) -> pd.DataFrame:
    """Orders per customer and channel: ``customer_id, channel, orders``."""
    return connection.sql(
        f"""SELECT customer_id, channel, count(*) AS orders FROM {window.orders}
            GROUP BY ALL"""  # noqa: S608
    ).df()


def attention_times(connection: duckdb.DuckDBPyConnection, window: Window) -> pd.DataFrame:
    """Moments of attention per customer in local time: ``customer_id, hour, weekday, n``.

    Purchases and the events in ``ATTENTION_EVENTS``; weekday 0 is Monday.
    """
    return connection.sql(
        f"""SELECT customer_id, hour(local_at) AS hour, isodow(local_at) - 1 AS weekday,
                   count(*) AS n
            FROM (
                SELECT customer_id, local_at FROM {window.orders}
                UNION ALL
                SELECT customer_id, local_at FROM {window.attention}
            ) GROUP BY ALL"""  # noqa: S608
    ).df()


def bought_products(connection: duckdb.DuckDBPyConnection, window: Window) -> Purchases:
    """What each customer bought in the window (see ``Purchases``).

    Product names and categories are read once per SKU; the pairs reach numpy as integer
    codes, so a million customers' purchases are arrays, not millions of Python strings.
    """
    number = next(_tables)
    pairs = f"predict_bought_{number}"
    catalogue = f"predict_catalogue_{number}"
    connection.execute(
        # Days first, then products: a count of distinct days per customer and product
        # keeps a set per pair in memory (at 100,000 customers the peak went from 1,018 to
        # 898 MB).
        f"""CREATE TEMP TABLE {pairs} AS
            SELECT customer_id, sku, any_value(product_name) AS product_name,
                   any_value(category) AS category, count(*) AS days, max(day) AS last_day
            FROM (
                SELECT o.customer_id, l.sku, CAST(o.local_at AS DATE) AS day,
                       any_value(l.product_name) AS product_name,
                       any_value(l.category) AS category
                FROM order_lines_v AS l JOIN {window.orders} AS o ON o.order_pk = l.order_pk
                WHERE l.quantity > 0
                GROUP BY ALL
            ) GROUP BY customer_id, sku"""  # noqa: S608
    )
    try:
        connection.execute(
            f"""CREATE TEMP TABLE {catalogue} AS
                SELECT sku, CAST(row_number() OVER (ORDER BY sku) - 1 AS INTEGER) AS code,
                       product_name, category
                FROM (SELECT sku, any_value(product_name) AS product_name,
                             any_value(category) AS category
                      FROM {pairs} GROUP BY sku)"""  # noqa: S608
        )
        products = connection.execute(
            f"SELECT sku, product_name, category FROM {catalogue} ORDER BY code"  # noqa: S608
        ).fetchall()
        arrays = connection.execute(
            f"""SELECT p.customer_id, c.code AS product, CAST(p.days AS INTEGER) AS days,
                       CAST(p.last_day - DATE '1970-01-01' AS INTEGER) AS last_day
                FROM {pairs} AS p JOIN {catalogue} AS c USING (sku)
                ORDER BY p.customer_id, c.code"""  # noqa: S608
        ).fetchnumpy()
    finally:
        connection.execute(f"DROP TABLE IF EXISTS {pairs}")
        connection.execute(f"DROP TABLE IF EXISTS {catalogue}")
    return Purchases(
        skus=np.array([row[0] for row in products], dtype=object),
        names=np.array([row[1] for row in products], dtype=object),
        categories=np.array([row[2] for row in products], dtype=object),
        customer_ids=np.asarray(arrays["customer_id"], dtype=np.int64),
        products=np.asarray(arrays["product"], dtype=np.int32),
        days=np.asarray(arrays["days"], dtype=np.int32),
        last_days=np.asarray(arrays["last_day"], dtype=np.int64).astype("datetime64[D]"),
    )
