"""Money as integer minor units of an ISO 4217 currency."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import UnknownCurrencyError, get_currency_precision, list_currencies


class MoneyError(ValueError):
    """An amount or a currency that cannot be read."""


@lru_cache(maxsize=512)
def currency_exponent(currency: str) -> int:
    """How many decimal places ``currency`` has (2 for EUR, 0 for JPY, 3 for KWD)."""
    code = currency.strip().upper()
    if code not in _known_currencies():
        msg = f"unknown currency {currency!r}"
        raise MoneyError(msg)
    try:
        return int(get_currency_precision(code))
    except UnknownCurrencyError as error:  # pragma: no cover - list and precision agree
        raise MoneyError(str(error)) from error


@lru_cache(maxsize=1)
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def to_minor_units(amount: str | float | Decimal, currency: str, *, exact: bool = True) -> int:
    """Convert an amount in major units (``"12.50"`` EUR) into minor units (``1250``).

    Raises MoneyError for an unknown currency, a non-numeric amount, or (when ``exact``) an
    amount with more decimal places than the currency has; otherwise such an amount is
    rounded half to even.
    """
    exponent = currency_exponent(currency)
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation as error:
        msg = f"{amount!r} is not an amount of money"
        raise MoneyError(msg) from error
    if not value.is_finite():
        msg = f"{amount!r} is not an amount of money"
        raise MoneyError(msg)
    minor = value.scaleb(exponent)
    try:
        rounded = minor.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    except InvalidOperation as error:  # more digits than the decimal context holds
        msg = f"{amount!r} is too large an amount of money"
        raise MoneyError(msg) from error
    if exact and minor != rounded:
        msg = f"{amount!r} has more decimal places than {currency.upper()} allows ({exponent})"
        raise MoneyError(msg)
    return int(rounded)
