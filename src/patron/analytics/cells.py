"""How a cell reads for people: money in major units, shares as percentages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from patron import ingest
from patron.analytics.contract import Cell, Column, Unit


def _exponent(currency: str | None) -> int:
    if currency is None:
        return 2
    try:
        return ingest.currency_exponent(currency)
    except ingest.MoneyError:
        return 2


def axis_scale(unit: Unit, currency: str | None) -> float:
    """The factor that turns stored values into what a chart's axis shows."""
    if unit is Unit.MONEY:
        return float(10 ** -_exponent(currency))
    if unit is Unit.SHARE:
        return 100.0
    return 1.0


def plain_value(column: Column, cell: Cell) -> str:
    """The cell for a machine-readable text file (CSV): money in major units, no grouping."""
    if cell is None:
        return ""
    if isinstance(cell, date):
        return cell.isoformat()
    if column.unit is Unit.MONEY and isinstance(cell, int | float):
        exponent = _exponent(column.currency)
        return str(Decimal(round(cell)).scaleb(-exponent))
    if column.unit is Unit.SHARE and isinstance(cell, int | float):
        return f"{cell:.4f}"
    if column.unit is Unit.NUMBER and isinstance(cell, float):
        return f"{cell:.3f}"
    return str(cell)


def display_value(column: Column, cell: Cell) -> str:
    """The cell for people: grouped thousands, money with its currency, shares in %."""
    if cell is None:
        return "-"
    if isinstance(cell, str):
        return cell
    if isinstance(cell, date):
        return cell.isoformat()
    if column.unit is Unit.MONEY:
        exponent = _exponent(column.currency)
        amount = Decimal(round(cell)).scaleb(-exponent)
        return f"{amount:,.{exponent}f}"
    if column.unit is Unit.SHARE:
        return f"{cell * 100:.1f}%"
    if column.unit is Unit.NUMBER:
        return f"{cell:,.2f}"
    if isinstance(cell, float):
        return f"{cell:,.2f}"
    return f"{cell:,}"


def column_heading(column: Column) -> str:
    """The column's label with its unit when the unit is not obvious from the cells."""
    if column.unit is Unit.MONEY and column.currency:
        return f"{column.label} ({column.currency})"
    return column.label
