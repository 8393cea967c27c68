"""Many rows through one statement, bound by the database driver itself.

SQLAlchemy's executemany builds and type-processes each row's parameters in Python, which is
most of the cost of writing a row of ten columns to SQLite; a resolve run writes hundreds of
thousands of rows. ``execute_many`` compiles the statement once for the connection's dialect
and hands the rows to the driver's own executemany. The caller gives values the driver takes
as they are (integers, floats, text, None) and converts any other value once, with
``bind_value``, into what SQLAlchemy would have bound for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import and_, column, values

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from sqlalchemy import CTE, Column, ColumnElement, Connection
    from sqlalchemy.sql.compiler import SQLCompiler
    from sqlalchemy.sql.expression import ClauseElement


def bind_value(connection: Connection, column: Column[Any], value: Any) -> Any:
    """``value`` as SQLAlchemy binds it for ``column`` on this connection's database (a
    timezone-aware time becomes SQLite's naive UTC text, for example)."""
    dialect = connection.dialect
    processor = column.type.dialect_impl(dialect).bind_processor(dialect)
    return value if processor is None else processor(value)


def execute_many(
    connection: Connection, statement: ClauseElement, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Execute ``statement`` once per row, in one driver call. Every row has the same keys,
    the statement's parameter names, with values the driver binds as they are; a column's
    Python-side default is not applied (give its value), and a row without one of the
    statement's parameters is a ``KeyError``."""
    if not rows:
        return
    compiled = statement.compile(dialect=connection.dialect, column_keys=list(rows[0]))
    # A statement compiles to SQL on a SQL dialect; only that compiler orders positional names.
    names = cast("SQLCompiler", compiled).positiontup
    # Named parameters (PostgreSQL's driver) take the rows as they are; positional ones
    # (SQLite's) in the statement's order.
    parameters: Sequence[Any] = (
        rows if names is None else [tuple(row[name] for name in names) for row in rows]
    )
    connection.exec_driver_sql(compiled.string, parameters)


def keys_join(
    columns: Sequence[ColumnElement[Any]], keys: Sequence[tuple[Any, ...]], *, name: str = "wanted"
) -> tuple[CTE, ColumnElement[bool]]:
    """A table of ``keys`` (a ``WITH name AS (VALUES ...)``) and the condition that joins it
    to ``columns``: ``select(...).select_from(table).join(other, condition)`` reads the rows
    whose ``columns`` equal one of the keys.

    A row-value ``IN (VALUES ...)`` says the same, but SQLite (3.40) answers it by scanning the
    whole table, however few the keys; joined from this table, it searches the table's index
    on ``columns`` once per key. ``keys`` must not be empty.
    """
    if not keys:
        msg = "keys_join needs at least one key"
        raise ValueError(msg)
    names = [f"{name}_{number}" for number in range(len(columns))]
    table = (
        values(
            *(column(key, member.type) for key, member in zip(names, columns, strict=True)),
            name=name,
        )
        .data(list(keys))
        .cte(name)
    )
    condition = and_(*(member == table.c[key] for key, member in zip(names, columns, strict=True)))
    return table, condition
