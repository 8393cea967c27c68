"""A household's shared email does not merge two people whose first names disagree."""

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from patron import identity, ingest
from patron.identity.models import Merge

from .test_resolve import customer_of, given_events, given_record, message, resolve, source

FAMILY = "family@home.example.org"


def given_records(
    sessions: sessionmaker[Session], *records: tuple[str, str, dict[str, Any]]
) -> None:
    with sessions.begin() as session:
        ids = {
            name: source_id
            for source_id, name in session.execute(
                select(ingest.models.Source.id, ingest.models.Source.name)
            )
        }
        for source_name, record_id, fields in records:
            given_record(session, ids[source_name], record_id, **fields)


@pytest.fixture
def channels(sessions: sessionmaker[Session]) -> None:
    source(sessions, "pos", ingest.Channel.POS)
    source(sessions, "crm", ingest.Channel.CRM)
    source(sessions, "eshop", ingest.Channel.ESHOP)


@pytest.mark.usefixtures("channels")
def test_two_people_sharing_only_an_email_are_kept_apart(sessions: sessionmaker[Session]) -> None:
    given_records(
        sessions,
        ("pos", "P-1", {"first_name": "Anna", "last_name": "Lee", "email": FAMILY}),
        ("crm", "C-1", {"first_name": "Robert", "last_name": "Lee", "email": FAMILY}),
    )

    step = resolve(sessions)

    with sessions() as session:
        assert customer_of(session, "record", "P-1") != customer_of(session, "record", "C-1")
        assert customer_of(session, "email", FAMILY) == customer_of(session, "record", "P-1")
        assert session.scalar(select(func.count()).select_from(Merge)) == 0
    assert step.merges_held == 1


@pytest.mark.usefixtures("channels")
@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param("William", "Bill", id="nickname"),
        pytest.param("John", "Jon", id="typo"),
        pytest.param("Anna", None, id="no first name"),
        pytest.param("ANNA", "anna", id="case"),
    ],
)
def test_one_person_sharing_an_email_still_merges(
    sessions: sessionmaker[Session], first: str, second: str | None
) -> None:
    given_records(
        sessions,
        ("pos", "P-1", {"first_name": first, "email": FAMILY}),
        ("crm", "C-1", {"first_name": second, "email": FAMILY}),
    )

    step = resolve(sessions)

    with sessions() as session:
        assert customer_of(session, "record", "P-1") == customer_of(session, "record", "C-1")
    assert step.merges_held == 0


@pytest.mark.usefixtures("channels")
def test_a_phone_beside_the_email_is_evidence_enough(sessions: sessionmaker[Session]) -> None:
    given_records(
        sessions,
        ("pos", "P-1", {"first_name": "Anna", "email": FAMILY, "phone": "07400 123456"}),
        ("crm", "C-1", {"first_name": "Robert", "email": FAMILY, "phone": "+447400123456"}),
    )

    resolve(sessions)

    with sessions() as session:
        assert customer_of(session, "record", "P-1") == customer_of(session, "record", "C-1")


@pytest.mark.usefixtures("channels")
def test_a_merge_through_the_email_alone_is_held_too(sessions: sessionmaker[Session]) -> None:
    given_records(
        sessions,
        ("pos", "P-1", {"first_name": "Anna", "email": FAMILY}),
        ("crm", "C-1", {"first_name": "Robert", "phone": "07400 123456"}),
    )
    resolve(sessions)
    # A later record of Robert's knows his phone and the family email: a phone joins it to
    # Robert; the email alone must not pull Anna in.
    given_records(
        sessions, ("eshop", "E-1", {"first_name": "Rob", "phone": "07400 123456", "email": FAMILY})
    )

    step = resolve(sessions)

    with sessions() as session:
        robert = customer_of(session, "record", "C-1")
        assert customer_of(session, "record", "E-1") == robert
        assert customer_of(session, "record", "P-1") != robert
    assert (step.merges, step.merges_held) == (0, 1)


@pytest.mark.usefixtures("channels")
def test_the_guard_can_be_switched_off(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        identity.save_rules(
            session, identity.parse_rules({"shared_identifiers": {"enabled": False}})
        )
    given_records(
        sessions,
        ("pos", "P-1", {"first_name": "Anna", "email": FAMILY}),
        ("crm", "C-1", {"first_name": "Robert", "email": FAMILY}),
    )

    resolve(sessions)

    with sessions() as session:
        assert customer_of(session, "record", "P-1") == customer_of(session, "record", "C-1")


def test_an_identify_calls_first_name_is_compared_too(sessions: sessionmaker[Session]) -> None:
    source(sessions, "pos", ingest.Channel.POS)
    app = source(sessions, "app", ingest.Channel.APP)
    given_records(sessions, ("pos", "P-1", {"first_name": "Anna", "email": FAMILY}))
    given_events(
        sessions,
        message(app, "identify", userId="u-1", traits={"firstName": "Robert", "email": FAMILY}),
        message(app, "identify", userId="u-2", traits={"firstName": "Ann", "email": FAMILY}),
    )

    resolve(sessions)

    with sessions() as session:
        anna = customer_of(session, "record", "P-1")
        assert customer_of(session, "user_id", "u-1") != anna
        assert customer_of(session, "user_id", "u-2") == anna
