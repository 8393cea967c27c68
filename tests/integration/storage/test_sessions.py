"""What a session can say and change about its own connection."""

from typing import cast

from sqlalchemy import Table, text
from sqlalchemy.orm import Session, sessionmaker

from patron.ingest import Channel, ensure_source
from patron.ingest.models import SourceRecord
from patron.storage import has_written, large_page_cache, refresh_statistics


def test_a_larger_page_cache_lasts_for_the_block_only(
    database_url: str, sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        sqlite = database_url.startswith("sqlite")
        before = session.execute(text("PRAGMA cache_size")).scalar() if sqlite else None

        # when a block asks for 256 MB of page cache
        with large_page_cache(session, 256):
            during = session.execute(text("PRAGMA cache_size")).scalar() if sqlite else None

        # then SQLite had it (in KiB, as a negative number) and has its own again after
        if sqlite:
            assert during == -256 * 1024
            assert session.execute(text("PRAGMA cache_size")).scalar() == before
            assert before != during


def test_a_session_knows_whether_it_has_written(
    database_url: str, sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        session.execute(text("SELECT 1"))
        written_before = has_written(session)
        ensure_source(session, "pos", Channel.POS)

        # then a write not committed yet is known (on PostgreSQL it is always assumed)
        assert has_written(session)
        assert written_before is (not database_url.startswith("sqlite"))
        session.rollback()


def test_statistics_refreshed_on_postgresql_count_the_rows_just_written(
    database_url: str, sessions: sessionmaker[Session]
) -> None:
    records = cast("Table", SourceRecord.__table__)
    with sessions() as session, session.begin():
        pos = ensure_source(session, "pos", Channel.POS)
        session.add_all(
            SourceRecord(source_id=pos.id, record_id=f"C{n}", content_hash=str(n))
            for n in range(300)
        )

    # when a step about to read the records many times has the statistics refreshed
    with sessions() as session:
        refresh_statistics(session, [records])

        # then PostgreSQL's planner counts the 300 rows; SQLite had nothing to do
        if database_url.startswith("postgresql"):
            estimate = session.execute(
                text("SELECT reltuples FROM pg_class WHERE relname = 'source_records'")
            ).scalar()
            assert estimate == 300
        else:
            assert (
                session.execute(
                    text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
                ).scalar()
                == 0
            )
