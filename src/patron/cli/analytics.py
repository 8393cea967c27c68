"""``patron analytics``: the snapshot that reports read on large stores."""

from __future__ import annotations

import typer

from patron import analytics
from patron.cli.context import load_settings

app = typer.Typer(
    help="Analytics: the snapshot reports read on large stores.", no_args_is_help=True
)


@app.command()
def refresh(
    threads: int | None = typer.Option(None, "--threads", min=1, help="DuckDB threads."),
) -> None:
    """Copy the report views (orders with their customers, lines, events, carts) into the
    analytics snapshot next to the store; reports read it while it is younger than an hour."""
    settings = load_settings()
    try:
        done = analytics.refresh_snapshot(settings.database_url, threads=threads)
    except analytics.AnalyticsStoreError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    counts = ", ".join(f"{name} {count:,}" for name, count in done.rows.items())
    typer.echo(
        f"snapshot as of {done.taken_at:%Y-%m-%d %H:%M:%S} UTC written to {done.path} "
        f"in {done.seconds:.1f} s ({counts})"
    )
