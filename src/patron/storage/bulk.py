"""Many rows through one statement, bound by the database driver itself.

SQLAlchemy's executemany builds and type-processes each row's parameters in Python, which is
most of the cost of writing a row of ten columns to SQLite; a resolve run writes hundreds of
thousands of rows. ``execute_many`` compiles the statement once for the connection's dialect
and hands the rows to the driver's own executemany. The caller gives values the driver takes
as they are (integers, floats, text, None) and converts any other value once, with
``bind_value``, into what SQLAlchemy would have bound for it.

Reading goes the same way: ``keys_join`` looks up thousands of composite keys in one statement
whose text does not depend on their number.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import orjson
from sqlalchemy import and_, bindparam, func
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from sqlalchemy import Column, ColumnElement, Connection, Dialect, FromClause
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
    dialect: Dialect,
    columns: Sequence[ColumnElement[Any]],
    keys: Sequence[Sequence[Any]],
    *,
    name: str = "wanted",
) -> tuple[FromClause, ColumnElement[bool]]:
    """A table of ``keys`` and the condition that joins it to ``columns``:
    ``select(...).select_from(table).join(other, condition)`` reads the rows whose ``columns``
    equal one of the keys, in one statement for any number of keys, each key's row found
    through the index on ``columns``.

    The keys travel as one bound value, so the statement's text is the same for any number of
    them (compiled once, then cached): one array per column ``unnest``ed on PostgreSQL, one
    JSON array of the keys read with ``json_each`` on SQLite. A row-value ``IN`` list says the
    same, but SQLite (3.40) answers it by scanning the whole table, and PostgreSQL plans
    thousands of tuples as thousands of index scans. Key members are what the driver binds as
    they are (integers, text); ``keys`` must not be empty.
    """
    if not keys:
        msg = "keys_join needs at least one key"
        raise ValueError(msg)
    table: FromClause
    members: list[ColumnElement[Any]]
    if dialect.name == "postgresql":
        names = [f"{name}_{number}" for number in range(len(columns))]
        arrays = [
            sql_cast(bindparam(array, [key[number] for key in keys]), postgresql.ARRAY(member.type))
            for number, (array, member) in enumerate(zip(names, columns, strict=True))
        ]
        table = func.unnest(*arrays).table_valued(*names).render_derived(name=name)
        members = [table.c[array] for array in names]
    else:
        each = func.json_each(bindparam(name, orjson.dumps([tuple(key) for key in keys]).decode()))
        table = each.table_valued("value").alias(name)
        members = [
            func.json_extract(table.c.value, f"$[{number}]") for number in range(len(columns))
        ]
    condition = and_(*(column == key for column, key in zip(columns, members, strict=True)))
    return table, condition
