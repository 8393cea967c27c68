"""``patron predict`` and ``patron models``: per-customer predictions and the fitted models."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import orjson
import typer

from patron import analytics, ingest, predict
from patron.cli.context import load_settings, session_scope

models_app = typer.Typer(help="The fitted prediction models: parameters and diagnostics.")


def _print_json(content: object) -> None:
    typer.echo(orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS).decode())


def _as_of(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        typer.echo(f"error: --as-of: {value!r} is not a date; write it as YYYY-MM-DD", err=True)
        raise typer.Exit(2) from error


def _money(minor: int, currency: str | None) -> str:
    if currency is None:
        return str(minor)
    return f"{Decimal(minor).scaleb(-ingest.currency_exponent(currency)):,} {currency}"


def predict_command(
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Use only data before this date, YYYY-MM-DD (default: the day after the newest "
        "order).",
    ),
    discount_rate: float = typer.Option(
        predict.PredictionOptions.monthly_discount_rate,
        "--discount-rate",
        help="Monthly discount rate of the 12-month CLV.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Fit every model (CLV, churn, next products, channel, send time) and store each
    customer's predictions for the as-of date, replacing an earlier run for that date."""
    settings = load_settings()
    options = predict.PredictionOptions(
        as_of=_as_of(as_of), timezone=settings.timezone, monthly_discount_rate=discount_rate
    )
    try:
        summary = predict.run_predictions(settings.database_url, options)
    except (predict.PredictionDataError, predict.ClvError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    except analytics.AnalyticsStoreError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    if as_json:
        _print_json(summary)
        return
    typer.echo(f"predictions as of {summary.as_of.isoformat()}: {summary.customers:,} customers")
    for model in summary.models:
        state = f"FAILED: {model.error}" if model.error else "fitted"
        typer.echo(f"  {model.name:<14}{model.version:<28}{state}")
    bands = ", ".join(f"{band} {count:,}" for band, count in summary.churn_bands.items())
    typer.echo(f"churn risk: {bands}")
    if summary.total_clv_12m_minor is not None:
        typer.echo(f"12-month CLV of all: {_money(summary.total_clv_12m_minor, summary.currency)}")
    seconds = ", ".join(f"{stage} {value:.1f}s" for stage, value in summary.seconds.items())
    typer.echo(f"time: {seconds}")


@models_app.command("show")
def show(
    name: str = typer.Argument(..., help=f"One of: {', '.join(predict.MODEL_NAMES)}."),
    as_of: str | None = typer.Option(None, "--as-of", help="The fit for this as-of date."),
    as_json: bool = typer.Option(False, "--json", help="Print the model as JSON."),
) -> None:
    """A model's fitted parameters and fit diagnostics (the newest fit by default)."""
    if name not in predict.MODEL_NAMES:
        typer.echo(f"error: no model {name!r}; the models are: {', '.join(predict.MODEL_NAMES)}")
        raise typer.Exit(2)
    day = _as_of(as_of)
    settings = load_settings()
    try:
        with session_scope(settings) as session:
            model = predict.stored_model(session, name, day)
    except predict.PredictionNotFoundError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    document = model.as_json()
    if as_json:
        _print_json(document)
        return
    typer.echo(f"{model.name} {model.version} as of {model.as_of.isoformat()}")
    typer.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())


@models_app.command("list")
def list_models() -> None:
    """Every stored model fit, newest as-of date first."""
    settings = load_settings()
    with session_scope(settings) as session:
        models = predict.stored_models(session)
    if not models:
        typer.echo("no models fitted yet: run `patron predict`")
        return
    for model in models:
        error = model.diagnostics.get("error")
        state = f"FAILED: {error}" if error else "fitted"
        typer.echo(f"{model.as_of.isoformat()}  {model.name:<14}{model.version:<28}{state}")
