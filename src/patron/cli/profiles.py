"""``patron profiles``: customers as the identity graph sees them."""

from __future__ import annotations

import sys
from decimal import Decimal
from enum import StrEnum
from pathlib import Path  # noqa: TC003 - Typer reads the annotations at run time
from typing import IO

import orjson
import typer

from patron import identity, ingest, profiles
from patron.cli.context import load_settings, session_scope
from patron.storage import make_engine, make_session_factory

app = typer.Typer(help="Customers: the 360 view, search, export, golden records.")


class ExportFormat(StrEnum):
    JSONL = "jsonl"


def _print_json(content: object) -> None:
    typer.echo(orjson.dumps(content).decode())


def _money(minor: int, currency: str) -> str:
    try:
        exponent = ingest.currency_exponent(currency)
    except ingest.MoneyError:
        return f"{minor} {currency} (minor units)"
    return f"{Decimal(minor).scaleb(-exponent)} {currency}"


def _render(view: profiles.Customer360) -> None:
    golden = view.golden_values()
    name = " ".join(filter(None, (golden.get("first_name"), golden.get("last_name"))))
    typer.echo(f"customer {view.id}  {name or '(no name)'}")
    if view.requested_id != view.id:
        typer.echo(f"  (profile {view.requested_id} was merged into it)")
    typer.echo(f"  nodes: {', '.join(str(node) for node in view.nodes)}")
    typer.echo("golden record:")
    for attribute in view.golden:
        if attribute.value is not None:
            typer.echo(
                f"  {attribute.name:<14} {attribute.value:<36} "
                f"{attribute.source}/{attribute.record_id} by {attribute.rule}"
            )
    typer.echo("identifiers:")
    for found in view.identifiers:
        typer.echo(f"  {found.type:<14} {found.value:<36} {found.source or '-'}")
    typer.echo("source records:")
    for record in view.records:
        typer.echo(f"  {record.source}/{record.record_id}  ({record.channel})")
    typer.echo("merges:")
    for merge in view.merges:
        state = f" UNDONE: {merge.undone_reason}" if merge.undone_at else ""
        typer.echo(
            f"  #{merge.id} {merge.loser_id} -> {merge.winner_id} {merge.method} "
            f"{orjson.dumps(merge.reason).decode()}{state}"
        )
    typer.echo("timeline:")
    for entry in view.timeline.entries:
        what = f"{entry.type} {entry.name or ''}".strip()
        if entry.kind == "order":
            total = _money(entry.detail["total_minor"], entry.detail["currency"])
            what = f"order {entry.name} {total}"
        typer.echo(f"  {entry.at:%Y-%m-%d %H:%M}  {entry.channel:<6}{what}")
    if view.timeline.next_cursor:
        typer.echo(
            f"  more: GET /api/profiles/{view.id}/timeline?cursor={view.timeline.next_cursor}"
        )


@app.command()
def show(
    profile_id: int = typer.Argument(..., help="Any profile id (a merged one shows its customer)."),
    limit: int = typer.Option(20, min=1, max=profiles.MAX_TIMELINE_LIMIT, help="Timeline size."),
    as_json: bool = typer.Option(False, "--json", help="Print the customer 360 as JSON."),
) -> None:
    """A customer's golden record with lineage, identifiers, records, merges and timeline."""
    settings = load_settings()
    try:
        with session_scope(settings) as session:
            view = profiles.customer_360(session, profile_id, limit=limit)
    except profiles.ProfileNotFoundError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    if as_json:
        _print_json(view)
    else:
        _render(view)


@app.command()
def search(
    q: str = typer.Argument(..., help="A name, an email, a phone number or a loyalty card."),
    limit: int = typer.Option(20, min=1, max=100),
    as_json: bool = typer.Option(False, "--json", help="Print the matches as JSON."),
) -> None:
    """Find customers by name, email, phone or loyalty card."""
    settings = load_settings()
    try:
        with session_scope(settings) as session:
            found = profiles.search_profiles(
                session, q, region=settings.default_phone_region, limit=limit
            )
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    if as_json:
        _print_json(found)
        return
    if not found:
        typer.echo("no customer matches")
    for match in found:
        name = " ".join(filter(None, (match.first_name, match.last_name))) or "(no name)"
        typer.echo(
            f"{match.id:>10}  {name:<30}{match.email or '':<32}{match.phone or '':<16}"
            f"({', '.join(match.matched_on)})"
        )


@app.command()
def export(
    export_format: ExportFormat = typer.Option(ExportFormat.JSONL, "--format"),
    out: Path | None = typer.Option(None, "--out", help="Write to this file (default: stdout)."),
) -> None:
    """Every customer as one JSON line: {"id", "attributes", "records": [{"source", "id"}]}."""
    del export_format  # JSON lines is the one format
    settings = load_settings()
    target: IO[bytes]
    try:
        target = out.open("wb") if out is not None else sys.stdout.buffer
    except OSError as error:
        typer.echo(f"error: cannot write {out}: {error.strerror}", err=True)
        raise typer.Exit(2) from error
    try:
        with session_scope(settings) as session:
            count = profiles.export_customers(session, target.write)
    finally:
        if out is not None:
            target.close()
        else:
            target.flush()
    typer.echo(f"exported {count:,} customers{f' to {out}' if out else ''}", err=True)


@app.command()
def refresh() -> None:
    """Recompute every customer's golden record by the survivorship rules in force."""
    settings = load_settings()
    engine = make_engine(settings.database_url, pool_size=2)
    try:
        count = profiles.refresh_all_golden_records(make_session_factory(engine))
    finally:
        engine.dispose()
    typer.echo(f"refreshed the golden records of {count:,} customers")


def _render_explanation(found: identity.Explanation) -> None:
    typer.echo(f"customer {found.customer_id}")
    if found.requested_id != found.customer_id:
        typer.echo(f"  (profile {found.requested_id} was merged into it)")
    typer.echo("nodes:")
    for node in found.nodes:
        parent = f" merged into {node.merged_into_id}" if node.merged_into_id else " (root)"
        typer.echo(f"  {node.id}{parent}  created {node.created_at:%Y-%m-%d %H:%M}")
    typer.echo("identifiers:")
    for known in found.identifiers:
        typer.echo(
            f"  {known.type:<14}{known.value:<40} node {known.node_id:<8}"
            f"from {known.source or '-'} {known.first_seen:%Y-%m-%d %H:%M}"
        )
    typer.echo("source records:")
    for record in found.records:
        typer.echo(f"  {record.source}/{record.record_id}  node {record.node_id}")
    typer.echo("merges:")
    for merge in found.merges:
        state = ""
        if merge.undone_at is not None:
            state = f"  UNDONE {merge.undone_at:%Y-%m-%d %H:%M}: {merge.undone_reason}"
        typer.echo(
            f"  #{merge.id} {merge.loser_id} -> {merge.winner_id} {merge.method} "
            f"{merge.created_at:%Y-%m-%d %H:%M} {orjson.dumps(merge.reason).decode()}{state}"
        )
    typer.echo("blocks:")
    for block in found.blocks:
        typer.echo(
            f"  {block.profile_a_id} never with {block.profile_b_id} (merge #{block.merge_id})"
        )


@app.command()
def explain(
    profile_id: int = typer.Argument(..., help="Any profile id (a merged one shows its customer)."),
    as_json: bool = typer.Option(False, "--json", help="Print the explanation as JSON."),
) -> None:
    """Why a customer is who it is: its nodes, identifiers with their source, merges with their
    reasons, and the blocks left by undone merges."""
    settings = load_settings()
    try:
        with session_scope(settings) as session:
            found = identity.explain_profile(session, profile_id)
    except LookupError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    if as_json:
        _print_json(found)
    else:
        _render_explanation(found)


@app.command()
def unmerge(
    merge_id: int = typer.Argument(..., help="The merge to undo (see `patron profiles explain`)."),
    reason: str = typer.Option("undone by hand", "--reason", help="Why, kept with the merge."),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
) -> None:
    """Undo a merge: both customers come back with their events, orders and records, and the
    same merge is never made again automatically."""
    settings = load_settings()
    try:
        with session_scope(settings) as session:
            undone = profiles.undo_merge(session, merge_id, reason=reason)
    except LookupError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    if as_json:
        _print_json(undone)
        return
    first, second = undone.customer_ids
    typer.echo(f"merge #{merge_id} undone: customers {first} and {second} are separate again")
