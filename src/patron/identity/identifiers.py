"""Identifiers, normalised before they are matched.

Every channel writes the same person's details its own way: ``ANNA.Smith@Example.com ``,
``07700 900123`` and ``+44 7700 900123``, ``6337 0012-3456``. Each type has one normal form, so
that equal identifiers compare equal. A value that cannot be an identifier (not an email, not a
possible phone number, empty, absurdly long) is no identifier at all: the normalisers answer
``None`` and never raise.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from typing import Final, NamedTuple

import phonenumbers
from email_validator import EmailNotValidError, validate_email


class IdentifierType(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    LOYALTY_CARD = "loyalty_card"
    USER_ID = "user_id"
    ANONYMOUS_ID = "anonymous_id"
    DEVICE_ID = "device_id"
    PUSH_TOKEN = "push_token"  # noqa: S105 - a type name, not a secret
    # A source's own customer record: the value is the source's record id.
    RECORD = "record"


BUILT_IN_TYPES: Final = tuple(kind.value for kind in IdentifierType)
CUSTOM_PREFIX: Final = "custom:"
# Identifiers that only mean something inside the source that sent them.
SOURCE_SCOPED: Final = frozenset(
    {IdentifierType.USER_ID, IdentifierType.ANONYMOUS_ID, IdentifierType.RECORD}
)
GLOBAL_SCOPE: Final = 0
# The identifiers table's value column.
MAX_VALUE_LENGTH: Final = 320
_CARD_SEPARATORS = re.compile(r"[\s\-_.]+")
_CARD = re.compile(r"[0-9A-Z]{4,64}")


class IdentifierKey(NamedTuple):
    """An identifier as stored: its type, its scope (a source id, or 0) and its value.

    A named tuple: resolution hashes and compares thousands of them per batch, and a tuple
    does it in C (a frozen dataclass's hash and constructor run in Python, three times slower).
    """

    type: str
    scope: int
    value: str


def scope_of(kind: str, source_id: int, *, per_source: bool = False) -> int:
    """The scope of an identifier of this type sent by this source."""
    return source_id if kind in SOURCE_SCOPED or per_source else GLOBAL_SCOPE


@lru_cache(maxsize=65_536)
def normalise_email(raw: str) -> str | None:
    """``' Anna.Smith@Example.COM'`` → ``'anna.smith@example.com'``; None if not an email."""
    value = raw.strip()
    if not value or len(value) > MAX_VALUE_LENGTH or "@" not in value:
        return None
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.normalized.lower()


@lru_cache(maxsize=65_536)
def normalise_phone(raw: str, region: str | None) -> str | None:
    """A phone number in E.164 (``+447700900123``); national numbers are read in ``region``.

    None when it is not a valid number (or a national number without a region).
    """
    value = raw.strip()
    if not value or len(value) > 64:
        return None
    if value.startswith("00"):
        value = "+" + value[2:]
    try:
        number = phonenumbers.parse(value, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_loyalty_card(raw: str) -> str | None:
    """``'6337 0012-3456'`` → ``'633700123456'``: no separators, upper case."""
    value = _CARD_SEPARATORS.sub("", raw).upper()
    return value if _CARD.fullmatch(value) else None


def normalise_id(raw: object) -> str | None:
    """A user id, anonymous id, device id, push token or custom identifier: trimmed text.

    Numbers are accepted (``42`` → ``'42'``); other JSON values (objects, lists, booleans) are
    not identifiers.
    """
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return None
    value = str(raw).strip()
    if not value or len(value) > MAX_VALUE_LENGTH:
        return None
    return value


def normalise(kind: str, raw: object, *, region: str | None = None) -> str | None:
    """The normal form of a value of an identifier type, or None if it is not one."""
    if kind in (IdentifierType.EMAIL, IdentifierType.PHONE, IdentifierType.LOYALTY_CARD):
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        if not isinstance(raw, str):
            return None
        if kind == IdentifierType.EMAIL:
            return normalise_email(raw)
        if kind == IdentifierType.PHONE:
            return normalise_phone(raw, region)
        return normalise_loyalty_card(raw)
    if kind == IdentifierType.DEVICE_ID:
        # iOS sends its vendor id in upper case, some SDKs in lower case: the same device.
        value = normalise_id(raw)
        return value.lower() if value is not None else None
    return normalise_id(raw)
