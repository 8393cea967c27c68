"""The customer 360: one customer's golden record, identifiers, records, merges and timeline.

Any node id of the identity graph resolves to its customer (a merged-away id redirects to the
surviving root); everything else is read through ``profiles.canonical_id``, so a merge or an
unmerge shows at once and the event log is never rewritten. The number of queries is fixed,
whatever the customer's history: one per section, never one per record, event or order.
"""

from __future__ import annotations

import base64
import binascii
import heapq
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Literal

import orjson
from sqlalchemy import and_, or_, select

from patron import identity
from patron.identity.models import (
    EventProfile,
    Identifier,
    OrderProfile,
    Profile,
)
from patron.ingest.models import Event, Order, OrderLine, Source, SourceRecord
from patron.profiles.golden import record_values, records_of_customers, survivorship_policy
from patron.profiles.survivorship import (
    STANDARD_FIELDS,
    RecordValues,
    SurvivingValue,
    survive,
)

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement
    from sqlalchemy.orm import InstrumentedAttribute, Session

MAX_TIMELINE_LIMIT: Final = 500
# Within one instant, orders come before events (an order usually closes a session of events).
_KIND_RANK: Final = {"event": 0, "order": 1}


class ProfileNotFoundError(LookupError):
    """No profile node has that id."""


class InvalidCursorError(ValueError):
    """A timeline cursor that this module did not hand out."""


@dataclass(frozen=True, slots=True)
class GoldenAttribute:
    """An attribute of the golden record and its lineage."""

    name: str
    value: str | None
    source: str
    channel: str
    record_id: str
    rule: str
    at: datetime
    group: str | None


@dataclass(frozen=True, slots=True)
class IdentifierView:
    type: str
    value: str
    # The source that first delivered it (none for identifiers added by hand).
    source: str | None
    profile_id: int
    first_seen: datetime


@dataclass(frozen=True, slots=True)
class SourceRecordView:
    """A customer record as one source delivered it."""

    id: int
    source: str
    channel: str
    record_id: str
    profile_id: int
    values: dict[str, str]
    updated_at: datetime


# A merge reads the same in the 360 as in identity's explanation.
MergeView = identity.ExplainedMerge


@dataclass(frozen=True, slots=True)
class OrderLineView:
    sku: str
    quantity: int
    unit_price_minor: int
    total_minor: int


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """An event or an order of the customer, on any channel."""

    kind: Literal["event", "order"]
    id: int
    at: datetime
    source: str
    channel: str
    # The event's type and name, or the order's id in its source.
    type: str
    name: str | None
    # Events: their properties. Orders: money (minor units), store, voucher.
    detail: dict[str, Any]
    lines: tuple[OrderLineView, ...] = ()


@dataclass(frozen=True, slots=True)
class TimelinePage:
    entries: tuple[TimelineEntry, ...]
    # Pass it back to read the next (older) page; none when this is the last page.
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Customer360:
    id: int
    # The id that was asked for (an old merged id redirects to ``id``).
    requested_id: int
    nodes: tuple[int, ...]
    golden: tuple[GoldenAttribute, ...]
    identifiers: tuple[IdentifierView, ...]
    records: tuple[SourceRecordView, ...]
    merges: tuple[MergeView, ...]
    timeline: TimelinePage

    def golden_values(self) -> dict[str, str]:
        return {a.name: a.value for a in self.golden if a.value is not None}


def _encode_cursor(entry: TimelineEntry) -> str:
    raw = orjson.dumps([entry.at.isoformat(), entry.kind, entry.id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, kind, entry_id = orjson.loads(raw)
        moment = datetime.fromisoformat(at)
        if kind not in _KIND_RANK or not isinstance(entry_id, int) or moment.tzinfo is None:
            raise ValueError(kind)
    except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError) as error:
        msg = f"invalid timeline cursor {cursor!r}"
        raise InvalidCursorError(msg) from error
    return moment, kind, entry_id


def _before(
    at_column: InstrumentedAttribute[datetime],
    id_column: InstrumentedAttribute[int],
    kind: str,
    cursor: tuple[datetime, str, int] | None,
) -> ColumnElement[bool] | None:
    """Rows of ``kind`` that come after the cursor in newest-first order."""
    if cursor is None:
        return None
    at, cursor_kind, cursor_id = cursor
    if _KIND_RANK[kind] < _KIND_RANK[cursor_kind]:
        return at_column <= at
    if _KIND_RANK[kind] > _KIND_RANK[cursor_kind]:
        return at_column < at
    return or_(at_column < at, and_(at_column == at, id_column < cursor_id))


def _events(
    session: Session, root: int, cursor: tuple[datetime, str, int] | None, limit: int
) -> list[TimelineEntry]:
    query = (
        select(Event.id, Event.timestamp, Event.type, Event.name, Event.payload)
        .add_columns(Source.name, Source.channel)
        .join(EventProfile, EventProfile.event_id == Event.id)
        .join(Profile, Profile.id == EventProfile.profile_id)
        .join(Source, Source.id == Event.source_id)
        .where(Profile.canonical_id == root)
        .order_by(Event.timestamp.desc(), Event.id.desc())
        .limit(limit)
    )
    if (after := _before(Event.timestamp, Event.id, "event", cursor)) is not None:
        query = query.where(after)
    entries = []
    for event_id, at, kind, name, payload, source, channel in session.execute(query):
        properties = payload.get("properties") if isinstance(payload, dict) else None
        entries.append(
            TimelineEntry(
                kind="event",
                id=event_id,
                at=at,
                source=source,
                channel=channel,
                type=kind,
                name=name,
                detail={"properties": properties if isinstance(properties, dict) else {}},
            )
        )
    return entries


def _orders(
    session: Session, root: int, cursor: tuple[datetime, str, int] | None, limit: int
) -> list[tuple[Order, str]]:
    query = (
        select(Order, Source.name)
        .join(Source, Source.id == Order.source_id)
        .join(OrderProfile, OrderProfile.order_pk == Order.id)
        .join(Profile, Profile.id == OrderProfile.profile_id)
        .where(Profile.canonical_id == root)
        .order_by(Order.ordered_at.desc(), Order.id.desc())
        .limit(limit)
    )
    if (after := _before(Order.ordered_at, Order.id, "order", cursor)) is not None:
        query = query.where(after)
    return [(order, source) for order, source in session.execute(query)]


def _order_entries(session: Session, orders: list[tuple[Order, str]]) -> list[TimelineEntry]:
    if not orders:
        return []
    lines: dict[int, list[OrderLineView]] = {order.id: [] for order, _ in orders}
    for line in session.scalars(
        select(OrderLine)
        .where(OrderLine.order_pk.in_(list(lines)))
        .order_by(OrderLine.order_pk, OrderLine.line_no)
    ):
        lines[line.order_pk].append(
            OrderLineView(line.sku, line.quantity, line.unit_price_minor, line.total_minor)
        )
    return [
        TimelineEntry(
            kind="order",
            id=order.id,
            at=order.ordered_at,
            source=source,
            channel=order.channel,
            type="order",
            name=order.order_id,
            detail={
                "currency": order.currency,
                "total_minor": order.total_minor,
                "discount_minor": order.discount_minor,
                "store_id": order.store_id,
                "voucher_code": order.voucher_code,
            },
            lines=tuple(lines[order.id]),
        )
        for order, source in orders
    ]


def _sort_key(entry: TimelineEntry) -> tuple[datetime, int, int]:
    return (entry.at, _KIND_RANK[entry.kind], entry.id)


def customer_timeline(
    session: Session, root: int, *, cursor: str | None = None, limit: int = 50
) -> TimelinePage:
    """A page of the customer's events and orders across channels, newest first.

    ``root`` must be a canonical id. Paging is by keyset (the cursor names the last entry seen),
    so a page costs the same however deep it is, and entries added meanwhile never shift it.
    Raises ``InvalidCursorError`` for a cursor that was not handed out here and ``ValueError``
    for a limit outside 1..500.
    """
    if not 1 <= limit <= MAX_TIMELINE_LIMIT:
        msg = f"limit must be between 1 and {MAX_TIMELINE_LIMIT}, not {limit}"
        raise ValueError(msg)
    after = _decode_cursor(cursor) if cursor else None
    events = _events(session, root, after, limit + 1)
    orders = _orders(session, root, after, limit + 1)
    merged = heapq.merge(events, _order_entries(session, orders), key=_sort_key, reverse=True)
    entries = []
    for entry in merged:
        entries.append(entry)
        if len(entries) > limit:
            break
    more = len(entries) > limit
    page = tuple(entries[:limit])
    return TimelinePage(page, _encode_cursor(page[-1]) if more else None)


def resolve_customer(session: Session, profile_id: int) -> int:
    """The canonical id of node ``profile_id``. Raises ``ProfileNotFoundError``."""
    root = session.scalar(select(Profile.canonical_id).where(Profile.id == profile_id))
    if root is None:
        msg = f"no profile has id {profile_id}"
        raise ProfileNotFoundError(msg)
    return root


def _golden(found: dict[str, SurvivingValue]) -> tuple[GoldenAttribute, ...]:
    order = {name: rank for rank, name in enumerate(STANDARD_FIELDS)}
    return tuple(
        GoldenAttribute(
            name=name,
            value=kept.value,
            source=kept.source,
            channel=kept.channel,
            record_id=kept.record_id,
            rule=kept.rule.value,
            at=kept.at,
            group=kept.group,
        )
        for name, kept in sorted(found.items(), key=lambda item: (order.get(item[0], 99), item[0]))
    )


def _identifiers(session: Session, root: int) -> tuple[IdentifierView, ...]:
    return tuple(
        IdentifierView(kind, value, source, node, first_seen)
        for kind, value, source, node, first_seen in session.execute(
            select(
                Identifier.type,
                Identifier.value,
                Source.name,
                Identifier.profile_id,
                Identifier.created_at,
            )
            .join(Profile, Profile.id == Identifier.profile_id)
            .outerjoin(Source, Source.id == Identifier.source_id)
            .where(Profile.canonical_id == root)
            .order_by(Identifier.type, Identifier.id)
        )
    )


def _records(
    session: Session, root: int
) -> tuple[tuple[SourceRecordView, ...], list[RecordValues]]:
    """The customer's records as delivered (to show) and in normal form (for survivorship)."""
    shown = []
    normalised = []
    for row in session.execute(
        records_of_customers(Profile.canonical_id == root).order_by(SourceRecord.id)
    ):
        normalised.append(record_values(row[2:]))
        delivered = record_values(row[2:], as_delivered=True)
        shown.append(
            SourceRecordView(
                id=delivered.source_record_id,
                source=delivered.source,
                channel=delivered.channel,
                record_id=delivered.record_id,
                profile_id=row[1],
                values=dict(delivered.values),
                updated_at=delivered.updated_at,
            )
        )
    return tuple(shown), normalised


def _merges(session: Session, root: int) -> tuple[MergeView, ...]:
    tree = select(Profile.id).where(Profile.canonical_id == root)
    return identity.merge_history(session, tree, newest_first=True)


def customer_360(
    session: Session, profile_id: int, *, timeline_cursor: str | None = None, limit: int = 50
) -> Customer360:
    """Everything known about the customer of node ``profile_id``.

    The golden record is computed from the records read here, by the rules in force, so it is
    never staler than the records. Raises ``ProfileNotFoundError`` for an unknown id, and the
    errors of ``customer_timeline`` for a bad cursor or limit.
    """
    root = resolve_customer(session, profile_id)
    nodes = tuple(
        session.scalars(select(Profile.id).where(Profile.canonical_id == root).order_by(Profile.id))
    )
    records, normalised = _records(session, root)
    golden = survive(normalised, survivorship_policy(session))
    return Customer360(
        id=root,
        requested_id=profile_id,
        nodes=nodes,
        golden=_golden(golden),
        identifiers=_identifiers(session, root),
        records=records,
        merges=_merges(session, root),
        timeline=customer_timeline(session, root, cursor=timeline_cursor, limit=limit),
    )
