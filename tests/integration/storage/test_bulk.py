"""Reading rows by many keys at once."""

from typing import cast

import pytest
from sqlalchemy import Engine, Table, select, text
from sqlalchemy.orm import Session, sessionmaker

from patron.ingest import Channel, ensure_source
from patron.ingest.models import SourceRecord
from patron.storage import keys_join

RECORDS = cast("Table", SourceRecord.__table__)


def _store_records(session: Session, count: int) -> tuple[int, int]:
    pos = ensure_source(session, "pos", Channel.POS)
    eshop = ensure_source(session, "eshop", Channel.ESHOP)
    session.add_all(
        SourceRecord(
            source_id=source.id,
            record_id=f"C{number}",
            first_name=f"{source.name}-{number}",
            content_hash=f"{source.id}-{number}",
        )
        for source in (pos, eshop)
        for number in range(count)
    )
    session.flush()
    return pos.id, eshop.id


def test_a_keys_join_reads_exactly_the_rows_whose_columns_equal_a_key(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        pos, eshop = _store_records(session, 50)
        for odd in ("007", "7", 'O\'Brien "Zoë"'):
            session.add(
                SourceRecord(source_id=pos, record_id=odd, first_name=odd, content_hash=odd)
            )
        session.flush()
        keys = [
            (pos, "C3"),
            (eshop, "C3"),
            (eshop, "C49"),
            (pos, "C50"),
            (eshop + 10, "C1"),
            (pos, "007"),
            (pos, 'O\'Brien "Zoë"'),
        ]

        # when the records are read by seven (source, record id) keys, two of them unknown
        wanted, condition = keys_join(
            session.get_bind().dialect, (RECORDS.c.source_id, RECORDS.c.record_id), keys
        )
        rows = session.execute(
            select(RECORDS.c.source_id, RECORDS.c.record_id, RECORDS.c.first_name)
            .select_from(wanted)
            .join(RECORDS, condition)
        ).all()

        # then the five known ones come back, each once, and nothing else (not "7" for "007")
        assert sorted(tuple(row) for row in rows) == sorted(
            [
                (pos, "C3", "pos-3"),
                (eshop, "C3", "eshop-3"),
                (eshop, "C49", "eshop-49"),
                (pos, "007", "007"),
                (pos, 'O\'Brien "Zoë"', 'O\'Brien "Zoë"'),
            ]
        )


def test_a_keys_join_needs_a_key(engine: Engine) -> None:
    with pytest.raises(ValueError, match="at least one key"):
        keys_join(engine.dialect, (RECORDS.c.source_id, RECORDS.c.record_id), [])


def test_sqlite_searches_the_index_once_per_key_instead_of_scanning_the_table(
    database_url: str, sessions: sessionmaker[Session]
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the plan asserted is SQLite's; PostgreSQL plans by its statistics")
    with sessions() as session:
        pos, _ = _store_records(session, 200)
        session.execute(text("ANALYZE"))
        wanted, condition = keys_join(
            session.get_bind().dialect,
            (RECORDS.c.source_id, RECORDS.c.record_id),
            [(pos, f"C{n}") for n in range(20)],
        )
        query = select(RECORDS.c.id).select_from(wanted).join(RECORDS, condition)
        compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})

        # when SQLite is asked how it would read twenty keys out of 400 records
        plan = [row[-1] for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()]

        # then it walks the keys and searches the records' unique index for each
        assert any(
            step.startswith("SEARCH source_records USING") and "INDEX" in step for step in plan
        ), plan
        assert not any(step.startswith("SCAN source_records") for step in plan), plan
