"""Omnichannel: customers of one, two or every channel side by side, and how they move."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from patron.analytics.contract import Chart, ChartKind, Column, Series, Table, Unit
from patron.analytics.request import SALES_CHANNELS
from patron.analytics.rollups import firsts_sql, period_customer_rows, scopes_sql
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
    from patron.analytics.contract import Cell, Period, Report, ReportRequest
    from patron.analytics.store import AnalyticsStore

NAME = "omnichannel"
TITLE = "Omnichannel vs single-channel customers"
# A customer is retained when they order again within this many days of their first order
# in the period; only customers whose first order leaves that much time before the data's
# end are counted (so that recent customers do not look lost).
RETENTION_DAYS = 90
# Channels are bits of a BIGINT when the rollups are read; more are read from the orders.
MAX_CHANNELS = 62


def _per_customer(
    store: AnalyticsStore,
    request: ReportRequest,
    period: Period | None,
    currency: str | None,
    *,
    channel_counts: bool = False,
) -> str:
    """A temporary table of the period's customers: channels, orders, revenue, first order
    and whether they came back within the retention window; its name is returned. With
    ``channel_counts``, and when read from the rollups, also their orders in each sales
    channel (``n_pos``...), which migration reads."""
    orders = scoped_orders(request, None, period=period)
    money = f"currency = {sql_literal(currency or '')}"
    found = store.connection.execute("SELECT max(ordered_at) FROM orders_v").fetchone()
    data_end = sql_literal(found[0]) if found and found[0] else "NULL"
    channels = _channel_bits(store) if store.rollups else []
    if store.rollups and len(channels) <= MAX_CHANNELS:
        # Each customer's rows of a rollup (all the data: one per channel, store and
        # currency; a period: one per month and scope, and the orders near a month's edge)
        # hold their orders, revenue and two earliest orders per row; the second order of
        # all is the earliest of the rows' second firsts and second orders.
        rows = (
            period_customer_rows(request.filters, window(period, request.timezone))
            if period
            else scopes_sql(request.filters)
        )
        # Grouped once per customer, channels as bits of a mask (a group-by per customer and
        # channel first costs a second pass over as many groups).
        mask = " ".join(
            f"WHEN {sql_literal(channel)} THEN {1 << bit}" for bit, channel in enumerate(channels)
        )
        mix = ", ".join(
            f"CASE WHEN mask & {1 << bit} <> 0 THEN {sql_literal(channel)} END"
            for bit, channel in enumerate(channels)
        )
        # A sales channel's orders filtered on its bit: an integer, not a text, per row.
        counts = "".join(
            f", coalesce(sum(orders) FILTER (WHERE bit = {1 << channels.index(c)}), 0) AS n_{c}"
            if c in channels
            else f", 0 AS n_{c}"
            for c in SALES_CHANNELS
        )
        counted = "".join(f", n_{c}" for c in SALES_CHANNELS) if channel_counts else ""
        store.connection.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE omnichannel_customers AS
            WITH by_customer AS (
                SELECT customer_id,
                       bit_or(bit) AS mask,
                       sum(orders) AS orders,
                       coalesce(sum(revenue) FILTER (WHERE {money}), 0) AS revenue,
                       coalesce(sum(orders) FILTER (WHERE {money}), 0) AS money_orders,
                       min(first_at) AS first_at,
                       least(min(first_at, 2)[2], min(second_at)) AS second_at
                       {counts if channel_counts else ""}
                FROM (
                    SELECT *, CAST(CASE channel {mask} END AS BIGINT) AS bit FROM ({rows})
                ) WHERE customer_id IS NOT NULL
                GROUP BY customer_id
            )
            SELECT customer_id, bit_count(coalesce(mask, 0)) AS channels,
                   concat_ws(' + ', {mix}) AS mix, orders, revenue, money_orders, first_at
                   {counted},
                   coalesce(second_at <= first_at + INTERVAL {RETENTION_DAYS} DAY, false)
                       AS returned,
                   first_at + INTERVAL {RETENTION_DAYS} DAY <= {data_end} AS eligible
            FROM by_customer
            """  # noqa: S608 - values quoted by sql_literal
        )
        return "omnichannel_customers"
    # Per customer and channel first, then per customer (list and ordered aggregates over
    # every order cost several times a plain group-by). A customer returned in time when at
    # least two of their orders are within the window from their first.
    store.connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE omnichannel_customers AS
        WITH o AS MATERIALIZED (
            SELECT customer_id, channel, currency, total_minor, ordered_at
            FROM ({orders}) WHERE customer_id IS NOT NULL
        ), by_channel AS (
            SELECT customer_id, channel, count(*) AS orders,
                   coalesce(sum(total_minor) FILTER (WHERE {money}), 0) AS revenue,
                   count(*) FILTER (WHERE {money}) AS money_orders,
                   min(ordered_at) AS first_at
            FROM o GROUP BY 1, 2
        ), customers AS MATERIALIZED (
            SELECT customer_id, count(channel) AS channels,
                   array_to_string(
                       list_sort(list(channel) FILTER (WHERE channel IS NOT NULL)), ' + '
                   ) AS mix,
                   sum(orders) AS orders, sum(revenue) AS revenue,
                   sum(money_orders) AS money_orders, min(first_at) AS first_at
            FROM by_channel GROUP BY 1
        ), returned AS (
            SELECT o.customer_id FROM o JOIN customers AS c USING (customer_id)
            WHERE o.ordered_at <= c.first_at + INTERVAL {RETENTION_DAYS} DAY
            GROUP BY 1 HAVING count(*) >= 2
        )
        SELECT c.*, c.customer_id IN (SELECT customer_id FROM returned) AS returned,
               c.first_at + INTERVAL {RETENTION_DAYS} DAY <= {data_end} AS eligible
        FROM customers AS c
        """  # noqa: S608 - values quoted by sql_literal
    )
    return "omnichannel_customers"


def _channel_bits(store: AnalyticsStore) -> list[str]:
    """Every channel orders were placed in, in the order ``list_sort`` gives them (a
    customer's combination names them in that order)."""
    rows = store.connection.execute(
        "SELECT DISTINCT channel FROM customer_scopes WHERE channel IS NOT NULL ORDER BY 1"
    ).fetchall()
    return [str(row[0]) for row in rows]


def _groups(
    store: AnalyticsStore,
    request: ReportRequest,
    period: Period | None,
    currency: str | None,
    *,
    channel_counts: bool = False,
) -> list[tuple[int, int, int, int, int, int, int]]:
    per_customer = _per_customer(store, request, period, currency, channel_counts=channel_counts)
    rows = store.connection.execute(
        f"""
        SELECT channels, count(*), sum(orders), sum(revenue), sum(money_orders),
               count(*) FILTER (WHERE eligible), count(*) FILTER (WHERE returned AND eligible)
        FROM {per_customer} GROUP BY 1 ORDER BY 1
        """  # noqa: S608 - values quoted by sql_literal
    ).fetchall()
    return [tuple(int(v) for v in row) for row in rows]  # type: ignore[misc]


def _group_label(channels: int) -> str:
    if channels == len(SALES_CHANNELS):
        return f"all {channels} channels"
    return "1 channel" if channels == 1 else f"{channels} channels"


def _side_by_side(
    groups: list[tuple[int, int, int, int, int, int, int]],
    previous: dict[int, float | None],
    currency: str | None,
) -> Table:
    customers_total = sum(g[1] for g in groups)
    revenue_total = sum(g[3] for g in groups)
    columns = [
        Column("group", "Customers shopping in"),
        Column("customers", "Customers", Unit.COUNT),
        Column("customer_share", "Share of customers", Unit.SHARE),
        Column("revenue", "Revenue", Unit.MONEY, currency),
        Column("revenue_share", "Share of revenue", Unit.SHARE),
        Column("value_per_customer", "Value per customer", Unit.MONEY, currency),
        Column("frequency", "Orders per customer", Unit.NUMBER),
        Column("average_order_value", "AOV", Unit.MONEY, currency),
        Column("retention", f"Retention ({RETENTION_DAYS} d)", Unit.SHARE),
    ]
    if previous:
        columns.append(
            Column(
                "comparison_value_per_customer",
                "Comparison value per customer",
                Unit.MONEY,
                currency,
            )
        )
    rows: list[tuple[Cell, ...]] = []
    for channels, customers, orders, revenue, money_orders, eligible, returned in groups:
        row: list[Cell] = [
            _group_label(channels),
            customers,
            ratio(customers, customers_total),
            revenue,
            ratio(revenue, revenue_total),
            ratio(revenue, customers),
            ratio(orders, customers),
            ratio(revenue, money_orders),
            ratio(returned, eligible),
        ]
        if previous:
            row.append(previous.get(channels))
        rows.append(tuple(row))
    return Table("groups", "Customers by number of channels", tuple(columns), tuple(rows))


def _mixes(store: AnalyticsStore, currency: str | None) -> Table:
    # The period's customers, as the last ``_groups`` of the period left them.
    rows = store.connection.execute(
        """
        SELECT mix, count(*), sum(revenue), sum(orders)
        FROM omnichannel_customers GROUP BY 1 ORDER BY 2 DESC, 1
        """
    ).fetchall()
    columns = (
        Column("channels", "Channels used"),
        Column("customers", "Customers", Unit.COUNT),
        Column("value_per_customer", "Value per customer", Unit.MONEY, currency),
        Column("frequency", "Orders per customer", Unit.NUMBER),
    )
    return Table(
        "combinations",
        "Channel combinations",
        columns,
        tuple(
            (str(mix), int(n), ratio(int(revenue), int(n)), ratio(int(orders), int(n)))
            for mix, n, revenue, orders in rows
        ),
    )


def _later_sql() -> str:
    # A later order in the first channel is a second order there.
    return ", ".join(
        f"count(*) FILTER (WHERE n_{c} > CASE WHEN first_channel = {sql_literal(c)} "
        f"THEN 1 ELSE 0 END) AS later_{c}"
        for c in SALES_CHANNELS
    )


def _channel_counts_sql(column: str) -> str:
    return ", ".join(
        f"coalesce(sum({column}) FILTER (WHERE channel = {sql_literal(c)}), 0) AS n_{c}"
        for c in SALES_CHANNELS
    )


def _migration_from_orders(store: AnalyticsStore, request: ReportRequest) -> list[tuple[Any, ...]]:
    # Customers whose first order (in scope) falls in the period; later orders up to the
    # period's end.
    history = scoped_orders(request, None, until=request.period)
    start = (
        sql_literal(window(request.period, request.timezone).start)
        if request.period is not None
        else "TIMESTAMP '1970-01-01 00:00:00'"
    )
    # Orders per customer and channel first, then per customer: no window over every order.
    return store.connection.execute(
        f"""
        WITH by_channel AS (
            SELECT customer_id, channel, count(*) AS n, min(ordered_at) AS first_at
            FROM ({history}) WHERE customer_id IS NOT NULL GROUP BY 1, 2
        ), customers AS (
            SELECT customer_id, arg_min(channel, first_at) AS first_channel,
                   min(first_at) AS first_at, sum(n) > 1 AS again, {_channel_counts_sql("n")}
            FROM by_channel GROUP BY customer_id
        )
        SELECT first_channel, count(*), count(*) FILTER (WHERE again), {_later_sql()}
        FROM customers WHERE first_at >= {start} GROUP BY 1 ORDER BY 2 DESC, 1
        """  # noqa: S608 - values quoted by sql_literal
    ).fetchall()


def _migration_from_rollups(
    store: AnalyticsStore, request: ReportRequest, *, counted_per_customer: bool
) -> list[tuple[Any, ...]]:
    # The customers' first orders come from the rollup. The orders of a customer whose first
    # order is in the period are, up to the period's end, all in the period: they are read
    # from the period's orders (from the rollup for all the data), which the period's
    # per-customer table has already counted per channel when ``counted_per_customer``.
    span = window(request.period, request.timezone) if request.period is not None else None
    firsts = firsts_sql(request.filters, span.end if span else None)
    # Each customer's orders per channel in one group-by per customer (a column each).
    if counted_per_customer:
        counted = f"""
            SELECT customer_id, orders AS n, {", ".join(f"n_{c}" for c in SALES_CHANNELS)}
            FROM omnichannel_customers
        """  # noqa: S608 - constant names
        new = (
            firsts
            if span is None
            else f"SELECT * FROM ({firsts}) WHERE first_at >= {sql_literal(span.start)}"  # noqa: S608 - values quoted by sql_literal
        )
    elif span is None:
        counted = f"""
            SELECT customer_id, sum(orders) AS n, {_channel_counts_sql("orders")}
            FROM ({scopes_sql(request.filters, ["s.customer_id IS NOT NULL"])}) GROUP BY 1
        """  # noqa: S608 - values quoted by sql_literal
        new = firsts
    else:
        new = f"SELECT * FROM ({firsts}) WHERE first_at >= {sql_literal(span.start)}"  # noqa: S608 - values quoted by sql_literal
        rows = period_customer_rows(request.filters, span)
        counted = f"""
            SELECT customer_id, sum(orders) AS n, {_channel_counts_sql("orders")} FROM ({rows})
            WHERE customer_id IN (SELECT customer_id FROM new) GROUP BY 1
        """  # noqa: S608 - values quoted by sql_literal
    later = ", ".join(f"by_customer.n_{c}" for c in SALES_CHANNELS)
    return store.connection.execute(
        f"""
        WITH new AS MATERIALIZED ({new}), by_customer AS ({counted}),
        customers AS (
            SELECT new.customer_id, new.first_channel, by_customer.n > 1 AS again, {later}
            FROM new JOIN by_customer USING (customer_id)
        )
        SELECT first_channel, count(*), count(*) FILTER (WHERE again), {_later_sql()}
        FROM customers GROUP BY 1 ORDER BY 2 DESC, 1
        """  # noqa: S608 - values quoted by sql_literal
    ).fetchall()


def _migration(
    store: AnalyticsStore, request: ReportRequest, *, counted_per_customer: bool
) -> tuple[Table, Chart]:
    if store.rollups:
        rows = _migration_from_rollups(store, request, counted_per_customer=counted_per_customer)
    else:
        rows = _migration_from_orders(store, request)
    columns = (
        Column("first_channel", "First channel"),
        Column("customers", "New customers", Unit.COUNT),
        Column("bought_again", "Bought again", Unit.SHARE),
        *(Column(f"later_{c}", f"Later in {c}", Unit.SHARE) for c in SALES_CHANNELS),
    )
    table_rows = tuple(
        (
            str(row[0]),
            int(row[1]),
            ratio(int(row[2]), int(row[1])),
            *(ratio(int(v), int(row[1])) for v in row[3:]),
        )
        for row in rows
    )
    chart = Chart(
        "migration",
        ChartKind.BAR,
        "Channels used after the first order, by first channel",
        tuple(str(row[0]) for row in rows),
        tuple(
            Series(f"later in {c}", tuple((r[3 + i] or 0.0) for r in table_rows))  # type: ignore[misc]
            for i, c in enumerate(SALES_CHANNELS)
        ),
        unit=Unit.SHARE,
        x_label="first channel",
    )
    table = Table(
        "migration", "Channel migration: first channel → channels used later", columns, table_rows
    )
    return table, chart


def _headline(groups: list[tuple[int, int, int, int, int, int, int]]) -> str | None:
    single = next((g for g in groups if g[0] == 1), None)
    multi = [g for g in groups if g[0] > 1]
    if single is None or not multi or not single[1]:
        return None
    multi_customers = sum(g[1] for g in multi)
    multi_revenue = sum(g[3] for g in multi)
    multi_orders = sum(g[2] for g in multi)
    value_ratio = ratio(ratio(multi_revenue, multi_customers), ratio(single[3], single[1]))
    orders_ratio = ratio(ratio(multi_orders, multi_customers), ratio(single[2], single[1]))
    if value_ratio is None or orders_ratio is None:
        return None
    share = multi_customers / (multi_customers + single[1])
    return (
        f"Omnichannel customers (2 or more channels, {share:.0%} of customers) spend "
        f"{value_ratio:.1f} times as much per customer as single-channel customers and order "
        f"{orders_ratio:.1f} times as often."
    )


def omnichannel(store: AnalyticsStore, request: ReportRequest) -> Report:
    """Customers of one, two or all channels side by side (value, frequency, order size,
    retention), the channel combinations, and the channels new customers move on to."""
    currency = main_currency(store, request)
    previous: dict[int, float | None] = {}
    if request.comparison_period is not None:
        for g in _groups(store, request, request.comparison_period, currency.code):
            previous[g[0]] = ratio(g[3], g[1])
    # The period's own customers last, so that the channel combinations read them.
    groups = _groups(store, request, request.period, currency.code, channel_counts=True)
    mixes = _mixes(store, currency.code)
    side_by_side = _side_by_side(groups, previous, currency.code)
    # The period's per-customer table (built last above) holds each customer's orders per
    # channel when it was grouped from the rollups with channels as bits.
    counted_per_customer = store.rollups and len(_channel_bits(store)) <= MAX_CHANNELS
    migration, migration_chart = _migration(
        store, request, counted_per_customer=counted_per_customer
    )
    value_chart = Chart(
        "value_per_customer",
        ChartKind.BAR,
        "Value per customer by number of channels",
        tuple(_group_label(g[0]) for g in groups),
        (Series("value per customer", tuple(ratio(g[3], g[1]) for g in groups)),),
        unit=Unit.MONEY,
        currency=currency.code,
    )
    return assemble_report(
        NAME,
        TITLE,
        request,
        data_as_of=store.data_as_of,
        tables=[side_by_side, mixes, migration],
        charts=[value_chart, migration_chart],
        notes=[
            _headline(groups),
            ANONYMOUS_NOTE,
            (
                "A customer's channels are those of their orders in the period (pos, eshop, "
                "app). Value per customer is revenue divided by customers; retention is the "
                f"share who ordered again within {RETENTION_DAYS} days of their first order "
                f"in the period, among those whose first order is at least {RETENTION_DAYS} "
                "days before the latest order in the store."
            ),
            (
                "Migration follows customers whose first order ever falls in the period: the "
                "channels of their later orders up to the period's end."
            ),
            "With a channel filter, only the chosen channels count."
            if request.filters.channels
            else None,
            currency.note(),
        ],
    )
