"""Counts of what has been collected."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from patron.ingest.models import (
    Cart,
    Event,
    FailedEvent,
    Order,
    OrderLine,
    Product,
    Source,
    SourceRecord,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from sqlalchemy.sql.selectable import ScalarSelect

    from patron.storage import Base


@dataclass(frozen=True, slots=True)
class CollectionStats:
    sources: int
    events: int
    failed_events: int
    source_records: int
    placeholder_records: int
    products: int
    orders: int
    order_lines: int
    carts: int


def collection_stats(session: Session) -> CollectionStats:
    """Row counts of everything collected so far (one query)."""

    def count(model: type[Base]) -> ScalarSelect[int]:
        return select(func.count()).select_from(model).scalar_subquery()

    row = session.execute(
        select(
            count(Source),
            count(Event),
            select(func.count())
            .select_from(FailedEvent)
            .where(FailedEvent.status == "failed")
            .scalar_subquery(),
            count(SourceRecord),
            select(func.count())
            .select_from(SourceRecord)
            .where(SourceRecord.is_placeholder.is_(True))
            .scalar_subquery(),
            count(Product),
            count(Order),
            count(OrderLine),
            count(Cart),
        )
    ).one()
    return CollectionStats(*(int(value) for value in row))
