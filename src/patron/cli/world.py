"""``patron world``: the synthetic retail world."""

from __future__ import annotations

import time
from pathlib import Path  # noqa: TC003 - Typer reads the annotations at run time

import typer

from patron import world

app = typer.Typer(help="Generate a synthetic retail world with ground truth.", no_args_is_help=True)


@app.command()
def generate(
    customers: int = typer.Option(..., "--customers", "-n", help="How many people to create."),
    seed: int = typer.Option(..., "--seed", "-s", help="Same seed, same bytes."),
    out: Path = typer.Option(..., "--out", "-o", help="Directory to write the world into."),
    workers: int | None = typer.Option(
        None, help="Processes to use for large worlds (default: one per core)."
    ),
) -> None:
    """Write a world's files, its ground truth and its manifest into OUT."""
    if workers is not None and workers <= 0:
        typer.echo(f"error: --workers must be positive, not {workers}", err=True)
        raise typer.Exit(2)
    started = time.perf_counter()
    try:
        summary = world.generate_world(out, customers=customers, seed=seed, workers=workers)
    except world.WorldError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    elapsed = time.perf_counter() - started
    typer.echo(
        f"world of {summary.customers:,} people (seed {summary.seed}) in {summary.directory}"
    )
    shown: set[str] = set()
    for file in summary.files:
        if file.path in shown:
            continue
        shown.add(file.path)
        owner = file.source or "ground truth"
        typer.echo(f"  {file.path:<22} {file.kind:<12} {owner:<13} {file.rows:>12,} rows")
    typer.echo(f"{summary.rows:,} rows in {elapsed:.1f} s")
    typer.echo(f"import it with: patron import world {summary.directory}")
