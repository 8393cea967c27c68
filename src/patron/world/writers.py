"""Writing the world's files: streamed, in time order like real exports, byte for byte stable.

People are generated one after another, but a real export lists receipts and events in time
order. A spool keeps each row under its time key in monthly bucket files on disk (a small
buffer per month in memory); the spools of all shards are then merged one month at a time
while writing the final file: the memory needed is one month of the file, not the whole file.
"""

from __future__ import annotations

import csv
import itertools
from typing import IO, TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

_FLUSH_LINES = 2048
_WRITE_CHUNK = 8192


class Spool:
    """Payloads kept under a sortable text key, in monthly bucket files."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        directory.mkdir(parents=True)
        self._buffers: dict[str, list[bytes]] = {}

    def add(self, key: str, payload: bytes) -> None:
        """Keep ``payload`` (one line, no newline in it) under ``key`` (fixed-width time first)."""
        bucket = key[:7]
        buffer = self._buffers.get(bucket)
        if buffer is None:
            buffer = self._buffers[bucket] = []
        buffer.append(key.encode() + b"\t" + payload)
        if len(buffer) >= _FLUSH_LINES:
            self._flush(bucket, buffer)

    def _flush(self, bucket: str, buffer: list[bytes]) -> None:
        with (self._directory / bucket).open("ab") as file:
            file.write(b"\n".join(buffer))
            file.write(b"\n")
        buffer.clear()

    def close(self) -> None:
        """Write what is still buffered, each bucket sorted: the spool is complete on disk.

        Sorting here, in the shard's process, leaves the merge of all shards only sorted
        runs to interleave, which is what Python's sort does fastest.
        """
        for bucket, buffer in self._buffers.items():
            if buffer:
                self._flush(bucket, buffer)
        for path in self._directory.iterdir():
            lines = path.read_bytes().split(b"\n")
            lines.pop()
            lines.sort()
            lines.append(b"")
            path.write_bytes(b"\n".join(lines))


def merged(directories: Sequence[Path]) -> Iterator[Iterator[bytes]]:
    """The payloads of several spools, a month at a time, in key order.

    Ties are broken by the payload bytes. Memory holds one month of the file, once.
    """
    buckets = sorted(
        {
            path.name
            for directory in directories
            if directory.exists()
            for path in directory.iterdir()
        }
    )
    for bucket in buckets:
        lines: list[bytes] = []
        for directory in directories:
            path = directory / bucket
            if path.exists():
                chunk = path.read_bytes().split(b"\n")
                chunk.pop()
                lines.extend(chunk)
        lines.sort()
        yield _payloads(lines)


def _payloads(lines: list[bytes]) -> Iterator[bytes]:
    for line in lines:
        yield line[line.index(b"\t") + 1 :]


class CsvOutput:
    """A CSV file written row by row, with its header, counting its rows."""

    def __init__(self, path: Path, header: Sequence[str] | None) -> None:
        self.path = path
        self._file: IO[str] = path.open("w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._file, lineterminator="\n")
        if header is not None:
            self._writer.writerow(header)
        self.rows = 0

    def write(self, row: Sequence[str | int]) -> None:
        self._writer.writerow(row)
        self.rows += 1

    def close(self) -> None:
        self._file.close()


class JsonlOutput:
    """A JSON Lines file, one object per line, counting its lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] = path.open("wb")
        self.rows = 0

    def write_lines(self, lines: Iterator[bytes]) -> None:
        # In chunks: one write per chunk, without a second copy of a whole month.
        while chunk := list(itertools.islice(lines, _WRITE_CHUNK)):
            chunk.append(b"")
            self._file.write(b"\n".join(chunk))
            self.rows += len(chunk) - 1

    def close(self) -> None:
        self._file.close()


def dumps(value: object) -> bytes:
    """Compact JSON; keys keep their insertion order, so the bytes are reproducible."""
    return orjson.dumps(value)


def write_jsonl(months: Iterator[Iterator[bytes]], output: JsonlOutput) -> None:
    for lines in months:
        output.write_lines(lines)


def write_csv(months: Iterator[Iterator[bytes]], output: CsvOutput) -> None:
    for payloads in months:
        for payload in payloads:
            output.write(orjson.loads(payload))


def write_orders_csv(
    months: Iterator[Iterator[bytes]], orders: CsvOutput, lines: CsvOutput
) -> None:
    """Each payload is ``[order_row, [line_row, ...]]``: the lines follow their order."""
    for payloads in months:
        for payload in payloads:
            order_row, line_rows = orjson.loads(payload)
            orders.write(order_row)
            for line_row in line_rows:
                lines.write(line_row)
