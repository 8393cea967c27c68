"""The ``patron`` command line."""

from __future__ import annotations

import typer
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from patron import migrations
from patron.cli import (
    analytics,
    db,
    demo,
    events,
    identity,
    imports,
    predict,
    profiles,
    report,
    resolve,
    review,
    serve,
    sources,
    stats,
    world,
)
from patron.settings import InsecureSettingsError, Settings
from patron.storage import make_engine

app = typer.Typer(
    name="patron",
    help="Patron: customer data platform and CRM for omnichannel retail.",
    no_args_is_help=True,
)
app.add_typer(db.app, name="db")
app.add_typer(sources.app, name="sources")
app.add_typer(imports.app, name="import")
app.add_typer(world.app, name="world")
app.add_typer(events.app, name="events")
app.add_typer(review.app, name="review")
app.add_typer(profiles.app, name="profiles")
app.add_typer(identity.app, name="identity")
app.add_typer(analytics.app, name="analytics")
app.command()(serve.serve)
app.command()(serve.worker)
app.command()(stats.stats)
app.command()(demo.demo)
app.command()(resolve.resolve)
app.command("predict")(predict.predict_command)
app.add_typer(predict.models_app, name="models")
app.command()(report.report)


def _unmigrated_store() -> str | None:
    """What to tell the user when the store is not at the newest schema, else None."""
    try:
        settings = Settings()
    except (ValidationError, InsecureSettingsError):
        return None
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


def main() -> None:
    try:
        app()
    except DBAPIError as error:
        # A missing table or column is a store never migrated, or migrated by an older Patron:
        # say so instead of a database traceback.
        hint = _unmigrated_store()
        if hint is None:
            raise
        typer.echo(f"error: {hint}", err=True)
        raise SystemExit(2) from error
