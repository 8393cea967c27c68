"""Importers for files from stores (POS), e-shops and CRMs: customers, orders, products, events."""

from patron.ingest.importers.files import import_file
from patron.ingest.importers.report import (
    FileFormat,
    ImportFileError,
    ImportKind,
    ImportProgress,
    ImportSummary,
    NoProgress,
    RowError,
)
from patron.ingest.importers.world import import_world, read_manifest

__all__ = [
    "FileFormat",
    "ImportFileError",
    "ImportKind",
    "ImportProgress",
    "ImportSummary",
    "NoProgress",
    "RowError",
    "import_file",
    "import_world",
    "read_manifest",
]
