"""``patron review``: the pairs probabilistic matching was unsure about."""

from __future__ import annotations

import getpass
import json

import typer

from patron import identity
from patron.cli.context import load_settings, session_scope

app = typer.Typer(help="Review possible duplicate customers.", no_args_is_help=True)


def _who(decided_by: str | None) -> str:
    return decided_by or f"cli:{getpass.getuser()}"


def _describe(record: identity.RecordSummary) -> str:
    name = " ".join(part for part in (record.first_name, record.last_name) if part) or "-"
    details = ", ".join(
        value for value in (record.email, record.phone, record.birth_date, record.postcode) if value
    )
    return f"{record.source}:{record.record_id} {name} ({details or 'no details'})"


@app.command("list")
def list_(
    status: str = typer.Option(
        "review", help="review (waiting), merged, accepted, rejected, or all."
    ),
    limit: int = typer.Option(50, min=1, max=1000),
    offset: int = typer.Option(0, min=0),
    as_json: bool = typer.Option(False, "--json", help="Print the pairs as JSON."),
) -> None:
    """List scored pairs, the most likely first (the review queue by default)."""
    settings = load_settings()
    wanted = None if status == "all" else status
    with session_scope(settings) as session:
        pairs = identity.list_match_pairs(session, status=wanted, limit=limit, offset=offset)
        total = identity.count_match_pairs(session, status=wanted)
    if as_json:
        typer.echo(json.dumps({"total": total, "pairs": [p.as_json() for p in pairs]}))
        return
    for pair in pairs:
        if pair.probability is None:  # held apart by a rule, not scored
            reason = (pair.reason or {}).get("text", "held apart by a rule")
            typer.echo(f"#{pair.id}  rule: {reason}  {pair.status}")
        else:
            typer.echo(f"#{pair.id}  p={pair.probability:.4f}  {pair.status}")
        typer.echo(f"    {_describe(pair.record_a)}")
        typer.echo(f"    {_describe(pair.record_b)}")
        levels = ", ".join(
            f"{field}: {detail['level']}" for field, detail in pair.contributions.items()
        )
        if levels:
            typer.echo(f"    {levels}")
    typer.echo(f"{len(pairs)} of {total} pairs")


def _decide(pair_id: int, decided_by: str | None, *, accept: bool) -> None:
    settings = load_settings()
    try:
        with session_scope(settings) as session:
            if accept:
                decision = identity.accept_match_pair(session, pair_id, decided_by=_who(decided_by))
            else:
                decision = identity.reject_match_pair(session, pair_id, decided_by=_who(decided_by))
    except identity.PairDecidedError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    except LookupError as error:
        typer.echo(f"error: {error.args[0]}", err=True)
        raise typer.Exit(1) from error
    if decision.status == "accepted":
        if decision.merge_status == "merged":
            typer.echo(f"pair {pair_id} accepted: merge {decision.merge_id}")
        elif decision.merge_status == "same":
            typer.echo(f"pair {pair_id} accepted: already one customer")
        else:
            typer.echo(f"pair {pair_id} accepted, but an undone merge blocks joining them")
    else:
        typer.echo(f"pair {pair_id} rejected: these customers will not be merged")


@app.command()
def accept(
    pair_id: int,
    decided_by: str | None = typer.Option(None, "--by", help="Who decides (default: you)."),
) -> None:
    """Accept a pair: merge the two customers (method manual)."""
    _decide(pair_id, decided_by, accept=True)


@app.command()
def reject(
    pair_id: int,
    decided_by: str | None = typer.Option(None, "--by", help="Who decides (default: you)."),
) -> None:
    """Reject a pair: they are different people, and will never be merged automatically."""
    _decide(pair_id, decided_by, accept=False)
