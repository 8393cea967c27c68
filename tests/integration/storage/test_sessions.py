"""What a session can say and change about its own connection."""

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from patron.ingest import Channel, ensure_source
from patron.storage import has_written, large_page_cache


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
