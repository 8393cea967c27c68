"""Cohorts: how many customers come back, by month of first purchase and first channel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from patron.analytics.contract import Chart, ChartKind, Column, Series, Table, Unit
from patron.analytics.rollups import MONTH_BITS, firsts_sql, local_month_rows
from patron.analytics.scope import (
    ANONYMOUS_NOTE,
    assemble_report,
    local_time,
    order_conditions,
    ratio,
    scoped_orders,
    sql_literal,
    where,
    window,
)

if TYPE_CHECKING:
    from datetime import date

    from patron.analytics.contract import Cell, Report, ReportRequest
    from patron.analytics.store import AnalyticsStore

NAME = "cohorts"
TITLE = "Cohort retention"
# Months after the first purchase shown in the triangle.
MONTHS = 12
# The months after the first at which first channels are compared.
CHANNEL_MILESTONES = (1, 3, 6, 12)
# The oldest age read.
OLDEST = max(MONTHS, *CHANNEL_MILESTONES)


def _customer_months(store: AnalyticsStore, request: ReportRequest) -> str:
    """A temporary table of every identified customer's first purchase (month and channel,
    in scope) and each month they bought in, up to the period's end; its name is returned."""
    history = scoped_orders(request, None, until=request.period)
    store.connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE cohort_months AS
        WITH o AS (
            SELECT customer_id, channel, order_pk, ordered_at,
                   CAST(date_trunc('month', local_at) AS DATE) AS month
            FROM ({history}) WHERE customer_id IS NOT NULL
        ), firsts AS (
            SELECT customer_id, min(month) AS cohort, min(ordered_at) AS first_at,
                   arg_min(channel, (ordered_at, order_pk)) AS first_channel
            FROM o GROUP BY 1
        )
        SELECT DISTINCT f.customer_id, f.cohort, f.first_at, f.first_channel,
               datediff('month', f.cohort, o.month) AS age
        FROM firsts AS f JOIN o USING (customer_id)
        """  # noqa: S608 - values quoted by sql_literal
    )
    return "cohort_months"


def _cohort_customers_from_rollups(store: AnalyticsStore, request: ReportRequest) -> str:
    """``_cohort_customers`` from the rollups, for the customers whose first purchase falls
    in the period only (the only ones counted); their orders up to the period's end are all
    in the period, read per customer and local month (``local_month_rows``)."""
    span = window(request.period, request.timezone) if request.period else None
    firsts = firsts_sql(request.filters, span.end if span else None)
    if span is not None:
        firsts = f"SELECT * FROM ({firsts}) WHERE first_at >= {sql_literal(span.start)}"  # noqa: S608 - values quoted by sql_literal
    months = local_month_rows(request.filters, request.timezone, span, None)
    # Only ages up to the last shown are read. A customer's cohort (their earliest local
    # month) is the month of their first order, or the month before when a clock went back
    # across a month's start: months are bits from that month before, and the cohort is the
    # lower of the two whose bit is set.
    first_month = f"CAST(date_trunc('month', {local_time('first_at', request.timezone)}) AS DATE)"
    store.connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE cohort_customers AS
        WITH f AS MATERIALIZED (
            SELECT *, CAST(first_month - INTERVAL 1 MONTH AS DATE) AS base
            FROM (SELECT *, {first_month} AS first_month FROM ({firsts}))
        ), masks AS (
            SELECT r.customer_id,
                   bit_or(CAST(1 AS BIGINT) << datediff('month', f.base, r.month)) AS months
            FROM ({months}) AS r JOIN f USING (customer_id)
            WHERE r.month >= f.base AND r.month <= f.first_month + INTERVAL {OLDEST} MONTH
            GROUP BY 1
        )
        SELECT f.customer_id, f.first_at, f.first_channel,
               CASE WHEN m.months & 1 = 1 THEN f.base
                    ELSE CAST(f.base + INTERVAL 1 MONTH AS DATE) END AS cohort,
               CASE WHEN m.months & 1 = 1 THEN m.months ELSE m.months >> 1 END AS ages
        FROM f JOIN masks AS m USING (customer_id)
        """  # noqa: S608 - values quoted by sql_literal
    )
    return "cohort_customers"


def _every_customer_from_rollups(store: AnalyticsStore, request: ReportRequest) -> str:
    """``_cohort_customers`` for all the data in every channel and store, from the table of
    one row per customer: the UTC months after the first order's holding an order away from
    the months' edges are that customer's local months in any zone (as bits), and their
    orders near a month's edge are placed in their local month one by one."""
    local_first = local_time("first_at", request.timezone)
    local_edge = local_time("e.ordered_at", request.timezone)
    # Bits are counted from the month before the first order's local month (the earliest a
    # cohort can be: a clock going back across a month's start); the inner months' bits are
    # moved from the first order's UTC month to that base (by 0, 1 or 2).
    store.connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE cohort_customers AS
        WITH c AS MATERIALIZED (
            SELECT customer_id, first_at, first_channel, inner_months,
                   CAST(date_trunc('month', {local_first}) - INTERVAL 1 MONTH AS DATE) AS base
            FROM customer_summary
        ), edges AS (
            SELECT e.customer_id, bit_or(CAST(1 AS BIGINT) << datediff(
                       'month', c.base, date_trunc('month', {local_edge}))) AS months
            FROM month_edge_orders AS e JOIN c USING (customer_id)
            WHERE datediff('month', c.base, date_trunc('month', {local_edge}))
                  BETWEEN 0 AND {MONTH_BITS - 1}
            GROUP BY 1
        ), combined AS (
            SELECT c.customer_id, c.first_at, c.first_channel, c.base,
                   (c.inner_months << datediff('month', c.base, date_trunc('month', c.first_at)))
                   | coalesce(edges.months, 0) AS months
            FROM c LEFT JOIN edges USING (customer_id)
        )
        SELECT customer_id, first_at, first_channel,
               CASE WHEN months & 1 = 1 THEN base
                    ELSE CAST(base + INTERVAL 1 MONTH AS DATE) END AS cohort,
               CASE WHEN months & 1 = 1 THEN months ELSE months >> 1 END AS ages
        FROM combined
        """  # noqa: S608 - values quoted by sql_literal
    )
    return "cohort_customers"


def _cohort_customers(store: AnalyticsStore, months: str) -> str:
    """One row per customer of the ``months`` table: cohort, first order, first channel, and
    the ages they bought at as bits (bit k: the k-th month after the cohort's)."""
    store.connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE cohort_customers AS
        SELECT customer_id, any_value(cohort) AS cohort, any_value(first_at) AS first_at,
               any_value(first_channel) AS first_channel,
               bit_or(CAST(1 AS BIGINT) << age) FILTER (WHERE age < {MONTH_BITS}) AS ages
        FROM {months} GROUP BY customer_id
        """  # noqa: S608 - a constant name
    )
    return "cohort_customers"


def _last_month(store: AnalyticsStore, request: ReportRequest, months: str | None) -> date | None:
    """The last month any order is seen: later ages are not yet observable."""
    if months is not None:
        last = store.connection.execute(
            f"SELECT max(date_add(cohort, to_months(age))) FROM {months}"  # noqa: S608 - a constant name
        ).fetchone()
        return last[0] if last else None
    # The latest identified order in scope up to the period's end.
    conditions = [*order_conditions(request.filters), "o.customer_id IS NOT NULL"]
    if request.period is not None:
        end = window(request.period, request.timezone).end
        conditions.append(f"o.ordered_at < {sql_literal(end)}")
    local = local_time("max(o.ordered_at)", request.timezone)
    last = store.connection.execute(
        f"SELECT CAST(date_trunc('month', {local}) AS DATE) FROM orders_v AS o {where(conditions)}"  # noqa: S608 - values quoted by sql_literal
    ).fetchone()
    return last[0] if last else None


def _bought(age: int) -> str:
    return f"(ages >> {age}) & 1 = 1"


def cohorts(store: AnalyticsStore, request: ReportRequest) -> Report:
    """Retention triangle by first-purchase month, and retention by first channel."""
    if not store.rollups:
        months = _customer_months(store, request)
        last_month = _last_month(store, request, months)
        customers = _cohort_customers(store, months)
    elif request.period is None and not request.filters.channels and not request.filters.stores:
        customers = _every_customer_from_rollups(store, request)
        last_month = _last_month(store, request, None)
    else:
        customers = _cohort_customers_from_rollups(store, request)
        last_month = _last_month(store, request, None)
    start = (
        f"first_at >= {sql_literal(window(request.period, request.timezone).start)}"
        if request.period
        else "true"
    )
    # One row per customer, bit 0 of their ages set (the cohort is their first month).
    ages = ", ".join(f"count(*) FILTER (WHERE {_bought(k)}) AS m{k}" for k in range(MONTHS + 1))
    rows = store.connection.execute(
        f"SELECT cohort, {ages} FROM {customers} WHERE {start} GROUP BY 1 ORDER BY 1"  # noqa: S608 - values quoted by sql_literal
    ).fetchall()
    columns = (
        Column("cohort", "First purchase month"),
        Column("customers", "Customers", Unit.COUNT),
        *(Column(f"month_{k}", f"M{k}", Unit.SHARE) for k in range(1, MONTHS + 1)),
    )
    triangle: list[tuple[Cell, ...]] = []
    for row in rows:
        cohort, size = row[0], int(row[1])
        observable = (
            (last_month.year - cohort.year) * 12 + last_month.month - cohort.month
            if last_month
            else 0
        )
        triangle.append(
            (
                cohort.strftime("%Y-%m"),
                size,
                *(
                    ratio(int(row[1 + k]), size) if k <= observable else None
                    for k in range(1, MONTHS + 1)
                ),
            )
        )
    milestones = ", ".join(
        f"count(*) FILTER (WHERE {_bought(k)}) AS m{k}" for k in CHANNEL_MILESTONES
    )
    eligible = ", ".join(
        f"count(*) FILTER (WHERE datediff('month', cohort, "
        f"{sql_literal(last_month) if last_month else 'cohort'}) >= {k}) AS e{k}"
        for k in CHANNEL_MILESTONES
    )
    by_channel = store.connection.execute(
        f"""
        SELECT first_channel, count(*), {milestones}, {eligible}
        FROM {customers} WHERE {start} GROUP BY 1 ORDER BY 2 DESC, 1
        """  # noqa: S608 - values quoted by sql_literal
    ).fetchall()
    count = len(CHANNEL_MILESTONES)
    channel_rows = tuple(
        (
            str(row[0]),
            int(row[1]),
            *(ratio(int(row[2 + i]), int(row[2 + count + i])) for i in range(count)),
        )
        for row in by_channel
    )
    channel_table = Table(
        "first_channel",
        "Retention by first channel",
        (
            Column("first_channel", "First channel"),
            Column("customers", "Customers", Unit.COUNT),
            *(Column(f"month_{k}", f"Bought in month {k}", Unit.SHARE) for k in CHANNEL_MILESTONES),
        ),
        channel_rows,
    )
    heatmap = Chart(
        "retention_triangle",
        ChartKind.HEATMAP,
        "Share of each cohort buying N months after its first purchase",
        tuple(f"M{k}" for k in range(1, MONTHS + 1)),
        tuple(Series(str(row[0]), tuple(row[2:])) for row in triangle),  # type: ignore[arg-type]
        unit=Unit.SHARE,
        x_label="months after the first purchase",
    )
    curves = Chart(
        "retention_by_first_channel",
        ChartKind.BAR,
        "Retention by first channel",
        tuple(f"month {k}" for k in CHANNEL_MILESTONES),
        tuple(Series(str(row[0]), tuple(row[2:])) for row in channel_rows),  # type: ignore[arg-type]
        unit=Unit.SHARE,
    )
    return assemble_report(
        NAME,
        TITLE,
        request,
        data_as_of=store.data_as_of,
        tables=[
            Table("triangle", "Retention by first-purchase month", columns, tuple(triangle)),
            channel_table,
        ],
        charts=[heatmap, curves],
        notes=[
            (
                "A cohort is the customers whose first purchase (in the channels and stores "
                "chosen) fell in that month, in the retailer's time zone; Mk is the share of "
                "them who bought in the k-th calendar month after it. Months after the month "
                "of the latest order are left blank."
            ),
            (
                "Retention by first channel: the share of customers who bought in month k "
                "after their first, among the customers whose month k is observable."
            ),
            ANONYMOUS_NOTE,
        ],
    )
