"""Reading one field of a row, and building Segment messages from CSV columns."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from patron.ingest.importers.events import derived_message_id, message_from_columns
from patron.ingest.importers.values import (
    InvalidRowError,
    amount,
    content_hash,
    currency,
    extras,
    integer,
    iso_date,
    minor_units,
    text,
    timestamp,
)


def test_text_is_stripped_and_empty_is_missing() -> None:
    values = {"a": "  Ann ", "b": "   ", "c": 42, "d": 1.5}

    assert [text(values, k) for k in "abcde"] == ["Ann", None, "42", "1.5", None]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (True, "name must be text, not True"),
        ({"x": 1}, "name must be text, not {'x': 1}"),
        ("a\x00b", "name contains a NUL character"),
        ("x" * 11, "name is longer than 10 characters"),
    ],
    ids=["boolean", "object", "nul", "too-long"],
)
def test_text_refuses_what_cannot_be_stored(value: object, reason: str) -> None:
    with pytest.raises(InvalidRowError) as raised:
        text({"name": value}, "name", 10)

    assert str(raised.value) == reason


def test_birth_dates_must_be_written_year_month_day() -> None:
    assert iso_date({"d": "1990-01-02"}, "d") == date(1990, 1, 2)
    assert iso_date({"d": ""}, "d") is None
    for bad in ("19900102", "02/01/1990", "1990-02-30", "1990-1-2"):
        with pytest.raises(InvalidRowError, match="is not a date"):
            iso_date({"d": bad}, "d")


def test_times_are_utc_and_a_time_without_offset_is_read_in_the_zone() -> None:
    prague = ZoneInfo("Europe/Prague")

    assert timestamp({"t": "2024-06-01T12:00:00"}, "t") == datetime(2024, 6, 1, 12, tzinfo=UTC)
    assert timestamp({"t": "2024-06-01T12:00:00"}, "t", prague) == datetime(
        2024, 6, 1, 10, tzinfo=UTC
    )
    assert timestamp({"t": "2024-06-01T12:00:00-05:00"}, "t", prague) == datetime(
        2024, 6, 1, 17, tzinfo=UTC
    )
    assert timestamp({"t": "2024-06-01"}, "t") == datetime(2024, 6, 1, tzinfo=UTC)
    with pytest.raises(InvalidRowError, match="is missing"):
        timestamp({}, "t")


def test_whole_numbers() -> None:
    assert integer({"q": " 3 "}, "q") == 3
    assert integer({"q": 2.0}, "q") == 2
    assert integer({"q": -1}, "q") == -1
    assert integer({"q": ""}, "q") is None
    for bad in ("2.5", "two", True, 2.5):
        with pytest.raises(InvalidRowError, match="is not a whole number"):
            integer({"q": bad}, "q")
    with pytest.raises(InvalidRowError, match="must be at least 1, not 0"):
        integer({"q": "0"}, "q", minimum=1)


def test_money_is_checked_then_converted_by_the_currency_exponent() -> None:
    assert amount({"p": " 12.50 "}, "p") == "12.50"
    assert amount({"p": 3}, "p") == "3"
    assert currency({"c": "czk"}, "c") == "CZK"
    assert minor_units("12.50", "EUR", "p") == 1250
    assert minor_units("1200", "JPY", "p") == 1200
    assert minor_units("-1.5", "GBP", "p") == -150
    for bad in ("12,50", "NaN", "Infinity", "£3"):
        with pytest.raises(InvalidRowError, match="is not an amount"):
            amount({"p": bad}, "p")
    with pytest.raises(InvalidRowError, match="not a known ISO 4217 currency"):
        currency({"c": "EURO"}, "c")
    for huge in ("1e17", "-1e17", "1e40"):
        with pytest.raises(InvalidRowError, match="too large"):
            minor_units(huge, "EUR", "p")


def test_extras_leave_out_standard_and_empty_columns() -> None:
    values = {"id": "1", "tier": "gold", "note": "", "tags": ["a"]}

    assert extras(values, ("id",)) == {"tier": "gold", "tags": ["a"]}


def test_the_content_hash_follows_content_not_key_order() -> None:
    assert content_hash([{"a": 1, "b": 2}]) == content_hash([{"b": 2, "a": 1}])
    assert content_hash([{"a": 1}]) != content_hash([{"a": 2}])
    with pytest.raises(InvalidRowError, match="NUL"):
        content_hash([{"note": "a\x00"}])


def test_csv_columns_become_a_nested_typed_message() -> None:
    row = {
        "type": "track",
        "event": "Order Completed",
        "userId": "u1",
        "properties.revenue:number": "25",
        "properties.products:json": '[{"sku": "A", "price": 12.5}]',
        "context.app.version": "2.1",
        "context.device.tablet:boolean": "No",
        "coupon": "X1",
        "messageId": "",
    }

    message = message_from_columns(row)

    assert message == {
        "type": "track",
        "event": "Order Completed",
        "userId": "u1",
        "properties": {"revenue": 25, "products": [{"sku": "A", "price": 12.5}], "coupon": "X1"},
        "context": {"app": {"version": "2.1"}, "device": {"tablet": False}},
    }


def test_loose_columns_of_identify_are_traits() -> None:
    assert message_from_columns({"type": "identify", "userId": "u", "plan": "pro"}) == {
        "type": "identify",
        "userId": "u",
        "traits": {"plan": "pro"},
    }


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"properties.price:number": "1,5"}, "is not a number"),
        ({"traits.vip:boolean": "maybe"}, "is not true or false"),
        ({"properties.x:json": "{"}, "is not valid JSON"),
        ({"properties.x:date": "2024"}, "unknown type 'date'"),
        ({"context.page": "home", "context.page.url": "/"}, "which has a value of its own"),
    ],
    ids=["number", "boolean", "json", "unknown-type", "nesting"],
)
def test_bad_csv_event_columns_are_row_errors(row: dict[str, str], reason: str) -> None:
    with pytest.raises(InvalidRowError, match=reason):
        message_from_columns({"type": "track", **row})


def test_a_derived_message_id_depends_only_on_the_content() -> None:
    first = derived_message_id({"type": "page", "anonymousId": "a", "name": "Home"})
    again = derived_message_id({"name": "Home", "anonymousId": "a", "type": "page"})
    other = derived_message_id({"type": "page", "anonymousId": "b", "name": "Home"})

    assert first == again != other
    assert first.startswith("import-")
