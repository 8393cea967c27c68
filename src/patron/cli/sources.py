"""``patron sources``: channels that send data, and their write keys."""

from __future__ import annotations

import json

import typer

from patron import ingest
from patron.cli.context import load_settings, session_scope

app = typer.Typer(help="Create and list data sources.", no_args_is_help=True)


@app.command()
def create(
    name: str,
    channel: ingest.Channel = typer.Option(..., help="The channel this source speaks for."),
    region: str | None = typer.Option(
        None, help="Default region (ISO 3166 alpha-2) for national phone numbers."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the new source as JSON."),
) -> None:
    """Create a source and print its write key (shown this once only)."""
    settings = load_settings()
    try:
        with session_scope(settings) as session:
            created = ingest.create_source(session, name, channel, default_region=region)
    except (ingest.SourceExistsError, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "id": created.source.id,
                    "name": created.source.name,
                    "channel": created.source.channel.value,
                    "write_key": created.write_key,
                }
            )
        )
        return
    typer.echo(f"source {created.source.name} ({created.source.channel.value}) created")
    typer.echo(f"write key: {created.write_key}")
    typer.echo("keep it safe: it is stored hashed and cannot be shown again")


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json")) -> None:
    """List sources (their keys are never shown again; only the first characters)."""
    settings = load_settings()
    with session_scope(settings) as session:
        found = ingest.list_sources(session)
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "id": s.id,
                        "name": s.name,
                        "channel": s.channel.value,
                        "key_hint": s.write_key_hint,
                    }
                    for s in found
                ]
            )
        )
        return
    for s in found:
        typer.echo(f"{s.id:>4}  {s.name:<30} {s.channel.value:<6} {s.write_key_hint}…")
