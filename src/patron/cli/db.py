"""``patron db``: the schema."""

from __future__ import annotations

import typer

from patron import migrations
from patron.cli.context import load_settings

app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (the newest by default)."""
    settings = load_settings()
    migrations.upgrade(settings.database_url, revision)
    typer.echo(f"database at revision {revision}")


@app.command()
def revision(
    message: str = typer.Option(..., "-m", "--message", help="What the migration does."),
) -> None:
    """Write a new migration from the difference between the models and the schema.

    Generated against the database in PATRON_DATABASE_URL, which must be at the newest
    revision; review the file by hand before committing it.
    """
    settings = load_settings()
    path = migrations.new_revision(settings.database_url, message)
    typer.echo(f"written {path}: review it, then run the drift test")
