"""Importing a whole world directory: every file its ``manifest.json`` lists, in order.

A world is what a retailer's channels deliver (see ``docs/import-formats.md``): the manifest
names the sources with their channels and every file with its kind and source. Files are
imported kind by kind (products, customers, orders, order lines, events), in manifest order
within a kind, so that orders find their customers and lines find their orders.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from patron.ingest.importers.files import import_file
from patron.ingest.importers.pipeline import DEFAULT_CHUNK_SIZE, DEFAULT_MAX_ERRORS
from patron.ingest.importers.report import (
    FileFormat,
    ImportFileError,
    ImportKind,
    ImportProgress,
    ImportSummary,
)
from patron.ingest.sources import Channel, create_source, source_by_name

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

MANIFEST = "manifest.json"
WORLD_FORMAT = "patron-world/1"
IMPORT_ORDER = (
    ImportKind.PRODUCTS,
    ImportKind.CUSTOMERS,
    ImportKind.ORDERS,
    ImportKind.ORDER_LINES,
    ImportKind.EVENTS,
)
# Kinds a manifest may list that are not imported: the ground truth is for evaluation only.
NOT_IMPORTED = frozenset({"truth"})


class WorldSource(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    channel: Channel
    default_region: str | None = None


class WorldFile(BaseModel):
    model_config = ConfigDict(extra="ignore")

    path: str
    kind: str
    source: str | None = None
    channel: Channel | None = None
    format: FileFormat | None = None
    timezone: str | None = None


class WorldManifest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    format: Literal["patron-world/1"]
    sources: list[WorldSource] = []
    files: list[WorldFile]


def read_manifest(directory: Path) -> WorldManifest:
    """The world's manifest. Raises ImportFileError saying what is wrong with it."""
    path = directory / MANIFEST
    try:
        raw = orjson.loads(path.read_bytes())
    except OSError as error:
        msg = f"{path}: cannot read the world's manifest: {error.strerror or error}"
        raise ImportFileError(msg) from error
    except orjson.JSONDecodeError as error:
        msg = f"{path}: bad JSON: {error}"
        raise ImportFileError(msg) from error
    try:
        manifest = WorldManifest.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'manifest'}: {e['msg']}"
            for e in error.errors()
        )
        msg = f"{path}: not a {WORLD_FORMAT} manifest: {problems}"
        raise ImportFileError(msg) from error
    known = {kind.value for kind in ImportKind} | NOT_IMPORTED
    for entry in manifest.files:
        if entry.kind not in known:
            msg = f"{path}: file {entry.path!r} has an unknown kind {entry.kind!r}"
            raise ImportFileError(msg)
        if entry.kind not in NOT_IMPORTED and entry.source is None:
            msg = f"{path}: file {entry.path!r} names no source"
            raise ImportFileError(msg)
    return manifest


def _create_sources(session_factory: sessionmaker[Session], manifest: WorldManifest) -> None:
    """Create the manifest's sources, and those its files name with a channel, if missing."""
    wanted = {s.name: (s.channel, s.default_region) for s in manifest.sources}
    for entry in manifest.files:
        if entry.source is not None and entry.channel is not None:
            wanted.setdefault(entry.source, (entry.channel, None))
    with session_factory() as session, session.begin():
        for name, (channel, region) in wanted.items():
            if source_by_name(session, name) is None:
                create_source(session, name, channel, default_region=region)


def import_world(
    session_factory: sessionmaker[Session],
    directory: Path | str,
    *,
    progress: ImportProgress | None = None,
    max_errors: int = DEFAULT_MAX_ERRORS,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> list[ImportSummary]:
    """Import every file a world directory's manifest lists; one summary per file.

    Sources the manifest names are created first, with their channel and default region
    (a source that exists already is used as it is). A file
    that cannot be read gets a summary with its ``error`` and the others are still imported.
    Raises ImportFileError when the manifest itself is missing or invalid.
    """
    directory = Path(directory)
    manifest = read_manifest(directory)
    _create_sources(session_factory, manifest)
    summaries: list[ImportSummary] = []
    for kind in IMPORT_ORDER:
        for entry in manifest.files:
            if entry.kind != kind.value or entry.source is None:
                continue
            path = directory / entry.path
            try:
                summary = import_file(
                    session_factory,
                    kind,
                    path,
                    source=entry.source,
                    file_format=entry.format,
                    timezone=entry.timezone,
                    progress=progress,
                    max_errors=max_errors,
                    chunk_size=chunk_size,
                )
            except (ImportFileError, ValueError) as error:
                summary = ImportSummary(
                    kind=kind,
                    path=str(path),
                    source=entry.source,
                    format=entry.format,
                    error=str(error),
                )
            summaries.append(summary)
    return summaries
