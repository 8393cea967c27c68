"""What a report is: the request it answers and the result every renderer draws.

A report is data: tables of typed columns, charts of named series and notes in words. Money
is always an integer count of minor units with its currency (in the column), shares are
fractions between 0 and 1, counts are integers. The same result renders as a terminal table,
JSON, CSV, an HTML page or a PNG image; nothing in a report knows how it will be drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from patron.analytics.store import AnalyticsStore


class Unit(StrEnum):
    """What the numbers of a column or a chart mean."""

    TEXT = "text"
    COUNT = "count"
    # Integer minor units of the column's currency (pence, cents).
    MONEY = "money"
    # A fraction between 0 and 1 (rendered as a percentage).
    SHARE = "share"
    # A plain number with decimals: orders per customer, lift, a multiple.
    NUMBER = "number"
    DATE = "date"


class ChartKind(StrEnum):
    LINE = "line"
    BAR = "bar"
    # Series stacked on one bar per category.
    STACKED_BAR = "stacked-bar"
    # One row per series, one cell per category, the value as a colour.
    HEATMAP = "heatmap"


class Comparison(StrEnum):
    """Which period a report sets beside the requested one."""

    NONE = "none"
    # The period of the same length just before.
    PREVIOUS_PERIOD = "previous-period"
    # The same dates a year earlier.
    PREVIOUS_YEAR = "previous-year"


Cell = str | int | float | date | None


@dataclass(frozen=True)
class Column:
    """A column of a table: its key (stable, for machines), label (for people) and unit."""

    key: str
    label: str
    unit: Unit = Unit.TEXT
    currency: str | None = None


@dataclass(frozen=True)
class Table:
    """Rows of cells, one per column, in column order."""

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                msg = f"table {self.name}: a row has {len(row)} cells for {len(self.columns)}"
                raise ValueError(msg)

    def column(self, key: str) -> tuple[Cell, ...]:
        """The cells of the column ``key``; ``KeyError`` if there is no such column."""
        index = next((i for i, c in enumerate(self.columns) if c.key == key), None)
        if index is None:
            raise KeyError(key)
        return tuple(row[index] for row in self.rows)

    def records(self) -> list[dict[str, Cell]]:
        """The rows as dicts keyed by column key."""
        keys = [column.key for column in self.columns]
        return [dict(zip(keys, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class Series:
    """A named line, bar or heatmap row: one value per category of its chart."""

    name: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class Chart:
    """A chart: categories along x, one or more series of values in ``unit``."""

    name: str
    kind: ChartKind
    title: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    unit: Unit = Unit.COUNT
    currency: str | None = None
    x_label: str = ""
    y_label: str = ""

    def __post_init__(self) -> None:
        for one in self.series:
            if len(one.values) != len(self.categories):
                msg = (
                    f"chart {self.name}: series {one.name} has {len(one.values)} values for "
                    f"{len(self.categories)} categories"
                )
                raise ValueError(msg)


@dataclass(frozen=True)
class Period:
    """Days ``start`` to ``end``, both included, in the retailer's time zone."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            msg = f"the period ends ({self.end}) before it starts ({self.start})"
            raise ValueError(msg)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __str__(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()}"


@dataclass(frozen=True)
class Filters:
    """Which orders, carts and customers a report looks at; empty means all."""

    channels: tuple[str, ...] = ()
    stores: tuple[str, ...] = ()
    # A segment's name; reserved for the segments engine (not yet applied).
    segment: str | None = None

    def describe(self) -> dict[str, list[str]]:
        """The filters in force, for people and machines (empty filters left out)."""
        applied: dict[str, list[str]] = {}
        if self.channels:
            applied["channel"] = list(self.channels)
        if self.stores:
            applied["store"] = list(self.stores)
        if self.segment:
            applied["segment"] = [self.segment]
        return applied


@dataclass(frozen=True)
class ReportRequest:
    """What a report is asked for.

    ``period`` None means all the data there is. ``timezone`` is the retailer's IANA zone:
    days, weeks and months are counted in it. ``today`` is the local date the relative
    periods were measured from. ``top`` bounds ranked lists (pairs of products, segments).
    """

    period: Period | None = None
    comparison: Comparison = Comparison.NONE
    filters: Filters = field(default_factory=Filters)
    timezone: str = "UTC"
    today: date | None = None
    top: int = 20

    @property
    def comparison_period(self) -> Period | None:
        """The period to compare with, or None (no comparison, or no bounded period)."""
        if self.period is None or self.comparison is Comparison.NONE:
            return None
        if self.comparison is Comparison.PREVIOUS_PERIOD:
            end = date.fromordinal(self.period.start.toordinal() - 1)
            start = date.fromordinal(end.toordinal() - self.period.days + 1)
            return Period(start, end)
        return Period(_year_earlier(self.period.start), _year_earlier(self.period.end))


def _year_earlier(day: date) -> date:
    # 29 February a year earlier is 28 February.
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


@dataclass(frozen=True)
class Report:
    """A report's result: what was asked, what was found, and what to read it with."""

    name: str
    title: str
    period: Period | None
    comparison_period: Period | None
    filters: Filters
    tables: tuple[Table, ...]
    charts: tuple[Chart, ...] = ()
    # Sentences for people: the headline first, then definitions and caveats.
    notes: tuple[str, ...] = ()
    generated_at: datetime | None = None
    # When the data read is a snapshot, the time it was taken (UTC); None for the live store.
    data_as_of: datetime | None = None
    timezone: str = "UTC"

    def table(self, name: str) -> Table:
        """The table called ``name``; ``KeyError`` if the report has none."""
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)

    def chart(self, name: str) -> Chart:
        """The chart called ``name``; ``KeyError`` if the report has none."""
        for chart in self.charts:
            if chart.name == name:
                return chart
        raise KeyError(name)


ReportFunction: TypeAlias = "Callable[[AnalyticsStore, ReportRequest], Report]"


@dataclass(frozen=True)
class ReportDefinition:
    """A report that can be asked for by name: ``run(store, request)`` builds it."""

    name: str
    title: str
    description: str
    run: ReportFunction


class UnknownReportError(LookupError):
    """No report has that name."""


class ReportRegistry:
    """The reports that can be asked for by name, in the order they were listed.

    Immutable: ``including`` gives a new registry with more reports, so a composition root
    can add reports of other packages (model quality from predictions) without this package
    knowing them.
    """

    def __init__(self, definitions: tuple[ReportDefinition, ...] = ()) -> None:
        names = [definition.name for definition in definitions]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            msg = f"reports listed twice: {', '.join(duplicates)}"
            raise ValueError(msg)
        self._definitions = definitions

    def including(self, *definitions: ReportDefinition) -> ReportRegistry:
        """A registry with these reports added after the ones already here."""
        return ReportRegistry(self._definitions + definitions)

    def __iter__(self) -> Iterator[ReportDefinition]:
        return iter(self._definitions)

    @property
    def definitions(self) -> tuple[ReportDefinition, ...]:
        return self._definitions

    def names(self) -> tuple[str, ...]:
        return tuple(definition.name for definition in self._definitions)

    def get(self, name: str) -> ReportDefinition:
        """The report called ``name``; ``UnknownReportError`` naming the known ones if none."""
        for definition in self._definitions:
            if definition.name == name:
                return definition
        msg = f"no report called {name!r}; the reports are: {', '.join(self.names())}"
        raise UnknownReportError(msg)
