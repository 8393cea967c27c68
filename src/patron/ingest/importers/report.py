"""What an import tells its caller: the kinds of file, the summary, the errors, the progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pathlib import Path


class ImportKind(StrEnum):
    """What a file holds. World manifests and the CLI use these names."""

    PRODUCTS = "products"
    CUSTOMERS = "customers"
    ORDERS = "orders"
    ORDER_LINES = "order_lines"
    EVENTS = "events"


class FileFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


class ImportFileError(Exception):
    """The file cannot be imported at all: missing, unreadable, or without a required column."""


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that was not imported: its line in the file (1 is the first line) and why."""

    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """The outcome of importing one file.

    ``rows_read`` counts the data rows (not the header, not blank lines); every one of them is
    ``inserted``, ``updated``, ``unchanged`` or ``rejected``. ``errors`` holds the first
    rejected rows with their line numbers. ``error`` is set when the file could not be read
    at all (then nothing was imported from it).
    """

    kind: ImportKind
    path: str
    source: str
    format: FileFormat | None
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: tuple[RowError, ...] = ()
    # Orders: customer records created as placeholders for customers not yet delivered.
    placeholders_created: int = 0
    # Orders with embedded lines and order-line files: lines written (new or changed).
    lines_written: int = 0
    seconds: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the file was read and every row in it was imported."""
        return self.error is None and self.rejected == 0

    def describe(self) -> str:
        """One line for a terminal: the file, its counts and how it went."""
        name = f"{self.kind.value} {self.path} ({self.source})"
        if self.error is not None:
            return f"{name}: not imported: {self.error}"
        counts = (
            f"{self.rows_read:,} read, {self.inserted:,} inserted, {self.updated:,} updated, "
            f"{self.unchanged:,} unchanged, {self.rejected:,} rejected"
        )
        extras = []
        if self.placeholders_created:
            extras.append(f"{self.placeholders_created:,} placeholder customers")
        if self.lines_written:
            extras.append(f"{self.lines_written:,} order lines written")
        if extras:
            counts = f"{counts}; {', '.join(extras)}"
        return f"{name}: {counts} in {self.seconds:.1f}s"

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain JSON-ready values."""
        return {
            "kind": self.kind.value,
            "path": self.path,
            "source": self.source,
            "format": None if self.format is None else self.format.value,
            "rows_read": self.rows_read,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "placeholders_created": self.placeholders_created,
            "lines_written": self.lines_written,
            "seconds": round(self.seconds, 3),
            "ok": self.ok,
            "error": self.error,
            "errors": [{"line": e.line, "reason": e.reason} for e in self.errors],
        }


@dataclass(slots=True)
class Tally:
    """Counts gathered while a file is imported, frozen into an ImportSummary at the end."""

    max_errors: int
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    placeholders_created: int = 0
    lines_written: int = 0
    errors: list[RowError] = field(default_factory=list)

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        self.errors.append(RowError(line, reason))
        # Rows of a chunk can be rejected after later rows failed to parse: keep the
        # errors of the lowest lines, not the first ones found.
        if len(self.errors) > 2 * self.max_errors:
            self.errors = self.first_errors()

    def first_errors(self) -> list[RowError]:
        return sorted(self.errors, key=lambda e: e.line)[: self.max_errors]

    def add(self, outcome: ChunkOutcome) -> None:
        self.inserted += outcome.inserted
        self.updated += outcome.updated
        self.unchanged += outcome.unchanged
        self.placeholders_created += outcome.placeholders_created
        self.lines_written += outcome.lines_written
        for error in outcome.errors:
            self.reject(error.line, error.reason)


@dataclass(slots=True)
class ChunkOutcome:
    """What writing one chunk did; added to the tally only once its transaction commits."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    placeholders_created: int = 0
    lines_written: int = 0
    errors: list[RowError] = field(default_factory=list)

    def tally(self, *, stored: object, incoming: object) -> bool:
        """Count a row by what is stored for its key (None: nothing); True if it must be
        written, False if the stored content is the same."""
        if stored is None:
            self.inserted += 1
            return True
        if stored == incoming:
            self.unchanged += 1
            return False
        self.updated += 1
        return True


class ImportProgress(Protocol):
    """Told how far an import has got, e.g. to draw a progress bar on a terminal."""

    def file_started(self, path: Path, kind: ImportKind, total_bytes: int) -> None: ...

    def bytes_read(self, done: int) -> None: ...

    def file_finished(self, summary: ImportSummary) -> None: ...


class NoProgress:
    """An ImportProgress that shows nothing (tests, scripts, a demo without a terminal)."""

    def file_started(self, path: Path, kind: ImportKind, total_bytes: int) -> None:
        return None

    def bytes_read(self, done: int) -> None:
        return None

    def file_finished(self, summary: ImportSummary) -> None:
        return None
