"""Features of the source customer records, prepared for the match model.

Every source delivers its customers in its own way (names in capitals, phones with or without
the country code, postcodes without their space, cards in groups of four). Emails, phones and
loyalty cards get exactly the normal form the deterministic graph gives identifiers; names,
streets and postcodes a clean-up of case, accents and punctuation. Two records then only
differ where the person's details really differ.

Records are read with SQLAlchemy in chunks and become one Arrow table (one column per feature),
which DuckDB and Spark both read without copying row by row.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING

import pyarrow as pa
from nicknames import NickNamer
from sqlalchemy import select

from patron.identity.identifiers import normalise_email, normalise_loyalty_card, normalise_phone
from patron.ingest.models import Source, SourceRecord

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import date

    from sqlalchemy.orm import Session

# Read this many records per round trip: large enough to amortise it, small enough that the
# rows of one chunk stay a few megabytes.
CHUNK_SIZE = 50_000

FEATURE_SCHEMA = pa.schema(
    [
        ("unique_id", pa.int64()),
        ("source_id", pa.int64()),
        ("first_name", pa.string()),
        ("first_name_forms", pa.list_(pa.string())),
        ("last_name", pa.string()),
        ("birth_date", pa.string()),
        ("email", pa.string()),
        ("phone", pa.string()),
        ("loyalty_card", pa.string()),
        ("street", pa.string()),
        ("postcode", pa.string()),
        ("city", pa.string()),
    ]
)

_NOT_LETTERS = re.compile(r"[^a-z ]+")
_SPACES = re.compile(r"\s+")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]+")
_NOT_DIGITS = re.compile(r"[^0-9]+")
_STREET_NOISE = re.compile(r"[^a-z0-9 ]+")
# Values people type when they do not want to give one; they say nothing about who it is.
_PLACEHOLDERS = frozenset({"", "null", "none", "n/a", "na", "unknown", "anonymous", "test", "-"})

_NICKNAMES = NickNamer()


def _ascii_lower(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


@lru_cache(maxsize=262_144)
def clean_name(value: str | None) -> str | None:
    """A name in lower case ASCII letters, single spaces between its parts (None when empty)."""
    if value is None:
        return None
    cleaned = _SPACES.sub(" ", _NOT_LETTERS.sub(" ", _ascii_lower(value))).strip()
    return None if cleaned in _PLACEHOLDERS else cleaned


@lru_cache(maxsize=65_536)
def first_name_forms(first_name: str) -> tuple[str, ...]:
    """The name and the full names it is a short form of (bill: bill, william...)."""
    forms = {first_name, *_NICKNAMES.canonicals_of(first_name)}
    return tuple(sorted(forms))


def clean_postcode(value: str | None) -> str | None:
    """A postcode in capitals, with one space before the inward code (UK style: 'M6 7BT')."""
    if value is None:
        return None
    compact = _NOT_ALNUM.sub("", value.upper())
    if not compact:
        return None
    # UK postcodes end in an inward code of a digit and two letters; others stay compact.
    if 5 <= len(compact) <= 7 and compact[-3].isdigit() and compact[-2:].isalpha():
        return f"{compact[:-3]} {compact[-3:]}"
    return compact


def clean_street(value: str | None) -> str | None:
    """A street address in lower case without punctuation."""
    if value is None:
        return None
    cleaned = _SPACES.sub(" ", _STREET_NOISE.sub(" ", _ascii_lower(value))).strip()
    return cleaned or None


def clean_city(value: str | None) -> str | None:
    """A town name in lower case letters."""
    return clean_name(value)


def _birth_date(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _chunks(session: Session, chunk_size: int) -> Iterator[pa.RecordBatch]:
    query = (
        select(
            SourceRecord.id,
            SourceRecord.source_id,
            Source.default_region,
            SourceRecord.first_name,
            SourceRecord.last_name,
            SourceRecord.birth_date,
            SourceRecord.email,
            SourceRecord.phone,
            SourceRecord.loyalty_card,
            SourceRecord.street,
            SourceRecord.postcode,
            SourceRecord.city,
        )
        .join(Source, Source.id == SourceRecord.source_id)
        # A record known only from an order that named it carries no details to compare.
        .where(SourceRecord.is_placeholder.is_(False))
        .order_by(SourceRecord.id)
    )
    result = session.execute(query.execution_options(yield_per=chunk_size))
    for rows in result.partitions(chunk_size):
        columns: dict[str, list[object]] = {name: [] for name in FEATURE_SCHEMA.names}
        for row in rows:
            first = clean_name(row.first_name)
            columns["unique_id"].append(row.id)
            columns["source_id"].append(row.source_id)
            columns["first_name"].append(first)
            columns["first_name_forms"].append(
                list(first_name_forms(first)) if first is not None else None
            )
            columns["last_name"].append(clean_name(row.last_name))
            columns["birth_date"].append(_birth_date(row.birth_date))
            columns["email"].append(normalise_email(row.email) if row.email else None)
            columns["phone"].append(
                normalise_phone(row.phone, row.default_region) if row.phone else None
            )
            columns["loyalty_card"].append(
                normalise_loyalty_card(row.loyalty_card) if row.loyalty_card else None
            )
            columns["street"].append(clean_street(row.street))
            columns["postcode"].append(clean_postcode(row.postcode))
            columns["city"].append(clean_city(row.city))
        yield pa.RecordBatch.from_pydict(columns, schema=FEATURE_SCHEMA)


def record_features(session: Session, *, chunk_size: int = CHUNK_SIZE) -> pa.Table:
    """Every source customer record (not placeholders) as a table of cleaned features.

    ``unique_id`` is the record's ``source_records.id``. Values that cannot be read (an email
    without a domain, a phone number that cannot exist) become nulls: they are left out of
    the comparison rather than compared as garbage.
    """
    batches = list(_chunks(session, chunk_size))
    return pa.Table.from_batches(batches, schema=FEATURE_SCHEMA)
