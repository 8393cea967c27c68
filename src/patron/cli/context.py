"""What every command needs: settings and a connection to the store, built on demand."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from pydantic import ValidationError

from patron.settings import InsecureSettingsError, Settings
from patron.storage import make_engine, make_session_factory

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.orm import Session


def load_settings() -> Settings:
    try:
        return Settings()
    except (ValidationError, InsecureSettingsError) as error:
        typer.echo(f"error: invalid settings: {error}", err=True)
        raise typer.Exit(2) from error


@contextmanager
def session_scope(settings: Settings) -> Iterator[Session]:
    """A session committed on success and rolled back on error."""
    engine = make_engine(settings.database_url, pool_size=2)
    try:
        with make_session_factory(engine)() as session, session.begin():
            yield session
    finally:
        engine.dispose()
