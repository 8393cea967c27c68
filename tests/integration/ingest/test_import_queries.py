"""Query budgets: an import costs a fixed number of statements per chunk, not per row."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from patron.ingest import Channel, ImportKind, import_file


@contextmanager
def counted_statements(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def statements_for(
    engine: Engine, sessions: sessionmaker[Session], kind: ImportKind, path: Path, source: str
) -> int:
    with counted_statements(engine) as statements:
        summary = import_file(
            sessions, kind, path, source=source, channel=Channel.ESHOP, chunk_size=100
        )
    assert summary.ok
    return len(statements)


def orders_file(path: Path, orders: int) -> Path:
    # every order names a new customer (a placeholder) and carries two lines
    rows = [
        {
            "id": f"o{i}",
            "customer_id": f"c{i}",
            "ordered_at": "2024-01-01T10:00:00Z",
            "currency": "EUR",
            "total": "3.00",
            "lines": [
                {"sku": "A", "quantity": 1, "unit_price": "1.00"},
                {"sku": "B", "quantity": 1, "unit_price": "2.00"},
            ],
        }
        for i in range(orders)
    ]
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    return path


def test_orders_cost_a_fixed_number_of_statements_per_chunk(
    engine: Engine, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # given two files of 2 and 4 chunks of orders, each with a new customer and two lines
    two_chunks = orders_file(tmp_path / "a.jsonl", 200)
    four_chunks = orders_file(tmp_path / "b.jsonl", 400)

    # when each is imported for a source of its own
    small = statements_for(engine, sessions, ImportKind.ORDERS, two_chunks, "a")
    large = statements_for(engine, sessions, ImportKind.ORDERS, four_chunks, "b")

    # then two more chunks cost the same few statements each, whatever their rows
    # (keys seen: 2; customers and placeholders: 3; orders: 2; lines: 3)
    assert (large - small) / 2 == 10


def test_customers_cost_a_fixed_number_of_statements_per_chunk(
    engine: Engine, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    header = "id,first_name\n"
    small_file = tmp_path / "a.csv"
    small_file.write_text(header + "".join(f"c{i},Ann\n" for i in range(200)))
    large_file = tmp_path / "b.csv"
    large_file.write_text(header + "".join(f"c{i},Ann\n" for i in range(400)))

    small = statements_for(engine, sessions, ImportKind.CUSTOMERS, small_file, "a")
    large = statements_for(engine, sessions, ImportKind.CUSTOMERS, large_file, "b")

    # (keys seen: 2; stored content: 1; upsert: 1)
    assert (large - small) / 2 == 4
