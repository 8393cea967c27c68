"""Web and app events are valid Segment messages following the e-commerce spec."""

from collections import Counter, defaultdict
from datetime import datetime

from tests.unit.world.world_files import read_csv, read_jsonl

from patron.world import WorldSummary

TYPES = {"track", "identify", "page", "screen", "group", "alias"}
ECOMMERCE = {
    "Product Viewed",
    "Product Added",
    "Cart Viewed",
    "Checkout Started",
    "Order Completed",
}


def _events(world: WorldSummary, name: str) -> list[dict]:
    return read_jsonl(world.directory / name)


def test_every_event_is_a_valid_segment_message(world: WorldSummary) -> None:
    message_ids: Counter[str] = Counter()
    for name in ("web_events.jsonl", "app_events.jsonl"):
        events = _events(world, name)
        assert len(events) > 1000
        previous = ""
        for event in events:
            assert event["type"] in TYPES
            assert event.get("userId") or event.get("anonymousId")
            if event["type"] == "track":
                assert event["event"]
                assert isinstance(event["properties"], dict)
            if event["type"] in {"page", "screen"}:
                assert event["name"]
            if event["type"] == "identify":
                assert isinstance(event["traits"], dict)
            timestamp = event["timestamp"]
            assert timestamp.endswith("Z")
            assert datetime.fromisoformat(timestamp.replace("Z", "+00:00")).year >= 2023
            assert timestamp >= previous, "events are delivered in time order"
            previous = timestamp
            message_ids[event["messageId"]] += 1

    assert max(message_ids.values()) == 1


def test_web_events_come_from_analytics_js_with_ecommerce_properties(
    world: WorldSummary,
) -> None:
    events = _events(world, "web_events.jsonl")
    names = Counter(e["event"] for e in events if e["type"] == "track")

    assert set(names) >= ECOMMERCE
    assert {e["context"]["library"]["name"] for e in events} == {"analytics.js"}
    for event in events:
        properties = event.get("properties", {})
        if event.get("event") in {"Product Viewed", "Product Added"}:
            assert {"product_id", "sku", "name", "price", "category"} <= set(properties)
        if event.get("event") in {"Product Added", "Cart Viewed", "Checkout Started"}:
            assert properties["cart_id"]
        if event.get("event") == "Order Completed":
            assert properties["order_id"]
            assert properties["currency"] == "GBP"
            assert properties["revenue"] == properties["total"]
            for product in properties["products"]:
                assert {"product_id", "sku", "name", "price", "quantity", "category"} <= set(
                    product
                )


def test_web_orders_match_the_eshop_orders_and_their_customers(world: WorldSummary) -> None:
    orders = {o["id"]: o for o in read_jsonl(world.directory / "eshop_orders.jsonl")}
    completed = [
        e for e in _events(world, "web_events.jsonl") if e.get("event") == "Order Completed"
    ]

    assert {e["properties"]["order_id"] for e in completed} == set(orders)
    for event in completed:
        order = orders[event["properties"]["order_id"]]
        assert event.get("userId") == order["customer_id"]
        assert event["properties"]["total"] == float(order["total"])
        assert event["timestamp"][:19] == order["ordered_at"][:19]


def test_abandoned_carts_have_no_completed_order(world: WorldSummary) -> None:
    events = _events(world, "web_events.jsonl")
    carts = {e["properties"]["cart_id"] for e in events if e.get("event") == "Product Added"}
    completed = {e["properties"]["cart_id"] for e in events if e.get("event") == "Order Completed"}

    abandoned = carts - completed

    assert completed <= carts
    assert len(abandoned) > 0.1 * len(carts)


def test_visitors_log_in_with_the_eshop_customer_id(world: WorldSummary) -> None:
    accounts = {row["id"] for row in read_csv(world.directory / "eshop_customers.csv")}
    events = _events(world, "web_events.jsonl")
    user_ids = {e["userId"] for e in events if "userId" in e}
    anonymous_only = {e["anonymousId"] for e in events if "userId" not in e}

    assert len(user_ids & accounts) > 0.5 * len(user_ids)
    assert anonymous_only, "many visitors never log in"
    logins = [e for e in events if e["type"] == "identify" and "userId" in e]
    assert all(e["traits"].get("email") is not None for e in logins)


def test_app_events_carry_their_device_and_push_token(world: WorldSummary) -> None:
    events = _events(world, "app_events.jsonl")
    orders = {o["id"] for o in read_jsonl(world.directory / "app_orders.jsonl")}

    device_types = Counter(e["context"]["device"]["type"] for e in events)
    completed = {e["properties"]["order_id"] for e in events if e.get("event") == "Order Completed"}

    assert set(device_types) == {"ios", "android"}
    before_sign_up = {e.get("event") for e in events if "userId" not in e}
    assert before_sign_up == {"Application Installed", "Application Opened"}
    phones = [e for e in events if "token" in e["context"]["device"]]
    assert len(phones) > 0.8 * len(events)
    assert completed == orders
    identify = [e for e in events if e["type"] == "identify"]
    assert identify
    assert all({"email", "firstName", "lastName"} <= set(e["traits"]) for e in identify)


def test_every_app_user_is_identified_with_their_email_and_name(world: WorldSummary) -> None:
    events = _events(world, "app_events.jsonl")

    users = {e["userId"] for e in events if "userId" in e}
    identified = {
        e["userId"]
        for e in events
        if e["type"] == "identify" and {"email", "firstName", "lastName"} <= set(e["traits"])
    }

    assert len(users) > 50
    assert users == identified


def test_store_tablets_are_devices_shared_by_several_people(world: WorldSummary) -> None:
    users_by_device: defaultdict[str, set[str]] = defaultdict(set)
    for event in _events(world, "app_events.jsonl"):
        if "userId" in event:
            users_by_device[event["context"]["device"]["id"]].add(event["userId"])

    shared = [device for device, users in users_by_device.items() if len(users) > 1]

    assert shared
    assert len(shared) <= 12


def test_prospects_sign_up_on_the_eshop_with_an_identify(world: WorldSummary) -> None:
    prospects = {
        p["person_id"]
        for p in read_csv(world.directory / "people.csv")
        if p["customer_type"] == "prospect" and p["existing"] == "false"
    }
    truth = read_csv(world.directory / "truth.csv")
    accounts = {
        r["record_id"] for r in truth if r["source"] == "eshop" and r["person_id"] in prospects
    }
    identified = {
        e["userId"]
        for e in _events(world, "web_events.jsonl")
        if e["type"] == "identify" and "userId" in e
    }

    assert accounts
    assert accounts <= identified
