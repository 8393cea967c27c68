"""Large imports stream: the memory an import needs does not grow with the file."""

import csv
import tracemalloc
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from patron.ingest import Channel, import_file


def _customer_file(path: Path, rows: int) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["id", "first_name", "last_name", "email", "phone", "loyalty_card", "birth_date"]
        )
        for i in range(rows):
            writer.writerow(
                [f"c{i}", "Anna", f"Novak{i}", f"anna{i}@example.com", "", f"L{i}", "1990-01-02"]
            )
    return path


def _peak_memory(sessions: sessionmaker[Session], path: Path, source: str) -> tuple[int, int]:
    tracemalloc.start()
    try:
        summary = import_file(
            sessions, "customers", path, source=source, channel=Channel.CRM, chunk_size=500
        )
        return summary.inserted, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_file(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # given a file five times as large as another
    small = _customer_file(tmp_path / "small.csv", 4_000)
    large = _customer_file(tmp_path / "large.csv", 20_000)

    # when each is imported, in chunks of 500 rows
    small_rows, small_peak = _peak_memory(sessions, small, "small")
    large_rows, large_peak = _peak_memory(sessions, large, "large")

    # then the large one needs no more memory than the small one (within noise): the rows
    # stream through, and ids seen are remembered by the database, not in memory
    assert (small_rows, large_rows) == (4_000, 20_000)
    assert large_peak < small_peak * 1.3 + 256 * 1024
    assert large_peak < 8 * 1024 * 1024
