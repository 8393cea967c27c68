"""Reading CSV and JSONL files (plain or gzip) row by row, with line numbers.

Files are read as a stream of lines, so memory does not grow with the file. Every row comes
out as a Record: its first line number and its values, or the reason it cannot be read (bad
JSON, wrong column count, invalid UTF-8...), so that one bad row never stops the others.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from dataclasses import dataclass
from itertools import chain
from typing import IO, TYPE_CHECKING, Any, Self

import orjson

from patron.ingest.importers.report import FileFormat, ImportFileError

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator, Mapping
    from pathlib import Path
    from types import TracebackType

GZIP_MAGIC = b"\x1f\x8b"
CSV_DELIMITERS = (",", ";", "\t", "|")
_SUFFIXES = {".csv": FileFormat.CSV, ".jsonl": FileFormat.JSONL, ".ndjson": FileFormat.JSONL}
# Errors a damaged or truncated gzip stream raises part-way through.
_DAMAGED_STREAM = (EOFError, OSError, zlib.error)


@dataclass(frozen=True, slots=True)
class Record:
    """One row of a file: the line it starts on, and its values or why it cannot be read."""

    line: int
    values: Mapping[str, Any]
    error: str | None = None


def detect_format(path: Path, given: FileFormat | None = None) -> FileFormat:
    """The file's format: ``given`` if set, else from its name (``.csv``, ``.jsonl.gz``...)."""
    if given is not None:
        return given
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    if suffixes and suffixes[-1] in _SUFFIXES:
        return _SUFFIXES[suffixes[-1]]
    msg = (
        f"{path}: cannot tell the format from the file name: "
        "name it .csv or .jsonl (.gz if compressed) or give the format"
    )
    raise ImportFileError(msg)


class RecordReader:
    """Reads a CSV or JSONL file, gzip-compressed or not, one record at a time.

    ``columns`` maps lower-case names of the standard columns to their spelling in the
    format (``userid`` → ``userId``); a CSV header matches them whatever its case.
    ``required`` are the standard columns a CSV header must have: without one of them the file
    is refused up front with ImportFileError. Use it as a context manager.
    """

    def __init__(
        self,
        path: Path,
        file_format: FileFormat,
        *,
        columns: Mapping[str, str],
        required: Collection[str],
    ) -> None:
        self.path = path
        self.format = file_format
        self._columns = columns
        self._required = required
        self._raw: IO[bytes] | None = None
        self._lines: Iterator[bytes] = iter(())
        self._bad_lines: list[int] = []
        self._damage: Record | None = None
        self.header: tuple[str, ...] = ()

    @property
    def total_bytes(self) -> int:
        """The size of the file on disk (compressed size for gzip)."""
        return self.path.stat().st_size

    @property
    def bytes_done(self) -> int:
        """How many bytes of the file on disk have been read so far."""
        return 0 if self._raw is None or self._raw.closed else self._raw.tell()

    def __enter__(self) -> Self:
        try:
            raw: IO[bytes] = self.path.open("rb")
        except OSError as error:
            msg = f"{self.path}: cannot open: {error.strerror or error}"
            raise ImportFileError(msg) from error
        self._raw = raw
        try:
            stream: IO[bytes] = raw
            if raw.read(2) == GZIP_MAGIC:
                raw.seek(0)
                stream = io.BufferedReader(gzip.GzipFile(fileobj=raw, mode="rb"))
            else:
                raw.seek(0)
            self._lines = iter(stream)
        except OSError as error:
            raw.close()
            msg = f"{self.path}: cannot read: {error}"
            raise ImportFileError(msg) from error
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._raw is not None:
            self._raw.close()

    def records(self) -> Iterator[Record]:
        """The file's records, in file order. Raises ImportFileError for a refused CSV header."""
        if self.format is FileFormat.JSONL:
            return self._jsonl_records()
        return self._csv_records()

    def _numbered_lines(self) -> Iterator[tuple[int, bytes]]:
        """Binary lines numbered from 1; a damaged gzip stream ends them and sets _damage."""
        number = 0
        try:
            for line in self._lines:
                number += 1
                yield number, line
        except _DAMAGED_STREAM as error:
            self._damage = Record(
                number + 1, {}, f"the file is damaged or cut short after line {number}: {error}"
            )

    def _jsonl_records(self) -> Iterator[Record]:
        for number, raw in self._numbered_lines():
            line = raw[3:] if number == 1 and raw.startswith(b"\xef\xbb\xbf") else raw
            if not line.strip():
                continue
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as error:
                yield Record(number, {}, f"bad JSON: {error}")
                continue
            if not isinstance(value, dict):
                yield Record(number, {}, f"expected a JSON object, found {_json_type(value)}")
                continue
            yield Record(number, value)
        if self._damage is not None:
            yield self._damage

    def _text_lines(self) -> Iterator[str]:
        for number, line in self._numbered_lines():
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                self._bad_lines.append(number)
                text = line.decode("utf-8", errors="replace")
            if number == 1:
                text = text.removeprefix("\ufeff")
            yield text

    def _csv_records(self) -> Iterator[Record]:
        lines = self._text_lines()
        first = next(lines, None)
        if first is None or not first.strip():
            msg = f"{self.path}: the file is empty: a CSV file starts with a header line"
            raise ImportFileError(msg)
        delimiter = self._delimiter(first)
        reader = csv.reader(chain([first], lines), delimiter=delimiter)
        try:
            header = next(reader)
        except csv.Error as error:
            msg = f"{self.path}: cannot read the header line: {error}"
            raise ImportFileError(msg) from error
        names = self._header_names(header)
        self.header = tuple(names)
        width = len(names)
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                yield Record(start, {}, f"cannot read the row: {error}")
                continue
            if self._bad_lines:
                bad, self._bad_lines = self._bad_lines[0], []
                yield Record(start, {}, f"line {bad} is not valid UTF-8 text")
                continue
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if len(cells) != width and not (
                len(cells) > width and not any(c.strip() for c in cells[width:])
            ):
                yield Record(start, {}, f"expected {width} columns, found {len(cells)}")
                continue
            yield Record(start, {n: c for n, c in zip(names, cells, strict=False) if n})
        if self._damage is not None:
            yield self._damage

    def _delimiter(self, header_line: str) -> str:
        # Exports from tills and spreadsheets often use ';' or tabs: pick the delimiter that
        # finds the most standard columns in the header, preferring ',' on a tie.
        def found(delimiter: str) -> int:
            cells = next(csv.reader([header_line], delimiter=delimiter), [])
            return sum(1 for c in cells if c.strip().lower() in self._columns)

        return max(CSV_DELIMITERS, key=found)

    def _header_names(self, header: list[str]) -> list[str]:
        names: list[str] = []
        seen: set[str] = set()
        for cell in header:
            name = cell.strip()
            name = self._columns.get(name.lower(), name)
            if name and name in seen:
                msg = f"{self.path}: column {name!r} appears twice in the header"
                raise ImportFileError(msg)
            seen.add(name)
            names.append(name)
        missing = [c for c in self._required if c not in seen]
        if missing:
            msg = (
                f"{self.path}: the header lacks the required column"
                f"{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                f"(header: {', '.join(n for n in names if n)})"
            )
            raise ImportFileError(msg)
        return names


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"
