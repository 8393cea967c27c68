from decimal import Decimal

import pytest

from patron.ingest import MoneyError, currency_exponent, to_minor_units


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        pytest.param("12.50", "EUR", 1250, id="two decimals"),
        pytest.param("12.5", "gbp", 1250, id="lower-case code"),
        pytest.param(19.99, "CZK", 1999, id="float"),
        pytest.param("100", "JPY", 100, id="no decimals"),
        pytest.param("1.234", "KWD", 1234, id="three decimals"),
        pytest.param(Decimal("-3.10"), "EUR", -310, id="refund"),
    ],
)
def test_amounts_become_minor_units(amount: str, currency: str, minor: int) -> None:
    assert to_minor_units(amount, currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        pytest.param("1.234", "EUR", "more decimal places than EUR allows", id="too precise"),
        pytest.param("ten", "EUR", "not an amount of money", id="not a number"),
        pytest.param("NaN", "EUR", "not an amount of money", id="nan"),
        pytest.param("1e30", "EUR", "too large", id="too large"),
        pytest.param("1", "XYZ", "unknown currency", id="unknown currency"),
    ],
)
def test_bad_amounts_are_refused_with_a_reason(amount: str, currency: str, message: str) -> None:
    with pytest.raises(MoneyError, match=message):
        to_minor_units(amount, currency)


def test_inexact_amounts_round_half_to_even_when_asked() -> None:
    assert to_minor_units("0.125", "EUR", exact=False) == 12
    assert to_minor_units("0.135", "EUR", exact=False) == 14


def test_currency_exponents_come_from_the_currency() -> None:
    assert [currency_exponent(code) for code in ("EUR", "JPY", "BHD")] == [2, 0, 3]
