"""Tables the snapshot precomputes so that a report never walks every order of every customer.

Measured at 1,000,000 customers and 10,000,000 orders, what costs is per customer, not per
order: first purchases, channels used and cohorts over the whole history, and affinity's
pairs formed from twenty million lines (docs/benchmarks.md). The snapshot therefore holds,
beside the views' rows:

* ``customer_scopes``: one row per customer, channel, store and currency (orders, revenue,
  first order, second order time, last order, departments bought as a bit mask). Any
  filter on channel and store is a selection of its rows; a customer's first order in scope
  is the earliest of the selected rows' first orders; all the data is a group-by of it.
* ``customer_months``: per UTC month, channel, store, currency and customer, the orders,
  revenue, two earliest order times and departments bought of the orders away from the
  month's edges (more than a day from its start and end).
* ``month_edge_orders``: the orders near a month's edge, one by one (about 7 %), with their
  departments; ``edge_items``: the categories and products of each of them.
* ``customer_summary``: one row per identified customer over every channel and store: the
  first order, and the months after it holding an order away from the edges, as bits.
* ``basket_orders``, ``basket_items``, ``basket_pairs``: per UTC month, channel and store,
  the orders with lines, the orders holding each category and product, and each pair of
  them bought in the same order. Order counts add up over months, so a period sums them.

Every figure read from them is exact in any time zone: an order away from a UTC month's
edges is in that month in every zone (offsets are within 14 hours), and a period of local
days has its bounds at local midnights, so a bound on the first of a month cuts no month's
inner part. A period reads the months whose inner part it holds from the rollups, the
orders near the edges one by one, and a month whose inner part a bound cuts from the orders
themselves (``month_split``). A report answers the same from the rollups as from the rows
(tests compare both on every report).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, TypeVar

from patron.analytics.scope import Window, local_time, order_conditions, sql_literal, where

if TYPE_CHECKING:
    from datetime import datetime

    import duckdb

    from patron.analytics.contract import Filters

# A line's department: the top level of its category ("Womenswear" of "Womenswear > Knitwear").
DEPARTMENT_SQL = "trim(split_part(coalesce({column}, '(none)'), '>', 1))"
# Departments are bits of a BIGINT; a catalogue with more has no masks (reports read lines).
MAX_DEPARTMENTS = 63
# The kinds of item paired in the same order, and how a line names its item of each kind.
BASKET_KINDS = {
    "category": "coalesce(l.category, '(none)')",
    "product": "coalesce(l.product_name, l.sku)",
}

# Whether a (naive UTC) time is within a day of the start or end of its UTC month.
NEAR_MONTH_EDGE = (
    "({column} < date_trunc('month', {column}) + INTERVAL 1 DAY "
    "OR {column} >= date_trunc('month', {column}) + INTERVAL 1 MONTH - INTERVAL 1 DAY)"
)

ROLLUP_NAMES = (
    "departments",
    "customer_scopes",
    "customer_months",
    "month_edge_orders",
    "customer_summary",
    "edge_items",
    "basket_orders",
    "basket_names",
    "basket_items",
    "basket_pairs",
    "basket_pairs_all",
)

# The column of ``customer_months`` added last: a snapshot without it is read row by row.
ROLLUP_NEWEST_COLUMN = "inner_departments"
# Months after a customer's first kept as bits of a BIGINT in ``customer_summary.inner_months``
# (cohorts read up to twelve; shifting by up to two more must not overflow).
MONTH_BITS = 60


def _department(column: str) -> str:
    return DEPARTMENT_SQL.format(column=column)


def write_rollups(connection: duckdb.DuckDBPyConnection, schema: str) -> dict[str, int]:
    """Create the rollup tables in ``schema`` from the view tables already written there;
    returns their row counts."""
    s = schema
    # Items are numbered in the order of their names (per kind), so that pairs are formed and
    # summed on integers and "a < b" means the same on numbers as on names.
    numbered = " UNION ALL ".join(
        f"""
        SELECT {sql_literal(kind)} AS kind, item,
               CAST(row_number() OVER (ORDER BY item) AS INTEGER) AS id
        FROM (SELECT DISTINCT {item} AS item FROM {s}.order_lines_v AS l WHERE {item} IS NOT NULL)
        """  # noqa: S608 - a schema name and constants
        for kind, item in BASKET_KINDS.items()
    )
    edge_items = " UNION ALL ".join(
        f"""
        SELECT DISTINCT e.order_pk, e.ordered_at, e.channel, e.store_id, n.kind, n.id AS item
        FROM {s}.month_edge_orders AS e JOIN {s}.order_lines_v AS l USING (order_pk)
        JOIN {s}.basket_names AS n ON n.kind = {sql_literal(kind)} AND n.item = {item}
        """  # noqa: S608 - a schema name and constants
        for kind, item in BASKET_KINDS.items()
    )
    statements = [
        f"""
        CREATE TABLE {s}.departments AS
        SELECT department, CAST(row_number() OVER (ORDER BY department) - 1 AS INTEGER) AS bit
        FROM (SELECT DISTINCT {_department("category")} AS department FROM {s}.order_lines_v)
        """,  # noqa: S608 - a schema name and constants
        # Each order's departments as a bit mask (NULL for an order without lines).
        f"""
        CREATE TEMP TABLE rollup_order_departments AS
        SELECT l.order_pk,
               bit_or(CASE WHEN d.bit < {MAX_DEPARTMENTS} THEN CAST(1 AS BIGINT) << d.bit END)
                   AS departments
        FROM {s}.order_lines_v AS l
        JOIN {s}.departments AS d ON d.department = {_department("l.category")}
        GROUP BY 1
        """,  # noqa: S608 - a schema name and constants
        f"""
        CREATE TABLE {s}.customer_scopes AS
        SELECT o.customer_id, o.channel, o.store_id, o.currency,
               count(*) AS orders, CAST(sum(o.total_minor) AS BIGINT) AS revenue,
               min(o.ordered_at) AS first_at,
               arg_min(o.order_pk, (o.ordered_at, o.order_pk)) AS first_pk,
               min(o.ordered_at, 2)[2] AS second_at,
               max(o.ordered_at) AS last_at,
               bit_or(d.departments) AS departments
        FROM {s}.orders_v AS o LEFT JOIN rollup_order_departments AS d USING (order_pk)
        GROUP BY ALL ORDER BY customer_id
        """,  # noqa: S608 - a schema name and constants
        # An order more than a day from a UTC month's bounds is in that month in every time
        # zone (offsets are within 14 hours): such orders are counted here per month; the
        # others are read one by one and placed in the retailer's month (``NEAR_MONTH_EDGE``).
        f"""
        CREATE TABLE {s}.customer_months AS
        SELECT CAST(date_trunc('month', o.ordered_at) AS TIMESTAMP) AS month, o.channel,
               o.store_id, o.currency, o.customer_id,
               count(*) FILTER (WHERE NOT {NEAR_MONTH_EDGE.format(column="o.ordered_at")})
                   AS inner_orders,
               CAST(coalesce(sum(o.total_minor) FILTER (
                   WHERE NOT {NEAR_MONTH_EDGE.format(column="o.ordered_at")}), 0) AS BIGINT)
                   AS inner_revenue,
               min(o.ordered_at) FILTER (
                   WHERE NOT {NEAR_MONTH_EDGE.format(column="o.ordered_at")}) AS inner_first_at,
               min(o.ordered_at, 2) FILTER (
                   WHERE NOT {NEAR_MONTH_EDGE.format(column="o.ordered_at")})[2]
                   AS inner_second_at,
               bit_or(d.departments) FILTER (
                   WHERE NOT {NEAR_MONTH_EDGE.format(column="o.ordered_at")})
                   AS inner_departments
        FROM {s}.orders_v AS o LEFT JOIN rollup_order_departments AS d USING (order_pk)
        GROUP BY ALL ORDER BY month
        """,  # noqa: S608 - a schema name and constants
        f"""
        CREATE TABLE {s}.month_edge_orders AS
        SELECT o.order_pk, o.ordered_at, o.channel, o.store_id, o.currency, o.total_minor,
               o.customer_id, d.departments
        FROM {s}.orders_v AS o LEFT JOIN rollup_order_departments AS d USING (order_pk)
        WHERE {NEAR_MONTH_EDGE.format(column="o.ordered_at")}
        ORDER BY o.ordered_at
        """,  # noqa: S608 - a schema name and constants
        # One row per identified customer over every channel and store: the first order
        # and the UTC months after it holding an order away from the months' edges, as bits
        # (bit i: the i-th month after the first order's), for requests without filters.
        f"""
        CREATE TABLE {s}.customer_summary AS
        WITH firsts AS (
            SELECT customer_id, min(first_at) AS first_at,
                   arg_min(first_pk, (first_at, first_pk)) AS first_pk,
                   arg_min(channel, (first_at, first_pk)) AS first_channel
            FROM {s}.customer_scopes WHERE customer_id IS NOT NULL GROUP BY 1
        ), ages AS (
            SELECT f.customer_id,
                   datediff('month', date_trunc('month', f.first_at), m.month) AS age
            FROM firsts AS f JOIN {s}.customer_months AS m USING (customer_id)
            WHERE m.inner_orders > 0
        ), masks AS (
            SELECT customer_id, bit_or(CAST(1 AS BIGINT) << age) AS inner_months
            FROM ages WHERE age < {MONTH_BITS} GROUP BY 1
        )
        SELECT f.*, coalesce(m.inner_months, 0) AS inner_months
        FROM firsts AS f LEFT JOIN masks AS m USING (customer_id) ORDER BY f.customer_id
        """,  # noqa: S608 - a schema name and constants
        f"""
        CREATE TABLE {s}.basket_orders AS
        SELECT CAST(date_trunc('month', o.ordered_at) AS TIMESTAMP) AS month, o.channel,
               o.store_id, count(*) AS orders
        FROM {s}.orders_v AS o
        WHERE o.order_pk IN (SELECT order_pk FROM rollup_order_departments)
        GROUP BY ALL ORDER BY month
        """,  # noqa: S608 - a schema name and constants
        f"CREATE TABLE {s}.basket_names AS {numbered} ORDER BY kind, id",
        # The items of each order near a month's edge: a period adds or takes away those
        # orders one by one around the months it reads from the basket counts.
        f"CREATE TABLE {s}.edge_items AS {edge_items} ORDER BY ordered_at",
        "DROP TABLE rollup_order_departments",
        f"""
        CREATE TABLE {s}.basket_items (
            month TIMESTAMP, channel VARCHAR, store_id VARCHAR, kind VARCHAR, item INTEGER,
            orders BIGINT)
        """,
        f"""
        CREATE TABLE {s}.basket_pairs (
            month TIMESTAMP, channel VARCHAR, store_id VARCHAR, kind VARCHAR, a INTEGER,
            b INTEGER, orders BIGINT)
        """,
    ]
    for kind, item in BASKET_KINDS.items():
        statements += [
            f"""
            CREATE TEMP TABLE rollup_items AS
            SELECT DISTINCT CAST(date_trunc('month', o.ordered_at) AS TIMESTAMP) AS month,
                   o.channel, o.store_id, l.order_pk, n.id AS item
            FROM {s}.order_lines_v AS l JOIN {s}.orders_v AS o USING (order_pk)
            JOIN {s}.basket_names AS n ON n.kind = {sql_literal(kind)} AND n.item = {item}
            """,  # noqa: S608 - a schema name and constants
            f"""
            INSERT INTO {s}.basket_items
            SELECT month, channel, store_id, {sql_literal(kind)}, item, count(*)
            FROM rollup_items GROUP BY ALL ORDER BY month
            """,  # noqa: S608 - a schema name and constants
            f"""
            INSERT INTO {s}.basket_pairs
            SELECT a.month, a.channel, a.store_id, {sql_literal(kind)}, a.item, b.item, count(*)
            FROM rollup_items AS a
            JOIN rollup_items AS b ON b.order_pk = a.order_pk AND a.item < b.item
            GROUP BY ALL ORDER BY 1
            """,  # noqa: S608 - a schema name and constants
            "DROP TABLE rollup_items",
        ]
    # All the months at once, for all the data (a period sums the months).
    statements.append(
        f"""
        CREATE TABLE {s}.basket_pairs_all AS
        SELECT channel, store_id, kind, a, b, sum(orders)::BIGINT AS orders
        FROM {s}.basket_pairs GROUP BY ALL ORDER BY kind, a, b
        """  # noqa: S608 - a schema name and constants
    )
    for statement in statements:
        connection.execute(statement)
    counts = {}
    for name in ROLLUP_NAMES:
        found = connection.execute(f"SELECT count(*) FROM {s}.{name}").fetchone()  # noqa: S608 - constant names
        counts[name] = int(found[0]) if found else 0
    return counts


@dataclass(frozen=True)
class MonthSplit:
    """How a window is read from the rollups.

    * The months ``[first, last)`` (UTC month starts; none when ``first`` is None) are those
      whose inner part, the orders more than a day from the month's edges, lies wholly in the
      window: their inner orders are read from the per-month rollups.
    * ``edges`` are the window's part of a month whose inner part it cuts (a bound more than
      a day inside a month): read from the orders.
    * Every other order of the window is near a month's edge: read one by one from
      ``month_edge_orders`` (``edge_orders_condition``).

    A period of local days has its bounds at a local midnight; when that is the first of a
    month it is within 14 hours of a UTC month's start, so it cuts no month's inner part.
    All the data is every month, no edge, and every order near an edge.
    """

    first: datetime | None
    last: datetime | None
    edges: tuple[Window, ...]
    span: Window | None = None

    @property
    def every_month(self) -> bool:
        return self.span is None

    @property
    def has_months(self) -> bool:
        return self.every_month or self.first is not None

    def months_condition(self, column: str) -> str:
        """SQL: ``column`` (a time) is in the months read from the rollups."""
        if self.span is None:
            return "true"
        if self.first is None or self.last is None:
            return "false"
        return Window(self.first, self.last).condition(column)

    def span_condition(self, column: str) -> str:
        """SQL: ``column`` (a time) is in the window."""
        return "true" if self.span is None else self.span.condition(column)

    def edge_orders_condition(self, column: str) -> str:
        """SQL: an order near a month's edge at ``column`` is in the window and not in one of
        the ``edges`` (read from the orders)."""
        return " AND ".join(
            [self.span_condition(column), *(f"NOT ({e.condition(column)})" for e in self.edges)]
        )

    def outside_condition(self, column: str) -> str:
        """SQL: ``column`` is in the months read from the rollups but not in the window; only
        orders near a month's edge can be (what a sum of whole months takes away)."""
        if self.span is None or self.first is None:
            return "false"
        return f"{self.months_condition(column)} AND NOT ({self.span.condition(column)})"


_DAY = timedelta(days=1)
# A day or a time: the month arithmetic below is the same for both.
_Day = TypeVar("_Day", bound=date)


def _month_start(at: datetime) -> datetime:
    return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(start: _Day) -> _Day:
    """The first day (or the same time of the first day) of the month after ``start``'s;
    ``start`` is the first of its month."""
    return (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )


def _cuts_inner(at: datetime) -> bool:
    """Whether a bound at ``at`` falls strictly inside its month's inner part."""
    start = _month_start(at)
    return start + _DAY < at < next_month(start) - _DAY


def month_split(span: Window | None) -> MonthSplit:
    """The months of ``span`` read from the rollups, its edges read from the orders (see
    ``MonthSplit``); all the data (None) is every month."""
    if span is None:
        return MonthSplit(None, None, ())
    # The first month whose inner part starts at or after the window's start, and the month
    # after the last whose inner part ends at or before the window's end.
    first = _month_start(span.start - _DAY)
    if first + _DAY < span.start:
        first = next_month(first)
    last = _month_start(span.end + _DAY)
    edges: list[Window] = []
    if _cuts_inner(span.start):
        edges.append(Window(span.start, min(next_month(_month_start(span.start)), span.end)))
    if _cuts_inner(span.end):
        edge = Window(max(_month_start(span.end), span.start), span.end)
        if edge not in edges:
            edges.append(edge)
    if first >= last:
        return MonthSplit(None, None, tuple(edges), span)
    return MonthSplit(first, last, tuple(edges), span)


def scope_conditions(filters: Filters, alias: str) -> list[str]:
    """The filters on channel and store, on a rollup's rows."""
    return order_conditions(filters, alias)


def scopes_sql(filters: Filters, extra: list[str] | None = None) -> str:
    """The ``customer_scopes`` rows in the filters' scope."""
    conditions = [*scope_conditions(filters, "s"), *(extra or [])]
    return f"SELECT s.* FROM customer_scopes AS s {where(conditions)}"  # noqa: S608 - values quoted by sql_literal


def firsts_sql(filters: Filters, end: datetime | None) -> str:
    """Each identified customer's first order in the filters' scope (time, channel), among
    customers whose first order is before ``end`` (every customer when None)."""
    if not filters.channels and not filters.stores:
        # Every channel and store: one row per customer already.
        before = f"WHERE first_at < {sql_literal(end)}" if end is not None else ""
        return f"SELECT customer_id, first_at, first_channel FROM customer_summary {before}"  # noqa: S608 - values quoted by sql_literal
    having = f"HAVING min(first_at) < {sql_literal(end)}" if end is not None else ""
    return f"""
        SELECT customer_id, min(first_at) AS first_at,
               arg_min(channel, (first_at, first_pk)) AS first_channel
        FROM ({scopes_sql(filters, ["s.customer_id IS NOT NULL"])})
        GROUP BY customer_id {having}
    """  # noqa: S608 - values quoted by sql_literal


def local_month_rows(
    filters: Filters, timezone: str, span: Window | None, currency: str | None
) -> str:
    """SQL of rows ``(month, customer_id, orders, revenue)`` whose sums per local month
    (in ``timezone``) and customer are those of the orders in ``span`` and the filters'
    scope; ``revenue`` counts orders in ``currency`` only.

    The rollup's orders away from a UTC month's edges are in that month in any zone; the
    orders near an edge, and those of a month whose inner part a bound cuts, are read one by
    one.
    """
    money = f"currency = {sql_literal(currency or '')}"
    local = local_time("o.ordered_at", timezone)
    return _period_union(
        filters,
        span,
        orders=f"""CAST(date_trunc('month', {local}) AS DATE) AS month, o.customer_id,
            1 AS orders, CASE WHEN o.{money} THEN o.total_minor ELSE 0 END AS revenue""",
        months=f"""CAST(s.month AS DATE) AS month, s.customer_id, s.inner_orders AS orders,
            CASE WHEN s.{money} THEN s.inner_revenue ELSE 0 END AS revenue""",
    )


def period_customer_rows(filters: Filters, span: Window) -> str:
    """SQL of rows ``(customer_id, channel, store_id, currency, orders, revenue, first_at,
    second_at)`` over which, per customer (and channel, store or currency), sums of orders
    and revenue and the two earliest of ``first_at`` and ``second_at`` are those of the
    orders in ``span`` and the filters' scope. No row has zero orders.

    The orders away from the edges of the span's months come from ``customer_months``, those
    near an edge from ``month_edge_orders``, a month whose inner part a bound cuts from the
    orders (``month_split``). A customer therefore has about one row per month and scope
    instead of one per order.
    """
    return _period_union(
        filters,
        span,
        orders="""o.customer_id, o.channel, o.store_id, o.currency, 1 AS orders,
            o.total_minor AS revenue, o.ordered_at AS first_at,
            CAST(NULL AS TIMESTAMP) AS second_at""",
        months="""s.customer_id, s.channel, s.store_id, s.currency, s.inner_orders AS orders,
            s.inner_revenue AS revenue, s.inner_first_at AS first_at,
            s.inner_second_at AS second_at""",
    )


def period_activity_rows(filters: Filters, timezone: str, span: Window | None) -> str:
    """SQL of rows ``(customer_id, channel, store_id, month)`` whose set per customer is the
    channels, stores and local months (in ``timezone``) of their orders in ``span`` (all the
    data when None) and the filters' scope."""
    local = local_time("o.ordered_at", timezone)
    return _period_union(
        filters,
        span,
        orders=f"""o.customer_id, o.channel, o.store_id,
            CAST(date_trunc('month', {local}) AS DATE) AS month""",
        months="s.customer_id, s.channel, s.store_id, CAST(s.month AS DATE) AS month",
    )


def _period_union(filters: Filters, span: Window | None, *, orders: str, months: str) -> str:
    """SQL of the union of ``orders`` (columns over the orders ``o``, one row each) for the
    span's edges (``MonthSplit``) and its orders near a month's edge, and of ``months``
    (columns over ``customer_months`` ``s``, one row per customer, month and scope) for the
    other orders; in the filters' scope, rows with no orders left out."""
    split = month_split(span)

    def one_by_one(table: str, condition: str) -> str:
        conditions = [*order_conditions(filters), condition]
        return f"SELECT {orders} FROM {table} AS o {where(conditions)}"  # noqa: S608 - values quoted by sql_literal

    parts = [one_by_one("orders_v", edge.condition("o.ordered_at")) for edge in split.edges]
    parts.append(one_by_one("month_edge_orders", split.edge_orders_condition("o.ordered_at")))
    if split.has_months:
        rollup = [
            *scope_conditions(filters, "s"),
            split.months_condition("s.month"),
            "s.inner_orders > 0",
        ]
        parts.append(f"SELECT {months} FROM customer_months AS s {where(rollup)}")  # noqa: S608 - values quoted by sql_literal
    return " UNION ALL ".join(parts)
