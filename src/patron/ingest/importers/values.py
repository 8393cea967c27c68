"""Reading one field of a row: text, dates, times, integers and money, with clear reasons.

Every reader takes the row's values (strings from a CSV file, JSON values from a JSONL file)
and a column name, and raises InvalidRowError naming the column and the value when it cannot be
read. An empty value is a missing one.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import String

from patron.ingest.money import MoneyError, currency_exponent, to_minor_units

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from sqlalchemy import Table

# The largest whole numbers the columns take on every engine (INTEGER and BIGINT).
MAX_INTEGER = 2**31 - 1
MAX_MONEY = 2**63 - 1
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SHOWN = 40


class InvalidRowError(ValueError):
    """The row cannot be imported; the message says which field and why."""


def shown(value: object) -> str:
    """A value quoted for an error message, cut short if it is long."""
    text = repr(value)
    return text if len(text) <= _SHOWN else f"{text[: _SHOWN - 4]}...{text[-1]}"


def column_lengths(table: Table) -> dict[str, int]:
    """The longest text each string column of ``table`` takes (PostgreSQL enforces it)."""
    return {
        column.name: column.type.length
        for column in table.columns
        if isinstance(column.type, String) and column.type.length is not None
    }


def text(values: Mapping[str, Any], column: str, max_length: int | None = None) -> str | None:
    """The column as stripped text, or None when it is missing or empty."""
    raw = values.get(column)
    if raw is None:
        return None
    if raw.__class__ is str:  # the usual case first: this runs for every cell of a file
        value = raw.strip()
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        value = str(raw)
    else:
        msg = f"{column} must be text, not {shown(raw)}"
        raise InvalidRowError(msg)
    if not value:
        return None
    if "\x00" in value:
        msg = f"{column} contains a NUL character"
        raise InvalidRowError(msg)
    if max_length is not None and len(value) > max_length:
        msg = f"{column} is longer than {max_length} characters"
        raise InvalidRowError(msg)
    return value


def required_text(values: Mapping[str, Any], column: str, max_length: int | None = None) -> str:
    value = text(values, column, max_length)
    if value is None:
        msg = f"{column} is missing"
        raise InvalidRowError(msg)
    return value


def iso_date(values: Mapping[str, Any], column: str) -> date | None:
    """A calendar date written ``YYYY-MM-DD``, or None when empty."""
    value = text(values, column)
    if value is None:
        return None
    if _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    msg = f"{column} {shown(value)} is not a date (YYYY-MM-DD)"
    raise InvalidRowError(msg)


def timestamp(values: Mapping[str, Any], column: str, zone: tzinfo = UTC) -> datetime:
    """An ISO 8601 date and time, as UTC. A time without an offset is read in ``zone``."""
    value = text(values, column)
    if value is None:
        msg = f"{column} is missing"
        raise InvalidRowError(msg)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        msg = f"{column} {shown(value)} is not an ISO 8601 date and time"
        raise InvalidRowError(msg) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def integer(values: Mapping[str, Any], column: str, *, minimum: int | None = None) -> int | None:
    """A whole number, or None when empty."""
    raw = values.get(column)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    number: int | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        number = raw
    elif isinstance(raw, float) and raw.is_integer():
        number = int(raw)
    elif isinstance(raw, str):
        try:
            number = int(raw.strip())
        except ValueError:
            number = None
    if number is None:
        msg = f"{column} {shown(raw)} is not a whole number"
        raise InvalidRowError(msg)
    if minimum is not None and number < minimum:
        msg = f"{column} must be at least {minimum}, not {number}"
        raise InvalidRowError(msg)
    if abs(number) > MAX_INTEGER:
        msg = f"{column} {number} is too large"
        raise InvalidRowError(msg)
    return number


def currency(values: Mapping[str, Any], column: str = "currency") -> str | None:
    """An ISO 4217 currency code in capitals, or None when empty."""
    value = text(values, column)
    if value is None:
        return None
    try:
        currency_exponent(value)
    except MoneyError:
        msg = f"{column} {shown(value)} is not a known ISO 4217 currency"
        raise InvalidRowError(msg) from None
    return value.upper()


def amount(values: Mapping[str, Any], column: str) -> str | None:
    """A raw amount in major units, checked to be a number; converted once the currency is known."""
    raw = values.get(column)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        msg = f"{column} {shown(raw)} is not an amount"
        raise InvalidRowError(msg)
    value = raw.strip() if isinstance(raw, str) else str(raw)
    try:
        number = Decimal(value)
    except ArithmeticError:
        number = None
    if number is None or not number.is_finite():
        msg = f"{column} {shown(raw)} is not an amount (write it like 12.50)"
        raise InvalidRowError(msg)
    return value


def minor_units(raw_amount: str, currency_code: str, column: str) -> int:
    """``raw_amount`` (major units, checked by ``amount``) in minor units of the currency."""
    try:
        minor = to_minor_units(raw_amount, currency_code)
    except MoneyError as error:
        msg = f"{column}: {error}"
        raise InvalidRowError(msg) from None
    return checked_money(minor, column)


def checked_money(minor: int, what: str) -> int:
    """``minor`` if a 64-bit column can hold it; otherwise the row is rejected."""
    if abs(minor) > MAX_MONEY:
        msg = f"{what} is too large"
        raise InvalidRowError(msg)
    return minor


def extras(values: Mapping[str, Any], standard: Collection[str]) -> dict[str, Any]:
    """The row's other columns, kept as the record's attributes (empty CSV cells left out)."""
    return {
        key: value
        for key, value in values.items()
        if key not in standard and value is not None and value != ""
    }


def content_hash(parts: list[Any]) -> str:
    """A fingerprint of a row's content: a re-import of the same content writes nothing.

    Raises InvalidRowError for a NUL character anywhere in the content, which PostgreSQL cannot
    store in text or JSON.
    """
    try:
        encoded = orjson.dumps(parts, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError as error:
        msg = f"cannot store the row's values: {error}"
        raise InvalidRowError(msg) from None
    if b"\\u0000" in encoded:
        msg = "the row contains a NUL character (\\u0000), which cannot be stored"
        raise InvalidRowError(msg)
    return hashlib.blake2b(encoded, digest_size=32).hexdigest()
