"""Tables of collected data: sources, the event log, failed events and what sources deliver.

The event log is append-only: rows are inserted, never updated or deleted. Source records,
products, orders and carts hold each source's latest view of its own objects, keyed by the
source's own id, so that importing the same file twice changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from patron.storage import Base, BigIntPK, JSONDocument, UTCDateTime, utcnow


class Source(Base):
    """A channel that delivers data: an e-shop, a POS system, an app, a CRM export."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    # sha256 of the write key; the key itself is shown once, at creation.
    write_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    write_key_hint: Mapped[str] = mapped_column(String(12))
    # Region used to read national phone numbers from this source (ISO 3166 alpha-2).
    default_region: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Event(Base):
    """One tracking call (track, identify, page, screen, group, alias), as received."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("source_id", "message_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    message_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16))
    # The track event's name, or the page or screen name.
    name: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    anonymous_id: Mapped[str | None] = mapped_column(String(255))
    # alias: the previous id; group: the group id.
    previous_id: Mapped[str | None] = mapped_column(String(255))
    group_id: Mapped[str | None] = mapped_column(String(255))
    # Not indexed: readers go by id (the log order) or through a profile; every index costs
    # the tracking API time on each insert.
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The whole message as sent (less the write key), for replay and for later readers.
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)


class FailedEvent(Base):
    """A message that parsed but failed validation: kept with its reason, to replay later."""

    __tablename__ = "failed_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    message_id: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[Any] = mapped_column(JSONDocument)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # failed → replayed (accepted into the event log) or discarded by a user.
    status: Mapped[str] = mapped_column(String(16), default="failed", index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))


class SourceRecord(Base):
    """A customer as one source delivers it (a POS loyalty member, an e-shop account...)."""

    __tablename__ = "source_records"
    __table_args__ = (UniqueConstraint("source_id", "record_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    record_id: Mapped[str] = mapped_column(String(255))
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    loyalty_card: Mapped[str | None] = mapped_column(String(128))
    birth_date: Mapped[date | None] = mapped_column(Date)
    street: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(255))
    postcode: Mapped[str | None] = mapped_column(String(32))
    region: Mapped[str | None] = mapped_column(String(255))
    country: Mapped[str | None] = mapped_column(String(64))
    # Columns a source sends beyond the standard ones.
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    # True while the record is only known from an order that referred to it.
    is_placeholder: Mapped[bool] = mapped_column(Boolean, default=False)
    # Hash of the delivered content: a re-import of the same content writes nothing.
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Product(Base):
    """A product in a source's catalogue."""

    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("source_id", "sku"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    sku: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(500))
    category: Mapped[str | None] = mapped_column(String(255))
    brand: Mapped[str | None] = mapped_column(String(255))
    currency: Mapped[str | None] = mapped_column(String(3))
    price_minor: Mapped[int | None] = mapped_column(BigInteger)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Order(Base):
    """An order or a store receipt. Money is in minor units of ``currency``."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("source_id", "order_id"),
        Index("ix_orders_ordered_at", "ordered_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    order_id: Mapped[str] = mapped_column(String(255))
    # The source's customer record; none for an anonymous receipt.
    source_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("source_records.id"), index=True
    )
    # Identifiers printed on the order itself, for identity resolution.
    loyalty_card: Mapped[str | None] = mapped_column(String(128))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(16))
    store_id: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(BigInteger)
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    voucher_code: Mapped[str | None] = mapped_column(String(128))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrderLine(Base):
    """One line of an order: a quantity of a product at a unit price (minor units)."""

    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_pk", "line_no"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    order_pk: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(128), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger)


class Cart(Base):
    """A shopping cart as seen through e-commerce events, open until checked out."""

    __tablename__ = "carts"
    __table_args__ = (UniqueConstraint("source_id", "cart_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    cart_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    anonymous_id: Mapped[str | None] = mapped_column(String(255))
    # open → checked_out (an order completed) or abandoned (idle past the abandon window).
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    currency: Mapped[str | None] = mapped_column(String(3))
    value_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)
    order_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProcessorCursor(Base):
    """How far a reader of the event log has got (the id of the last event it handled)."""

    __tablename__ = "processor_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
