"""Feature preparation in SQL gives exactly the normal forms of the Python normalisers."""

import random

import phonenumbers
import pyarrow as pa
import pytest

from patron.identity.identifiers import normalise_email, normalise_loyalty_card, normalise_phone
from patron.identity.matching.features import (
    RAW_SCHEMA,
    clean_city,
    clean_name,
    clean_postcode,
    clean_street,
    first_name_forms,
    prepare_features,
)

REGIONS = ("GB", "DE", "FR", "IE", "CZ", "US", "AU", "IT", "JE")

NAMES = [
    "  ANNE-MARIE ", "Zoë", "O'Brien", "null", "NULL", "n/a", "-", "Søren", "ﬁona", "İlkay",
    "Ǆenan", "  ", "Jean  Luc", "mary-jane.o'neil", "Ørsted", "Ægir", "straße",
    "\uff21\uff2e\uff2e\uff21", "x\u0301y", "Bill", "bill", "William", "Test", "Unknown", "12",
    "José María", "ÉMILIE",
]  # fmt: skip
POSTCODES = [
    "m6 7bt", "M67BT", "SW1A 1AA", "75008", " - ", "ß1 2ab", "ec1a1bb", "D02 X285", "2152",
    "ab12cd", "\uff11\uff12\uff13\uff14\uff15", "AB 1 2CD", "\u21336 7BT",
]  # fmt: skip
STREETS = ["Flat 6, 76 Elliott Heights", "25 PIKE PLACE", "Åsgatan 4", "  ", "1/2 Main St."]
EMAILS = [
    "Anna.Smith@Example.COM", "anna.smith@example.com", " anna@example.org ", "a..b@example.com",
    ".a@example.com", "a.@example.com", "a@b", "a@b.test", "x@localhost", "x@sub.invalid",
    "user+tag@gmail.com", "user_name-1@my-domain.co.uk", "ÄNNA@example.de", "anna@exämple.de",
    '"john doe"@example.com', "john@-example.com", "john@example-.com", "john@xn--bcher-kva.ch",
    "john@xn--abc.com", "a" * 64 + "@example.com", "a" * 65 + "@example.com",
    "john@" + "a" * 64 + ".com", "john@example.123", "JOHN@EXAMPLE.C", "no-reply@shop.com",
    "john@@example.com", "john@example..com", "john@a.b.c.d.example.museum",
    "Mary.O'Neil@Example.com", "o'brien@example.ie", "'quote'@example.com",
    "a!b#c$d%e&f*g+h/i=j?k^l_m`n{o|p}q~r@example.com", "x'y@localhost", "x'y@b.test",
    "o''neil@example.com", "o'.neil@example.com", "o\\'neil@example.com", "o\"neil@example.com",
]  # fmt: skip
CARDS = [
    "6337 0012-3456", "ab_12.cd", "12", "ß123", "\uff11\uff12\uff13\uff14", "12\t34 56", "0000",
    "L-1001",    "  9 9 9 9  ", "abc", "x" * 65, "ab cd ef gh", "12..34",
]  # fmt: skip


def _phones() -> list[tuple[str, str | None]]:
    rng = random.Random(5)  # noqa: S311 - reproducible test values
    phones: list[tuple[str, str | None]] = []
    formats = (
        phonenumbers.PhoneNumberFormat.NATIONAL,
        phonenumbers.PhoneNumberFormat.INTERNATIONAL,
        phonenumbers.PhoneNumberFormat.E164,
    )
    for region in REGIONS:
        for kind in range(11):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            phones.extend(
                (phonenumbers.format_number(example, number_format), region)
                for number_format in formats
            )
        for _ in range(150):
            length = rng.randrange(5, 14)
            digits = "0" + "".join(str(rng.randrange(10)) for _ in range(length))
            spaced = " ".join(digits[i : i + rng.randrange(2, 5)] for i in range(0, length, 4))
            phones.append((rng.choice([digits, spaced, digits.replace("0", "0-", 1)]), region))
            code = phonenumbers.country_code_for_region(region)
            phones.append((f"+{code} {digits[rng.randrange(2) :]}", region))
    phones += [
        ("07700 900123", "GB"), ("07700 900123", None), ("+44 (0) 7700 900123", "GB"),
        ("0044 7700 900123", "GB"), ("+44 1800 20 123", "GB"), ("07700-900-123", "GB"),
        ("07700 900123 ext. 12", "GB"), ("07777 777777", "GB"), ("01534 123456", "GB"),
        ("07797 712345", "GB"), ("01624 612345", "GB"), ("0", "GB"), ("+", "GB"),
        ("0800 123 4567", "GB"), ("1-800-FLOWERS", "US"), ("+1 202 555 0123", "US"),
        ("+420 601 123 456", "CZ"), ("0601123456", "CZ"), ("+39 06 1234 5678", "IT"),
        ("0011 44 7700 900123", "AU"), ("0412 345 678", "AU"), ("07700 900123", "gb"),
    ]  # fmt: skip
    return phones


def _records(values: dict[str, list[object]], regions: list[str | None] | None = None) -> pa.Table:
    rows = max(len(column) for column in values.values())
    columns: dict[str, list[object]] = {
        name: [None] * rows for name in RAW_SCHEMA.names if name not in values
    }
    columns.update(
        {name: column + [None] * (rows - len(column)) for name, column in values.items()}
    )
    columns["unique_id"] = list(range(1, rows + 1))
    columns["source_id"] = [1] * rows
    columns["region"] = list(regions) if regions is not None else ["GB"] * rows
    return pa.Table.from_pydict(columns, schema=RAW_SCHEMA)


@pytest.mark.parametrize("graph_knows_them", [True, False], ids=["known", "unknown"])
def test_sql_features_equal_the_python_normal_forms(graph_knows_them: bool) -> None:
    # Given awkward names, addresses, emails, phones in many regions and cards
    phones = _phones()
    count = max(len(phones), len(EMAILS))
    emails = (EMAILS * (count // len(EMAILS) + 1))[:count]
    records = _records(
        {
            "first_name": NAMES,
            "last_name": list(reversed(NAMES)),
            "city": NAMES,
            "street": STREETS,
            "postcode": POSTCODES,
            "email": emails,
            "phone": [raw for raw, _ in phones],
            "loyalty_card": CARDS,
        },
        regions=[region for _, region in phones] + ["GB"] * (count - len(phones)),
    )
    # and, when the graph knows them, the normal forms the deterministic rules made
    known_emails = {normalise_email(e) for e in EMAILS} - {None} if graph_knows_them else set()
    known_phones = (
        {normalise_phone(raw, region) for raw, region in phones} - {None}
        if graph_knows_them
        else set()
    )

    # When the features are prepared
    features = prepare_features(
        records,
        known_emails=pa.array(sorted(known_emails), pa.string()),
        known_phones=pa.array(sorted(known_phones), pa.string()),
    ).to_pylist()

    # Then every value has exactly the Python normal form
    raw = records.to_pylist()
    assert [f["unique_id"] for f in features] == [r["unique_id"] for r in raw]
    for row, feature in zip(raw, features, strict=True):
        phone = row["phone"]
        first = clean_name(row["first_name"])
        expected = {
            "first_name": first,
            "first_name_forms": None if first is None else list(first_name_forms(first)),
            "last_name": clean_name(row["last_name"]),
            "city": clean_city(row["city"]),
            "street": clean_street(row["street"]),
            "postcode": clean_postcode(row["postcode"]),
            "email": None if row["email"] is None else normalise_email(row["email"]),
            "phone": None if phone is None else normalise_phone(phone, row["region"]),
            "loyalty_card": (
                None if row["loyalty_card"] is None else normalise_loyalty_card(row["loyalty_card"])
            ),
        }
        assert {key: feature[key] for key in expected} == expected, row


def test_known_forms_spare_the_normalisers_but_change_nothing() -> None:
    # Given plain values the graph knows, and the same values it does not know
    records = _records(
        {
            "email": ["Ann@Example.com", "bob@example.com"],
            "phone": ["07400 123456", "+44 7400 123457"],
        }
    )

    # When they are prepared with and without the known forms
    known = prepare_features(
        records,
        known_emails=pa.array(["ann@example.com", "bob@example.com"]),
        known_phones=pa.array(["+447400123456", "+447400123457"]),
    )
    unknown = prepare_features(records)

    # Then the features are the same
    assert known.to_pylist() == unknown.to_pylist()
    assert known.column("phone").to_pylist() == ["+447400123456", "+447400123457"]
