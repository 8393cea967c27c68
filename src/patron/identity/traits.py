"""A source's customer records kept up to date from the traits of its ``identify`` calls.

An app or a website knows its users from what they type into it: an ``identify`` call carries
the user's id and traits (``email``, ``firstName``, ``lastName``, ``phone``, ``birthday``,
``address``...). The ``userId`` designates a source customer record (the source's own, or the
record of the source the rules name in ``user_id_records``), and the traits fill it in the way a
CDP keeps a profile's traits: per field, the newest non-empty value wins, where *newest* is the
order of the event log (the order in which the calls reached Patron). A trait that is missing,
empty or not valid (an email that is not one, a birthday that is no date) changes nothing: a
call never empties a field. A record no order or file has made yet is created; a placeholder
left by an order stops being one once it has details. The record's content hash changes, so
the real-time rules resolve it again and ``patron resolve`` compares its details. The event log
itself is never touched.

A customer file imported later is the source's full view of the record at that moment and
replaces what the calls filled in, as a newer delivery would.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Final, cast

import orjson
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from patron.identity.identifiers import (
    normalise_email,
    normalise_loyalty_card,
    normalise_phone,
)
from patron.ingest.models import SourceRecord
from patron.storage import keys_join, utcnow

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from sqlalchemy import Table
    from sqlalchemy.orm import Session

FieldValue = str | date
# The record columns traits can fill, in the order of the customers file.
RECORD_FIELDS: Final = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "loyalty_card",
    "birth_date",
    "street",
    "city",
    "postcode",
    "region",
    "country",
)
# Segment's reserved traits (and their snake_case spellings) → the record's text columns.
_NAME_TRAITS: Final[dict[str, tuple[str, ...]]] = {
    "first_name": ("firstName", "first_name"),
    "last_name": ("lastName", "last_name"),
}
_ADDRESS_TRAITS: Final[dict[str, tuple[str, ...]]] = {
    "street": ("street",),
    "city": ("city",),
    "postcode": ("postalCode", "postal_code", "postcode", "zip"),
    "region": ("state", "region"),
    "country": ("country",),
}
_CARD_TRAITS: Final = ("loyalty_card", "loyaltyCard")
_BIRTHDAY_TRAITS: Final = ("birthday", "birth_date", "birthDate")
# Day first, as written outside the United States; month first where the source's region says
# so. Two-digit years are not read: 01/02/03 says too little.
_DAY_FIRST: Final = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")
_MONTH_FIRST: Final = ("%m/%d/%Y", "%m-%d-%Y", "%m.%d.%Y")
_NAMED_MONTH: Final = ("%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y")
_YEAR_FIRST: Final = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d")
_MONTH_FIRST_REGIONS: Final = frozenset({"US", "PH", "FM", "MH", "PW"})
_SPACES = re.compile(r"\s+")
_OLDEST_BIRTH_YEAR = 1900


@dataclass(frozen=True, slots=True)
class TraitUpdate:
    """The record fields one ``identify`` call gives a source customer record."""

    source_id: int
    record_id: str
    fields: dict[str, FieldValue]


def _text(raw: object, max_length: int) -> str | None:
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return None
    value = _SPACES.sub(" ", str(raw)).strip()
    if not value or len(value) > max_length or "\x00" in value:
        return None
    return value


def _first_present(traits: Mapping[str, Any], names: Sequence[str]) -> object:
    for name in names:
        value = traits.get(name)
        if value is not None and value != "":
            return value
    return None


def parse_birthday(
    raw: object, *, region: str | None = None, today: date | None = None
) -> date | None:
    """A birthday trait as a date, or None when it is not a plausible one.

    Reads ISO dates and date-times (``1985-03-12``, ``1985-03-12T00:00:00Z``, what Segment's
    SDKs send for a ``Date``), ``YYYY/MM/DD``, ``YYYYMMDD``, ``12/03/1985`` and ``12 March
    1985`` (day first; month first for sources in the United States), ``March 12, 1985``. A
    date before 1900 or in the future is no birthday. Never raises.
    """
    if isinstance(raw, datetime):
        found: date | None = raw.date()
    elif isinstance(raw, date):
        found = raw
    else:
        value = _text(raw, 64)
        found = None if value is None else _read_date(value, region)
    if found is None:
        return None
    latest = today or datetime.now(UTC).date()
    if found.year < _OLDEST_BIRTH_YEAR or found > latest:
        return None
    return found


def _read_date(value: str, region: str | None) -> date | None:
    if "T" in value or (len(value) > 10 and value[4:5] == "-"):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
        except ValueError:
            return None
    cleaned = _SPACES.sub(" ", value.replace(",", " ")).strip()
    numeric = _MONTH_FIRST if region and region.upper() in _MONTH_FIRST_REGIONS else _DAY_FIRST
    for pattern in (*_YEAR_FIRST, *numeric, *_NAMED_MONTH):
        try:
            return datetime.strptime(cleaned, pattern).date()  # noqa: DTZ007 - a date, no time
        except ValueError:
            continue
    return None


def record_fields(traits: Mapping[str, Any], *, region: str | None) -> dict[str, FieldValue]:
    """The record fields an ``identify`` call's traits give, normalised; invalid ones left out.

    Names are trimmed text (``name`` is split into first and last name when those are not
    sent); the email is validated and lower-cased, the phone read in ``region`` and written in
    E.164, the loyalty card without separators, the birthday a date (see ``parse_birthday``),
    and ``address`` Segment's object (``street``, ``city``, ``postalCode``, ``state``,
    ``country``). Never raises: a value that cannot be read is not copied.
    """
    fields: dict[str, FieldValue] = {}
    for column, names in _NAME_TRAITS.items():
        value = _text(_first_present(traits, names), 255)
        if value is not None:
            fields[column] = value
    if "first_name" not in fields and "last_name" not in fields:
        full = _text(traits.get("name"), 511)
        if full is not None:
            first, _, last = full.partition(" ")
            if len(first) <= 255:
                fields["first_name"] = first
            if last and len(last) <= 255:
                fields["last_name"] = last
    email = _text(traits.get("email"), 320)
    if email is not None and (normalised := normalise_email(email)) is not None:
        fields["email"] = normalised
    phone = _text(traits.get("phone"), 64)
    if phone is not None and (e164 := normalise_phone(phone, region)) is not None:
        fields["phone"] = e164
    card = _text(_first_present(traits, _CARD_TRAITS), 128)
    if card is not None and (compact := normalise_loyalty_card(card)) is not None:
        fields["loyalty_card"] = compact
    birthday = parse_birthday(_first_present(traits, _BIRTHDAY_TRAITS), region=region)
    if birthday is not None:
        fields["birth_date"] = birthday
    address = traits.get("address")
    if isinstance(address, dict):
        for column, names in _ADDRESS_TRAITS.items():
            value = _text(_first_present(address, names), 64 if column == "country" else 255)
            if value is not None:
                fields[column] = value
    return fields


def _fingerprint(record_id: str, values: Mapping[str, FieldValue | None]) -> str:
    encoded = orjson.dumps([record_id, dict(values)], option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(encoded, digest_size=32).hexdigest()


def _insert(session: Session, table: Table) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def fill_records_from_traits(session: Session, updates: Sequence[TraitUpdate]) -> int:
    """Fill in source customer records from ``identify`` traits, in the given (log) order.

    Per record and field the last non-empty value wins; records that do not exist are created
    (not as placeholders). Only records whose content changes are written, with a new content
    hash and ``updated_at``. Returns the number of records written. Runs in the caller's
    transaction; a record written meanwhile by an import keeps every field the traits do not
    set.
    """
    wanted: dict[tuple[int, str], dict[str, FieldValue]] = {}
    for update in updates:
        if update.fields:
            wanted.setdefault((update.source_id, update.record_id), {}).update(update.fields)
    if not wanted:
        return 0
    table = cast("Table", SourceRecord.__table__)
    columns = [table.c[name] for name in RECORD_FIELDS]
    stored: dict[tuple[int, str], Any] = {}
    asked, known = keys_join(
        session.get_bind().dialect, (table.c.source_id, table.c.record_id), sorted(wanted)
    )
    for row in session.execute(
        select(table.c.source_id, table.c.record_id, table.c.is_placeholder, *columns)
        .select_from(asked)
        .join(table, known)
    ).all():
        stored[(row.source_id, row.record_id)] = row
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for key, fields in wanted.items():
        current = stored.get(key)
        values: dict[str, FieldValue | None] = {
            name: (getattr(current, name) if current is not None else None)
            for name in RECORD_FIELDS
        }
        placeholder = current is None or current.is_placeholder
        if not placeholder and all(values[name] == value for name, value in fields.items()):
            continue
        values.update(fields)
        rows.append(
            {
                "source_id": key[0],
                "record_id": key[1],
                # Only the fields the traits set: whatever else the row holds stays.
                **{name: fields.get(name) for name in RECORD_FIELDS},
                "attributes": {},
                "is_placeholder": False,
                "content_hash": _fingerprint(key[1], values),
                "created_at": now,
                "updated_at": now,
            }
        )
    if not rows:
        return 0
    statement = _insert(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=["source_id", "record_id"],
        set_={
            **{
                name: func.coalesce(statement.excluded[name], table.c[name])
                for name in RECORD_FIELDS
            },
            "is_placeholder": statement.excluded.is_placeholder,
            "content_hash": statement.excluded.content_hash,
            "updated_at": statement.excluded.updated_at,
        },
    )
    session.execute(statement, rows)
    return len(rows)
