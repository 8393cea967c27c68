"""What every command needs: settings and a connection to the store, built on demand."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from patron import migrations
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


def unmigrated_store(settings: Settings) -> str | None:
    """What to tell the user when the store is not at the newest schema; None when it is, or
    when the store cannot be reached (the command's own error says that)."""
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        current, newest = migrations.revisions(engine)
    except DBAPIError:
        return None
    finally:
        engine.dispose()
    if current == newest:
        return None
    where = engine.url.render_as_string(hide_password=True)
    found = f"revision {current}" if current else "no schema"
    return (
        f"the store at {where} has {found}, and Patron needs revision {newest}: "
        "run patron db upgrade"
    )


def require_migrated_store(settings: Settings) -> None:
    """Exit with code 2 and say why when the store is not at the newest schema: a server or
    worker on such a store would answer every request with an error."""
    hint = unmigrated_store(settings)
    if hint is not None:
        typer.echo(f"error: {hint}", err=True)
        raise typer.Exit(2)
