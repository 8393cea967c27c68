"""Writing chunks of rows: upserts keyed by the source's ids, and the import's scratch tables.

An upsert writes only rows whose content changed (``ON CONFLICT DO UPDATE ... WHERE
content_hash differs``, on SQLite and PostgreSQL alike), so re-importing a file leaves the
rows and their ``updated_at`` alone.

The scratch tables are temporary tables on the import's own connection. They remember every
key seen in the file, to reject a duplicate id however far apart the two rows are, and count
each order's lines, without keeping the file's ids in memory: a file of any size imports in
the same memory.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Integer,
    MetaData,
    Table,
    Text,
    bindparam,
    select,
)

from patron.storage import UTCDateTime, dialect_insert

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from sqlalchemy import Connection, Insert

_scratch = MetaData()
SEEN_KEYS = Table(
    "patron_import_seen_keys",
    _scratch,
    Column("key", Text, primary_key=True),
    Column("line", Integer, nullable=False, index=True),
    prefixes=["TEMPORARY"],
)
COUNTERS = Table(
    "patron_import_counters",
    _scratch,
    Column("key", Text, primary_key=True),
    Column("count", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)


def _sqlite_time(moment: datetime) -> str:
    # The text SQLAlchemy's SQLite DateTime writes (naive UTC, microseconds), so that rows
    # written here and through the ORM compare and sort alike.
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        msg = f"naive datetime {moment!r}: Patron stores only timezone-aware times"
        raise ValueError(msg)
    return moment


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _encoder(column: Column[Any], dialect: str) -> Callable[[Any], Any] | None:
    """How a value of ``column`` goes to the driver, as SQLAlchemy's types would bind it."""
    kind = column.type
    sqlite_dialect = dialect == "sqlite"
    encode: Callable[[Any], Any] | None = None
    if isinstance(kind, UTCDateTime):
        encode = _sqlite_time if sqlite_dialect else _aware
    elif isinstance(kind, JSON):
        encode = _json
    elif isinstance(kind, Date) and sqlite_dialect:
        encode = date.isoformat
    elif isinstance(kind, Boolean) and sqlite_dialect:
        encode = int
    if encode is None:
        return None
    checked = encode
    return lambda value: None if value is None else checked(value)


class BulkInsert:
    """An INSERT (maybe ... ON CONFLICT) compiled once, run for many rows at driver level.

    Going through SQLAlchemy's per-row parameter processing costs more than the insert
    itself, so the values are encoded here the way the column types would encode them (rows
    written either way are alike). SQLite takes the rows with one ``executemany``;
    PostgreSQL takes the whole chunk as one statement over ``unnest`` of one array per
    column, which saves a round trip per row.
    """

    def __init__(
        self, connection: Connection, table: Table, statement: Insert, columns: Sequence[str]
    ) -> None:
        dialect = connection.dialect
        # inline(): no RETURNING of the new primary keys, which nothing here reads.
        bound = statement.values({name: bindparam(name) for name in columns}).inline()
        compiled = bound.compile(dialect=dialect)
        self._arrays = dialect.name == "postgresql"
        if self._arrays:
            values = _VALUES.search(compiled.string)
            if values is None:  # pragma: no cover - SQLAlchemy always writes one VALUES clause
                msg = f"cannot find the VALUES clause in {compiled.string!r}"
                raise RuntimeError(msg)
            order = _PYFORMAT_NAME.findall(values.group(1))
            arrays = ", ".join(
                f"%({name})s::{table.c[name].type.compile(dialect=dialect)}[]" for name in order
            )
            # SQLAlchemy's own text and placeholders, with its VALUES row swapped for arrays.
            before, after = compiled.string[: values.start()], compiled.string[values.end() :]
            self._sql = f"{before}SELECT * FROM unnest({arrays}){after}"  # noqa: S608
        else:
            order = list(compiled.positiontup or ())
            self._sql = compiled.string
        self._order = order
        self._values = itemgetter(*order)
        self._encoders = [
            (index, encode)
            for index, name in enumerate(order)
            if (encode := _encoder(table.c[name], dialect.name)) is not None
        ]

    def _encoded(self, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        encoded: list[tuple[Any, ...]] = []
        single = len(self._order) == 1
        for row in rows:
            values = [row[self._order[0]]] if single else list(self._values(row))
            for index, encode in self._encoders:
                values[index] = encode(values[index])
            encoded.append(tuple(values))
        return encoded

    def execute(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        encoded = self._encoded(rows)
        if self._arrays:
            columns = zip(*encoded, strict=True)
            params = {name: list(values) for name, values in zip(self._order, columns, strict=True)}
            connection.exec_driver_sql(self._sql, params)
        else:
            connection.exec_driver_sql(self._sql, encoded)


# The one row of values SQLAlchemy writes, up to the ON CONFLICT clause if there is one.
_VALUES = re.compile(r"VALUES \((.*?)\)(?= ON CONFLICT|$)", re.DOTALL)
_PYFORMAT_NAME = re.compile(r"%\((\w+)\)s")
_STATEMENTS: dict[tuple[str, ...], BulkInsert] = {}


def _statement(
    connection: Connection, table: Table, columns: Sequence[str], build: Callable[[], Insert]
) -> BulkInsert:
    # The compiled text depends only on the dialect, the table and the columns.
    cache_key = (connection.dialect.name, table.name, *columns, build.__name__)
    statement = _STATEMENTS.get(cache_key)
    if statement is None:
        statement = _STATEMENTS[cache_key] = BulkInsert(connection, table, build(), columns)
    return statement


def upsert_changed(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    keep: Iterable[str] = ("id", "created_at"),
) -> None:
    """Insert ``rows``, or update the row with the same ``key`` when its content differs.

    Every row carries the same columns, including ``content_hash``; the columns in ``keep``
    are never overwritten.
    """
    if not rows:
        return
    columns = list(rows[0])
    kept = {*key, *keep}

    def upsert() -> Insert:
        insert = dialect_insert(connection, table)
        return insert.on_conflict_do_update(
            index_elements=list(key),
            set_={name: insert.excluded[name] for name in columns if name not in kept},
            where=table.c.content_hash != insert.excluded.content_hash,
        )

    _statement(connection, table, columns, upsert).execute(connection, rows)


def replace_by_key(
    connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *, key: Sequence[str]
) -> None:
    """Insert ``rows``, or overwrite the row with the same ``key`` (for rows known to differ)."""
    if not rows:
        return
    columns = list(rows[0])

    def overwrite() -> Insert:
        insert = dialect_insert(connection, table)
        return insert.on_conflict_do_update(
            index_elements=list(key),
            set_={name: insert.excluded[name] for name in columns if name not in key},
        )

    _statement(connection, table, columns, overwrite).execute(connection, rows)


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (all with the same columns)."""
    if not rows:
        return
    columns = list(rows[0])

    def plain() -> Insert:
        return dialect_insert(connection, table)

    _statement(connection, table, columns, plain).execute(connection, rows)


def insert_missing(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]], *, key: Sequence[str]
) -> None:
    """Insert ``rows`` whose ``key`` is not there yet; leave existing ones as they are."""
    if rows:
        insert = dialect_insert(connection, table)
        connection.execute(insert.on_conflict_do_nothing(index_elements=list(key)), list(rows))


class Scratch:
    """The import's temporary tables, on one connection held for the whole import."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._claim: BulkInsert | None = None

    def create(self) -> None:
        with self.connection.begin():
            _scratch.drop_all(self.connection)
            _scratch.create_all(self.connection)

    def drop(self) -> None:
        """Drop the tables, so that the pooled connection goes back clean.

        If the connection has failed (the error that ended the import is already on its
        way up), there is nothing to clean: temporary tables end with their connection.
        """
        if self.connection.invalidated:
            return
        with self.connection.begin():
            _scratch.drop_all(self.connection)

    def claim_keys(self, keyed: Sequence[tuple[int, str]]) -> dict[int, int]:
        """Record the keys of a chunk's rows (line, key); the duplicates, line → first line.

        A key already seen, earlier in the chunk or in an earlier chunk, is a duplicate; its
        row is not recorded. Runs inside the chunk's transaction, so a chunk that fails
        leaves no trace. Lines only grow through a file, so the keys this chunk recorded are
        those from its first line on: no look-up of each key is needed.
        """
        first: dict[str, int] = {}
        duplicates: dict[int, int] = {}
        for line, key in keyed:
            if key in first:
                duplicates[line] = first[key]
            else:
                first[key] = line
        if not first:
            return duplicates
        if self._claim is None:
            insert = dialect_insert(self.connection, SEEN_KEYS).on_conflict_do_nothing()
            self._claim = BulkInsert(self.connection, SEEN_KEYS, insert, ("key", "line"))
        self._claim.execute(self.connection, [{"key": k, "line": n} for k, n in first.items()])
        start = min(first.values())
        recorded = set(
            self.connection.scalars(select(SEEN_KEYS.c.key).where(SEEN_KEYS.c.line >= start))
        )
        earlier = [key for key in first if key not in recorded]
        if earlier:
            lines = dict(
                self.connection.execute(
                    select(SEEN_KEYS.c.key, SEEN_KEYS.c.line).where(SEEN_KEYS.c.key.in_(earlier))
                ).all()
            )
            for key in earlier:
                duplicates[first[key]] = lines[key]
            for line, key in keyed:
                if line not in duplicates and key in lines:
                    duplicates[line] = lines[key]
        return duplicates

    def counts(self, keys: Iterable[str]) -> dict[str, int]:
        """The stored counters for ``keys`` (missing ones are 0)."""
        wanted = set(keys)
        if not wanted:
            return {}
        found = dict(
            self.connection.execute(
                select(COUNTERS.c.key, COUNTERS.c.count).where(COUNTERS.c.key.in_(wanted))
            ).all()
        )
        return {key: found.get(key, 0) for key in wanted}

    def store_counts(self, counts: dict[str, int]) -> None:
        if not counts:
            return
        insert = dialect_insert(self.connection, COUNTERS)
        statement = insert.on_conflict_do_update(
            index_elements=["key"], set_={"count": insert.excluded["count"]}
        )
        self.connection.execute(statement, [{"key": k, "count": n} for k, n in counts.items()])
