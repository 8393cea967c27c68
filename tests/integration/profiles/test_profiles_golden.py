"""Golden records: kept per customer, recomputed after merges and unmerges, by the rules in
force."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.integration.profiles.graph_state import import_jsonl, new_customer

from patron import identity, profiles
from patron.identity import FieldSurvivorship, IdentityRules, MergeMethod, SurvivorshipRules
from patron.ingest import Channel
from patron.profiles.models import GoldenRecord

ANN_POS = {
    "id": "p1",
    "first_name": "Ann",
    "last_name": "Lee",
    "email": " Ann.Lee@POS.example",
    "phone": "+44 7911 123456",
    "street": "1 High St",
    "city": "Leeds",
    "postcode": "LS1 1AA",
}
ANN_SHOP = {
    "id": "s1",
    "first_name": "Ann",
    "last_name": "Lee-Smith",
    "email": "ann@shop.example",
    "street": "9 Low Rd",
    "city": "York",
    "postcode": "YO1 1AA",
    "region": "North Yorkshire",
}


@pytest.fixture
def two_nodes(sessions: sessionmaker[Session], tmp_path: Path) -> tuple[int, int]:
    """Ann's POS record on one node, her e-shop record on another."""
    import_jsonl(
        sessions, tmp_path, "customers", source="store", channel=Channel.POS, rows=[ANN_POS]
    )
    import_jsonl(
        sessions, tmp_path, "customers", source="shop", channel=Channel.ESHOP, rows=[ANN_SHOP]
    )
    with sessions() as session, session.begin():
        pos = new_customer(session, records=(("store", "p1"),))
        shop = new_customer(session, records=(("shop", "s1"),))
    return pos, shop


def golden(sessions: sessionmaker[Session]) -> dict[int, GoldenRecord]:
    with sessions() as session:
        return {row.profile_id: row for row in session.scalars(select(GoldenRecord))}


def test_a_merge_gives_one_golden_record_by_the_survivorship_rules(
    sessions: sessionmaker[Session], two_nodes: tuple[int, int]
) -> None:
    pos, shop = two_nodes
    with sessions() as session, session.begin():
        assert profiles.refresh_golden_records(session, [pos, shop]) == 2

    # when the two nodes merge and the touched customers are refreshed
    with sessions() as session, session.begin():
        outcome = identity.merge_profiles(
            session, pos, shop, method=MergeMethod.MANUAL, reason={"rule": "test"}
        )
        refreshed = profiles.refresh_golden_records(session, [pos, shop])

    # then one golden record remains: e-shop email, POS address whole, lineage for each
    assert outcome.status == "merged"
    assert refreshed == 1
    rows = golden(sessions)
    assert list(rows) == [pos]
    row = rows[pos]
    assert (row.first_name, row.email, row.phone) == ("Ann", "ann@shop.example", "+447911123456")
    assert row.last_name == "Lee-Smith"
    assert row.attributes["email"]["source"] == "shop"
    assert row.attributes["email"]["record_id"] == "s1"
    assert row.attributes["email"]["rule"] == "most_trusted_source"
    address = {name: row.attributes[name]["value"] for name in ("street", "city", "region")}
    assert address == {"street": "1 High St", "city": "Leeds", "region": None}
    assert row.attributes["region"]["record_id"] == "p1"


def test_an_unmerge_gives_both_customers_their_golden_records_back(
    sessions: sessionmaker[Session], two_nodes: tuple[int, int]
) -> None:
    pos, shop = two_nodes
    with sessions() as session, session.begin():
        outcome = identity.merge_profiles(
            session, pos, shop, method=MergeMethod.MANUAL, reason={"rule": "test"}
        )
        profiles.refresh_golden_records(session, [pos, shop])
    assert outcome.merge_id is not None

    with sessions() as session, session.begin():
        profiles.undo_merge(session, outcome.merge_id, reason="two people")

    rows = golden(sessions)
    assert sorted(rows) == [pos, shop]
    assert rows[pos].email == "ann.lee@pos.example"
    assert rows[shop].email == "ann@shop.example"
    assert rows[shop].attributes["city"]["value"] == "York"


def test_saved_rules_change_which_value_survives(
    sessions: sessionmaker[Session], two_nodes: tuple[int, int]
) -> None:
    # given rules that trust the POS for emails
    pos, shop = two_nodes
    fields = dict(SurvivorshipRules().fields)
    fields["email"] = FieldSurvivorship(rule="most_trusted_source", trusted_sources=("pos",))
    with sessions() as session, session.begin():
        identity.save_rules(
            session, IdentityRules(survivorship=SurvivorshipRules(fields=fields)), note="pos"
        )
        identity.merge_profiles(session, pos, shop, method=MergeMethod.MANUAL, reason={})

    with sessions() as session, session.begin():
        profiles.refresh_golden_records(session, [shop])

    assert golden(sessions)[pos].email == "ann.lee@pos.example"


def test_refresh_all_recomputes_every_customer_and_drops_merged_ones(
    sessions: sessionmaker[Session], two_nodes: tuple[int, int]
) -> None:
    pos, shop = two_nodes
    with sessions() as session, session.begin():
        profiles.refresh_golden_records(session, [pos, shop])
        lone = new_customer(session)
        identity.merge_profiles(session, pos, shop, method=MergeMethod.MANUAL, reason={})

    refreshed = profiles.refresh_all_golden_records(sessions, chunk=1)

    assert refreshed == 2
    rows = golden(sessions)
    assert sorted(rows) == [pos, lone]
    assert rows[lone].attributes == {}
    assert rows[pos].email == "ann@shop.example"


def test_unknown_ids_are_ignored(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        assert profiles.refresh_golden_records(session, [404]) == 0


def test_the_sweep_refreshes_only_customers_changed_since_the_last_one(
    sessions: sessionmaker[Session], two_nodes: tuple[int, int], tmp_path: Path
) -> None:
    pos, shop = two_nodes
    # given a first sweep, which refreshes everyone
    with sessions() as session, session.begin():
        assert profiles.refresh_changed_golden_records(session) == 2
        bob = new_customer(session)

    # when a customer appears and, later, two customers merge
    later = datetime.now(UTC) + timedelta(hours=1)
    with sessions() as session, session.begin():
        identity.merge_profiles(session, pos, shop, method=MergeMethod.MANUAL, reason={})
    with sessions() as session, session.begin():
        merged = profiles.refresh_changed_golden_records(session, now=later)
    with sessions() as session, session.begin():
        untouched = profiles.refresh_changed_golden_records(session, now=later + timedelta(hours=1))

    # then the merged customer and the new one were refreshed, and nobody the next time
    assert merged == 2
    assert untouched == 0
    assert sorted(golden(sessions)) == [pos, bob]


def test_the_sweep_sees_a_merge_undone_outside_the_profiles(
    sessions: sessionmaker[Session], two_nodes: tuple[int, int]
) -> None:
    pos, shop = two_nodes
    with sessions() as session, session.begin():
        outcome = identity.merge_profiles(session, pos, shop, method=MergeMethod.MANUAL, reason={})
        profiles.refresh_changed_golden_records(session)
    assert outcome.merge_id is not None

    with sessions() as session, session.begin():
        identity.unmerge(session, outcome.merge_id, reason="split by hand")
    with sessions() as session, session.begin():
        refreshed = profiles.refresh_changed_golden_records(session)

    assert refreshed == 2
    rows = golden(sessions)
    assert (rows[pos].email, rows[shop].email) == ("ann.lee@pos.example", "ann@shop.example")


def test_the_sweep_can_wait_for_its_interval(
    sessions: sessionmaker[Session], two_nodes: tuple[int, int]
) -> None:
    pos, shop = two_nodes
    start = datetime.now(UTC)
    with sessions() as session, session.begin():
        profiles.refresh_changed_golden_records(session, now=start)
        identity.merge_profiles(session, pos, shop, method=MergeMethod.MANUAL, reason={})

    with sessions() as session, session.begin():
        early = profiles.refresh_changed_golden_records(
            session, now=start + timedelta(seconds=10), at_most_every=timedelta(minutes=1)
        )
    with sessions() as session, session.begin():
        due = profiles.refresh_changed_golden_records(
            session, now=start + timedelta(minutes=2), at_most_every=timedelta(minutes=1)
        )

    assert (early, due) == (0, 1)
    assert list(golden(sessions)) == [pos]
