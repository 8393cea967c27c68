"""``patron world``: the synthetic retail world."""

from __future__ import annotations

import typer

app = typer.Typer(help="Generate a synthetic retail world with ground truth.", no_args_is_help=True)
