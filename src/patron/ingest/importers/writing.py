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

from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Integer, MetaData, Table, Text, select
from sqlalchemy.dialects import postgresql, sqlite

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy import Connection
    from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
    from sqlalchemy.dialects.sqlite import Insert as SQLiteInsert

_scratch = MetaData()
SEEN_KEYS = Table(
    "patron_import_seen_keys",
    _scratch,
    Column("key", Text, primary_key=True),
    Column("line", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
COUNTERS = Table(
    "patron_import_counters",
    _scratch,
    Column("key", Text, primary_key=True),
    Column("count", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)


def dialect_insert(connection: Connection, table: Table) -> SQLiteInsert | PostgresInsert:
    """An INSERT that can say ON CONFLICT on this connection's engine."""
    if connection.dialect.name == "sqlite":
        return sqlite.insert(table)
    return postgresql.insert(table)


def upsert_changed(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    key: Sequence[str],
    keep: Iterable[str] = ("id", "created_at"),
) -> None:
    """Insert ``rows``, or update the existing row with the same ``key`` if its content differs.

    Every row carries the same columns, including ``content_hash``; columns in ``keep`` are
    never overwritten.
    """
    if not rows:
        return
    insert = dialect_insert(connection, table)
    kept = {*key, *keep}
    statement = insert.on_conflict_do_update(
        index_elements=list(key),
        set_={name: insert.excluded[name] for name in rows[0] if name not in kept},
        where=table.c.content_hash != insert.excluded.content_hash,
    )
    connection.execute(statement, list(rows))


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

    def create(self) -> None:
        with self.connection.begin():
            _scratch.drop_all(self.connection)
            _scratch.create_all(self.connection)

    def drop(self) -> None:
        with self.connection.begin():
            _scratch.drop_all(self.connection)

    def claim_keys(self, keyed: Sequence[tuple[int, str]]) -> dict[int, int]:
        """Record the keys of a chunk's rows (line, key); the duplicates, line → first line.

        A key already seen, earlier in the chunk or in an earlier chunk, is a duplicate; its
        row is not recorded. Runs inside the chunk's transaction, so a chunk that fails
        leaves no trace.
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
        earlier = dict(
            self.connection.execute(
                select(SEEN_KEYS.c.key, SEEN_KEYS.c.line).where(SEEN_KEYS.c.key.in_(first))
            )
            .tuples()
            .all()
        )
        for line, key in keyed:
            if key in earlier and line not in duplicates:
                duplicates[line] = earlier[key]
        new = [{"key": k, "line": n} for k, n in first.items() if k not in earlier]
        if new:
            self.connection.execute(SEEN_KEYS.insert(), new)
        return duplicates

    def counts(self, keys: Iterable[str]) -> dict[str, int]:
        """The stored counters for ``keys`` (missing ones are 0)."""
        wanted = set(keys)
        if not wanted:
            return {}
        found = dict(
            self.connection.execute(
                select(COUNTERS.c.key, COUNTERS.c.count).where(COUNTERS.c.key.in_(wanted))
            )
            .tuples()
            .all()
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
