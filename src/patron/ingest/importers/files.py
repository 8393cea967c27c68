"""Importing one file of a given kind for a source: the entry the CLI and the demo call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from patron.ingest.importers.customers import CustomerImporter
from patron.ingest.importers.events import EventImporter
from patron.ingest.importers.orders import OrderImporter, OrderLineImporter
from patron.ingest.importers.pipeline import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_MAX_ERRORS,
    ImporterFactory,
    as_path,
    resolve_source,
    run_import,
    zone_named,
)
from patron.ingest.importers.products import ProductImporter
from patron.ingest.importers.report import ImportKind

if TYPE_CHECKING:
    from datetime import tzinfo
    from pathlib import Path

    from sqlalchemy.orm import Session, sessionmaker

    from patron.ingest.importers.report import FileFormat, ImportProgress, ImportSummary
    from patron.ingest.sources import Channel

IMPORTERS: dict[ImportKind, ImporterFactory] = {
    ImportKind.PRODUCTS: ProductImporter,
    ImportKind.CUSTOMERS: CustomerImporter,
    ImportKind.ORDERS: OrderImporter,
    ImportKind.ORDER_LINES: OrderLineImporter,
    ImportKind.EVENTS: EventImporter,
}


def import_file(
    session_factory: sessionmaker[Session],
    kind: ImportKind | str,
    path: Path | str,
    *,
    source: str,
    channel: Channel | None = None,
    file_format: FileFormat | None = None,
    timezone: str | tzinfo | None = None,
    progress: ImportProgress | None = None,
    max_errors: int = DEFAULT_MAX_ERRORS,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> ImportSummary:
    """Import a CSV or JSONL file (plain or gzip) of ``kind`` delivered by ``source``.

    The source is created with ``channel`` if it does not exist (without a channel, a missing
    source is an error). Times without an offset are read in ``timezone`` (UTC by default).
    Rows that cannot be imported are counted and reported in the summary with their line
    numbers; the others are imported. Importing the same file again changes nothing.

    Raises ImportFileError when the file cannot be imported at all (missing, unreadable,
    a required CSV column missing, an unknown source without a channel) and ValueError for
    an unknown kind or time zone.
    """
    kind = ImportKind(kind.replace("-", "_") if isinstance(kind, str) else kind)
    zone = zone_named(timezone)
    info = resolve_source(session_factory, source, channel)
    return run_import(
        session_factory,
        IMPORTERS[kind],
        kind,
        as_path(path),
        source=info,
        file_format=file_format,
        zone=zone,
        progress=progress,
        max_errors=max_errors,
        chunk_size=chunk_size,
    )
