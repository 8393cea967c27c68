"""Finding customers by name, email, phone and loyalty card, normalised like identity does."""

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from tests.integration.profiles.graph_state import import_jsonl, new_customer

from patron import identity, profiles
from patron.identity import MergeMethod
from patron.ingest import Channel


@pytest.fixture
def customers(sessions: sessionmaker[Session], tmp_path: Path) -> tuple[int, int]:
    import_jsonl(
        sessions,
        tmp_path,
        "customers",
        source="store",
        channel=Channel.POS,
        rows=[
            {"id": "1", "first_name": "Ann", "last_name": "Lee", "phone": "+44 7911 123456"},
            {"id": "2", "first_name": "Bob", "last_name": "Annand", "email": "bob@example.com"},
            {"id": "3", "first_name": "Ann", "last_name": "Lee", "email": "ann2@example.com"},
        ],
    )
    with sessions() as session, session.begin():
        ann = new_customer(
            session,
            records=(("store", "1"),),
            identifiers=(
                ("phone", "+447911123456"),
                ("loyalty_card", "633700123456"),
                ("email", "old.ann@example.com"),
            ),
        )
        bob = new_customer(
            session, records=(("store", "2"),), identifiers=(("email", "bob@example.com"),)
        )
        twin = new_customer(session, records=(("store", "3"),))
        identity.merge_profiles(session, ann, twin, method=MergeMethod.MANUAL, reason={})
        profiles.refresh_golden_records(session, [ann, bob, twin])
    return ann, bob


@pytest.mark.parametrize(
    ("query", "found", "matched"),
    [
        pytest.param("ann", ["ann", "bob"], [("name",), ("name",)], id="first or last name"),
        pytest.param("Ann Lee", ["ann"], [("name",)], id="first and last name"),
        pytest.param("lee ann", ["ann"], [("name",)], id="last name first"),
        pytest.param(" OLD.Ann@Example.com ", ["ann"], [("email",)], id="any email, any case"),
        pytest.param("07911 123456", ["ann"], [("phone",)], id="national phone"),
        pytest.param("+44 (7911) 123-456", ["ann"], [("phone",)], id="international phone"),
        pytest.param("6337 0012-3456", ["ann"], [("loyalty_card",)], id="loyalty card"),
        pytest.param("carol", [], [], id="nobody"),
        pytest.param("50%_", [], [], id="like wildcards are literal"),
    ],
)
def test_search_finds_customers(
    sessions: sessionmaker[Session],
    customers: tuple[int, int],
    query: str,
    found: list[str],
    matched: list[tuple[str, ...]],
) -> None:
    ids = dict(zip(("ann", "bob"), customers, strict=True))

    with sessions() as session:
        results = profiles.search_profiles(session, query, region="GB")

    assert [r.id for r in results] == [ids[name] for name in found]
    assert [r.matched_on for r in results] == matched


def test_search_results_show_the_golden_name_and_contacts(
    sessions: sessionmaker[Session], customers: tuple[int, int]
) -> None:
    ann, _ = customers

    with sessions() as session:
        [result] = profiles.search_profiles(session, "+447911123456")

    assert result == profiles.ProfileMatch(
        id=ann,
        first_name="Ann",
        last_name="Lee",
        email="ann2@example.com",
        phone="+447911123456",
        matched_on=("phone",),
    )


def test_an_empty_search_is_refused(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, pytest.raises(ValueError, match="needs some text"):
        profiles.search_profiles(session, "  ")
