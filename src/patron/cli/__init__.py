"""The ``patron`` command line."""

from __future__ import annotations

import typer

from patron.cli import db, sources

app = typer.Typer(
    name="patron",
    help="Patron: customer data platform and CRM for omnichannel retail.",
    no_args_is_help=True,
)
app.add_typer(db.app, name="db")
app.add_typer(sources.app, name="sources")


def main() -> None:
    app()
