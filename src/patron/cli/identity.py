"""``patron identity``: the workspace's identity rules."""

from __future__ import annotations

from pathlib import Path  # noqa: TC003 - Typer reads the annotations at run time

import orjson
import typer

from patron import identity
from patron.cli.context import load_settings, session_scope

app = typer.Typer(help="Identity resolution: the rules it follows.", no_args_is_help=True)
rules_app = typer.Typer(help="Show or replace the identity rules.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")


@rules_app.command("show")
def show(
    as_json: bool = typer.Option(False, "--json", help="Print only the rules as JSON."),
) -> None:
    """The rules in force: blocked values, limits, priority, custom identifiers, match
    thresholds and survivorship (the defaults until a version is saved)."""
    settings = load_settings()
    with session_scope(settings) as session:
        rules = identity.current_rules(session)
        version = identity.current_rules_version(session)
    document = rules.model_dump(mode="json")
    if as_json:
        typer.echo(orjson.dumps(document).decode())
        return
    typer.echo(f"identity rules: {'version ' + str(version) if version else 'defaults'}")
    typer.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())


@rules_app.command("set")
def set_(
    file: Path = typer.Argument(..., help="A JSON file of rules (see `rules show --json`)."),
    note: str | None = typer.Option(None, help="Why, kept with the version."),
) -> None:
    """Validate FILE and put it in force as a new version; a bad file changes nothing."""
    try:
        document = orjson.loads(file.read_bytes())
    except OSError as error:
        typer.echo(f"error: cannot read {file}: {error.strerror}", err=True)
        raise typer.Exit(2) from error
    except orjson.JSONDecodeError as error:
        typer.echo(f"error: {file} is not JSON: {error}", err=True)
        raise typer.Exit(2) from error
    try:
        rules = identity.parse_rules(document)
    except identity.RulesError as error:
        typer.echo(f"error: {file}: {error}", err=True)
        raise typer.Exit(2) from error
    settings = load_settings()
    with session_scope(settings) as session:
        version = identity.save_rules(session, rules, note=note)
    typer.echo(f"identity rules version {version} in force")
