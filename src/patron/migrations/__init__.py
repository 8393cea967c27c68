"""Alembic migrations of every package's tables, driven from Python (no alembic.ini)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

import patron.identity
import patron.ingest
import patron.predict
import patron.profiles  # noqa: F401
from patron.storage import Base, normalise_url

if TYPE_CHECKING:
    from sqlalchemy import Engine

metadata = Base.metadata


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", "patron:migrations")
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (the newest by default)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def revisions(engine: Engine) -> tuple[str | None, str | None]:
    """The revision the database at ``engine`` is at (None: never migrated) and the newest
    revision there is."""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    newest = ScriptDirectory.from_config(alembic_config(str(engine.url))).get_current_head()
    return current, newest


def schema_drift(engine: Engine) -> list[object]:
    """The differences between the models and the migrated database (empty when in step)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        return list(compare_metadata(context, metadata))


def new_revision(url: str, message: str) -> str:
    """Autogenerate a migration script for what the models add; returns its path."""
    script = command.revision(alembic_config(url), message=message, autogenerate=True)
    if script is None or isinstance(script, list):
        msg = "alembic produced no single revision"
        raise RuntimeError(msg)
    return str(script.path)
