"""Abandoned carts: how many carts are left, in which channel, and what they held."""

from __future__ import annotations

from typing import TYPE_CHECKING

from patron.analytics.cells import display_value
from patron.analytics.contract import Chart, ChartKind, Column, Series, Table, Unit
from patron.analytics.scope import (
    assemble_report,
    bucket_sql,
    cart_channel,
    change,
    local_time,
    ratio,
    sql_literal,
    where,
    window,
)

if TYPE_CHECKING:
    from patron.analytics.contract import Cell, Period, Report, ReportRequest
    from patron.analytics.store import AnalyticsStore

NAME = "abandoned-carts"
TITLE = "Abandoned carts"


def _carts(request: ReportRequest, period: Period | None) -> str:
    conditions = []
    if period is not None:
        conditions.append(window(period, request.timezone).condition("c.created_at"))
    channel = cart_channel("c.channel")
    if request.filters.channels:
        listed = ", ".join(sql_literal(c) for c in request.filters.channels)
        conditions.append(f"{channel} IN ({listed})")
    return f"""
        SELECT c.*, {channel} AS sales_channel,
               {local_time("c.created_at", request.timezone)} AS local_at
        FROM carts_v AS c {where(conditions)}
    """  # noqa: S608 - values quoted by sql_literal


def _by_channel(
    store: AnalyticsStore, request: ReportRequest, period: Period | None, currency: str | None
) -> dict[str, tuple[int, int, int, int, int]]:
    money = f"currency = {sql_literal(currency or '')}"
    rows = store.connection.execute(
        f"""
        SELECT sales_channel, count(*) FILTER (WHERE status = 'abandoned'),
               count(*) FILTER (WHERE status = 'checked_out'),
               count(*) FILTER (WHERE status NOT IN ('abandoned', 'checked_out')),
               coalesce(sum(value_minor) FILTER (WHERE status = 'abandoned' AND {money}), 0),
               coalesce(sum(value_minor) FILTER (WHERE status = 'checked_out' AND {money}), 0)
        FROM ({_carts(request, period)}) GROUP BY 1 ORDER BY 1
        """  # noqa: S608 - values quoted by sql_literal
    ).fetchall()
    return {str(r[0]): (int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows}


def abandoned_carts(store: AnalyticsStore, request: ReportRequest) -> Report:
    """Abandonment rate and value left in carts by channel, with the trend and comparison."""
    found = store.connection.execute(
        f"SELECT currency, count(*) FROM ({_carts(request, request.period)}) "  # noqa: S608 - values quoted by sql_literal
        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
    ).fetchone()
    currency = str(found[0]) if found else None
    current = _by_channel(store, request, request.period, currency)
    previous = (
        _by_channel(store, request, request.comparison_period, currency)
        if request.comparison_period
        else {}
    )
    compared = request.comparison_period is not None
    columns = [
        Column("channel", "Channel"),
        Column("abandoned", "Abandoned carts", Unit.COUNT),
        Column("checked_out", "Checked out", Unit.COUNT),
        Column("open", "Still open", Unit.COUNT),
        Column("abandonment_rate", "Abandonment rate", Unit.SHARE),
        Column("value_left", "Value left in carts", Unit.MONEY, currency),
        Column("average_left", "Average abandoned cart", Unit.MONEY, currency),
    ]
    if compared:
        columns += [
            Column("comparison_rate", "Comparison rate", Unit.SHARE),
            Column("comparison_value_left", "Comparison value left", Unit.MONEY, currency),
            Column("value_left_change", "Value left change", Unit.SHARE),
        ]
    totals = [0, 0, 0, 0, 0]
    rows: list[tuple[Cell, ...]] = []
    for channel, found_values in [*current.items(), ("all", None)]:
        if found_values is None:
            values = (totals[0], totals[1], totals[2], totals[3], totals[4])
            before = tuple(sum(v[i] for v in previous.values()) for i in range(5))
        else:
            values = found_values
            totals = [t + v for t, v in zip(totals, values, strict=True)]
            before = previous.get(channel, (0, 0, 0, 0, 0))
        abandoned, checked_out, still_open, left, _ = values
        row: list[Cell] = [
            channel,
            abandoned,
            checked_out,
            still_open,
            ratio(abandoned, abandoned + checked_out),
            left,
            ratio(left, abandoned),
        ]
        if compared:
            row += [ratio(before[0], before[0] + before[1]), before[3], change(left, before[3])]
        rows.append(tuple(row))
    by_channel = Table("by_channel", "Abandonment by channel", tuple(columns), tuple(rows))

    bucket, unit_name = bucket_sql("local_at", request.period.days if request.period else None)
    money = f"currency = {sql_literal(currency or '')}"
    trend_rows = store.connection.execute(
        f"""
        SELECT {bucket}, count(*) FILTER (WHERE status = 'abandoned'),
               count(*) FILTER (WHERE status = 'checked_out'),
               coalesce(sum(value_minor) FILTER (WHERE status = 'abandoned' AND {money}), 0)
        FROM ({_carts(request, request.period)}) GROUP BY 1 ORDER BY 1
        """  # noqa: S608 - values quoted by sql_literal
    ).fetchall()
    trend = Table(
        "trend",
        f"Abandonment by {unit_name}",
        (
            Column(unit_name, f"{unit_name.capitalize()} starting"),
            Column("abandoned", "Abandoned carts", Unit.COUNT),
            Column("abandonment_rate", "Abandonment rate", Unit.SHARE),
            Column("value_left", "Value left", Unit.MONEY, currency),
        ),
        tuple(
            (r[0].isoformat(), int(r[1]), ratio(int(r[1]), int(r[1]) + int(r[2])), int(r[3]))
            for r in trend_rows
        ),
    )
    chart = Chart(
        "abandonment_trend",
        ChartKind.LINE,
        f"Abandonment rate by {unit_name}",
        tuple(str(row[0]) for row in trend.rows),
        (Series("abandonment rate", tuple(row[2] for row in trend.rows)),),  # type: ignore[misc]
        unit=Unit.SHARE,
        x_label=unit_name,
    )
    total_row = rows[-1]
    headline = (
        f"{total_row[4]:.0%} of carts were abandoned: {total_row[1]:,} carts holding "
        f"{display_value(columns[5], total_row[5])} {currency} left unbought."
        if total_row[4] is not None
        else None
    )
    return assemble_report(
        NAME,
        TITLE,
        request,
        data_as_of=store.data_as_of,
        tables=[by_channel, trend],
        charts=[chart],
        notes=[
            headline,
            (
                "Carts created in the period. A cart is abandoned once the worker has seen it "
                "untouched for the configured idle time (PATRON_CART_ABANDON_AFTER_MINUTES) "
                "without a checkout; the abandonment rate is abandoned / (abandoned + checked "
                "out), carts still open are left out of it. Web carts are the e-shop's."
            ),
            "Carts belong to no store: the store filter does not apply to them."
            if request.filters.stores
            else None,
        ],
    )
