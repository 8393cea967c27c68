"""``patron report NAME``: a report over the live store, in any format."""

from __future__ import annotations

import sys
from pathlib import Path  # noqa: TC003 - Typer reads the annotations at run time

import typer

from patron import analytics, predict
from patron.cli.context import load_settings


def _list_reports(registry: analytics.ReportRegistry) -> None:
    for definition in registry:
        typer.echo(f"{definition.name:<18}{definition.description}")


def report(  # noqa: PLR0917 - one parameter per option
    name: str = typer.Argument(..., help="The report's name; 'list' lists the reports."),
    period: str | None = typer.Option(
        None,
        "--period",
        help="last-30-days, last-90-days, last-12-months, ytd or all (default: all).",
    ),
    date_from: str | None = typer.Option(None, "--from", help="First day, YYYY-MM-DD."),
    date_to: str | None = typer.Option(None, "--to", help="Last day (included), YYYY-MM-DD."),
    channel: list[str] | None = typer.Option(
        None, "--channel", help="Only these sales channels: pos, eshop, app (repeatable)."
    ),
    store: list[str] | None = typer.Option(
        None, "--store", help="Only these stores, by store id (repeatable)."
    ),
    compare: str | None = typer.Option(
        None,
        "--compare",
        help="previous-period, previous-year or none (default: previous-period for a "
        "bounded period).",
    ),
    top: int | None = typer.Option(None, "--top", help="Length of ranked lists (default 20)."),
    report_format: analytics.ReportFormat = typer.Option(
        analytics.ReportFormat.TABLE, "--format", help="How to write the report."
    ),
    out: Path | None = typer.Option(None, "--out", help="Write to this file (default: stdout)."),
) -> None:
    """Run a report (overview, omnichannel, cohorts, rfm, affinity, abandoned-carts...) over
    a period in the retailer's time zone, with filters and a comparison period."""
    registry = predict.every_report()
    if name == "list":
        _list_reports(registry)
        return
    settings = load_settings()
    try:
        definition = registry.get(name)
        request = analytics.parse_request(
            period=period,
            date_from=date_from,
            date_to=date_to,
            channels=channel,
            stores=store,
            compare=compare,
            timezone=settings.timezone,
            top=top,
        )
    except analytics.UnknownReportError as error:
        typer.echo(f"error: {error.args[0]}", err=True)
        raise typer.Exit(2) from error
    except analytics.ReportRequestError as error:
        typer.echo(f"error: --{error.parameter}: {error.message}", err=True)
        raise typer.Exit(2) from error
    try:
        result = analytics.run_report(settings.database_url, definition, request)
    except analytics.AnalyticsStoreError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    content = analytics.render_report(result, report_format)
    if out is None:
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return
    try:
        out.write_bytes(content)
    except OSError as error:
        typer.echo(f"error: cannot write {out}: {error.strerror}", err=True)
        raise typer.Exit(2) from error
    typer.echo(f"wrote the {name} report to {out}", err=True)
