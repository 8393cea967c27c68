from datetime import date
from typing import Any

import pytest

from patron.identity.traits import parse_birthday, record_fields

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        pytest.param("1985-03-12", "GB", date(1985, 3, 12), id="iso date"),
        pytest.param("1985-03-12T00:00:00.000Z", "GB", date(1985, 3, 12), id="iso date-time"),
        pytest.param("1985/03/12", "GB", date(1985, 3, 12), id="year first with slashes"),
        pytest.param("19850312", "GB", date(1985, 3, 12), id="compact"),
        pytest.param("12/03/1985", "GB", date(1985, 3, 12), id="day first in Britain"),
        pytest.param("12.03.1985", "DE", date(1985, 3, 12), id="day first with dots"),
        pytest.param("03/12/1985", "US", date(1985, 3, 12), id="month first in the US"),
        pytest.param("12 March 1985", "GB", date(1985, 3, 12), id="named month"),
        pytest.param("March 12, 1985", "GB", date(1985, 3, 12), id="named month first"),
        pytest.param(" 12 mar 1985 ", None, date(1985, 3, 12), id="short month, spaces"),
    ],
)
def test_birthdays_are_read_in_iso_and_common_forms(
    raw: str, region: str | None, expected: date
) -> None:
    assert parse_birthday(raw, region=region, today=TODAY) == expected


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("", id="empty"),
        pytest.param("soon", id="words"),
        pytest.param("31/02/1985", id="no such day"),
        pytest.param("12/03/85", id="two-digit year"),
        pytest.param("1850-01-01", id="too old"),
        pytest.param("2030-01-01", id="in the future"),
        pytest.param(19850312.5, id="a float"),
        pytest.param(True, id="a boolean"),
        pytest.param({"year": 1985}, id="an object"),
        pytest.param("1985-03-12T25:99", id="broken date-time"),
    ],
)
def test_what_is_no_birthday_is_dropped(raw: object) -> None:
    assert parse_birthday(raw, region="GB", today=TODAY) is None


def test_segment_traits_become_normalised_record_fields() -> None:
    traits: dict[str, Any] = {
        "email": " Ann.Lee@Shop.CO.UK ",
        "firstName": " Ann ",
        "lastName": "Lee",
        "phone": "07400 123456",
        "birthday": "1985-03-12",
        "createdAt": "2024-01-01T10:00:00Z",
        "loyaltyCard": "6337 0001-2345",
        "address": {
            "street": "1 High St",
            "city": "Leeds",
            "postalCode": "ls1 4ap",
            "state": "West Yorkshire",
            "country": "GB",
        },
        "plan": "gold",
    }

    fields = record_fields(traits, region="GB")

    assert fields == {
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann.lee@shop.co.uk",
        "phone": "+447400123456",
        "loyalty_card": "633700012345",
        "birth_date": date(1985, 3, 12),
        "street": "1 High St",
        "city": "Leeds",
        "postcode": "ls1 4ap",
        "region": "West Yorkshire",
        "country": "GB",
    }


def test_a_full_name_is_split_only_when_first_and_last_name_are_not_sent() -> None:
    assert record_fields({"name": "Mary Ann Smith"}, region="GB") == {
        "first_name": "Mary",
        "last_name": "Ann Smith",
    }
    assert record_fields({"name": "Mary Smith", "firstName": "May"}, region="GB") == {
        "first_name": "May"
    }


@pytest.mark.parametrize(
    "traits",
    [
        pytest.param({"email": "not an email"}, id="bad email"),
        pytest.param({"phone": "12"}, id="impossible phone"),
        pytest.param({"firstName": "   "}, id="blank name"),
        pytest.param({"firstName": ["Ann"]}, id="a list"),
        pytest.param({"lastName": "x" * 300}, id="too long"),
        pytest.param({"firstName": "A\x00nn"}, id="NUL character"),
        pytest.param({"address": "1 High St"}, id="address not an object"),
        pytest.param({"birthday": "yesterday"}, id="bad birthday"),
        pytest.param({"loyaltyCard": "!!"}, id="bad card"),
    ],
)
def test_invalid_traits_are_dropped_without_raising(traits: dict[str, Any]) -> None:
    assert record_fields(traits, region="GB") == {}
