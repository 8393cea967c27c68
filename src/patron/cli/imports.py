"""``patron import``: load customer, order, product and event files from a source.

Exit codes: 0 when every row was imported, 1 when some rows were rejected (the summary lists
them with their line numbers), 2 when a file could not be read at all.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path  # noqa: TC003 - Typer reads the annotations at run time
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from sqlalchemy.exc import SQLAlchemyError

from patron import ingest
from patron.cli.context import load_settings
from patron.storage import make_engine, make_session_factory

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sqlalchemy.orm import Session, sessionmaker

app = typer.Typer(help="Import files delivered by stores, e-shops and CRMs.", no_args_is_help=True)

EXIT_OK = 0
EXIT_ROWS_REJECTED = 1
EXIT_UNREADABLE = 2


class TerminalProgress:
    """A progress bar per file, by bytes read, drawn on stderr when it is a terminal."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def file_started(self, path: Path, kind: ingest.ImportKind, total_bytes: int) -> None:
        self._task = self._progress.add_task(f"{kind.value} {path.name}", total=total_bytes)

    def bytes_read(self, done: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=done)

    def file_finished(self, summary: ingest.ImportSummary) -> None:
        if self._task is not None:
            self._progress.remove_task(self._task)
            self._task = None


@contextmanager
def _progress() -> Iterator[TerminalProgress]:
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    ) as progress:
        yield TerminalProgress(progress)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_UNREADABLE)


def _run(work: Callable[[sessionmaker[Session], TerminalProgress], Any]) -> Any:
    settings = load_settings()
    engine = make_engine(settings.database_url, pool_size=2)
    try:
        with _progress() as progress:
            return work(make_session_factory(engine), progress)
    except ingest.ImportFileError as error:
        raise _fail(str(error)) from error
    except ValueError as error:
        raise _fail(str(error)) from error
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise _fail(
            f"the database cannot take the import ({reason}); is it migrated (patron db upgrade)?"
        ) from error
    finally:
        engine.dispose()


def _print_summary(summary: ingest.ImportSummary) -> None:
    typer.echo(summary.describe())
    for error in summary.errors:
        typer.echo(f"  line {error.line}: {error.reason}")
    if summary.rejected > len(summary.errors):
        typer.echo(f"  … and {summary.rejected - len(summary.errors):,} more rejected rows")


def _exit_code(summaries: list[ingest.ImportSummary]) -> int:
    if any(s.error is not None for s in summaries):
        return EXIT_UNREADABLE
    if any(s.rejected for s in summaries):
        return EXIT_ROWS_REJECTED
    return EXIT_OK


def _import(
    *,
    kind: ingest.ImportKind,
    path: Path,
    source: str,
    channel: ingest.Channel | None,
    file_format: ingest.FileFormat | None,
    timezone: str | None,
    max_errors: int,
    as_json: bool,
) -> None:
    summary: ingest.ImportSummary = _run(
        lambda sessions, progress: ingest.import_file(
            sessions,
            kind,
            path,
            source=source,
            channel=channel,
            file_format=file_format,
            timezone=timezone,
            progress=progress,
            max_errors=max_errors,
        )
    )
    if as_json:
        typer.echo(json.dumps(summary.to_dict()))
    else:
        _print_summary(summary)
        if summary.rejected:
            typer.echo(f"{summary.rejected:,} rows were rejected; the other rows were imported")
    raise typer.Exit(_exit_code([summary]))


FILE = typer.Argument(..., help="A .csv or .jsonl file, or the same gzip-compressed (.gz).")
SOURCE = typer.Option(..., "--source", help="The source that delivered the file.")
CHANNEL = typer.Option(
    None, "--channel", help="The source's channel: needed only to create a new source."
)
FORMAT = typer.Option(None, "--format", help="The file's format, if its name does not say it.")
TIMEZONE = typer.Option(
    None, "--timezone", help="Zone for times written without an offset (default UTC)."
)
MAX_ERRORS = typer.Option(20, "--max-errors", min=0, help="How many row errors to list.")
AS_JSON = typer.Option(False, "--json", help="Print the summary as JSON.")


def _file_command(
    kind: ingest.ImportKind, summary: str, *, local_times: bool = False
) -> Callable[..., None]:
    """The command importing one kind of file; ``local_times`` offers ``--timezone``."""
    timezone_option = TIMEZONE if local_times else typer.Option(None, "--timezone", hidden=True)

    def command(
        *,
        path: Path = FILE,
        source: str = SOURCE,
        channel: ingest.Channel | None = CHANNEL,
        file_format: ingest.FileFormat | None = FORMAT,
        timezone: str | None = timezone_option,
        max_errors: int = MAX_ERRORS,
        as_json: bool = AS_JSON,
    ) -> None:
        _import(
            kind=kind,
            path=path,
            source=source,
            channel=channel,
            file_format=file_format,
            timezone=timezone,
            max_errors=max_errors,
            as_json=as_json,
        )

    command.__doc__ = summary
    return command


app.command("customers")(
    _file_command(ingest.ImportKind.CUSTOMERS, "Import a source's customer records.")
)
app.command("orders")(
    _file_command(
        ingest.ImportKind.ORDERS,
        "Import orders or store receipts (JSONL orders may carry their lines).",
        local_times=True,
    )
)
app.command("order-lines")(
    _file_command(ingest.ImportKind.ORDER_LINES, "Import the lines of orders imported before.")
)
app.command("products")(
    _file_command(ingest.ImportKind.PRODUCTS, "Import a source's product catalogue.")
)
app.command("events")(
    _file_command(
        ingest.ImportKind.EVENTS,
        "Import Segment messages (track, identify, page, screen, group, alias).",
    )
)


def _total(summaries: list[ingest.ImportSummary]) -> dict[str, int]:
    fields = ("rows_read", "inserted", "updated", "unchanged", "rejected")
    total = {name: sum(getattr(s, name) for s in summaries) for name in fields}
    total["files"] = len(summaries)
    total["files_not_read"] = sum(1 for s in summaries if s.error is not None)
    return total


@app.command()
def world(
    *,
    directory: Path = typer.Argument(..., help="A world directory with a manifest.json."),
    max_errors: int = MAX_ERRORS,
    as_json: bool = AS_JSON,
) -> None:
    """Import every file of a world directory, in the order its manifest needs."""
    summaries: list[ingest.ImportSummary] = _run(
        lambda sessions, progress: ingest.import_world(
            sessions, directory, progress=progress, max_errors=max_errors
        )
    )
    total = _total(summaries)
    if as_json:
        typer.echo(json.dumps({"files": [s.to_dict() for s in summaries], "total": total}))
    else:
        for summary in summaries:
            _print_summary(summary)
        typer.echo(
            f"total: {total['files']} files, {total['rows_read']:,} rows read, "
            f"{total['inserted']:,} inserted, {total['updated']:,} updated, "
            f"{total['unchanged']:,} unchanged, {total['rejected']:,} rejected"
            + (f", {total['files_not_read']} files not read" if total["files_not_read"] else "")
        )
    raise typer.Exit(_exit_code(summaries))
