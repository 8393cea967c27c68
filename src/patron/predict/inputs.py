"""What the models read from the store, through the analytics views, for one time window.

Every reader takes a window ``[start, end)`` of local dates in the retailer's time zone: the
models see only what happened before the as-of date (``end``), and a back-test reads the
holdout that follows it with the same code. Everything is aggregated in DuckDB, so what
reaches pandas is one row per customer (and day, SKU, hour or channel), never per event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from patron import ingest

if TYPE_CHECKING:
    from datetime import date

    import duckdb
    import pandas as pd  # type: ignore[import-untyped]

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
class Window:
    """Local dates ``[start, end)`` in ``timezone``; ``start`` None means from the beginning."""

    start: date | None
    end: date
    timezone: str

    def local(self, column: str) -> str:
        # Views give naive UTC; the session's TimeZone is UTC, so the cast reads it as UTC.
        return f"timezone('{self.timezone}', CAST({column} AS TIMESTAMPTZ))"

    def where(self, column: str) -> str:
        local = self.local(column)
        condition = f"{local} < DATE '{self.end.isoformat()}'"
        if self.start is not None:
            condition += f" AND {local} >= DATE '{self.start.isoformat()}'"
        return condition


def _checked_timezone(connection: duckdb.DuckDBPyConnection, timezone: str) -> None:
    # The name is put into SQL text below: accept only a name DuckDB knows.
    known = connection.execute(
        "SELECT count(*) FROM pg_timezone_names() WHERE name = ?", [timezone]
    ).fetchone()
    if not known or not known[0]:
        msg = f"unknown time zone {timezone!r}"
        raise PredictionDataError(msg)


def make_window(
    connection: duckdb.DuckDBPyConnection, start: date | None, end: date, timezone: str
) -> Window:
    _checked_timezone(connection, timezone)
    return Window(start, end, timezone)


def main_currency(connection: duckdb.DuckDBPyConnection, window: Window) -> str | None:
    """The currency of most orders in the window (spend models use that currency only)."""
    row = connection.execute(
        f"""SELECT currency FROM orders_v
            WHERE customer_id IS NOT NULL AND {window.where("ordered_at")}
            GROUP BY currency ORDER BY count(*) DESC, currency LIMIT 1"""  # noqa: S608
    ).fetchone()
    return str(row[0]) if row else None


def latest_order_day(connection: duckdb.DuckDBPyConnection, timezone: str) -> date | None:
    """The local date of the newest order in the store (None for a store without orders)."""
    _checked_timezone(connection, timezone)
    local = f"timezone('{timezone}', CAST(ordered_at AS TIMESTAMPTZ))"
    row = connection.execute(f"SELECT CAST(max({local}) AS DATE) FROM orders_v").fetchone()  # noqa: S608
    return row[0] if row and row[0] is not None else None


def purchase_days(
    connection: duckdb.DuckDBPyConnection, window: Window, currency: str
) -> duckdb.DuckDBPyRelation:
    """One row per customer and local day with purchases: ``customer_id, day, spend`` (major
    units of ``currency``; orders in other currencies are left out)."""
    scale = 10 ** ingest.currency_exponent(currency)
    return connection.sql(
        f"""SELECT customer_id, CAST({window.local("ordered_at")} AS DATE) AS day,
                   SUM(total_minor) / {scale} AS spend
            FROM orders_v
            WHERE customer_id IS NOT NULL AND currency = '{currency}'
              AND {window.where("ordered_at")}
            GROUP BY ALL"""  # noqa: S608 - the currency is a known ISO code, the rest ours
    )


def customers_seen(connection: duckdb.DuckDBPyConnection, window: Window) -> pd.DataFrame:
    """Every customer with an order or an event in the window: ``customer_id, first_seen``."""
    return connection.sql(
        f"""SELECT customer_id, CAST(min(seen) AS DATE) AS first_seen FROM (
                SELECT customer_id, {window.local("ordered_at")} AS seen FROM orders_v
                WHERE customer_id IS NOT NULL AND {window.where("ordered_at")}
                UNION ALL
                SELECT customer_id, {window.local("timestamp")} AS seen FROM events_v
                WHERE customer_id IS NOT NULL AND {window.where("timestamp")}
            ) GROUP BY customer_id ORDER BY customer_id"""  # noqa: S608
    ).df()


def channel_counts(connection: duckdb.DuckDBPyConnection, window: Window) -> pd.DataFrame:
    """Orders per customer and channel: ``customer_id, channel, orders``."""
    return connection.sql(
        f"""SELECT customer_id, channel, count(*) AS orders FROM orders_v
            WHERE customer_id IS NOT NULL AND {window.where("ordered_at")}
            GROUP BY ALL"""  # noqa: S608
    ).df()


def attention_times(connection: duckdb.DuckDBPyConnection, window: Window) -> pd.DataFrame:
    """Moments of attention per customer in local time: ``customer_id, hour, weekday, n``.

    Purchases and the events in ``ATTENTION_EVENTS``; weekday 0 is Monday.
    """
    names = ", ".join(f"'{name}'" for name in ATTENTION_EVENTS)
    return connection.sql(
        f"""SELECT customer_id, hour(moment) AS hour, isodow(moment) - 1 AS weekday, count(*) AS n
            FROM (
                SELECT customer_id, {window.local("ordered_at")} AS moment FROM orders_v
                WHERE customer_id IS NOT NULL AND {window.where("ordered_at")}
                UNION ALL
                SELECT customer_id, {window.local("timestamp")} AS moment FROM events_v
                WHERE customer_id IS NOT NULL AND name IN ({names})
                  AND {window.where("timestamp")}
            ) GROUP BY ALL"""  # noqa: S608
    ).df()


def bought_products(connection: duckdb.DuckDBPyConnection, window: Window) -> pd.DataFrame:
    """What each customer bought: ``customer_id, sku, product_name, category, days,
    last_day`` (days = distinct local days the SKU was bought)."""
    return connection.sql(
        f"""SELECT o.customer_id, l.sku, any_value(l.product_name) AS product_name,
                   any_value(l.category) AS category,
                   count(DISTINCT CAST({window.local("o.ordered_at")} AS DATE)) AS days,
                   CAST(max({window.local("o.ordered_at")}) AS DATE) AS last_day
            FROM order_lines_v AS l JOIN orders_v AS o ON o.order_pk = l.order_pk
            WHERE o.customer_id IS NOT NULL AND l.quantity > 0
              AND {window.where("o.ordered_at")}
            GROUP BY o.customer_id, l.sku"""  # noqa: S608
    ).df()
