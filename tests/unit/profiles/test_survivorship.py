"""Survivorship: each attribute's surviving value and its lineage, by rule."""

from datetime import UTC, datetime

import pytest

from patron.profiles.survivorship import (
    DEFAULT_POLICY,
    FieldPolicy,
    RecordValues,
    SurvivingValue,
    SurvivorshipPolicy,
    SurvivorshipRule,
    golden_values,
    survive,
)


def at(day: int) -> datetime:
    return datetime(2026, 1, day, 12, tzinfo=UTC)


def record(pk: int, source: str, channel: str, day: int, **values: str) -> RecordValues:
    return RecordValues(
        source_record_id=pk,
        source=source,
        channel=channel,
        record_id=f"{source}-{pk}",
        updated_at=at(day),
        values=values,
    )


def only(name: str, rule: SurvivorshipRule, *trusted: str) -> SurvivorshipPolicy:
    return SurvivorshipPolicy(fields={name: FieldPolicy(rule, trusted)})


def test_most_recent_keeps_the_latest_delivered_value() -> None:
    # given two records with different phones, the second delivered later
    records = [
        record(1, "store", "pos", 1, phone="+441"),
        record(2, "shop", "eshop", 5, phone="+442"),
        record(3, "crm", "crm", 9),
    ]

    # when the phone survives by recency
    golden = survive(records, only("phone", SurvivorshipRule.MOST_RECENT))

    # then the latest record that has a phone gives it, with its lineage
    assert golden["phone"] == SurvivingValue(
        value="+442",
        source="shop",
        channel="eshop",
        record_id="shop-2",
        source_record_id=2,
        rule=SurvivorshipRule.MOST_RECENT,
        at=at(5),
    )


def test_most_frequent_keeps_what_most_records_agree_on_ignoring_case_and_spaces() -> None:
    records = [
        record(1, "store", "pos", 1, birth_date="1990-02-01"),
        record(2, "shop", "eshop", 2, birth_date="1990-01-02"),
        record(3, "crm", "crm", 3, first_name="ANN ", birth_date="1990-01-02"),
        record(4, "app", "app", 4, first_name="ann"),
        record(5, "pos2", "pos", 9, first_name="Anne", birth_date="1990-02-01"),
    ]

    golden = survive(
        records, SurvivorshipPolicy(default=FieldPolicy(SurvivorshipRule.MOST_FREQUENT))
    )

    # two records give each date: the tie goes to the most recent of the four
    assert golden["birth_date"].value == "1990-02-01"
    assert golden["birth_date"].record_id == "pos2-5"
    # two records spell the name alike: the most recent of them gives its spelling
    assert golden["first_name"].value == "ann"
    assert golden["first_name"].rule is SurvivorshipRule.MOST_FREQUENT


@pytest.mark.parametrize(
    ("trusted", "winner"),
    [
        pytest.param(("eshop",), "shop-2", id="by channel"),
        pytest.param(("store", "eshop"), "store-1", id="by source name first"),
        pytest.param(("fax",), "crm-3", id="nothing trusted: most recent"),
    ],
)
def test_most_trusted_source_prefers_the_listed_sources_in_order(
    trusted: tuple[str, ...], winner: str
) -> None:
    records = [
        record(1, "store", "pos", 1, email="a@pos.example"),
        record(2, "shop", "eshop", 2, email="a@shop.example"),
        record(3, "crm", "crm", 3, email="a@crm.example"),
    ]

    golden = survive(records, only("email", SurvivorshipRule.MOST_TRUSTED_SOURCE, *trusted))

    assert golden["email"].record_id == winner


def test_two_records_of_the_trusted_source_go_by_recency() -> None:
    records = [
        record(1, "shop", "eshop", 4, email="new@shop.example"),
        record(2, "shop", "eshop", 2, email="old@shop.example"),
        record(3, "crm", "crm", 9, email="a@crm.example"),
    ]

    golden = survive(records, only("email", SurvivorshipRule.MOST_TRUSTED_SOURCE, "eshop"))

    assert golden["email"].value == "new@shop.example"


def test_address_fields_survive_together_from_one_record() -> None:
    # given a trusted POS address without a region and a newer, complete e-shop address
    records = [
        record(1, "store", "pos", 1, street="1 High St", city="Leeds", postcode="LS1 1AA"),
        record(
            2, "shop", "eshop", 5, street="9 Low Rd", city="York", postcode="YO1 1AA", region="N"
        ),
        record(3, "crm", "crm", 9, email="a@crm.example"),
    ]

    # when the default policy (POS first for addresses) runs
    golden = survive(records, DEFAULT_POLICY)

    # then the whole address is the POS one, and the region stays empty, never borrowed
    assert {name: golden[name].value for name in ("street", "city", "postcode", "region")} == {
        "street": "1 High St",
        "city": "Leeds",
        "postcode": "LS1 1AA",
        "region": None,
    }
    assert {golden[name].record_id for name in ("street", "city", "region", "country")} == {
        "store-1"
    }
    assert golden["street"].group == "address"
    assert "region" not in golden_values(golden)


def test_most_frequent_address_compares_whole_addresses() -> None:
    records = [
        record(1, "a", "pos", 1, street="1 High St", city="Leeds"),
        record(2, "b", "pos", 2, street="1 high st", city="LEEDS"),
        record(3, "c", "pos", 3, street="9 Low Rd", city="Leeds"),
    ]

    golden = survive(records, only("address", SurvivorshipRule.MOST_FREQUENT))

    assert (golden["street"].value, golden["city"].value) == ("1 high st", "LEEDS")


def test_extra_attributes_survive_by_the_default_rule_and_empty_ones_are_absent() -> None:
    records = [
        record(1, "store", "pos", 1, tier="silver"),
        record(2, "crm", "crm", 3, tier="gold", first_name="Ann"),
    ]

    golden = survive(records, DEFAULT_POLICY)

    assert golden_values(golden) == {"first_name": "Ann", "tier": "gold"}
    assert golden["tier"].rule is SurvivorshipRule.MOST_RECENT


def test_no_records_give_an_empty_golden_record() -> None:
    assert survive([], DEFAULT_POLICY) == {}


def test_lineage_round_trips_through_json() -> None:
    golden = survive([record(1, "store", "pos", 1, street="1 High St")], DEFAULT_POLICY)

    stored = golden["street"].to_json()

    assert stored["rule"] == "most_trusted_source"
    assert stored["group"] == "address"
    assert SurvivingValue.from_json(stored) == golden["street"]
