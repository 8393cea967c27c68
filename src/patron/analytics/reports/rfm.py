"""RFM: recency, frequency and monetary scores in quintiles, and the classic named segments."""

from __future__ import annotations

from typing import TYPE_CHECKING

from patron.analytics.contract import Chart, ChartKind, Column, Series, Table, Unit
from patron.analytics.rollups import scopes_sql
from patron.analytics.scope import (
    ANONYMOUS_NOTE,
    assemble_report,
    main_currency,
    ratio,
    scoped_orders,
    sql_literal,
    window,
)

if TYPE_CHECKING:
    from datetime import datetime

    from patron.analytics.contract import Cell, Report, ReportRequest
    from patron.analytics.store import AnalyticsStore

NAME = "rfm"
TITLE = "RFM segments"

# The classic segments on the recency-frequency grid (scores 1 to 5, 5 best), as used by
# most RFM tools; the first match wins, every one of the 25 cells has a segment.
SEGMENTS: tuple[tuple[str, str, str], ...] = (
    ("champions", "5", "45"),
    ("loyal", "34", "45"),
    ("potential loyalists", "45", "23"),
    ("new", "5", "1"),
    ("promising", "4", "1"),
    ("need attention", "3", "3"),
    ("about to sleep", "3", "12"),
    ("can't lose", "12", "5"),
    ("at risk", "12", "34"),
    ("lost", "1", "1"),
    ("hibernating", "12", "12"),
)


def segment_of(recency: int, frequency: int) -> str:
    """The named segment of a customer's recency and frequency scores (1 to 5)."""
    for name, recencies, frequencies in SEGMENTS:
        if str(recency) in recencies and str(frequency) in frequencies:
            return name
    msg = f"scores out of range: R{recency} F{frequency}"
    raise ValueError(msg)


def _segment_sql() -> str:
    cases = " ".join(
        f"WHEN r IN ({', '.join(recencies)}) AND f IN ({', '.join(frequencies)}) "
        f"THEN {sql_literal(name)}"
        for name, recencies, frequencies in SEGMENTS
    )
    return f"CASE {cases} END"


def _quintile(column: str) -> str:
    # Tied customers share the score of the first of them, so that two customers with the
    # same number of orders never get different scores.
    position = f"(rank() OVER (ORDER BY {column}) - 1) / count(*) OVER ()"
    return f"least(5, 1 + CAST(floor(5.0 * {position}) AS INTEGER))"


def rfm(store: AnalyticsStore, request: ReportRequest) -> Report:
    """Every customer who bought in the period scored 1-5 on recency, frequency and money,
    the named segments' sizes and value, and the recency-frequency grid."""
    currency = main_currency(store, request)
    # All the data is read from the per-customer rollup when there is one.
    from_rollups = request.period is None and store.rollups
    orders = (
        scopes_sql(request.filters)
        if from_rollups
        else scoped_orders(request, None, period=request.period)
    )
    money = f"currency = {sql_literal(currency.code or '')}"
    if request.period is not None:
        as_of: datetime | None = window(request.period, request.timezone).end
    else:
        latest = "last_at" if from_rollups else "ordered_at"
        found = store.connection.execute(
            f"SELECT max({latest}) + INTERVAL 1 SECOND FROM ({orders})"  # noqa: S608 - values quoted by sql_literal
        ).fetchone()
        as_of = found[0] if found else None
    as_of_sql = sql_literal(as_of) if as_of is not None else "now()"
    if from_rollups:
        customers = f"""
            SELECT customer_id, date_diff('day', max(last_at), {as_of_sql}) AS recency_days,
                   sum(orders) AS orders,
                   coalesce(sum(revenue) FILTER (WHERE {money}), 0) AS monetary
            FROM ({orders}) WHERE customer_id IS NOT NULL GROUP BY 1
        """  # noqa: S608 - values quoted by sql_literal
    else:
        customers = f"""
            SELECT customer_id,
                   date_diff('day', max(ordered_at), {as_of_sql}) AS recency_days,
                   count(*) AS orders,
                   coalesce(sum(total_minor) FILTER (WHERE {money}), 0) AS monetary
            FROM ({orders}) WHERE customer_id IS NOT NULL GROUP BY 1
        """  # noqa: S608 - values quoted by sql_literal
    # Scored once: the segments, the grid and the score bounds all read it.
    store.connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE rfm_scores AS
        WITH customers AS ({customers}), scores AS (
            SELECT customer_id, recency_days, CAST(orders AS BIGINT) AS orders,
                   CAST(monetary AS BIGINT) AS monetary,
                   {_quintile("-recency_days")} AS r, {_quintile("orders")} AS f,
                   {_quintile("monetary")} AS m
            FROM customers
        )
        SELECT *, {_segment_sql()} AS segment FROM scores
        """  # noqa: S608 - values quoted by sql_literal
    )
    scored = "SELECT * FROM rfm_scores"
    # Sums, not averages: integer sums are the same whatever order they are added in.
    rows = store.connection.execute(
        f"""
        SELECT segment, count(*), sum(recency_days), sum(orders), sum(monetary), sum(monetary)
        FROM ({scored}) GROUP BY 1
        """  # noqa: S608 - values quoted by sql_literal
    ).fetchall()
    found_segments = {str(row[0]): row for row in rows}
    customers_total = sum(int(row[1]) for row in rows)
    revenue_total = sum(int(row[5]) for row in rows)
    segment_rows: list[tuple[Cell, ...]] = []
    for name, _, _ in SEGMENTS:
        row = found_segments.get(name)
        if row is None:
            segment_rows.append((name, 0, 0.0, None, None, None, 0, 0.0))
            continue
        segment_rows.append(
            (
                name,
                int(row[1]),
                ratio(int(row[1]), customers_total),
                int(row[2]) / int(row[1]),
                int(row[3]) / int(row[1]),
                int(row[4]) / int(row[1]),
                int(row[5]),
                ratio(int(row[5]), revenue_total),
            )
        )
    segments = Table(
        "segments",
        "Segments",
        (
            Column("segment", "Segment"),
            Column("customers", "Customers", Unit.COUNT),
            Column("customer_share", "Share of customers", Unit.SHARE),
            Column("recency_days", "Avg days since last order", Unit.NUMBER),
            Column("frequency", "Avg orders", Unit.NUMBER),
            Column("monetary", "Avg value", Unit.MONEY, currency.code),
            Column("revenue", "Revenue", Unit.MONEY, currency.code),
            Column("revenue_share", "Share of revenue", Unit.SHARE),
        ),
        tuple(segment_rows),
    )
    grid_rows = store.connection.execute(
        f"SELECT r, f, count(*) FROM ({scored}) GROUP BY 1, 2"  # noqa: S608 - values quoted by sql_literal
    ).fetchall()
    counts = {(int(r), int(f)): int(n) for r, f, n in grid_rows}
    grid = Table(
        "grid",
        "Customers by recency (rows) and frequency (columns) score",
        (
            Column("recency", "R \\ F"),
            *(Column(f"f{f}", f"F{f}", Unit.COUNT) for f in range(1, 6)),
        ),
        tuple((f"R{r}", *(counts.get((r, f), 0) for f in range(1, 6))) for r in range(5, 0, -1)),
    )
    bounds = store.connection.execute(
        f"""
        SELECT score, min(recency_days), max(recency_days), min(orders), max(orders),
               min(monetary), max(monetary)
        FROM (SELECT r AS score, recency_days, NULL AS orders, NULL AS monetary FROM ({scored})
              UNION ALL SELECT f, NULL, orders, NULL FROM ({scored})
              UNION ALL SELECT m, NULL, NULL, monetary FROM ({scored}))
        GROUP BY 1 ORDER BY 1 DESC
        """  # noqa: S608 - values quoted by sql_literal
    ).fetchall()
    scores = Table(
        "scores",
        "What each score means",
        (
            Column("score", "Score", Unit.COUNT),
            Column("recency_min", "Days since last order from", Unit.COUNT),
            Column("recency_max", "to", Unit.COUNT),
            Column("orders_min", "Orders from", Unit.COUNT),
            Column("orders_max", "to", Unit.COUNT),
            Column("monetary_min", "Value from", Unit.MONEY, currency.code),
            Column("monetary_max", "to", Unit.MONEY, currency.code),
        ),
        tuple(tuple(None if v is None else int(v) for v in row) for row in bounds),
    )
    chart = Chart(
        "segment_sizes",
        ChartKind.BAR,
        "Customers and revenue by segment",
        tuple(str(row[0]) for row in segment_rows),
        (
            Series("share of customers", tuple(row[2] for row in segment_rows)),  # type: ignore[misc]
            Series("share of revenue", tuple(row[7] for row in segment_rows)),  # type: ignore[misc]
        ),
        unit=Unit.SHARE,
    )
    champions = found_segments.get("champions")
    headline = (
        f"Champions are {int(champions[1]) / customers_total:.0%} of customers and bring "
        f"{int(champions[5]) / revenue_total:.0%} of revenue."
        if champions and customers_total and revenue_total
        else None
    )
    as_of_note = (
        f"Recency is counted in days up to {as_of:%Y-%m-%d %H:%M} UTC "
        + ("(the end of the period)." if request.period else "(just after the latest order).")
        if as_of
        else None
    )
    return assemble_report(
        NAME,
        TITLE,
        request,
        data_as_of=store.data_as_of,
        tables=[segments, grid, scores],
        charts=[chart],
        notes=[
            headline,
            (
                "Customers who bought in the period are scored 1 to 5 on recency (days since "
                "their last order; 5 = most recent), frequency (orders) and monetary value "
                "(revenue), in quintiles of customers; tied customers share the lower score. "
                "Segments follow the classic recency-frequency grid."
            ),
            as_of_note,
            ANONYMOUS_NOTE,
            currency.note(),
        ],
    )
