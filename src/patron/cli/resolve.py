"""``patron resolve``: probabilistic matching of source customer records (batch)."""

from __future__ import annotations

import json

import typer

from patron import identity
from patron.cli.context import load_settings, session_scope


def resolve(
    *,
    train: bool = typer.Option(
        False, "--train", help="Train a new model version (otherwise the newest is reused)."
    ),
    backend: identity.MatchBackend = typer.Option(
        identity.MatchBackend.DUCKDB, help="Where Splink scores the pairs."
    ),
    auto_merge: float | None = typer.Option(
        None,
        "--auto-merge",
        min=0.0,
        max=1.0,
        help="Merge pairs at or above this probability (default: the identity rules).",
    ),
    review: float | None = typer.Option(
        None,
        "--review",
        min=0.0,
        max=1.0,
        help="Queue pairs at or above this probability for review (default: the rules).",
    ),
    spark_master: str = typer.Option("local[*]", help="Spark master URL, with --backend spark."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Link customer records that share no identifier but are the same person.

    Pairs above the auto-merge threshold are merged; those between the thresholds wait in the
    review queue (patron review list); a pair decided once is never asked again.
    """
    settings = load_settings()
    options = identity.ResolveOptions(
        train=train,
        backend=backend,
        auto_merge_threshold=auto_merge,
        review_threshold=review,
        spark=identity.SparkOptions(master=spark_master),
        default_region=settings.default_phone_region,
    )
    try:
        with session_scope(settings) as session:
            summary = identity.resolve_records(session, options)
    except identity.ThresholdError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    if as_json:
        typer.echo(json.dumps(summary.as_json()))
        return
    model = summary.model_version or "none (fewer than two records)"
    typer.echo(f"model {model}{' (trained now)' if summary.trained else ''}, {summary.backend}")
    typer.echo(
        f"{summary.records:,} records ({summary.records_resolved:,} resolved by the "
        f"deterministic rules first), {summary.pairs_scored:,} pairs at or above "
        f"{summary.review_threshold}"
    )
    typer.echo(
        f"merged {summary.merged:,} (>= {summary.auto_merge_threshold}), "
        f"queued for review {summary.queued:,}, already one customer "
        f"{summary.already_one_customer:,}, decided before {summary.decided_before:,}, "
        f"blocked {summary.blocked:,}, not yet resolved {summary.unresolved:,}"
    )
    typer.echo(f"in {summary.seconds:.1f}s")
