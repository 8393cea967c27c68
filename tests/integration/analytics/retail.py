"""A small hand-made retail store for the report tests: three people over three channels,
one anonymous receipt and a few carts, resolved by the worker like any other store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.integration.profiles.graph_state import import_jsonl

from patron.ingest import Channel, ensure_source
from patron.ingest.models import Cart, Order
from patron.settings import Settings
from patron.worker import run_once

# (source, channel, customer record ids with their emails). Ann is in every channel under the
# same email; Bob only in stores; Cat only in the e-shop.
CUSTOMERS: dict[str, tuple[Channel, dict[str, str]]] = {
    "store": (Channel.POS, {"m1": "ann.lee@gmail.com", "m2": "bob.hill@gmail.com"}),
    "shop": (Channel.ESHOP, {"s1": "ann.lee@gmail.com", "s2": "cat.moss@gmail.com"}),
    "app": (Channel.APP, {"a1": "ann.lee@gmail.com"}),
}
EMAIL_OF = {
    record: email for _, (_, records) in CUSTOMERS.items() for record, email in records.items()
}


@dataclass(frozen=True)
class SeedOrder:
    order_id: str
    source: str
    customer: str | None
    ordered_at: datetime
    total_minor: int
    store_id: str | None
    skus: tuple[str, ...]

    @property
    def email(self) -> str | None:
        return EMAIL_OF[self.customer] if self.customer else None


def _orders() -> list[SeedOrder]:
    t0 = datetime(2025, 1, 10, 10, 0, tzinfo=UTC)
    orders = [
        SeedOrder("r1", "store", "m1", t0, 1000, "S1", ("TEA",)),
        SeedOrder("r2", "store", "m2", t0 + timedelta(days=2), 2000, "S2", ("MUG",)),
        SeedOrder("r3", "store", None, t0 + timedelta(days=5), 500, "S1", ("TEA",)),
        SeedOrder("a1", "app", "a1", t0 + timedelta(days=50), 5000, None, ("JAM",)),
    ]
    # Six e-shop orders holding tea and cups together, split between Ann and Cat.
    orders.extend(
        SeedOrder(
            f"e{n}",
            "shop",
            "s1" if n % 2 == 0 else "s2",
            t0 + timedelta(days=20 + n),
            3000 + 100 * n,
            None,
            ("TEA", "CUP"),
        )
        for n in range(6)
    )
    return orders


ORDERS = _orders()
PRICES = {"TEA": 500, "CUP": 700, "MUG": 900, "JAM": 400}


def _order_row(order: SeedOrder) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": order.order_id,
        "ordered_at": order.ordered_at.isoformat(),
        "currency": "GBP",
        "total": order.total_minor / 100,
        "lines": [
            {"sku": sku, "quantity": 1, "unit_price": PRICES[sku] / 100} for sku in order.skus
        ],
    }
    if order.customer:
        row["customer_id"] = order.customer
    if order.store_id:
        row["store_id"] = order.store_id
    return row


def build_store(sessions: sessionmaker[Session], settings: Settings, tmp_path: Path) -> None:
    """Import the customers, products and orders above, resolve them with the worker, and
    add carts: two abandoned and one checked out on the web, one abandoned in the app."""
    for source, (channel, records) in CUSTOMERS.items():
        import_jsonl(
            sessions,
            tmp_path,
            "customers",
            source=source,
            channel=channel,
            rows=[
                {"id": record, "first_name": email.split(".")[0].title(), "email": email}
                for record, email in records.items()
            ],
        )
        import_jsonl(
            sessions,
            tmp_path,
            "products",
            source=source,
            channel=channel,
            rows=[
                {"sku": sku, "name": f"{sku.title()} item", "category": f"Home > {sku.title()}"}
                for sku in PRICES
            ],
        )
        import_jsonl(
            sessions,
            tmp_path,
            "orders",
            source=source,
            channel=channel,
            rows=[_order_row(o) for o in ORDERS if o.source == source],
        )
    run_once(sessions, settings, settle=timedelta(0))
    with sessions() as session, session.begin():
        web = ensure_source(session, "web", Channel.WEB)
        app = ensure_source(session, "app", Channel.APP)
        at = datetime(2025, 2, 1, 12, 0, tzinfo=UTC)
        for cart_id, source_id, status, value in (
            ("c1", web.id, "abandoned", 1200),
            ("c2", web.id, "abandoned", 800),
            ("c3", web.id, "checked_out", 3000),
            ("c4", app.id, "abandoned", 500),
        ):
            session.add(
                Cart(
                    source_id=source_id,
                    cart_id=cart_id,
                    status=status,
                    currency="GBP",
                    value_minor=value,
                    items=[],
                    created_at=at,
                    updated_at=at,
                )
            )


def order_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return len(session.scalars(select(Order.id)).all())
