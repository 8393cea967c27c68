"""Engines and sessions for the embedded SQLite store and for PostgreSQL."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from patron.storage.types import json_deserializer, json_serializer

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from sqlalchemy import Connection, Table
    from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
    from sqlalchemy.dialects.sqlite import Insert as SQLiteInsert
    from sqlalchemy.orm import DeclarativeBase


def normalise_url(url: str) -> str:
    """Map user-facing URLs onto the drivers Patron ships (psycopg 3 for PostgreSQL)."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the single writer; FULL makes every commit durable before
    # the tracking API acknowledges it; the busy timeout rides out short write contention.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # 64 MB of page cache keeps the event log's unique index in memory as it grows.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """Create an engine for ``url``; for SQLite, make the file's folder if it is missing."""
    url = normalise_url(url)
    parsed = make_url(url)
    options: dict[str, Any] = {
        "json_serializer": json_serializer,
        "json_deserializer": json_deserializer,
    }
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **options)
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    return create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, **options
    )


def has_written(session: Session) -> bool:
    """Whether the session's transaction has written something not committed yet (pending
    ORM changes are flushed first). Known on SQLite, where Python's ``sqlite3`` opens a
    transaction at the first write; said True elsewhere."""
    session.flush()
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return True
    return bool(getattr(connection.connection.driver_connection, "in_transaction", True))


@contextmanager
def large_page_cache(session: Session, megabytes: int) -> Iterator[None]:
    """SQLite keeps up to ``megabytes`` of the store's pages in memory on the session's
    connection meanwhile (its usual cache is 64 MB): a transaction that rewrites hundreds of
    thousands of rows all over a large store's indexes then spills each changed page to the
    write-ahead log once, not again each time it is changed after being pushed out. Nothing
    changes on PostgreSQL."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size=-{int(megabytes) * 1024}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size={int(before or 0)}")


def refresh_statistics(session: Session, tables: Sequence[Table]) -> None:
    """Have PostgreSQL sample ``tables`` again, in a short transaction of its own.

    PostgreSQL plans a query by its statistics of the tables read, which autovacuum refreshes
    only a while after they changed. Right after hundreds of thousands of rows were written (an
    imported file resolved), a join it would answer through indexes in milliseconds is planned
    as hash joins of whole tables. A step about to run such joins many times calls this first.
    SQLite plans from its indexes alone here: nothing is done.
    """
    engine = session.get_bind().engine
    if engine.dialect.name != "postgresql" or not tables:
        return
    names = ", ".join(engine.dialect.identifier_preparer.format_table(table) for table in tables)
    with engine.connect() as connection:
        connection.exec_driver_sql(f"ANALYZE {names}")
        connection.commit()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def dialect_insert(
    connection: Connection | Session, table: Table | type[DeclarativeBase]
) -> SQLiteInsert | PostgresInsert:
    """An INSERT that can say ON CONFLICT on this connection's (or session's) engine."""
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    if bind.dialect.name == "sqlite":
        return sqlite.insert(table)
    return postgresql.insert(table)
