"""Golden records: each customer's surviving attributes, kept up to date after resolution.

The golden record is derived data: survivorship over the customer's source records (see
``survivorship``). ``golden_records`` holds a copy per canonical customer for search and lists;
``refresh_golden_records`` recomputes the copies of the customers a resolution, a merge or an
unmerge touched, and drops the copy of a customer that was merged into another.

The profiles package is a read model over the identity graph and the collected data: it reads
their tables with set-based joins (one query for all records of many customers, never one per
record) and writes only ``golden_records``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, cast

import phonenumbers
from sqlalchemy import ColumnElement, delete, or_, select, union
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from patron import identity, ingest
from patron.identity.models import Identifier, Merge, Profile, RecordProfile
from patron.ingest.models import Source, SourceRecord
from patron.profiles.models import GoldenRecord
from patron.profiles.survivorship import (
    STANDARD_FIELDS,
    RecordValues,
    SurvivingValue,
    SurvivorshipPolicy,
    policy_from_rules,
    survive,
)
from patron.storage import refresh_statistics, utcnow

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy import Select, Table
    from sqlalchemy.orm import Session, sessionmaker

# The processor cursor of the sweep for changed customers: its position is the start of the
# previous sweep, in microseconds since the epoch.
GOLDEN_CURSOR: Final = "golden_records"
# A transaction still open when the previous sweep started may commit rows stamped before that
# start; looking back this much further catches them (refreshing a customer twice costs little).
SWEEP_OVERLAP: Final = timedelta(minutes=1)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
# IN lists stay well under SQLite's and PostgreSQL's bound-parameter limits.
CHUNK: Final = 500
# A refresh of this many customers first has PostgreSQL's statistics of the tables it reads
# refreshed (a fraction of a second): with the statistics from before an import of 300,000
# records, each chunk's read of records was planned as hash joins of the whole tables, 270 ms
# against 2.5 ms.
_FRESH_STATISTICS_FROM: Final = 10 * CHUNK
_TABLES_READ: Final = tuple(
    cast("Table", model.__table__) for model in (Profile, RecordProfile, SourceRecord)
)

RECORD_COLUMNS: Final = (
    SourceRecord.id,
    Source.name,
    Source.channel,
    SourceRecord.record_id,
    SourceRecord.updated_at,
    Source.default_region,
    SourceRecord.first_name,
    SourceRecord.last_name,
    SourceRecord.email,
    SourceRecord.phone,
    SourceRecord.loyalty_card,
    SourceRecord.birth_date,
    SourceRecord.street,
    SourceRecord.city,
    SourceRecord.postcode,
    SourceRecord.region,
    SourceRecord.country,
    SourceRecord.attributes,
)
_FIELD_OFFSET: Final = 6
_SEARCHABLE_LENGTH: Final = {"first_name": 255, "last_name": 255, "email": 320, "phone": 64}


def survivorship_policy(session: Session) -> SurvivorshipPolicy:
    """The survivorship rules in force: a section of the workspace's identity rules."""
    return policy_from_rules(identity.current_rules(session).survivorship)


def _text(value: object) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, date | datetime):
        return value.isoformat()
    text = str(value).strip()
    return text or None


# An email's shape. Survivorship does not need identity resolution's full validation (which
# costs some 60 µs a value, a minute per million records of an export): a value of this shape,
# lower-cased, is what the customer gave; anything else ("n/a", "none") is no email.
_EMAIL_SHAPE: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _normalised(name: str, value: str, region: str | None) -> str | None:
    if name == "email":
        lowered = value.lower()
        return lowered if _EMAIL_SHAPE.fullmatch(lowered) else None
    if name == "phone":
        # E.164 for any number of a possible length (a cheap check, unlike full validation); a
        # national number of a source without a region stays as given rather than lost.
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            return value
        if not phonenumbers.is_possible_number(number):
            return value
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if name == "loyalty_card":
        return identity.normalise_loyalty_card(value) or value
    return value


def record_values(row: Sequence[Any], *, as_delivered: bool = False) -> RecordValues:
    """A row selected with ``RECORD_COLUMNS`` as survivorship reads it: emails, phones (E.164,
    national numbers read in the source's region) and loyalty cards in their normal form, so
    that the golden record holds clean values and equal ones count as equal. ``as_delivered``
    keeps every value as the source sent it."""
    values: dict[str, str] = {}
    extras = row[-1] or {}
    for name, raw in extras.items():
        if name not in STANDARD_FIELDS and (text := _text(raw)) is not None:
            values[name] = text
    region = row[5]
    for offset, name in enumerate(STANDARD_FIELDS, start=_FIELD_OFFSET):
        text = _text(row[offset])
        if text is not None and not as_delivered:
            text = _normalised(name, text, region)
        if text is not None:
            values[name] = text
    return RecordValues(
        source_record_id=row[0],
        source=row[1],
        channel=row[2],
        record_id=row[3],
        updated_at=row[4],
        values=values,
    )


def records_of_customers(where: ColumnElement[bool]) -> Select[Any]:
    """The records of the customers ``where`` selects (on ``Profile``), with their root first."""
    return (
        select(Profile.canonical_id, Profile.id, *RECORD_COLUMNS)
        .join(RecordProfile, RecordProfile.profile_id == Profile.id)
        .join(SourceRecord, SourceRecord.id == RecordProfile.source_record_id)
        .join(Source, Source.id == SourceRecord.source_id)
        .where(where)
    )


def _searchable(golden: dict[str, SurvivingValue], name: str) -> str | None:
    kept = golden.get(name)
    if kept is None or kept.value is None:
        return None
    return kept.value[: _SEARCHABLE_LENGTH[name]]


_GOLDEN_TABLE: Final = cast("Table", GoldenRecord.__table__)


def _upsert(session: Session) -> Any:
    # Insert or overwrite in one statement: an undo through the API and the worker's sweep may
    # refresh the same customer at once, and neither should fail for it.
    dialect = session.get_bind().dialect.name
    upsert = (pg_insert if dialect == "postgresql" else sqlite_insert)(_GOLDEN_TABLE)
    return upsert.on_conflict_do_update(
        index_elements=["profile_id"],
        set_={
            name: upsert.excluded[name]
            for name in ("attributes", "first_name", "last_name", "email", "phone", "updated_at")
        },
    )


def _refresh_roots(session: Session, roots: Sequence[int], policy: SurvivorshipPolicy) -> None:
    by_customer: dict[int, list[RecordValues]] = defaultdict(list)
    # Core rows: the ORM's result machinery costs more than reading them.
    connection = session.connection()
    for row in connection.execute(records_of_customers(Profile.canonical_id.in_(roots))):
        by_customer[row[0]].append(record_values(row[2:]))
    now = utcnow()
    rows = []
    for root in roots:
        golden = survive(by_customer.get(root, ()), policy)
        rows.append(
            {
                "profile_id": root,
                "attributes": {name: kept.to_json() for name, kept in golden.items()},
                "first_name": _searchable(golden, "first_name"),
                "last_name": _searchable(golden, "last_name"),
                "email": _searchable(golden, "email"),
                "phone": _searchable(golden, "phone"),
                "updated_at": now,
            }
        )
    if rows:
        # Core executemany: the ORM's bulk path would split the rows into many statements.
        connection.execute(_upsert(session), rows)


def refresh_golden_records(session: Session, profile_ids: Iterable[int]) -> int:
    """Recompute the golden records of the customers of ``profile_ids`` (any of their nodes).

    A node that is no longer a root (its customer was merged into another) loses its golden
    record; its root gets a fresh one. Unknown ids are ignored. Runs in the caller's
    transaction; returns the number of customers refreshed.
    """
    wanted = sorted(set(profile_ids))
    if len(wanted) >= _FRESH_STATISTICS_FROM:
        # Many customers changed: the tables read below may have just grown by as many rows.
        refresh_statistics(session, _TABLES_READ)
    policy = survivorship_policy(session)
    refreshed: set[int] = set()
    for start in range(0, len(wanted), CHUNK):
        roots_of = identity.canonical_ids(session, wanted[start : start + CHUNK])
        merged_away = [node for node, root in roots_of.items() if node != root]
        if merged_away:
            session.execute(delete(GoldenRecord).where(GoldenRecord.profile_id.in_(merged_away)))
        roots = sorted(set(roots_of.values()) - refreshed)
        for at in range(0, len(roots), CHUNK):
            _refresh_roots(session, roots[at : at + CHUNK], policy)
        refreshed.update(roots)
    return len(refreshed)


def refresh_all_golden_records(sessions: sessionmaker[Session], *, chunk: int = CHUNK) -> int:
    """Recompute every customer's golden record, ``chunk`` customers per transaction.

    Golden records of nodes that are no longer roots are dropped. Returns the number of
    customers refreshed.
    """
    with sessions() as session, session.begin():
        session.execute(
            delete(GoldenRecord).where(
                GoldenRecord.profile_id.in_(
                    select(Profile.id).where(Profile.canonical_id != Profile.id)
                )
            )
        )
    done = 0
    last = 0
    while True:
        with sessions() as session, session.begin():
            roots = list(
                session.scalars(
                    select(Profile.id)
                    .where(Profile.canonical_id == Profile.id, Profile.id > last)
                    .order_by(Profile.id)
                    .limit(chunk)
                )
            )
            if not roots:
                return done
            _refresh_roots(session, roots, survivorship_policy(session))
        done += len(roots)
        last = roots[-1]


def lineage_of(attributes: dict[str, Any]) -> dict[str, SurvivingValue]:
    """A stored golden record's attributes read back with their lineage."""
    return {name: SurvivingValue.from_json(kept) for name, kept in attributes.items()}


def refresh_changed_golden_records(
    session: Session, *, now: datetime | None = None, at_most_every: timedelta | None = None
) -> int:
    """Refresh the golden records of every customer that changed since the previous call.

    A customer changed when a node of it was created, merged or split (``profiles.updated_at``),
    gained an identifier (a newly resolved record brings its ``record`` identifier), holds a
    record re-delivered with new content, or was the winner of a merge undone since. The first
    call refreshes every customer. With ``at_most_every``, nothing happens when the previous
    sweep started less than that long ago. Runs in the caller's transaction with the sweep's
    cursor locked, so concurrent workers take turns; returns the number of customers refreshed.
    """
    start = now or datetime.now(UTC)
    position = ingest.lock_cursor(session, GOLDEN_CURSOR)
    previous = _EPOCH + timedelta(microseconds=position)
    if position and at_most_every is not None and start - previous < at_most_every:
        return 0
    since = previous - SWEEP_OVERLAP if position else _EPOCH
    changed = union(
        select(Profile.id).where(Profile.updated_at > since),
        select(Identifier.profile_id).where(
            Identifier.type == identity.IdentifierType.RECORD, Identifier.created_at > since
        ),
        select(RecordProfile.profile_id)
        .join(SourceRecord, SourceRecord.id == RecordProfile.source_record_id)
        .where(SourceRecord.updated_at > since),
        select(Merge.winner_id).where(or_(Merge.created_at > since, Merge.undone_at > since)),
    )
    nodes = list(session.scalars(select(changed.subquery().c[0])))
    refreshed = refresh_golden_records(session, nodes)
    ingest.move_cursor(session, GOLDEN_CURSOR, (start - _EPOCH) // timedelta(microseconds=1))
    return refreshed
