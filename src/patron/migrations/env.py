"""Alembic environment: one schema for SQLite (batch mode) and PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from alembic import context

from patron.migrations import metadata
from patron.storage import make_engine

if TYPE_CHECKING:
    from sqlalchemy import Connection


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        msg = "no database URL configured for migrations"
        raise RuntimeError(msg)
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as new_connection:
            _run(new_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    msg = "Patron migrates live databases only; offline SQL generation is not supported"
    raise RuntimeError(msg)
run_migrations_online()
