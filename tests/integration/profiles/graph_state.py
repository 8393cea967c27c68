"""Building customers for the profile tests: imported records, events and orders, assigned to
profile nodes of the identity graph the way resolution assigns them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from patron import identity
from patron.identity.models import EventProfile, Identifier, OrderProfile, RecordProfile
from patron.ingest import Channel, import_file
from patron.ingest.models import Event, Order, Source, SourceRecord


def import_jsonl(
    sessions: sessionmaker[Session],
    tmp_path: Path,
    kind: str,
    *,
    source: str,
    channel: Channel,
    rows: list[dict[str, Any]],
) -> None:
    path = tmp_path / f"{source}-{kind}-{len(list(tmp_path.iterdir()))}.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(row) for row in rows) + b"\n")
    summary = import_file(sessions, kind, path, source=source, channel=channel)
    assert summary.ok, summary


def record_pk(session: Session, source: str, record_id: str) -> int:
    pk = session.scalar(
        select(SourceRecord.id)
        .join(Source, Source.id == SourceRecord.source_id)
        .where(Source.name == source, SourceRecord.record_id == record_id)
    )
    assert pk is not None
    return pk


def assign(
    session: Session,
    node: int,
    *,
    records: tuple[tuple[str, str], ...] = (),
    events: tuple[str, ...] = (),
    orders: tuple[str, ...] = (),
    identifiers: tuple[tuple[str, str], ...] = (),
) -> None:
    """Assign (source, record id) records, events by messageId, orders by order id and
    (type, value) identifiers to the profile node ``node``."""
    for source, record_id in records:
        session.execute(
            insert(RecordProfile).values(
                source_record_id=record_pk(session, source, record_id), profile_id=node
            )
        )
    for message_id in events:
        event_id = session.scalar(select(Event.id).where(Event.message_id == message_id))
        session.execute(insert(EventProfile).values(event_id=event_id, profile_id=node))
    for order_id in orders:
        order_pk = session.scalar(select(Order.id).where(Order.order_id == order_id))
        session.execute(insert(OrderProfile).values(order_pk=order_pk, profile_id=node))
    for kind, value in identifiers:
        session.execute(insert(Identifier).values(type=kind, scope=0, value=value, profile_id=node))


def new_customer(session: Session, **assigned: Any) -> int:
    node = identity.new_profile(session)
    assign(session, node, **assigned)
    return node
