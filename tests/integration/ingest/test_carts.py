from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from patron import ingest
from patron.ingest.models import Cart
from patron.settings import Settings
from patron.worker import run_once

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def track(
    source_id: int, name: str, minute: int, properties: dict[str, Any], **ids: str
) -> ingest.EventRow:
    at = T0 + timedelta(minutes=minute)
    return ingest.normalise_message(
        {
            "type": "track",
            "event": name,
            "anonymousId": ids.get("anonymous_id", "cookie-1"),
            **({"userId": ids["user_id"]} if "user_id" in ids else {}),
            "timestamp": at.isoformat(),
            "properties": properties,
        },
        source_id=source_id,
        received_at=at,
    )


def given_events(sessions: sessionmaker[Session], *names: ingest.EventRow) -> None:
    with sessions.begin() as session:
        ingest.append_events(session, list(names))


def carts(sessions: sessionmaker[Session]) -> dict[str, Cart]:
    with sessions() as session:
        return {cart.cart_id: cart for cart in session.scalars(select(Cart))}


def shoe(quantity: int = 1) -> dict[str, Any]:
    return {
        "product_id": "p-1",
        "sku": "SHOE-1",
        "name": "Shoe",
        "price": 49.9,
        "quantity": quantity,
    }


def test_products_added_and_removed_make_the_cart(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    with sessions.begin() as session:
        web = ingest.create_source(session, "eshop-web", ingest.Channel.WEB).source
    given_events(
        sessions,
        track(web.id, "Product Added", 0, {"cart_id": "c1", "currency": "EUR", **shoe(2)}),
        track(
            web.id,
            "Product Added",
            1,
            {"cart_id": "c1", "product_id": "p-2", "sku": "SOCK", "price": 5, "quantity": 3},
        ),
        track(web.id, "Product Removed", 2, {"cart_id": "c1", **shoe(1)}),
        track(web.id, "Product Viewed", 3, {"product_id": "p-9"}),
    )

    done = run_once(sessions, settings, settle=timedelta(0))

    cart = carts(sessions)["c1"]
    assert done.events_read == 4
    assert cart.status == "abandoned"  # idle since March, far past the abandon window
    assert cart.currency == "EUR"
    assert cart.value_minor == 4990 + 3 * 500
    assert sorted((item["sku"], item["quantity"]) for item in cart.items) == [
        ("SHOE-1", 1),
        ("SOCK", 3),
    ]
    assert cart.created_at == T0
    assert cart.updated_at == T0 + timedelta(minutes=2)


def test_order_completed_checks_the_cart_out_even_without_a_cart_id(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    with sessions.begin() as session:
        web = ingest.create_source(session, "eshop-web", ingest.Channel.WEB).source
    given_events(
        sessions,
        track(web.id, "Product Added", 0, {"cart_id": "c1", **shoe()}, user_id="u1"),
        track(web.id, "Product Added", 1, {"cart_id": "c2", **shoe()}, anonymous_id="other"),
    )
    run_once(sessions, settings, settle=timedelta(0))
    given_events(
        sessions,
        track(
            web.id, "Order Completed", 5, {"order_id": "o-9", "products": [shoe()]}, user_id="u1"
        ),
    )

    run_once(sessions, settings, settle=timedelta(0))

    found = carts(sessions)
    assert found["c1"].status == "checked_out"
    assert found["c1"].order_id == "o-9"
    assert found["c2"].status == "abandoned"


def test_projection_resumes_from_its_cursor_and_skips_unsettled_events(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        web = ingest.create_source(session, "eshop-web", ingest.Channel.WEB).source
    given_events(sessions, track(web.id, "Product Added", 0, {"cart_id": "c1", **shoe()}))
    with sessions.begin() as session:
        first = ingest.project_carts(session, settle=timedelta(0))
    with sessions.begin() as session:
        again = ingest.project_carts(session, settle=timedelta(0))
    fresh = ingest.normalise_message(
        {
            "type": "track",
            "event": "Product Added",
            "anonymousId": "a",
            "properties": {"cart_id": "c1", **shoe()},
        },
        source_id=web.id,
        received_at=datetime.now(UTC),
    )
    given_events(sessions, fresh)
    with sessions.begin() as session:
        unsettled = ingest.project_carts(session)

    assert (first.events_read, first.carts_changed) == (1, 1)
    assert again.events_read == 0
    assert unsettled.events_read == 0
    assert carts(sessions)["c1"].items[0]["quantity"] == 1


def test_an_abandoned_cart_opens_again_when_the_shopper_returns(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    with sessions.begin() as session:
        web = ingest.create_source(session, "eshop-web", ingest.Channel.WEB).source
    given_events(sessions, track(web.id, "Product Added", 0, {"cart_id": "c1", **shoe()}))
    run_once(sessions, settings, settle=timedelta(0))
    back = ingest.normalise_message(
        {
            "type": "track",
            "event": "Cart Viewed",
            "anonymousId": "cookie-1",
            "properties": {"cart_id": "c1", "products": [shoe(4)]},
        },
        source_id=web.id,
        received_at=datetime.now(UTC),
    )
    given_events(sessions, back)

    run_once(sessions, settings, settle=timedelta(0))

    cart = carts(sessions)["c1"]
    assert cart.status == "open"
    assert cart.items[0]["quantity"] == 4
