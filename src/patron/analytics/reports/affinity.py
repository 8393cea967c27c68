"""Affinity: which categories the same customers buy, which products share a basket."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from patron.analytics.contract import Chart, ChartKind, Column, Series, Table, Unit
from patron.analytics.rollups import (
    BASKET_KINDS,
    DEPARTMENT_SQL,
    MAX_DEPARTMENTS,
    month_split,
    scope_conditions,
    scopes_sql,
)
from patron.analytics.scope import (
    ANONYMOUS_NOTE,
    assemble_report,
    order_conditions,
    scoped_orders,
    sql_literal,
    where,
    window,
)

if TYPE_CHECKING:
    from patron.analytics.contract import Cell, Report, ReportRequest
    from patron.analytics.rollups import MonthSplit
    from patron.analytics.store import AnalyticsStore

NAME = "affinity"
TITLE = "Category affinity and basket analysis"
# A pair must be seen together at least this many times to be ranked: lift over a handful
# of co-occurrences is noise.
MIN_PAIR_COUNT = 5


def _lines(store: AnalyticsStore, request: ReportRequest) -> str:
    """A temporary table of the period's order lines with what is paired; its name."""
    orders = scoped_orders(request, None, period=request.period)
    # The top-level category ("Womenswear" of "Womenswear > Knitwear") for customer affinity.
    store.connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE affinity_lines AS
        SELECT o.order_pk, o.customer_id, l.sku,
               coalesce(l.product_name, l.sku) AS product,
               coalesce(l.category, '(none)') AS category,
               trim(split_part(coalesce(l.category, '(none)'), '>', 1)) AS department
        FROM ({orders}) AS o JOIN order_lines_v AS l ON l.order_pk = o.order_pk
        """  # noqa: S608 - values quoted by sql_literal
    )
    return "affinity_lines"


def _pairs(
    store: AnalyticsStore, lines: str, basket: str, item: str, top: int
) -> list[tuple[str, str, int, int, int, int]]:
    # Baskets (orders or customers) holding each item, and each pair of items together.
    rows = store.connection.execute(
        f"""
        WITH items AS MATERIALIZED (
            SELECT DISTINCT {basket} AS basket, {item} AS item FROM {lines}
            WHERE {basket} IS NOT NULL
        ), counts AS MATERIALIZED (SELECT item, count(*) AS n FROM items GROUP BY 1),
        baskets AS (SELECT count(DISTINCT basket) AS total FROM items),
        -- An item bought fewer times than a pair must be seen cannot be in one (apriori).
        frequent AS (
            SELECT items.* FROM items JOIN counts USING (item) WHERE counts.n >= {MIN_PAIR_COUNT}
        ),
        pairs AS (
            SELECT a.item AS a, b.item AS b, count(*) AS n
            FROM frequent AS a JOIN frequent AS b ON a.basket = b.basket AND a.item < b.item
            GROUP BY 1, 2 HAVING count(*) >= {MIN_PAIR_COUNT}
        )
        SELECT p.a, p.b, p.n, ca.n, cb.n, baskets.total
        FROM pairs AS p JOIN counts AS ca ON ca.item = p.a JOIN counts AS cb ON cb.item = p.b
        CROSS JOIN baskets
        ORDER BY p.n * baskets.total / (ca.n * cb.n) DESC, p.n DESC, p.a, p.b
        LIMIT {int(top)}
        """  # noqa: S608 - values quoted by sql_literal
    ).fetchall()
    return [(str(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows]


def _ranked(counts: str, pairs: str, baskets: str, top: int, kind: str | None = None) -> str:
    """The top pairs by lift, from SQL of item counts ``(item, n)``, pair counts
    ``(a, b, n)`` (a < b) and the number of baskets ``(total)``; with ``kind``, items are
    the numbers of ``basket_names`` and are named after the counting."""
    if kind is None:
        named = "SELECT a AS name_a, b AS name_b, * FROM pairs"
    else:
        named = f"""
            SELECT na.item AS name_a, nb.item AS name_b, pairs.* FROM pairs
            JOIN basket_names AS na ON na.kind = {sql_literal(kind)} AND na.id = pairs.a
            JOIN basket_names AS nb ON nb.kind = {sql_literal(kind)} AND nb.id = pairs.b
        """  # noqa: S608 - values quoted by sql_literal
    return f"""
        WITH counts AS MATERIALIZED (
            SELECT item, CAST(sum(n) AS BIGINT) AS n FROM ({counts}) GROUP BY 1
        ), pairs AS (
            SELECT a, b, CAST(sum(n) AS BIGINT) AS n FROM ({pairs}) GROUP BY 1, 2
            HAVING sum(n) >= {MIN_PAIR_COUNT}
        ), named AS ({named}),
        baskets AS (SELECT CAST(coalesce(sum(total), 0) AS BIGINT) AS total FROM ({baskets}))
        SELECT p.name_a, p.name_b, p.n, ca.n, cb.n, baskets.total
        FROM named AS p JOIN counts AS ca ON ca.item = p.a JOIN counts AS cb ON cb.item = p.b
        CROSS JOIN baskets
        ORDER BY p.n * baskets.total / (ca.n * cb.n) DESC, p.n DESC, p.name_a, p.name_b
        LIMIT {int(top)}
    """  # noqa: S608 - values quoted by sql_literal


def _as_pairs(rows: list[tuple[Any, ...]]) -> list[tuple[str, str, int, int, int, int]]:
    return [(str(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows]


def _edge_orders(request: ReportRequest, split: MonthSplit) -> str | None:
    """SQL of the orders in scope in the period's edges, read from the orders (None if
    none)."""
    if not split.edges:
        return None
    edges = " OR ".join(edge.condition("o.ordered_at") for edge in split.edges)
    conditions = [*order_conditions(request.filters), f"({edges})"]
    return f"SELECT o.order_pk, o.customer_id FROM orders_v AS o {where(conditions)}"  # noqa: S608 - values quoted by sql_literal


def _rollup_conditions(request: ReportRequest, split: MonthSplit) -> str:
    return where([*scope_conditions(request.filters, "s"), split.months_condition("s.month")])


def _basket_pairs_from_rollups(
    store: AnalyticsStore, request: ReportRequest, split: MonthSplit, kind: str, top: int
) -> list[tuple[str, str, int, int, int, int]]:
    """Pairs of items in the same order: the rollup's counts of the months it is read for,
    less the orders of those months outside the period and plus the period's other orders,
    counted one by one (order counts add up, so the sum is the period's)."""
    rollup = _rollup_conditions(request, split)
    kind_sql = sql_literal(kind)
    counts = f"SELECT item, orders AS n FROM basket_items AS s {rollup} AND s.kind = {kind_sql}"  # noqa: S608 - values quoted by sql_literal
    if split.every_month:
        every = where([*scope_conditions(request.filters, "s"), f"s.kind = {kind_sql}"])
        pairs = f"SELECT a, b, orders AS n FROM basket_pairs_all AS s {every}"  # noqa: S608 - values quoted by sql_literal
    else:
        pairs = f"SELECT a, b, orders AS n FROM basket_pairs AS s {rollup} AND s.kind = {kind_sql}"  # noqa: S608 - values quoted by sql_literal
    baskets = f"SELECT orders AS total FROM basket_orders AS s {rollup}"  # noqa: S608 - values quoted by sql_literal
    if split.every_month:
        rows = store.connection.execute(_ranked(counts, pairs, baskets, top, kind)).fetchall()
        return _as_pairs(rows)
    # Orders near a month's edge: added when in the period outside the summed months,
    # taken away when in the summed months outside the period.
    added = split.edge_orders_condition("e.ordered_at")
    taken = split.outside_condition("e.ordered_at")
    near_edge = where(
        [
            *scope_conditions(request.filters, "e"),
            f"e.kind = {kind_sql}",
            f"(({added} AND NOT ({split.months_condition('e.ordered_at')})) OR ({taken}))",
        ]
    )
    one_by_one = f"""
        SELECT e.order_pk, e.item,
               CASE WHEN {split.months_condition("e.ordered_at")} THEN -1 ELSE 1 END AS sign
        FROM edge_items AS e {near_edge}
    """  # noqa: S608 - values quoted by sql_literal
    edge_orders = _edge_orders(request, split)
    if edge_orders is not None:
        one_by_one += f"""
            UNION ALL
            SELECT DISTINCT o.order_pk, n.id AS item, 1 AS sign
            FROM ({edge_orders}) AS o JOIN order_lines_v AS l USING (order_pk)
            JOIN basket_names AS n ON n.kind = {kind_sql} AND n.item = {BASKET_KINDS[kind]}
        """  # noqa: S608 - values quoted by sql_literal
    store.connection.execute(f"CREATE OR REPLACE TEMP TABLE affinity_edge_items AS {one_by_one}")
    counts += " UNION ALL SELECT item, sum(sign) FROM affinity_edge_items GROUP BY 1"
    pairs += (
        " UNION ALL SELECT a.item, b.item, sum(a.sign) FROM affinity_edge_items AS a "
        "JOIN affinity_edge_items AS b ON b.order_pk = a.order_pk AND a.item < b.item "
        "GROUP BY 1, 2"
    )
    baskets += (
        " UNION ALL SELECT sum(sign) FROM (SELECT DISTINCT order_pk, sign FROM affinity_edge_items)"
    )
    rows = store.connection.execute(_ranked(counts, pairs, baskets, top, kind)).fetchall()
    return _as_pairs(rows)


def _department_pairs_from_rollups(
    store: AnalyticsStore, request: ReportRequest, split: MonthSplit, top: int
) -> list[tuple[str, str, int, int, int, int]]:
    """Departments bought by the same customers: each customer's departments as a bit mask
    (from the rollups: the months' orders away from their edges, the orders near an edge one
    by one, and the lines of the period's edges), customers counted per mask, items and pairs
    counted from the masks."""
    if split.every_month:
        masks = scopes_sql(request.filters, ["s.customer_id IS NOT NULL"])
    else:
        rollup = _rollup_conditions(request, split)
        near_edge = where(
            [
                *scope_conditions(request.filters, "e"),
                split.edge_orders_condition("e.ordered_at"),
                "e.customer_id IS NOT NULL",
            ]
        )
        masks = f"""
            SELECT customer_id, inner_departments AS departments FROM customer_months AS s
            {rollup} AND s.customer_id IS NOT NULL
            UNION ALL
            SELECT customer_id, departments FROM month_edge_orders AS e {near_edge}
        """  # noqa: S608 - values quoted by sql_literal
    edge_orders = _edge_orders(request, split)
    if edge_orders is not None:
        masks = f"""
            SELECT customer_id, departments FROM ({masks})
            UNION ALL
            SELECT o.customer_id, CAST(1 AS BIGINT) << d.bit
            FROM ({edge_orders}) AS o JOIN order_lines_v AS l USING (order_pk)
            JOIN departments AS d ON d.department = {DEPARTMENT_SQL.format(column="l.category")}
            WHERE o.customer_id IS NOT NULL
        """  # noqa: S608 - values quoted by sql_literal
    store.connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE affinity_masks AS
        SELECT mask, count(*) AS customers FROM (
            SELECT customer_id, bit_or(departments) AS mask FROM ({masks}) GROUP BY 1
        ) WHERE mask IS NOT NULL GROUP BY 1
        """  # noqa: S608 - values quoted by sql_literal
    )
    holds = "(m.mask >> {alias}.bit) & 1 = 1"
    counts = f"""
        SELECT d.department AS item, m.customers AS n
        FROM affinity_masks AS m JOIN departments AS d ON {holds.format(alias="d")}
    """  # noqa: S608 - constant names
    pairs = f"""
        SELECT a.department AS a, b.department AS b, m.customers AS n
        FROM affinity_masks AS m JOIN departments AS a ON {holds.format(alias="a")}
        JOIN departments AS b ON {holds.format(alias="b")} AND a.department < b.department
    """  # noqa: S608 - constant names
    baskets = "SELECT customers AS total FROM affinity_masks"
    rows = store.connection.execute(_ranked(counts, pairs, baskets, top)).fetchall()
    return _as_pairs(rows)


def _masks_fit(store: AnalyticsStore) -> bool:
    found = store.connection.execute("SELECT max(bit) FROM departments").fetchone()
    return found is None or found[0] is None or int(found[0]) < MAX_DEPARTMENTS


def _pair_table(
    name: str, title: str, label: str, pairs: list[tuple[str, str, int, int, int, int]]
) -> Table:
    columns = (
        Column("a", f"{label} A"),
        Column("b", f"{label} B"),
        Column("together", "Together", Unit.COUNT),
        Column("support", "Support", Unit.SHARE),
        Column("confidence_a_b", "Confidence A→B", Unit.SHARE),
        Column("confidence_b_a", "Confidence B→A", Unit.SHARE),
        Column("lift", "Lift", Unit.NUMBER),
    )
    rows: list[tuple[Cell, ...]] = [
        (a, b, n, n / total, n / na, n / nb, n * total / (na * nb))
        for a, b, n, na, nb, total in pairs
    ]
    return Table(name, title, columns, tuple(rows))


def affinity(store: AnalyticsStore, request: ReportRequest) -> Report:
    """Departments bought by the same customers, and products and categories bought in the
    same order: support, confidence and lift of the top pairs."""
    top = request.top
    if store.rollups and _masks_fit(store):
        split = month_split(window(request.period, request.timezone) if request.period else None)
        departments = _department_pairs_from_rollups(store, request, split, top)
        categories = _basket_pairs_from_rollups(store, request, split, "category", top)
        products = _basket_pairs_from_rollups(store, request, split, "product", top)
    else:
        lines = _lines(store, request)
        departments = _pairs(store, lines, "customer_id", "department", top)
        categories = _pairs(store, lines, "order_pk", "category", top)
        products = _pairs(store, lines, "order_pk", "product", top)
    department_table = _pair_table(
        "department_affinity",
        "Departments bought by the same customers",
        "Department",
        departments,
    )
    chart = Chart(
        "department_lift",
        ChartKind.BAR,
        "Lift of the departments most often bought by the same customers",
        tuple(f"{a} + {b}" for a, b, *_ in departments[:15]),
        (Series("lift", tuple(float(row[-1]) for row in department_table.rows[:15])),),  # type: ignore[arg-type]
        unit=Unit.NUMBER,
    )
    best = department_table.rows[0] if department_table.rows else None
    headline = (
        f"Customers who buy {best[0]} are {best[6]:.1f} times as likely as others to buy {best[1]}."
        if best
        else None
    )
    return assemble_report(
        NAME,
        TITLE,
        request,
        data_as_of=store.data_as_of,
        tables=[
            department_table,
            _pair_table("category_baskets", "Categories in the same order", "Category", categories),
            _pair_table("product_baskets", "Products in the same order", "Product", products),
        ],
        charts=[chart],
        notes=[
            headline,
            (
                "Over the orders of the period: support is the share of baskets (customers for "
                "departments, orders for categories and products) holding both, confidence "
                "A→B the share of baskets with A that also hold B, lift the confidence "
                "divided by B's share of all baskets (above 1: bought together more than "
                f"chance). Pairs seen together fewer than {MIN_PAIR_COUNT} times are left out; "
                "the top pairs by lift are shown."
            ),
            ANONYMOUS_NOTE,
        ],
    )
