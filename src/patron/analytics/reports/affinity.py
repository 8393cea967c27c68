"""Affinity: which categories the same customers buy, which products share a basket."""

from __future__ import annotations

from typing import TYPE_CHECKING

from patron.analytics.contract import Chart, ChartKind, Column, Series, Table, Unit
from patron.analytics.scope import ANONYMOUS_NOTE, assemble_report, scoped_orders

if TYPE_CHECKING:
    from patron.analytics.contract import Cell, Report, ReportRequest
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
    lines = _lines(store, request)
    top = request.top
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
