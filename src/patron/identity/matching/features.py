"""Features of the source customer records, prepared for the match model.

Every source delivers its customers in its own way (names in capitals, phones with or without
the country code, postcodes without their space, cards in groups of four). Emails, phones and
loyalty cards get exactly the normal form the deterministic graph gives identifiers; names,
streets and postcodes a clean-up of case, accents and punctuation. Two records then only
differ where the person's details really differ.

The records are read as they are stored, in chunks, into one Arrow table; the clean-up is DuckDB
SQL over that table. The Python functions below stay the definition of each normal form: SQL
takes the values whose normal form it can give exactly (plain ASCII names and addresses, plain
emails and phones that the graph already knows in their normal form), and each other distinct
value goes through the Python function once. Tests hold the two to the same results.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING

import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from nicknames import NickNamer
from phonenumbers import PhoneMetadata
from sqlalchemy import String, cast, select
from sqlalchemy.dialects import sqlite

from patron.identity.identifiers import (
    IdentifierType,
    normalise_email,
    normalise_loyalty_card,
    normalise_phone,
)
from patron.identity.models import Identifier
from patron.ingest.models import Source, SourceRecord
from patron.storage import (
    offline_duckdb,
    quote,
    reads_need_own_process,
    start_in_child,
    store_scanner,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import duckdb
    from sqlalchemy import Select
    from sqlalchemy.orm import Session

    from patron.storage import ChildCall

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


RAW_SCHEMA = pa.schema(
    [
        ("unique_id", pa.int64()),
        ("source_id", pa.int64()),
        # The source's default region, in which national phone numbers are read.
        ("region", pa.string()),
        ("first_name", pa.string()),
        ("last_name", pa.string()),
        # ISO ``YYYY-MM-DD``, as the store keeps dates.
        ("birth_date", pa.string()),
        ("email", pa.string()),
        ("phone", pa.string()),
        ("loyalty_card", pa.string()),
        ("street", pa.string()),
        ("postcode", pa.string()),
        ("city", pa.string()),
    ]
)


_TEXT = pa.string()


def _raw_chunks(session: Session, chunk_size: int) -> Iterator[pa.RecordBatch]:
    query = (
        select(
            SourceRecord.id,
            SourceRecord.source_id,
            Source.default_region,
            SourceRecord.first_name,
            SourceRecord.last_name,
            # As text: no date object per row, and the form the comparisons use.
            cast(SourceRecord.birth_date, String),
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
    # Through the session's connection, not the ORM: plain rows, no ORM bookkeeping per row
    # (and so no autoflush: the session's pending changes are written first).
    session.flush()
    result = session.connection().execute(query.execution_options(yield_per=chunk_size))
    for rows in result.partitions(chunk_size):
        columns = list(zip(*rows, strict=True))
        yield pa.RecordBatch.from_arrays(
            [
                pa.array(column, type=field.type)
                for column, field in zip(columns, RAW_SCHEMA, strict=True)
            ],
            schema=RAW_SCHEMA,
        )


def read_records(session: Session, *, chunk_size: int = CHUNK_SIZE) -> pa.Table:
    """Every source customer record (not placeholders) as stored, one Arrow column a field."""
    return pa.Table.from_batches(list(_raw_chunks(session, chunk_size)), schema=RAW_SCHEMA)


def _fill_region(records: pa.Table, default_region: str | None) -> pa.Table:
    """``default_region`` as the region of the records whose source has none."""
    if default_region is None:
        return records
    index = records.schema.get_field_index("region")
    filled = pc.fill_null(records.column(index), pa.scalar(default_region.upper(), _TEXT))
    return records.set_column(index, "region", filled)


def known_normal_forms(session: Session, kind: IdentifierType) -> pa.Array:
    """The normal forms of ``kind`` the identity graph holds (the deterministic rules made them
    from the same records): a plain value found among them needs no normaliser call."""
    values = session.connection().scalars(_known_forms_query(kind)).all()
    return pa.array(values, type=pa.string())


def _known_forms_query(kind: IdentifierType) -> Select[str]:
    return select(Identifier.value).where(Identifier.type == str(kind), Identifier.scope == 0)


def record_features(
    session: Session, *, default_region: str | None = None, chunk_size: int = CHUNK_SIZE
) -> pa.Table:
    """Every source customer record (not placeholders) as a table of cleaned features.

    ``unique_id`` is the record's ``source_records.id``. National phone numbers are read in
    the record's source's region, or ``default_region`` for a source without one (as the
    deterministic rules read them). Values that cannot be read (an email without a domain, a
    phone number that cannot exist) become nulls: they are left out of the comparison rather
    than compared as garbage.
    """
    return prepare_features(
        _fill_region(read_records(session, chunk_size=chunk_size), default_region),
        known_emails=known_normal_forms(session, IdentifierType.EMAIL),
        known_phones=known_normal_forms(session, IdentifierType.PHONE),
    )


class _Ready:
    def __init__(self, features: pa.Table) -> None:
        self._features = features

    def result(self) -> pa.Table:
        return self._features

    def cancel(self) -> None:
        pass


def start_record_features(
    session: Session, *, default_region: str | None = None, records_committed: bool = False
) -> ChildCall[pa.Table] | _Ready:
    """``record_features``, prepared beside the caller where the store allows it; the
    ``result`` of what this returns is the table (``cancel`` gives up on it).

    ``records_committed`` says that the records the caller's transaction sees are the
    committed ones (it has written none of its own). A SQLite file's records are then read
    by DuckDB in a child process (``patron.storage.scan``): DuckDB reads a million records in
    a fraction of the time Python's ``sqlite3`` takes to make them objects, and the caller
    goes on meanwhile. Otherwise (PostgreSQL, an in-memory store, records written in this
    transaction) the features are read here, now.
    """
    url = session.connection().engine.url.render_as_string(hide_password=False)
    if records_committed and reads_need_own_process(url):
        return start_in_child(features_of_store, url, default_region=default_region)
    return _Ready(record_features(session, default_region=default_region))


# The records as ``_raw_chunks`` reads them, read by DuckDB's parallel scan of the store
# attached as ``store`` (twice as fast as SQLite's own query through ``sqlite_query``; a test
# holds the two readings to the same table).
_STORE_RECORDS = (
    "SELECT r.id, r.source_id, s.default_region, r.first_name, r.last_name, "
    "CAST(r.birth_date AS VARCHAR), r.email, r.phone, r.loyalty_card, r.street, r.postcode, "
    "r.city FROM store.source_records r JOIN store.sources s ON s.id = r.source_id "
    "WHERE NOT r.is_placeholder ORDER BY r.id"
)


def _store_known_forms(kind: IdentifierType) -> str:
    """``known_normal_forms``'s query, run by SQLite itself (``sqlite_query``): it takes the
    identifiers' unique index, where DuckDB would scan the whole table."""
    query = _known_forms_query(kind).compile(
        dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}
    )
    return f"SELECT value FROM sqlite_query('store', {quote(str(query))})"  # noqa: S608 - our query, quoted


def features_of_store(database_url: str, *, default_region: str | None = None) -> pa.Table:
    """``record_features`` of the store at ``database_url``, read by DuckDB (in a process
    that does not open a SQLite store through ``sqlite3``: ``start_record_features``)."""
    connection = offline_duckdb()
    try:
        store_scanner(database_url).attach(connection, "store")
        records = connection.execute(_STORE_RECORDS).to_arrow_table()
        known = [
            connection.execute(_store_known_forms(kind)).to_arrow_table().column(0).combine_chunks()
            for kind in (IdentifierType.EMAIL, IdentifierType.PHONE)
        ]
    finally:
        connection.close()
    raw = records.rename_columns(RAW_SCHEMA.names).cast(RAW_SCHEMA)
    return prepare_features(
        _fill_region(raw, default_region), known_emails=known[0], known_phones=known[1]
    )


# The SQL forms of the Python clean-ups, exact for ASCII text (where NFKD changes nothing and
# SQL's and Python's case mappings agree).
def _name_sql(column: str) -> str:
    cleaned = (
        f"trim(regexp_replace(regexp_replace(lower({column}), '[^a-z ]+', ' ', 'g'), "
        "' +', ' ', 'g'))"
    )
    placeholders = ", ".join(f"'{value}'" for value in sorted(_PLACEHOLDERS))
    return f"CASE WHEN {cleaned} IN ({placeholders}) THEN NULL ELSE {cleaned} END"


def _street_sql(column: str) -> str:
    cleaned = (
        f"trim(regexp_replace(regexp_replace(lower({column}), '[^a-z0-9 ]+', ' ', 'g'), "
        "' +', ' ', 'g'))"
    )
    return f"nullif({cleaned}, '')"


def _postcode_sql(compact: str) -> str:
    """``compact``: the postcode in capitals, nothing but its letters and digits
    (``_COMPACT_POSTCODE``, computed once: DuckDB repeats an expression each time a CASE
    names it)."""
    return (
        f"CASE WHEN {compact} = '' THEN NULL "
        f"WHEN length({compact}) BETWEEN 5 AND 7 "
        f"AND regexp_full_match(right({compact}, 3), '[0-9][A-Z]{{2}}') "
        f"THEN left({compact}, length({compact}) - 3) || ' ' || right({compact}, 3) "
        f"ELSE {compact} END"
    )


_COMPACT_POSTCODE = "regexp_replace(upper(postcode), '[^A-Z0-9]+', '', 'g')"
# A loyalty card of ASCII letters, digits and the separators the normaliser removes; reads
# the card without them in capitals (``_COMPACT_CARD``).
_COMPACT_CARD = "upper(regexp_replace(loyalty_card, '[ ._-]+', '', 'g'))"
_CARD_SQL = "CASE WHEN regexp_full_match(card_compact, '[0-9A-Z]{4,64}') THEN card_compact END"
_PLAIN_CARD = "regexp_full_match(loyalty_card, '[0-9A-Za-z ._-]+')"
# A plain address (a dot-atom local part of ASCII letters, digits and the other characters
# RFC 5322 allows unquoted, apostrophes included; an ASCII domain): when its lower case is a
# normal form the graph holds, that is its normal form (validation ignores ASCII case).
_ATEXT = "[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]"
_PLAIN_EMAIL = (
    f"regexp_full_match(email, '{_ATEXT}+(\\.{_ATEXT}+)*"
    "@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+') AND length(email) <= 254"
)


def _phone_candidates(regions: list[str]) -> str:
    """SQL giving a plain phone number the E.164 form ``phonenumbers`` would give it if it is
    valid, for the cases where that form follows from the region's metadata alone: a
    national number whose national prefix is a leading 0 that parsing must strip, and an
    international number (``+``) whose rest begins with no national prefix. Whether the
    number is valid is left to the graph's known forms. NULL where no such case applies."""
    # The number's digits, computed once per record (column of the query around this one).
    digits = "phone_digits"
    cases: list[str] = []
    calling_codes: set[int] = set()
    for region in regions:
        # A region is written into the SQL: only the two-letter codes phonenumbers knows.
        if not (len(region) == 2 and region.isascii() and region.isalpha()):
            continue
        metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is None or metadata.country_code is None:
            continue
        calling_codes.add(metadata.country_code)
        prefix = metadata.national_prefix_for_parsing
        general = metadata.general_desc
        if (
            metadata.national_prefix != "0"
            or prefix is None
            or not (prefix == "0" or prefix.startswith("0|"))
            or metadata.national_prefix_transform_rule
            or general is None
            or not general.national_number_pattern
            or not general.possible_length
        ):
            continue
        # Parsing strips the prefix when what is left fits the region's numbers and has one
        # of their lengths (not a local-only one); an international dialling prefix is
        # never there, since its digits would have been read as one.
        national = f"substr({digits}, 2)"
        lengths = ", ".join(str(n) for n in general.possible_length)
        conditions = [
            f"region = '{region}'",
            "regexp_full_match(phone, '0[0-9 -]*[0-9]')",
            f"regexp_full_match({digits}, '0[1-9][0-9]*')",
            f"regexp_full_match({national}, '(?:{general.national_number_pattern})')",
            f"length({national}) IN ({lengths})",
        ]
        if general.possible_length_local_only:
            local = ", ".join(str(n) for n in general.possible_length_local_only)
            conditions.append(f"length({national}) NOT IN ({local})")
        if metadata.international_prefix:
            conditions.append(
                f"NOT regexp_matches({digits}, '^(?:{metadata.international_prefix})')"
            )
        cases.append(
            f"WHEN {' AND '.join(conditions)} THEN '+{metadata.country_code}' || {national}"
        )
    for code in sorted(calling_codes):
        main = PhoneMetadata.metadata_for_region(
            phonenumbers.region_code_for_country_code(code), None
        )
        rest = f"substr({digits}, {len(str(code)) + 1})"
        conditions = [
            "regexp_full_match(phone, '[+][0-9 -]*[0-9]')",
            f"starts_with({digits}, '{code}')",
            f"length({rest}) >= 2",
        ]
        if main is not None and main.national_prefix_for_parsing:
            conditions.append(
                f"NOT regexp_matches({rest}, '^(?:{main.national_prefix_for_parsing})')"
            )
        cases.append(f"WHEN {' AND '.join(conditions)} THEN '+{code}' || {rest}")
    if not cases:
        return "NULL::VARCHAR"
    return f"CASE {' '.join(cases)} END"


def _python_forms(
    connection: duckdb.DuckDBPyConnection,
    name: str,
    query: str,
    normalise: Callable[..., object],
    *,
    keys: int = 1,
    value_type: pa.DataType = _TEXT,
) -> None:
    """Register as table ``name`` each distinct value (``keys`` columns) that ``query`` lists,
    with its normal form by the Python function (called with the query's columns)."""
    rows = connection.execute(query).fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in range(keys)]
    table = {f"key{i}": pa.array(list(column), type=_TEXT) for i, column in enumerate(columns)}
    table["form"] = pa.array([normalise(*row) for row in rows], type=value_type)
    connection.register(name, pa.table(table))


def _forms_list(first_name: str | None) -> list[str] | None:
    return None if first_name is None else list(first_name_forms(first_name))


def _phone_form(raw: str, region: str | None) -> str | None:
    return normalise_phone(raw, region)


def prepare_features(
    records: pa.Table,
    *,
    known_emails: pa.Array | None = None,
    known_phones: pa.Array | None = None,
) -> pa.Table:
    """The match model's features of ``records`` (a table of ``RAW_SCHEMA``).

    Every value gets the normal form the Python functions of this module and of
    ``identity.identifiers`` give it; ``known_emails`` and ``known_phones`` (normal forms
    the graph holds) only save calls to the normalisers.
    """
    connection = offline_duckdb()
    try:
        # Only the last query's order matters, and it says it (ORDER BY unique_id): the tables
        # before it are built in parallel without keeping the records' order, which at a
        # million records took a third of this function's time.
        connection.execute("SET preserve_insertion_order = false")
        # DuckDB scans an Arrow table with one thread per batch: a table read in one piece
        # (as DuckDB itself gives one) is cut into batches first (slices, nothing copied).
        connection.register("raw", _in_batches(records))
        for name, values in (("known_emails", known_emails), ("known_phones", known_phones)):
            known = pa.array([], _TEXT) if values is None else values
            connection.register(name, _in_batches(pa.table({"value": known})))
        regions = [
            region
            for (region,) in connection.execute(
                "SELECT DISTINCT region FROM raw WHERE region IS NOT NULL ORDER BY 1"
            ).fetchall()
        ]
        connection.execute(_NAME_FORMS_SQL)
        for statement in _fast_forms_sql(regions):
            connection.execute(statement)
        for column, function in _CLEAN_UPS.items():
            _python_forms(
                connection,
                f"py_{column}",
                f"SELECT DISTINCT {column} FROM fast "  # noqa: S608 - column names of ours
                f"WHERE {column} IS NOT NULL AND NOT {_ascii(column)}",
                function,
            )
        _python_forms(
            connection,
            "py_email",
            "SELECT DISTINCT email FROM fast WHERE email IS NOT NULL AND email_sql IS NULL",
            normalise_email,
        )
        _python_forms(
            connection,
            "py_loyalty_card",
            "SELECT DISTINCT loyalty_card FROM fast "
            "WHERE loyalty_card IS NOT NULL AND NOT card_plain",
            normalise_loyalty_card,
        )
        _python_forms(
            connection,
            "py_phone",
            "SELECT DISTINCT phone, region FROM fast "
            "WHERE phone IS NOT NULL AND phone_known IS NOT TRUE",
            _phone_form,
            keys=2,
        )
        connection.execute(_FEATURES_SQL)
        _python_forms(
            connection,
            "py_forms",
            "SELECT DISTINCT first_name FROM features WHERE first_name IS NOT NULL",
            _forms_list,
            value_type=pa.list_(_TEXT),
        )
        features = connection.execute(
            "SELECT unique_id, source_id, first_name, forms.form AS first_name_forms, last_name, "
            "birth_date, email, phone, loyalty_card, street, postcode, city "
            "FROM features LEFT JOIN py_forms forms ON forms.key0 = first_name "
            "ORDER BY unique_id"
        ).to_arrow_table()
    finally:
        connection.close()
    return features.cast(FEATURE_SCHEMA)


def _in_batches(table: pa.Table) -> pa.Table:
    return pa.Table.from_batches(table.to_batches(max_chunksize=CHUNK_SIZE), schema=table.schema)


_CLEAN_UPS: dict[str, Callable[[str], str | None]] = {
    "first_name": clean_name,
    "last_name": clean_name,
    "city": clean_city,
    "street": clean_street,
    "postcode": clean_postcode,
}


def _ascii(column: str) -> str:
    # Bytes equal to characters: nothing but ASCII.
    return f"strlen({column}) = length({column})"


# Names and towns repeat from record to record: each distinct ASCII value is cleaned once
# (``name_forms``), and the records take its form by a join.
_NAME_COLUMNS = ("first_name", "last_name", "city")
_NAME_VALUES = " UNION ".join(
    f"SELECT {column} AS value FROM raw"  # noqa: S608 - column names of ours
    for column in _NAME_COLUMNS
)
_NAME_FORMS_SQL = (
    f"CREATE TEMP TABLE name_forms AS SELECT value, {_name_sql('value')} AS form "  # noqa: S608 - SQL of ours
    f"FROM ({_NAME_VALUES}) WHERE value IS NOT NULL AND {_ascii('value')}"
)


def _fast_forms_sql(regions: list[str]) -> tuple[str, str]:
    """The statements making the table ``fast``: each raw record with the normal forms SQL
    gives exactly, NULL where a value is left to Python. Reads the table ``name_forms``
    (``_NAME_FORMS_SQL``).

    The names' forms are joined to the records once the other forms are written: in one
    statement, DuckDB built its hash tables on the records' side and computed the other
    forms on one thread (twice the time at a million records)."""
    text_forms = {"street": _street_sql("street"), "postcode": _postcode_sql("postcode_compact")}
    selected = [
        f"CASE WHEN {_ascii(column)} THEN {form} END AS {column}_sql"
        for column, form in text_forms.items()
    ]
    selected += [
        f"CASE WHEN {_PLAIN_CARD} THEN {_CARD_SQL} END AS card_sql",
        f"{_PLAIN_CARD} AS card_plain",
        (
            f"CASE WHEN {_PLAIN_EMAIL} AND lower(email) IN "  # noqa: S608 - SQL of ours
            "(SELECT value FROM known_emails) THEN lower(email) END AS email_sql"
        ),
        "phone_candidate IN (SELECT value FROM known_phones) AS phone_known",
    ]
    values = (
        f"CREATE TEMP TABLE fast_values AS SELECT r.*, {', '.join(selected)} "  # noqa: S608 - our SQL
        f"FROM (SELECT *, {_phone_candidates(regions)} AS phone_candidate FROM "
        "(SELECT *, regexp_replace(phone, '[^0-9]', '', 'g') AS phone_digits, "
        f"{_COMPACT_POSTCODE} AS postcode_compact, {_COMPACT_CARD} AS card_compact "
        "FROM raw)) r"
    )
    names = ", ".join(f"n_{column}.form AS {column}_sql" for column in _NAME_COLUMNS)
    joins = " ".join(
        f"LEFT JOIN name_forms n_{column} ON n_{column}.value = r.{column}"
        for column in _NAME_COLUMNS
    )
    return values, f"CREATE TEMP TABLE fast AS SELECT r.*, {names} FROM fast_values r {joins}"  # noqa: S608 - our SQL


_FEATURES_SQL = """CREATE TEMP TABLE features AS SELECT f.unique_id, f.source_id,
  coalesce(f.first_name_sql, pf.form) AS first_name,
  coalesce(f.last_name_sql, pl.form) AS last_name,
  f.birth_date,
  coalesce(f.email_sql, pe.form) AS email,
  CASE WHEN f.phone_known THEN f.phone_candidate ELSE pp.form END AS phone,
  CASE WHEN f.card_plain THEN f.card_sql ELSE pc.form END AS loyalty_card,
  coalesce(f.street_sql, ps.form) AS street,
  coalesce(f.postcode_sql, ppc.form) AS postcode,
  coalesce(f.city_sql, pci.form) AS city
FROM fast f
LEFT JOIN py_first_name pf ON pf.key0 = f.first_name
LEFT JOIN py_last_name pl ON pl.key0 = f.last_name
LEFT JOIN py_email pe ON pe.key0 = f.email
LEFT JOIN py_phone pp ON pp.key0 = f.phone AND pp.key1 IS NOT DISTINCT FROM f.region
LEFT JOIN py_loyalty_card pc ON pc.key0 = f.loyalty_card
LEFT JOIN py_street ps ON ps.key0 = f.street
LEFT JOIN py_postcode ppc ON ppc.key0 = f.postcode
LEFT JOIN py_city pci ON pci.key0 = f.city"""
