"""Collection: the Segment-compatible tracking API, write keys, and the importers."""

from patron.ingest import models as _models  # noqa: F401 - registers the tables
from patron.ingest.sources import (
    Channel,
    NewSource,
    SourceExistsError,
    SourceInfo,
    create_source,
    ensure_source,
    list_sources,
    source_by_name,
    source_by_write_key,
)

__all__ = [
    "Channel",
    "NewSource",
    "SourceExistsError",
    "SourceInfo",
    "create_source",
    "ensure_source",
    "list_sources",
    "source_by_name",
    "source_by_write_key",
]
