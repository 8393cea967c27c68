"""Carts, projected from the e-commerce events in the event log.

Segment's e-commerce spec carries a cart in its events: ``Product Added`` and ``Product
Removed`` change it, ``Cart Viewed`` and ``Checkout Started`` show all of it, and ``Order
Completed`` ends it. The projection reads the log in order from a stored cursor, so it can stop
and resume at any point; a cart idle for longer than the abandon window becomes abandoned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from patron.ingest.cursors import locked_cursor
from patron.ingest.models import Cart, Event
from patron.ingest.money import MoneyError, to_minor_units
from patron.storage import utcnow

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

CURSOR_NAME = "carts"
CART_EVENTS = (
    "Product Added",
    "Product Removed",
    "Cart Viewed",
    "Checkout Started",
    "Order Completed",
)
# On PostgreSQL, ids are handed out before commit, so a younger transaction can commit a
# lower id after a higher one is visible. Reading only events received a little while ago
# keeps the cursor from stepping over such a late commit.
SETTLE_TIME = timedelta(seconds=5)


@dataclass(frozen=True, slots=True)
class CartProjection:
    events_read: int
    carts_changed: int


def _item_key(product: dict[str, Any]) -> str:
    return str(product.get("product_id") or product.get("sku") or product.get("name") or "")


def _item(product: dict[str, Any]) -> dict[str, Any]:
    quantity = product.get("quantity", 1)
    price = product.get("price")
    return {
        "product_id": product.get("product_id"),
        "sku": product.get("sku"),
        "name": product.get("name"),
        "price": price if isinstance(price, int | float) else None,
        "quantity": quantity if isinstance(quantity, int) and quantity > 0 else 1,
    }


def _value_minor(items: list[dict[str, Any]], currency: str | None) -> int:
    total = 0
    for item in items:
        if item["price"] is None:
            continue
        try:
            total += (
                to_minor_units(item["price"], currency or "EUR", exact=False) * item["quantity"]
            )
        except MoneyError:
            continue
    return total


def _apply(cart: Cart, name: str, properties: dict[str, Any], at: datetime) -> None:
    items = {_item_key(item): dict(item) for item in cart.items}
    products = properties.get("products")
    if name == "Product Added":
        added = _item(properties)
        key = _item_key(added)
        if key in items:
            items[key]["quantity"] += added["quantity"]
        else:
            items[key] = added
    elif name == "Product Removed":
        key = _item_key(properties)
        if key in items:
            items[key]["quantity"] -= _item(properties)["quantity"]
            if items[key]["quantity"] <= 0:
                del items[key]
    elif isinstance(products, list):
        items = {
            _item_key(product): _item(product) for product in products if isinstance(product, dict)
        }
    currency = properties.get("currency")
    if isinstance(currency, str) and len(currency) == 3:
        cart.currency = currency.upper()
    cart.items = list(items.values())
    cart.value_minor = _value_minor(cart.items, cart.currency)
    if name == "Order Completed":
        cart.status = "checked_out"
        order_id = properties.get("order_id")
        cart.order_id = str(order_id) if order_id is not None else None
    else:
        cart.status = "open"
    cart.updated_at = max(cart.updated_at, at)


def project_carts(
    session: Session, *, limit: int = 5_000, settle: timedelta = SETTLE_TIME
) -> CartProjection:
    """Apply the next ``limit`` events of the log to the carts; call until it reads none.

    Runs inside the caller's transaction; the cursor row is locked, so two workers never
    project the same events.
    """
    cursor = locked_cursor(session, CURSOR_NAME)
    rows = session.execute(
        select(
            Event.id,
            Event.source_id,
            Event.name,
            Event.user_id,
            Event.anonymous_id,
            Event.timestamp,
            Event.payload,
        )
        .where(Event.id > cursor.position, Event.received_at <= utcnow() - settle)
        .order_by(Event.id)
        .limit(limit)
    ).all()
    if not rows:
        return CartProjection(events_read=0, carts_changed=0)
    relevant = [row for row in rows if row.name in CART_EVENTS]
    cart_ids = {
        (row.source_id, str(row.payload.get("properties", {}).get("cart_id")))
        for row in relevant
        if row.payload.get("properties", {}).get("cart_id") is not None
    }
    carts: dict[tuple[int, str], Cart] = {}
    if cart_ids:
        source_ids = {source_id for source_id, _ in cart_ids}
        wanted = {cart_id for _, cart_id in cart_ids}
        for cart in session.scalars(
            select(Cart).where(Cart.source_id.in_(source_ids), Cart.cart_id.in_(wanted))
        ):
            carts[(cart.source_id, cart.cart_id)] = cart
    changed: set[tuple[int, str]] = set()
    for row in relevant:
        properties = row.payload.get("properties") or {}
        cart_id = properties.get("cart_id")
        key: tuple[int, str] | None = None
        if cart_id is not None:
            key = (row.source_id, str(cart_id))
            if key not in carts:
                carts[key] = Cart(
                    source_id=row.source_id,
                    cart_id=str(cart_id),
                    user_id=row.user_id,
                    anonymous_id=row.anonymous_id,
                    status="open",
                    items=[],
                    value_minor=0,
                    created_at=row.timestamp,
                    updated_at=row.timestamp,
                )
                session.add(carts[key])
        elif row.name == "Order Completed":
            key = _latest_open_cart(session, carts, row.source_id, row.user_id, row.anonymous_id)
        if key is None:
            continue
        cart = carts[key]
        cart.user_id = row.user_id or cart.user_id
        _apply(cart, row.name, properties, row.timestamp)
        changed.add(key)
    cursor.position = rows[-1].id
    cursor.updated_at = utcnow()
    session.flush()
    return CartProjection(events_read=len(rows), carts_changed=len(changed))


def _latest_open_cart(
    session: Session,
    loaded: dict[tuple[int, str], Cart],
    source_id: int,
    user_id: str | None,
    anonymous_id: str | None,
) -> tuple[int, str] | None:
    """The cart an ``Order Completed`` without a ``cart_id`` most likely closes."""
    owners = [
        clause
        for clause in (
            Cart.user_id == user_id if user_id else None,
            Cart.anonymous_id == anonymous_id if anonymous_id else None,
        )
        if clause is not None
    ]
    if not owners:
        return None
    in_memory = [
        cart
        for cart in loaded.values()
        if cart.source_id == source_id
        and cart.status != "checked_out"
        and (
            (user_id and cart.user_id == user_id)
            or (anonymous_id and cart.anonymous_id == anonymous_id)
        )
    ]
    stored = session.scalars(
        select(Cart)
        .where(Cart.source_id == source_id, Cart.status != "checked_out")
        .where(owners[0] if len(owners) == 1 else owners[0] | owners[1])
        .order_by(Cart.updated_at.desc())
        .limit(1)
    ).first()
    candidates = in_memory + ([stored] if stored is not None else [])
    if not candidates:
        return None
    newest = max(candidates, key=lambda cart: cart.updated_at)
    loaded[(newest.source_id, newest.cart_id)] = newest
    return (newest.source_id, newest.cart_id)


def mark_abandoned_carts(session: Session, *, idle_for: timedelta, now: datetime) -> int:
    """Mark open carts untouched for ``idle_for`` as abandoned; returns how many."""
    result = session.execute(
        update(Cart)
        .where(Cart.status == "open", Cart.updated_at < now - idle_for)
        .values(status="abandoned")
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
