"""Overview: customers, orders, revenue and their ratios, by channel and store, over time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from patron.analytics.contract import Chart, ChartKind, Column, Series, Table, Unit
from patron.analytics.rollups import (
    firsts_sql,
    local_month_rows,
    period_customer_rows,
    scopes_sql,
)
from patron.analytics.scope import (
    ANONYMOUS_NOTE,
    assemble_report,
    bucket_sql,
    change,
    main_currency,
    ratio,
    scoped_orders,
    sql_literal,
    window,
)

if TYPE_CHECKING:
    from patron.analytics.contract import Cell, Period, Report, ReportRequest
    from patron.analytics.store import AnalyticsStore

NAME = "overview"
TITLE = "Overview"


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


def _totals(
    store: AnalyticsStore, request: ReportRequest, period: Period | None, currency: str | None
) -> _Totals:
    money = f"o.currency = {sql_literal(currency or '')}"
    if store.rollups:
        rows = (
            period_customer_rows(request.filters, window(period, request.timezone))
            if period
            else scopes_sql(request.filters)
        )
        row = store.connection.execute(
            f"""
            SELECT coalesce(sum(o.orders), 0),
                   coalesce(sum(o.orders) FILTER (WHERE o.customer_id IS NOT NULL), 0),
                   count(DISTINCT o.customer_id),
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
        active_customers=int(row[2]),
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
) -> dict[str, tuple[int, int, int, int, int]]:
    money = f"o.currency = {sql_literal(currency or '')}"

    def grouped(period: Period | None) -> dict[str, tuple[int, int, int]]:
        if store.rollups:
            rows = (
                period_customer_rows(request.filters, window(period, request.timezone))
                if period
                else scopes_sql(request.filters)
            )
            sql = f"""
                SELECT o.{column}, count(DISTINCT o.customer_id), sum(o.orders),
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
        return {str(r[0]): (int(r[1]), int(r[2]), int(r[3])) for r in found}

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


def _trend(
    store: AnalyticsStore, request: ReportRequest, currency: str | None
) -> tuple[Table, Chart]:
    bucket, unit_name = bucket_sql("o.local_at", request.period.days if request.period else None)
    money = f"o.currency = {sql_literal(currency or '')}"

    def series(period: Period | None) -> list[tuple[str, int, int, int]]:
        if unit_name == "month" and store.rollups:
            span = window(period, request.timezone) if period else None
            months = local_month_rows(request.filters, request.timezone, span, currency)
            sql = f"""
                SELECT month, sum(orders), count(DISTINCT customer_id), sum(revenue)
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
    current = _totals(store, request, request.period, currency.code)
    previous = (
        _totals(store, request, request.comparison_period, currency.code)
        if request.comparison_period
        else None
    )
    compared = request.comparison_period is not None
    channels = _breakdown(store, request, "channel", currency.code)
    stores = _breakdown(store, request, "store_id", currency.code)
    trend, chart = _trend(store, request, currency.code)
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
