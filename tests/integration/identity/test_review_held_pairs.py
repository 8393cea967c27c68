"""Customers the shared-email guard keeps apart wait in the review queue for a person."""

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from tests.conftest import TEST_SECRET
from typer.testing import CliRunner

from patron import identity, ingest
from patron.cli import app as cli
from patron.identity.models import MatchPair, Merge, MergeBlock

from .test_resolve import customer_of, given_events, message, resolve, source
from .test_shared_email_guard import FAMILY, given_records

runner = CliRunner()


@pytest.fixture
def channels(sessions: sessionmaker[Session]) -> dict[str, int]:
    return {
        "pos": source(sessions, "pos", ingest.Channel.POS),
        "crm": source(sessions, "crm", ingest.Channel.CRM),
    }


def given_anna_and_robert_held_apart(sessions: sessionmaker[Session]) -> identity.ResolutionStep:
    given_records(
        sessions,
        ("pos", "P-1", {"first_name": "Anna", "last_name": "Lee", "email": FAMILY}),
        ("crm", "C-1", {"first_name": "Robert", "last_name": "Lee", "email": FAMILY}),
    )
    return resolve(sessions)


def queue(sessions: sessionmaker[Session], status: str | None = "review") -> list[Any]:
    with sessions() as session:
        return identity.list_match_pairs(session, status=status)


def robert_shows_up_with_the_family_email_again(
    sessions: sessionmaker[Session], crm: int
) -> identity.ResolutionStep:
    # An event of Robert's (the crm's userId is its record id) carrying the family email: the
    # guard holds it apart from Anna again.
    given_events(sessions, message(crm, userId="C-1", context={"traits": {"email": FAMILY}}))
    return resolve(sessions)


def test_two_customers_held_apart_wait_in_the_queue_with_the_rules_reason(
    sessions: sessionmaker[Session], channels: dict[str, int]
) -> None:
    step = given_anna_and_robert_held_apart(sessions)

    pairs = queue(sessions)
    assert (step.merges_held, step.held_queued) == (1, 1)
    assert len(pairs) == 1
    pair = pairs[0]
    assert (pair.method, pair.status, pair.probability, pair.model_version) == (
        "rule",
        "review",
        None,
        None,
    )
    assert {pair.record_a.record_id, pair.record_b.record_id} == {"P-1", "C-1"}
    assert pair.reason is not None
    assert pair.reason["text"] == "shared email, first names disagree: Anna / Robert"
    assert pair.reason["identifier"] == {"type": "email", "value": FAMILY}
    with sessions() as session:
        assert identity.match_pair(session, pair.id).reason == pair.reason


def test_a_pair_held_again_is_not_queued_twice(
    sessions: sessionmaker[Session], channels: dict[str, int]
) -> None:
    given_anna_and_robert_held_apart(sessions)

    again = robert_shows_up_with_the_family_email_again(sessions, channels["crm"])

    assert (again.merges_held, again.held_queued) == (1, 0)
    assert len(queue(sessions, None)) == 1


def test_one_person_sharing_an_email_is_merged_and_not_queued(
    sessions: sessionmaker[Session], channels: dict[str, int]
) -> None:
    given_records(
        sessions,
        ("pos", "P-1", {"first_name": "William", "email": FAMILY}),
        ("crm", "C-1", {"first_name": "Bill", "email": FAMILY}),
    )

    step = resolve(sessions)

    with sessions() as session:
        assert customer_of(session, "record", "P-1") == customer_of(session, "record", "C-1")
    assert (step.merges_held, step.held_queued) == (0, 0)
    assert queue(sessions, None) == []


def test_accepting_a_held_pair_merges_them_as_a_reviewers_decision(
    sessions: sessionmaker[Session], channels: dict[str, int]
) -> None:
    given_anna_and_robert_held_apart(sessions)
    pair = queue(sessions)[0]

    with sessions.begin() as session:
        decision = identity.accept_match_pair(session, pair.id, decided_by="marketing")

    assert (decision.status, decision.merge_status) == ("accepted", "merged")
    with sessions() as session:
        assert customer_of(session, "record", "P-1") == customer_of(session, "record", "C-1")
        merge = session.scalars(select(Merge)).one()
        assert merge.id == decision.merge_id
        assert merge.method == "manual"
        assert merge.reason["rule"] == "review accepted"
        assert merge.reason["decided_by"] == "marketing"
        assert merge.reason["method"] == "rule"
        assert merge.reason["held_apart"]["text"] == pair.reason["text"]
        assert identity.match_pair(session, pair.id).status == "accepted"
    # One customer now: the family email joins nobody else.
    again = robert_shows_up_with_the_family_email_again(sessions, channels["crm"])
    assert (again.merges_held, again.held_queued) == (0, 0)


def test_rejecting_a_held_pair_blocks_them_and_it_is_not_asked_again(
    sessions: sessionmaker[Session], channels: dict[str, int]
) -> None:
    given_anna_and_robert_held_apart(sessions)
    pair = queue(sessions)[0]

    with sessions.begin() as session:
        decision = identity.reject_match_pair(session, pair.id, decided_by="marketing")
    again = robert_shows_up_with_the_family_email_again(sessions, channels["crm"])

    assert decision.status == "rejected"
    assert again.held_queued == 0
    assert queue(sessions) == []
    with sessions() as session:
        assert customer_of(session, "record", "P-1") != customer_of(session, "record", "C-1")
        assert session.scalar(select(func.count()).select_from(MergeBlock)) == 1
        assert session.scalar(select(func.count()).select_from(MatchPair)) == 1
    with sessions.begin() as session, pytest.raises(identity.PairDecidedError):
        identity.accept_match_pair(session, pair.id, decided_by="marketing")


def test_the_cli_lists_a_held_pair_with_its_reason(
    sessions: sessionmaker[Session], channels: dict[str, int], database_url: str
) -> None:
    given_anna_and_robert_held_apart(sessions)

    shown = runner.invoke(
        cli,
        ["review", "list"],
        env={
            "PATRON_DATABASE_URL": database_url,
            "PATRON_ENVIRONMENT": "test",
            "PATRON_SECRET_KEY": TEST_SECRET,
        },
    )

    assert shown.exit_code == 0, shown.output
    assert "rule: shared email, first names disagree: Anna / Robert" in shown.output
    assert "pos:P-1 Anna Lee" in shown.output
