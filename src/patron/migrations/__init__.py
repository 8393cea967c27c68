"""Alembic migrations of every package's tables, driven from Python (no alembic.ini)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

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
