"""How a source record's row becomes survivorship's input: normal forms, extras, empties."""

from datetime import UTC, date, datetime

import pytest

from patron.profiles.golden import record_values

UPDATED = datetime(2026, 1, 1, tzinfo=UTC)


def row(region: str | None, *, attributes: object = None, **fields: object) -> tuple[object, ...]:
    names = (
        "first_name", "last_name", "email", "phone", "loyalty_card", "birth_date",
        "street", "city", "postcode", "region", "country",
    )  # fmt: skip
    return (7, "store", "pos", "m1", UPDATED, region, *(fields.get(n) for n in names), attributes)


@pytest.mark.parametrize(
    ("field", "given", "region", "kept"),
    [
        pytest.param("email", " Ann.Lee@Gmail.COM ", None, "ann.lee@gmail.com", id="email case"),
        pytest.param("email", "n/a", None, None, id="not an email"),
        pytest.param("phone", "07911 123456", "GB", "+447911123456", id="national phone"),
        pytest.param("phone", "+44 7911 123456", None, "+447911123456", id="international"),
        pytest.param("phone", "07911 123456", None, "07911 123456", id="no region: as given"),
        pytest.param("phone", "12", "GB", "12", id="impossible length: as given"),
        pytest.param("loyalty_card", "6337 0012-3456", None, "633700123456", id="card"),
        pytest.param("first_name", "  ", None, None, id="blank"),
    ],
)
def test_values_take_their_normal_form(
    field: str, given: str, region: str | None, kept: str | None
) -> None:
    values = record_values(row(region, **{field: given})).values

    assert values.get(field) == kept


def test_dates_extras_and_what_a_source_delivered() -> None:
    delivered = row(
        "GB",
        email="ANN@Gmail.com",
        birth_date=date(1990, 1, 2),
        attributes={"tier": "gold", "points": 309, "nested": {"a": 1}, "email": "shadowed"},
    )

    survivorship = record_values(delivered)
    as_delivered = record_values(delivered, as_delivered=True)

    assert survivorship.values == {
        "tier": "gold",
        "points": "309",
        "email": "ann@gmail.com",
        "birth_date": "1990-01-02",
    }
    assert as_delivered.values["email"] == "ANN@Gmail.com"
    assert (survivorship.source, survivorship.record_id, survivorship.updated_at) == (
        "store",
        "m1",
        UPDATED,
    )
