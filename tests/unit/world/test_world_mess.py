"""The kinds of mess, one by one."""

import random  # the tests draw from seeded generators: reproducible, not secret
from datetime import date

import pytest

from patron.world import mess


def test_a_typo_changes_a_name_by_one_keystroke() -> None:
    rng = random.Random(3)  # noqa: S311

    typos = {mess.typo(rng, "Elizabeth") for _ in range(200)}

    assert "Elizabeth" not in typos
    assert all(abs(len(t) - len("Elizabeth")) <= 1 for t in typos)
    assert all(t[0] == "E" for t in typos)
    assert len(typos) > 10


def test_short_names_get_a_doubled_letter() -> None:
    rng = random.Random(1)  # noqa: S311

    assert mess.typo(rng, "Al") == "All"


def test_nicknames_come_from_the_nicknames_package_in_a_stable_order() -> None:
    nicknames = mess.Nicknames()

    william = nicknames.of("William")

    assert "Bill" in william
    assert list(william) == sorted(william)
    assert nicknames.of("Zzyzx") == ()


@pytest.mark.parametrize(
    ("born", "expected"),
    [
        (date(1980, 3, 7), date(1980, 7, 3)),
        (date(1980, 3, 13), None),
        (date(1980, 5, 5), None),
    ],
    ids=["swappable", "day-above-12", "same-day-and-month"],
)
def test_transposed_dates_swap_day_and_month_only_when_that_is_another_date(
    born: date, expected: date | None
) -> None:
    assert mess.transposed(born) == expected


def test_email_case_keeps_the_same_address_once_normalised() -> None:
    rng = random.Random(5)  # noqa: S311

    variants = {mess.email_case(rng, "jane.doe@gmail.com") for _ in range(50)}

    assert {v.strip().lower() for v in variants} == {"jane.doe@gmail.com"}
    assert len(variants) >= 3


def test_phone_formats_are_the_same_number() -> None:
    rng = random.Random(9)  # noqa: S311

    national = {mess.national_phone(rng, "07700900123") for _ in range(100)}
    international = {mess.international_phone(rng, "07700900123") for _ in range(100)}

    digits = {"".join(c for c in p if c.isdigit()) for p in national}
    assert digits == {"07700900123"}
    assert {"".join(c for c in p if c.isdigit()).removeprefix("00") for p in international} <= {
        "447700900123",
        "4407700900123",
    }
    assert "+447700900123" in international


def test_card_numbers_are_grouped_by_four() -> None:
    assert mess.card_format("6337001234567890") == "6337 0012 3456 7890"
