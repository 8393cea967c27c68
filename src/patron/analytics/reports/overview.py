"""Overview: customers, orders, revenue and their ratios, by channel and store, over time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from patron.analytics.contract import Chart, ChartKind, Column, Series, Table, Unit
from patron.analytics.rollups import (
    MONTH_BITS,
    firsts_sql,
    local_month_rows,
    next_month,
    period_activity_rows,
    period_customer_rows,
    scopes_sql,
)
from patron.analytics.scope import (
    ANONYMOUS_NOTE,
    assemble_report,
    bucket_sql,
    change,
    local_time,
    main_currency,
    ratio,
    scoped_orders,
    sql_literal,
    window,
)

if TYPE_CHECKING:
    from datetime import date

    from patron.analytics.contract import Cell, Period, Report, ReportRequest
    from patron.analytics.store import AnalyticsStore

NAME = "overview"
TITLE = "Overview"
# Channels, stores and months are bits of a BIGINT when active customers are counted from
# masks; more are counted as distinct customers per breakdown.
MAX_BITS = 62


@dataclass(frozen=True)
class _Totals:
    customers: int
    new_customers: int
    active_customers: int
    orders: int
    identified_orders: int
    revenue: int
    money_orders: int

    @property
    def average_order_value(self) -> float | None:
        return ratio(self.revenue, self.money_orders)

    @property
    def frequency(self) -> float | None:
        return ratio(self.identified_orders, self.active_customers)


@dataclass(frozen=True)
class _Active:
    """A period's active customers: in all, and per ``(dimension, key)``, the dimension a
    column (``channel``, ``store_id``) or ``month`` (a local month's first day, ISO)."""

    total: int
    by: dict[tuple[str, str], int]


def _distinct(store: AnalyticsStore, sql: str) -> list[str]:
    return [str(row[0]) for row in store.connection.execute(sql).fetchall()]


def _bits(column: str, keys: list[str]) -> str:
    cases = " ".join(f"WHEN {sql_literal(key)} THEN {1 << bit}" for bit, key in enumerate(keys))
    return f"bit_or(CAST(CASE {column} {cases} END AS BIGINT))"


def _months_between(first: date, last: date) -> list[date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def _active(
    store: AnalyticsStore, request: ReportRequest, period: Period | None, *, by_month: bool
) -> _Active | None:
    """The period's active customers from the rollups, counted once per customer: each
    customer's channels, stores and (with ``by_month``) local months as bits of masks, then
    customers counted per bit. One group-by per customer instead of a count of distinct
    customers per breakdown. None without rollups, or with more channels, stores or months
    than a mask holds."""
    if not store.rollups:
        return None
    if period is None and (request.filters.channels or request.filters.stores):
        # All the data of some channels or stores: distinct counts over the customer-scope
        # rows cost less than a group-by over every month of the scope (measured).
        return None
    channels = _distinct(
        store, "SELECT DISTINCT channel FROM customer_scopes WHERE channel IS NOT NULL ORDER BY 1"
    )
    stores = _distinct(
        store, "SELECT DISTINCT store_id FROM customer_scopes WHERE store_id IS NOT NULL ORDER BY 1"
    )
    months: list[date] = []
    if by_month:
        if period is not None:
            months = _months_between(period.start, period.end)
        else:
            # A local month can be one before the first order's or after the last order's
            # (a clock going back across a month's start).
            first = local_time("min(first_at)", request.timezone)
            last = local_time("max(last_at)", request.timezone)
            found = store.connection.execute(
                f"""
                SELECT CAST(date_trunc('month', {first}) - INTERVAL 1 MONTH AS DATE),
                       CAST(date_trunc('month', {last}) + INTERVAL 1 MONTH AS DATE)
                FROM customer_scopes
                """  # noqa: S608 - values quoted by sql_literal
            ).fetchone()
            if found is not None and found[0] is not None:
                months = _months_between(found[0], found[1])
    if max(len(channels), len(stores), len(months)) > MAX_BITS:
        return None
    month_keys = [month.isoformat() for month in months]
    if (
        period is None
        and not request.filters.channels
        and not request.filters.stores
        and 0 < len(months) <= MONTH_BITS
    ):
        _every_customer_active(store, request, channels, stores, months[0])
    else:
        span = window(period, request.timezone) if period else None
        rows = period_activity_rows(request.filters, request.timezone, span)
        # Every local month of the period's orders is one of ``months``: its bit is its place.
        month_bits = (
            f"bit_or(CAST(1 AS BIGINT) << datediff('month', {sql_literal(months[0])}, month))"
            if months
            else "CAST(0 AS BIGINT)"
        )
        store.connection.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE overview_active AS
            SELECT {_bits("channel", channels)} AS channels,
                   {_bits("store_id", stores)} AS stores, {month_bits} AS months
            FROM ({rows}) WHERE customer_id IS NOT NULL GROUP BY customer_id
            """  # noqa: S608 - values quoted by sql_literal
        )
    keys = [
        *(("channel", "channels", key) for key in channels),
        *(("store_id", "stores", key) for key in stores),
        *(("month", "months", key) for key in month_keys),
    ]
    positions = {"channels": channels, "stores": stores, "months": month_keys}
    counts = ", ".join(
        [
            "count(*)",
            *(
                f"count(*) FILTER (WHERE {mask} & {1 << positions[mask].index(key)} <> 0)"
                for _, mask, key in keys
            ),
        ]
    )
    row = store.connection.execute(f"SELECT {counts} FROM overview_active").fetchone()  # noqa: S608 - values quoted by sql_literal
    assert row is not None  # noqa: S101 - an aggregate always answers one row
    return _Active(
        total=int(row[0]),
        by={(dimension, key): int(n) for (dimension, _, key), n in zip(keys, row[1:], strict=True)},
    )


def _every_customer_active(
    store: AnalyticsStore,
    request: ReportRequest,
    channels: list[str],
    stores: list[str],
    base: date,
) -> None:
    """``overview_active`` for all the data in every channel and store: channels and stores
    from each customer's scopes, local months from the table of one row per customer (its
    months away from the edges as bits from its first order's UTC month, moved to ``base``)
    and its orders near a month's edge one by one: no walk over every customer's months."""
    local_edge = local_time("e.ordered_at", request.timezone)
    start = sql_literal(base)
    store.connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE overview_active AS
        WITH scopes AS (
            SELECT customer_id, {_bits("channel", channels)} AS channels,
                   {_bits("store_id", stores)} AS stores
            FROM customer_scopes WHERE customer_id IS NOT NULL GROUP BY customer_id
        ), edges AS (
            SELECT e.customer_id, bit_or(CAST(1 AS BIGINT) << datediff(
                       'month', {start}, date_trunc('month', {local_edge}))) AS months
            FROM month_edge_orders AS e WHERE e.customer_id IS NOT NULL GROUP BY 1
        ), shifted AS (
            SELECT customer_id, inner_months,
                   datediff('month', {start}, date_trunc('month', first_at)) AS shift
            FROM customer_summary
        ), inner_months AS (
            -- Bits that would move past the 62nd are months after the data's last.
            SELECT customer_id,
                   (inner_months & ((CAST(1 AS BIGINT) << (62 - shift)) - 1)) << shift AS months
            FROM shifted
        )
        SELECT s.channels, s.stores, coalesce(i.months, 0) | coalesce(e.months, 0) AS months
        FROM scopes AS s LEFT JOIN inner_months AS i USING (customer_id)
        LEFT JOIN edges AS e USING (customer_id)
        """  # noqa: S608 - values quoted by sql_literal
    )


def _totals(
    store: AnalyticsStore,
    request: ReportRequest,
    period: Period | None,
    currency: str | None,
    active: _Active | None,
) -> _Totals:
    money = f"o.currency = {sql_literal(currency or '')}"
    if store.rollups:
        rows = (
            period_customer_rows(request.filters, window(period, request.timezone))
            if period
            else scopes_sql(request.filters)
        )
        customers = "0" if active is not None else "count(DISTINCT o.customer_id)"
        row = store.connection.execute(
            f"""
            SELECT coalesce(sum(o.orders), 0),
                   coalesce(sum(o.orders) FILTER (WHERE o.customer_id IS NOT NULL), 0),
                   {customers},
                   coalesce(sum(o.revenue) FILTER (WHERE {money}), 0),
                   coalesce(sum(o.orders) FILTER (WHERE {money}), 0)
            FROM ({rows}) AS o
            """  # noqa: S608 - values quoted by sql_literal
        ).fetchone()
    else:
        orders = scoped_orders(request, None, period=period)
        row = store.connection.execute(
            f"""
            SELECT count(*), count(o.customer_id), count(DISTINCT o.customer_id),
                   coalesce(sum(o.total_minor) FILTER (WHERE {money}), 0),
                   count(*) FILTER (WHERE {money})
            FROM ({orders}) AS o
            """  # noqa: S608 - values quoted by sql_literal
        ).fetchone()
    assert row is not None  # noqa: S101 - an aggregate always answers one row
    span = window(period, request.timezone) if period else None
    new = f"first_at >= {sql_literal(span.start)}" if span else "true"
    if store.rollups:
        firsts = firsts_sql(request.filters, span.end if span else None)
    else:
        history = scoped_orders(request, None, until=period)
        firsts = (
            f"SELECT customer_id, min(ordered_at) AS first_at FROM ({history}) "  # noqa: S608 - values quoted by sql_literal
            "WHERE customer_id IS NOT NULL GROUP BY 1"
        )
    base = store.connection.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {new}) FROM ({firsts})"  # noqa: S608 - values quoted by sql_literal
    ).fetchone()
    assert base is not None  # noqa: S101
    return _Totals(
        customers=int(base[0]),
        new_customers=int(base[1]),
        active_customers=active.total if active is not None else int(row[2]),
        orders=int(row[0]),
        identified_orders=int(row[1]),
        revenue=int(row[3]),
        money_orders=int(row[4]),
    )


_METRICS: tuple[tuple[str, str, Unit], ...] = (
    ("customers", "Customers", Unit.COUNT),
    ("new_customers", "New customers", Unit.COUNT),
    ("active_customers", "Active customers", Unit.COUNT),
    ("orders", "Orders", Unit.COUNT),
    ("identified_orders", "Identified orders", Unit.COUNT),
    ("revenue", "Revenue", Unit.MONEY),
    ("average_order_value", "AOV", Unit.MONEY),
    ("frequency", "Frequency", Unit.NUMBER),
)


def _summary(
    request: ReportRequest, current: _Totals, previous: _Totals | None, currency: str | None
) -> list[Table]:
    columns = (
        Column("period", "Period"),
        *(
            Column(key, label, unit, currency if unit is Unit.MONEY else None)
            for key, label, unit in _METRICS
        ),
    )
    rows: list[tuple[Cell, ...]] = [
        (str(request.period or "all data"), *(getattr(current, key) for key, _, _ in _METRICS))
    ]
    if previous is None:
        return [Table("summary", "Summary", columns, tuple(rows))]
    rows.append(
        (str(request.comparison_period), *(getattr(previous, key) for key, _, _ in _METRICS))
    )
    changes = (
        Column("period", "Period"),
        *(Column(key, label, Unit.SHARE) for key, label, _ in _METRICS),
    )
    change_row = (
        "change",
        *(change(getattr(current, key), getattr(previous, key)) for key, _, _ in _METRICS),
    )
    return [
        Table("summary", "Summary", columns, tuple(rows)),
        Table("summary_change", "Change against the comparison period", changes, (change_row,)),
    ]


def _breakdown(
    store: AnalyticsStore,
    request: ReportRequest,
    column: str,
    currency: str | None,
    actives: dict[Period | None, _Active | None],
) -> dict[str, tuple[int, int, int, int, int]]:
    money = f"o.currency = {sql_literal(currency or '')}"

    def grouped(period: Period | None) -> dict[str, tuple[int, int, int]]:
        active = actives.get(period)
        if store.rollups:
            rows = (
                period_customer_rows(request.filters, window(period, request.timezone))
                if period
                else scopes_sql(request.filters)
            )
            customers = "0" if active is not None else "count(DISTINCT o.customer_id)"
            sql = f"""
                SELECT o.{column}, {customers}, sum(o.orders),
                       coalesce(sum(o.revenue) FILTER (WHERE {money}), 0)
                FROM ({rows}) AS o WHERE o.{column} IS NOT NULL
                GROUP BY 1
            """  # noqa: S608 - values quoted by sql_literal
        else:
            orders = scoped_orders(request, None, period=period)
            sql = f"""
                SELECT o.{column}, count(DISTINCT o.customer_id), count(*),
                       coalesce(sum(o.total_minor) FILTER (WHERE {money}), 0)
                FROM ({orders}) AS o WHERE o.{column} IS NOT NULL GROUP BY 1
            """  # noqa: S608 - values quoted by sql_literal
        found = store.connection.execute(sql).fetchall()
        return {
            str(r[0]): (
                active.by.get((column, str(r[0])), 0) if active is not None else int(r[1]),
                int(r[2]),
                int(r[3]),
            )
            for r in found
        }

    current = grouped(request.period)
    previous = grouped(request.comparison_period) if request.comparison_period else {}
    return {
        key: (*current.get(key, (0, 0, 0)), *previous.get(key, (0, 0, 0))[1:])
        for key in sorted(set(current) | set(previous))
    }


def _breakdown_table(
    name: str,
    title: str,
    key_label: str,
    found: dict[str, tuple[int, int, int, int, int]],
    currency: str | None,
    *,
    compared: bool,
) -> Table:
    total = sum(values[2] for values in found.values())
    columns = [
        Column(name, key_label),
        Column("active_customers", "Active customers", Unit.COUNT),
        Column("orders", "Orders", Unit.COUNT),
        Column("revenue", "Revenue", Unit.MONEY, currency),
        Column("revenue_share", "Share of revenue", Unit.SHARE),
        Column("average_order_value", "AOV", Unit.MONEY, currency),
    ]
    if compared:
        columns += [
            Column("comparison_revenue", "Comparison revenue", Unit.MONEY, currency),
            Column("revenue_change", "Revenue change", Unit.SHARE),
        ]
    rows: list[tuple[Cell, ...]] = []
    for key, (customers, orders, revenue, _before_orders, before_revenue) in sorted(
        found.items(), key=lambda item: -item[1][2]
    ):
        row: list[Cell] = [
            key,
            customers,
            orders,
            revenue,
            ratio(revenue, total),
            ratio(revenue, orders),
        ]
        if compared:
            row += [before_revenue, change(revenue, before_revenue)]
        rows.append(tuple(row))
    return Table(name, title, tuple(columns), tuple(rows))


def _monthly(request: ReportRequest) -> bool:
    return bucket_sql("o.local_at", request.period.days if request.period else None)[1] == "month"


def _trend(
    store: AnalyticsStore,
    request: ReportRequest,
    currency: str | None,
    actives: dict[Period | None, _Active | None],
) -> tuple[Table, Chart]:
    bucket, unit_name = bucket_sql("o.local_at", request.period.days if request.period else None)
    money = f"o.currency = {sql_literal(currency or '')}"

    def series(period: Period | None) -> list[tuple[str, int, int, int]]:
        active = actives.get(period)
        if unit_name == "month" and store.rollups:
            span = window(period, request.timezone) if period else None
            months = local_month_rows(request.filters, request.timezone, span, currency)
            customers = "0" if active is not None else "count(DISTINCT customer_id)"
            sql = f"""
                SELECT month, sum(orders), {customers}, sum(revenue)
                FROM ({months}) GROUP BY 1 ORDER BY 1
            """  # noqa: S608 - values quoted by sql_literal
        else:
            orders = scoped_orders(request, None, period=period)
            sql = f"""
                SELECT {bucket} AS bucket, count(*), count(DISTINCT o.customer_id),
                       coalesce(sum(o.total_minor) FILTER (WHERE {money}), 0)
                FROM ({orders}) AS o GROUP BY 1 ORDER BY 1
            """  # noqa: S608 - values quoted by sql_literal
        rows = store.connection.execute(sql).fetchall()
        if active is not None and unit_name == "month":
            return [
                (
                    r[0].isoformat(),
                    int(r[1]),
                    active.by.get(("month", r[0].isoformat()), 0),
                    int(r[3]),
                )
                for r in rows
            ]
        return [(r[0].isoformat(), int(r[1]), int(r[2]), int(r[3])) for r in rows]

    current = series(request.period)
    previous = series(request.comparison_period) if request.comparison_period else []
    columns = (
        Column(unit_name, f"{unit_name.capitalize()} starting", Unit.TEXT),
        Column("orders", "Orders", Unit.COUNT),
        Column("active_customers", "Active customers", Unit.COUNT),
        Column("revenue", "Revenue", Unit.MONEY, currency),
    )
    table = Table(
        "trend", f"Trend by {unit_name}", columns, tuple((b, o, c, r) for b, o, c, r in current)
    )
    chart_series = [Series("revenue", tuple(float(r[3]) for r in current))]
    if previous:
        # The comparison period's buckets in order beside the current ones.
        aligned = [float(r[3]) for r in previous][: len(current)]
        aligned += [None] * (len(current) - len(aligned))  # type: ignore[list-item]
        chart_series.append(Series("comparison revenue", tuple(aligned)))
    chart = Chart(
        "revenue_trend",
        ChartKind.LINE,
        f"Revenue by {unit_name}",
        tuple(r[0] for r in current),
        tuple(chart_series),
        unit=Unit.MONEY,
        currency=currency,
        x_label=unit_name,
    )
    return table, chart


def overview(store: AnalyticsStore, request: ReportRequest) -> Report:
    """Customers, active customers, orders, revenue, AOV and frequency; by channel, by store
    and over time; beside the comparison period when there is one."""
    currency = main_currency(store, request)
    periods = (
        [request.period]
        if request.comparison_period is None
        else [request.period, request.comparison_period]
    )
    actives = {
        period: _active(store, request, period, by_month=_monthly(request)) for period in periods
    }
    current = _totals(store, request, request.period, currency.code, actives[request.period])
    previous = (
        _totals(
            store,
            request,
            request.comparison_period,
            currency.code,
            actives[request.comparison_period],
        )
        if request.comparison_period
        else None
    )
    compared = request.comparison_period is not None
    channels = _breakdown(store, request, "channel", currency.code, actives)
    stores = _breakdown(store, request, "store_id", currency.code, actives)
    trend, chart = _trend(store, request, currency.code, actives)
    channel_chart = Chart(
        "revenue_by_channel",
        ChartKind.BAR,
        "Revenue by channel",
        tuple(channels),
        (Series("revenue", tuple(float(v[2]) for v in channels.values())),),
        unit=Unit.MONEY,
        currency=currency.code,
    )
    headline = (
        f"{current.active_customers:,} customers placed {current.identified_orders:,} of "
        f"{current.orders:,} orders ({ratio(current.identified_orders, current.orders) or 0:.0%} "
        "identified)."
    )
    return assemble_report(
        NAME,
        TITLE,
        request,
        data_as_of=store.data_as_of,
        tables=[
            *_summary(request, current, previous, currency.code),
            _breakdown_table(
                "channel", "By channel", "Channel", channels, currency.code, compared=compared
            ),
            _breakdown_table(
                "store", "By store", "Store", stores, currency.code, compared=compared
            ),
            trend,
        ],
        charts=[chart, channel_chart],
        notes=[
            headline,
            ANONYMOUS_NOTE,
            (
                "Active customers bought in the period; purchase frequency is the identified "
                "customers' orders per active customer; AOV is revenue per order."
            ),
            currency.note(),
        ],
    )
