"""The streaming import of one file: read a row, check it, write it with its chunk.

Rows are read one at a time and written in chunks, each chunk in its own transaction, so a
file of any size imports in the same memory and an interruption keeps every committed chunk
(importing the file again picks up the rest, since unchanged rows are skipped).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import DataError, IntegrityError

from patron.ingest.importers.readers import RecordReader, detect_format
from patron.ingest.importers.report import (
    ChunkOutcome,
    FileFormat,
    ImportFileError,
    ImportKind,
    ImportProgress,
    ImportSummary,
    NoProgress,
    Tally,
)
from patron.ingest.importers.values import InvalidRowError
from patron.ingest.importers.writing import SEEN_KEYS, Scratch
from patron.ingest.sources import Channel, ensure_source, source_by_name
from patron.storage import utcnow

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy import Connection
    from sqlalchemy.orm import Session, sessionmaker

    from patron.ingest.sources import SourceInfo

DEFAULT_CHUNK_SIZE = 5_000
DEFAULT_MAX_ERRORS = 20

Item = TypeVar("Item")


@dataclass(frozen=True, slots=True)
class ImportContext:
    """What every row of one import shares: its source, its clock and its scratch tables."""

    source: SourceInfo
    file_format: FileFormat
    zone: tzinfo
    scratch: Scratch

    @property
    def now(self) -> datetime:
        """The time to stamp rows with, read afresh each time: a row's stamp stays within
        moments of its insert, however long the file takes, because the readers of the
        tables (identity resolution, carts) wait a settle time measured on those stamps."""
        return utcnow()


class RowImporter(Protocol[Item]):
    """Reads and writes one kind of row (customers, orders...)."""

    # Lower-case standard column names → their spelling; and those a CSV header must have.
    columns: Mapping[str, str]
    required: tuple[str, ...]
    # The tables the importer looks rows up in by key, as they grow.
    tables: tuple[str, ...]

    def parse(self, values: Mapping[str, Any]) -> Item:
        """The row checked and converted; raises InvalidRowError saying what is wrong."""

    def write(self, connection: Connection, rows: list[tuple[int, Item]]) -> ChunkOutcome:
        """Write a chunk of parsed rows (line, item) inside the caller's transaction."""


class ImporterFactory(Protocol):
    def __call__(self, context: ImportContext) -> RowImporter[Any]: ...


def zone_named(name: str | tzinfo | None) -> tzinfo:
    """The time zone for times written without an offset (UTC unless named)."""
    if name is None:
        return UTC
    if isinstance(name, tzinfo):
        return name
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        msg = f"unknown time zone {name!r} (use a name such as Europe/Prague)"
        raise ValueError(msg) from None


def resolve_source(
    session_factory: sessionmaker[Session], name: str, channel: Channel | None
) -> SourceInfo:
    """The source called ``name``; created with ``channel`` if it does not exist yet."""
    with session_factory() as session, session.begin():
        found = source_by_name(session, name)
        if found is None:
            if channel is None:
                msg = f"there is no source named {name!r}: give its channel to create it"
                raise ImportFileError(msg)
            return ensure_source(session, name, channel)
    if channel is not None and found.channel is not channel:
        msg = (
            f"source {name!r} is a {found.channel.value} source, not {channel.value}: "
            "leave the channel out or name another source"
        )
        raise ImportFileError(msg)
    return found


def run_import(
    session_factory: sessionmaker[Session],
    importer_factory: ImporterFactory,
    kind: ImportKind,
    path: Path,
    *,
    source: SourceInfo,
    file_format: FileFormat | None,
    zone: tzinfo,
    progress: ImportProgress | None,
    max_errors: int,
    chunk_size: int,
) -> ImportSummary:
    """Import one file of ``kind`` for ``source``. Raises ImportFileError if it is unreadable."""
    progress = progress or NoProgress()
    started = perf_counter()
    file_format = detect_format(path, file_format)
    tally = Tally(max_errors=max_errors)
    with session_factory() as session:
        engine = session.get_bind().engine
    with engine.connect() as connection:
        scratch = Scratch(connection)
        scratch.create()
        try:
            importer = importer_factory(
                ImportContext(
                    source=source,
                    file_format=file_format,
                    zone=zone,
                    scratch=scratch,
                )
            )
            statistics = PlannerStatistics(importer.tables)
            with RecordReader(
                path, file_format, columns=importer.columns, required=importer.required
            ) as reader:
                progress.file_started(path, kind, reader.total_bytes)
                pending: list[tuple[int, Any]] = []
                for record in reader.records():
                    tally.rows_read += 1
                    if record.error is not None:
                        tally.reject(record.line, record.error)
                        continue
                    try:
                        pending.append((record.line, importer.parse(record.values)))
                    except InvalidRowError as rejection:
                        tally.reject(record.line, str(rejection))
                        continue
                    if len(pending) >= chunk_size:
                        _write_chunk(connection, importer, pending, tally)
                        pending = []
                        statistics.refresh(connection, tally.inserted)
                        progress.bytes_read(reader.bytes_done)
                _write_chunk(connection, importer, pending, tally)
                progress.bytes_read(reader.total_bytes)
        finally:
            if connection.in_transaction():
                connection.rollback()
            scratch.drop()
    summary = ImportSummary(
        kind=kind,
        path=str(path),
        source=source.name,
        format=file_format,
        rows_read=tally.rows_read,
        inserted=tally.inserted,
        updated=tally.updated,
        unchanged=tally.unchanged,
        rejected=tally.rejected,
        errors=tuple(tally.first_errors()),
        placeholders_created=tally.placeholders_created,
        lines_written=tally.lines_written,
        seconds=perf_counter() - started,
    )
    progress.file_finished(summary)
    return summary


class PlannerStatistics:
    """Keeps PostgreSQL's planner statistics in step with tables a bulk load makes grow.

    Each chunk looks its rows up by key. Until autovacuum catches up, the planner believes a
    freshly filled table is nearly empty and reads every row of the source instead of using
    the index: each chunk would cost more than the one before. Analysing the tables each
    time the import has inserted four times as many rows keeps the look-ups on the index, at
    a cost that grows with the logarithm of the file's size.
    """

    FIRST = 5_000
    GROWTH = 4

    def __init__(self, tables: tuple[str, ...]) -> None:
        self.tables = (*tables, SEEN_KEYS.name)
        self.next_at = self.FIRST

    def refresh(self, connection: Connection, inserted: int) -> None:
        if inserted < self.next_at or connection.dialect.name != "postgresql":
            return
        while self.next_at <= inserted:
            self.next_at *= self.GROWTH
        with connection.begin():
            for table in self.tables:
                connection.exec_driver_sql(f'ANALYZE "{table}"')


def _write_chunk(
    connection: Connection,
    importer: RowImporter[Any],
    rows: list[tuple[int, Any]],
    tally: Tally,
) -> None:
    if not rows:
        return
    try:
        with connection.begin():
            outcome = importer.write(connection, rows)
    except (DataError, IntegrityError) as error:
        # Rows are checked before they are written, so this is rare (a value the database
        # still refuses): find the rows at fault by writing the chunk one row at a time.
        if len(rows) == 1:
            reason = str(error.orig or error).splitlines()[0]
            tally.reject(rows[0][0], f"the database refused the row: {reason}")
            return
        for row in rows:
            _write_chunk(connection, importer, [row], tally)
        return
    tally.add(outcome)


def as_path(path: Path | str) -> Path:
    return path if isinstance(path, Path) else Path(path)
