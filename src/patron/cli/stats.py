"""``patron stats``: how much has been collected."""

from __future__ import annotations

import dataclasses
import json

import typer

from patron import identity, ingest
from patron.cli.context import load_settings, session_scope


def stats(as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON.")) -> None:
    """Counts of sources, events, failed events, source records, products, orders, carts,
    customers (distinct profiles after merges) and profile nodes."""
    settings = load_settings()
    with session_scope(settings) as session:
        counts = dataclasses.asdict(ingest.collection_stats(session))
        graph = identity.identity_stats(session)
    counts["customers"] = graph.customers
    counts["profile_nodes"] = graph.profile_nodes
    if as_json:
        typer.echo(json.dumps(counts))
        return
    for name, value in counts.items():
        typer.echo(f"{name.replace('_', ' '):<22}{value:>12,}")
