"""``patron import``: load customer, order, product and event files from a source."""

from __future__ import annotations

import typer

app = typer.Typer(help="Import files delivered by stores, e-shops and CRMs.", no_args_is_help=True)
