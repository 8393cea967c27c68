"""The orders and carts a report reads: its period in the retailer's zone, its filters.

The views give times as naive UTC; a period is days in the retailer's time zone, so its bounds
are that zone's midnights turned into UTC. Every value written into SQL here is a literal
quoted by ``sql_literal`` (the filters are validated already; quoting is the second line).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from patron.analytics.contract import Report

if TYPE_CHECKING:
    from patron.analytics.contract import Chart, Filters, Period, ReportRequest, Table
    from patron.analytics.store import AnalyticsStore

# Trend buckets: weeks for periods up to this many days, months beyond.
WEEKLY_UP_TO_DAYS = 120


def sql_literal(value: str | int | datetime | date) -> str:
    """``value`` as a SQL literal (strings quoted, times as TIMESTAMP)."""
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, datetime):
        return f"TIMESTAMP '{value:%Y-%m-%d %H:%M:%S}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    return "'" + value.replace("'", "''") + "'"


def _in_list(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(sql_literal(v) for v in values)})"


@dataclass(frozen=True)
class Window:
    """Half-open ``[start, end)`` in naive UTC, as the views store times."""

    start: datetime
    end: datetime

    def condition(self, column: str) -> str:
        return f"{column} >= {sql_literal(self.start)} AND {column} < {sql_literal(self.end)}"


def utc_midnight(day: date, timezone: str) -> datetime:
    """The UTC time (naive) at which ``day`` begins in ``timezone``."""
    local = datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC).replace(tzinfo=None)


def window(period: Period, timezone: str) -> Window:
    """The UTC window of a period of local days."""
    return Window(
        utc_midnight(period.start, timezone),
        utc_midnight(period.end + timedelta(days=1), timezone),
    )


# Years whose offsets are written into the SQL; times outside fall back to DuckDB's ICU.
_FIRST_YEAR = 1990
_LAST_YEAR = 2060


def _offset_seconds(zone: ZoneInfo, at: datetime) -> int:
    offset = at.astimezone(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _transitions(zone: ZoneInfo, year: int) -> list[tuple[int, int]]:
    """The (UTC epoch second, new offset) changes of ``zone`` within ``year``."""
    points = [datetime(year, month, 1, tzinfo=UTC) for month in range(1, 13)]
    points.append(datetime(year + 1, 1, 1, tzinfo=UTC))
    found = []
    for before, after in itertools.pairwise(points):
        if _offset_seconds(zone, before) == _offset_seconds(zone, after):
            continue
        low, high = before, after
        while (high - low) > timedelta(seconds=1):
            middle = low + (high - low) / 2
            if _offset_seconds(zone, middle) == _offset_seconds(zone, before):
                low = middle
            else:
                high = middle
        high = high.replace(microsecond=0)
        found.append((int(high.timestamp()), _offset_seconds(zone, high)))
    return found


def _as_list(values: list[int]) -> str:
    return "[" + ", ".join(str(value) for value in values) + "]"


@functools.lru_cache(maxsize=16)
def _offset_lists(timezone: str) -> tuple[str, str, str, str, str] | None:
    """Per year from ``_FIRST_YEAR``: the offset at its start, its first and second change
    (epoch seconds) and the offsets after each, as SQL list literals; None if some year
    changes offset more than twice."""
    zone = ZoneInfo(timezone)
    starts, first_at, first, second_at, second = [], [], [], [], []
    for year in range(_FIRST_YEAR, _LAST_YEAR + 1):
        changes = _transitions(zone, year)
        if len(changes) > 2:
            return None
        start = _offset_seconds(zone, datetime(year, 1, 1, tzinfo=UTC))
        padded = [*changes, *([(2**62, start)] * (2 - len(changes)))]
        starts.append(start)
        first_at.append(padded[0][0])
        first.append(padded[0][1] if changes else start)
        second_at.append(padded[1][0])
        second.append(padded[1][1] if len(changes) == 2 else first[-1])
    return (
        _as_list(starts),
        _as_list(first_at),
        _as_list(first),
        _as_list(second_at),
        _as_list(second),
    )


def local_time(column: str, timezone: str) -> str:
    """SQL giving a naive UTC ``column`` as local time in ``timezone``.

    DuckDB's ``timezone()`` asks ICU row by row (measured: 4.5 s per million rows on a
    loaded machine); the zone's offsets per year are known in advance, so the SQL carries
    them as lists and picks one by the row's year, with ICU only for years outside them.
    """
    icu = f"timezone({sql_literal(timezone)}, {column} AT TIME ZONE 'UTC')"
    lists = _offset_lists(timezone)
    if lists is None:
        return icu
    starts, first_at, first, second_at, second = lists
    year = f"(year({column}) - {_FIRST_YEAR - 1})"
    epoch = f"epoch({column})"
    offset = (
        f"CASE WHEN {epoch} < {first_at}[{year}] THEN {starts}[{year}] "
        f"WHEN {epoch} < {second_at}[{year}] THEN {first}[{year}] "
        f"ELSE {second}[{year}] END"
    )
    return (
        f"CASE WHEN year({column}) BETWEEN {_FIRST_YEAR} AND {_LAST_YEAR} "
        f"THEN {column} + to_seconds({offset}) ELSE {icu} END"
    )


def order_conditions(filters: Filters, alias: str = "o") -> list[str]:
    """Conditions for the filters on orders (channel, store)."""
    found = []
    if filters.channels:
        found.append(_in_list(f"{alias}.channel", filters.channels))
    if filters.stores:
        found.append(_in_list(f"{alias}.store_id", filters.stores))
    return found


def cart_channel(column: str) -> str:
    """A cart's sales channel: carts tracked on the web are the e-shop's."""
    return f"CASE WHEN {column} = 'web' THEN 'eshop' ELSE {column} END"


def where(conditions: list[str]) -> str:
    return ("WHERE " + " AND ".join(conditions)) if conditions else ""


def scoped_orders(
    request: ReportRequest,
    currency: str | None,
    *,
    period: Period | None = None,
    until: Period | None = None,
) -> str:
    """SQL of the orders in scope: filtered, in ``currency``, in ``period`` (or, with
    ``until``, everything up to that period's end), with ``local_at`` in the retailer's zone.
    """
    conditions = order_conditions(request.filters)
    if currency is not None:
        conditions.append(f"o.currency = {sql_literal(currency)}")
    if period is not None:
        conditions.append(window(period, request.timezone).condition("o.ordered_at"))
    if until is not None:
        end = window(until, request.timezone).end
        conditions.append(f"o.ordered_at < {sql_literal(end)}")
    return (
        f"SELECT o.*, {local_time('o.ordered_at', request.timezone)} AS local_at "  # noqa: S608 - values quoted by sql_literal
        f"FROM orders_v AS o {where(conditions)}"
    )


@dataclass(frozen=True)
class Currency:
    """The currency money figures are given in, and how many orders were in others."""

    code: str | None
    other_orders: int
    others: tuple[str, ...]

    def note(self) -> str | None:
        if not self.other_orders:
            return None
        return (
            f"Money figures are in {self.code}; {self.other_orders:,} orders in "
            f"{', '.join(self.others)} are left out of them."
        )


def main_currency(store: AnalyticsStore, request: ReportRequest) -> Currency:
    """The currency most orders in scope were paid in (None when there are no orders)."""
    conditions = order_conditions(request.filters)
    if request.period is not None:
        conditions.append(window(request.period, request.timezone).condition("o.ordered_at"))
        counted = f"SELECT o.currency, count(*) AS n FROM orders_v AS o {where(conditions)}"  # noqa: S608 - values quoted by sql_literal
    elif store.rollups:
        # All the data: the per-customer rollup holds every order's currency and scope.
        counted = (
            f"SELECT o.currency, sum(o.orders) AS n FROM customer_scopes AS o {where(conditions)}"  # noqa: S608 - values quoted by sql_literal
        )
    else:
        counted = f"SELECT o.currency, count(*) AS n FROM orders_v AS o {where(conditions)}"  # noqa: S608 - values quoted by sql_literal
    rows = store.connection.execute(f"{counted} GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
    if not rows:
        return Currency(None, 0, ())
    return Currency(
        rows[0][0], sum(int(n) for _, n in rows[1:]), tuple(str(code) for code, _ in rows[1:])
    )


def bucket_sql(column: str, period_days: int | None) -> tuple[str, str]:
    """SQL of a trend bucket (week or month start) of a local time, and its name."""
    if period_days is not None and period_days <= WEEKLY_UP_TO_DAYS:
        return f"CAST(date_trunc('week', {column}) AS DATE)", "week"
    return f"CAST(date_trunc('month', {column}) AS DATE)", "month"


def change(current: float | None, previous: float | None) -> float | None:
    """Relative change from ``previous`` to ``current`` (None when it cannot be said)."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / previous


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


ANONYMOUS_NOTE = (
    "Customers are counted through the identity graph (one person across every channel and "
    "record); orders nobody could be identified for count in orders and revenue, never as "
    "customers."
)


def assemble_report(
    name: str,
    title: str,
    request: ReportRequest,
    *,
    tables: list[Table],
    charts: list[Chart],
    notes: list[str | None],
    data_as_of: datetime | None = None,
) -> Report:
    """A report over ``request``'s period and filters; empty notes are dropped."""
    return Report(
        name=name,
        title=title,
        period=request.period,
        comparison_period=request.comparison_period,
        filters=request.filters,
        tables=tuple(tables),
        charts=tuple(charts),
        notes=tuple(note for note in notes if note),
        generated_at=datetime.now(UTC),
        data_as_of=data_as_of,
        timezone=request.timezone,
    )
