"""The ``patron`` command line."""

from __future__ import annotations

import typer
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

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
from patron.cli.context import unmigrated_store
from patron.settings import InsecureSettingsError, Settings

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


def main() -> None:
    try:
        app()
    except DBAPIError as error:
        # A missing table or column is a store never migrated, or migrated by an older Patron:
        # say so instead of a database traceback.
        try:
            hint = unmigrated_store(Settings())
        except (ValidationError, InsecureSettingsError):
            hint = None
        if hint is None:
            raise
        typer.echo(f"error: {hint}", err=True)
        raise SystemExit(2) from error
