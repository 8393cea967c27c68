import pytest
from sqlalchemy.orm import Session, sessionmaker

from patron import ingest
from patron.ingest import Channel


def test_created_source_is_found_by_its_write_key(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        created = ingest.create_source(session, "eshop", Channel.ESHOP, default_region="cz")

    with sessions() as session:
        found = ingest.source_by_write_key(session, created.write_key)

    assert found == created.source
    assert found is not None
    assert found.channel is Channel.ESHOP
    assert found.default_region == "CZ"
    assert created.write_key.startswith(found.write_key_hint)


def test_write_key_is_not_stored_in_clear(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        created = ingest.create_source(session, "pos", Channel.POS)

    with sessions() as session:
        listed = ingest.list_sources(session)
        # Another last character (the key's own may be any of the alphabet).
        other = "y" if created.write_key.endswith("x") else "x"
        assert ingest.source_by_write_key(session, created.write_key[:-1] + other) is None

    assert [source.name for source in listed] == ["pos"]
    assert created.write_key not in repr(listed)


def test_a_source_name_is_taken_once(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        ingest.create_source(session, "app", Channel.APP)

    with sessions.begin() as session, pytest.raises(ingest.SourceExistsError, match="app"):
        ingest.create_source(session, "app", Channel.WEB)


def test_ensure_source_creates_once(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        first = ingest.ensure_source(session, "crm", Channel.CRM)
    with sessions.begin() as session:
        second = ingest.ensure_source(session, "crm", Channel.CRM)

    assert first == second


def test_rotating_a_key_retires_the_old_one(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        old = ingest.create_source(session, "web", Channel.WEB)
    with sessions.begin() as session:
        new = ingest.rotate_write_key(session, "web")

    with sessions() as session:
        assert ingest.source_by_write_key(session, old.write_key) is None
        assert ingest.source_by_write_key(session, new.write_key) == new.source


def test_rotating_an_unknown_source_says_so(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session, pytest.raises(LookupError, match="nope"):
        ingest.rotate_write_key(session, "nope")
