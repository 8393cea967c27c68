from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from patron.ingest import MAX_EVENT_BYTES, MessageError, normalise_message

RECEIVED = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def _track(**fields: Any) -> dict[str, Any]:
    return {"type": "track", "event": "Signed Up", "userId": "u1", **fields}


def test_a_track_call_becomes_an_event_row() -> None:
    # given a complete track message
    raw = _track(
        messageId="m-1",
        anonymousId="a-1",
        properties={"plan": "gold"},
        writeKey="secret",
        timestamp="2025-03-01T11:59:58.500Z",
    )

    # when it is normalised
    row = normalise_message(raw, source_id=7, received_at=RECEIVED)

    # then every column is filled and the write key is gone from the payload
    assert (row.source_id, row.message_id, row.type, row.name) == (7, "m-1", "track", "Signed Up")
    assert (row.user_id, row.anonymous_id, row.previous_id, row.group_id) == (
        "u1",
        "a-1",
        None,
        None,
    )
    assert row.timestamp == datetime(2025, 3, 1, 11, 59, 58, 500000, tzinfo=UTC)
    assert row.sent_at is None
    assert row.received_at == RECEIVED
    assert "writeKey" not in row.payload
    assert row.payload["receivedAt"] == "2025-03-01T12:00:00Z"
    assert row.payload["originalTimestamp"] == "2025-03-01T11:59:58.500Z"
    assert row.payload["properties"] == {"plan": "gold"}
    assert orjson.loads(row.payload_json) == row.payload


def test_the_caller_message_is_not_changed() -> None:
    raw = _track(writeKey="secret")

    normalise_message(raw, source_id=1, received_at=RECEIVED)

    assert raw == _track(writeKey="secret")


def test_timestamp_is_corrected_for_the_device_clock_skew() -> None:
    # given a device whose clock is 1 hour fast: it stamped the event 10 s before sending
    raw = _track(timestamp="2025-03-01T13:00:00Z", sentAt="2025-03-01T13:00:10Z")

    # when received at 12:00:00 true time
    row = normalise_message(raw, source_id=1, received_at=RECEIVED)

    # then the event happened 10 s before it was received
    assert row.timestamp == RECEIVED - timedelta(seconds=10)
    assert row.sent_at == datetime(2025, 3, 1, 13, 0, 10, tzinfo=UTC)
    assert row.payload["timestamp"] == "2025-03-01T11:59:50Z"
    assert row.payload["originalTimestamp"] == "2025-03-01T13:00:00Z"


def test_the_batch_sent_at_applies_to_messages_without_their_own() -> None:
    raw = _track(timestamp="2025-03-01T12:00:00+02:00")

    row = normalise_message(
        raw, source_id=1, received_at=RECEIVED, sent_at="2025-03-01T12:00:05+02:00"
    )

    assert row.timestamp == RECEIVED - timedelta(seconds=5)
    assert row.payload["sentAt"] == "2025-03-01T12:00:05+02:00"


def test_without_a_timestamp_the_event_happened_when_received() -> None:
    row = normalise_message(
        _track(sentAt="2025-03-01T09:00:00Z"), source_id=1, received_at=RECEIVED
    )

    assert row.timestamp == RECEIVED
    assert "originalTimestamp" not in row.payload


def test_a_timestamp_without_offset_is_read_as_utc() -> None:
    row = normalise_message(
        _track(timestamp="2025-02-01T08:30:00"), source_id=1, received_at=RECEIVED
    )

    assert row.timestamp == datetime(2025, 2, 1, 8, 30, tzinfo=UTC)


def test_a_missing_message_id_is_assigned() -> None:
    first = normalise_message(_track(), source_id=1, received_at=RECEIVED)
    second = normalise_message(_track(), source_id=1, received_at=RECEIVED)

    assert len(first.message_id) == 36
    assert first.message_id != second.message_id
    assert first.payload["messageId"] == first.message_id


def test_numeric_ids_are_kept_as_strings() -> None:
    row = normalise_message(_track(userId=42, messageId=1001), source_id=1, received_at=RECEIVED)

    assert (row.user_id, row.message_id) == ("42", "1001")
    assert row.payload["userId"] == "42"


def test_the_endpoint_type_wins_over_the_message_type() -> None:
    raw = {"type": "track", "userId": "u1", "traits": {"email": "a@example.com"}}

    row = normalise_message(raw, source_id=1, received_at=RECEIVED, message_type="identify")

    assert row.type == "identify"
    assert row.payload["type"] == "identify"


@pytest.mark.parametrize(
    ("raw", "message_type"),
    [
        pytest.param({"type": "page", "anonymousId": "a", "name": "Home"}, None, id="page"),
        pytest.param({"type": "screen", "userId": "u", "name": "Basket"}, None, id="screen"),
        pytest.param({"userId": "u", "traits": {"plan": "x"}}, "identify", id="identify"),
        pytest.param({"type": "group", "userId": "u", "groupId": "g"}, None, id="group"),
        pytest.param({"type": "alias", "userId": "u", "previousId": "a"}, None, id="alias"),
    ],
)
def test_every_call_type_is_accepted(raw: dict[str, Any], message_type: str | None) -> None:
    row = normalise_message(raw, source_id=1, received_at=RECEIVED, message_type=message_type)

    assert row.type == (message_type or raw["type"])
    assert row.name == raw.get("name")
    assert row.group_id == raw.get("groupId")
    assert row.previous_id == raw.get("previousId")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param([1, 2], "a message must be a JSON object, got a list", id="not-object"),
        pytest.param(
            {"userId": "u"},
            "type is missing (one of alias, group, identify, page, screen, track)",
            id="no-type",
        ),
        pytest.param(
            {"type": "click", "userId": "u"},
            "type must be one of alias, group, identify, page, screen, track, got 'click'",
            id="bad-type",
        ),
        pytest.param(
            {"type": ["track"], "userId": "u"},
            "type must be one of alias, group, identify, page, screen, track, got \"['track']\"",
            id="type-list",
        ),
        pytest.param(
            {"type": "track", "event": "X"},
            "a userId or an anonymousId is required",
            id="no-user",
        ),
        pytest.param(
            {"type": "track", "event": "X", "userId": "", "anonymousId": None},
            "a userId or an anonymousId is required",
            id="empty-user",
        ),
        pytest.param(
            {"type": "track", "event": "X", "userId": {"id": 1}},
            "userId must be a string, got an object",
            id="user-object",
        ),
        pytest.param(
            {"type": "track", "event": "X", "userId": "u" * 256},
            "userId is longer than 255 characters",
            id="user-too-long",
        ),
        pytest.param(
            {"type": "track", "userId": "u"},
            "a track call needs an event name (event)",
            id="track-no-event",
        ),
        pytest.param(
            {"type": "track", "userId": "u", "event": 5},
            "event must be a string, got a number",
            id="track-event-number",
        ),
        pytest.param(
            {"type": "alias", "userId": "u"}, "an alias call needs a previousId", id="alias-prev"
        ),
        pytest.param(
            {"type": "alias", "anonymousId": "a", "previousId": "p"},
            "an alias call needs a userId",
            id="alias-user",
        ),
        pytest.param(
            {"type": "group", "userId": "u"}, "a group call needs a groupId", id="group-id"
        ),
        pytest.param(
            {"type": "page", "userId": "u", "name": ["Home"]},
            "name must be a string, got a list",
            id="page-name",
        ),
        pytest.param(
            {"type": "track", "userId": "u", "event": "X", "properties": "cheap"},
            "properties must be a JSON object, got a string",
            id="properties",
        ),
        pytest.param(
            {"type": "identify", "userId": "u", "traits": [1]},
            "traits must be a JSON object, got a list",
            id="traits",
        ),
        pytest.param(
            {"type": "track", "userId": "u", "event": "X", "context": 3},
            "context must be a JSON object, got a number",
            id="context",
        ),
        pytest.param(
            {"type": "track", "userId": "u", "event": "X", "timestamp": "yesterday"},
            "timestamp is not an ISO 8601 date-time: 'yesterday'",
            id="timestamp-text",
        ),
        pytest.param(
            {"type": "track", "userId": "u", "event": "X", "timestamp": 1700000000},
            "timestamp must be an ISO 8601 date-time string, got a number",
            id="timestamp-epoch",
        ),
        pytest.param(
            {"type": "track", "userId": "u", "event": "X", "timestamp": "2025-02-30T10:00:00Z"},
            "timestamp is not an ISO 8601 date-time: '2025-02-30T10:00:00Z'",
            id="timestamp-no-such-day",
        ),
        pytest.param(
            {"type": "track", "userId": "u", "event": "X", "sentAt": "soon"},
            "sentAt is not an ISO 8601 date-time: 'soon'",
            id="sent-at",
        ),
        pytest.param(
            {
                "type": "track",
                "userId": "u",
                "event": "X",
                "timestamp": "0001-01-01T00:00:00Z",
                "sentAt": "9999-12-31T00:00:00Z",
            },
            "timestamp and sentAt are too far apart",
            id="skew-overflow",
        ),
        pytest.param(
            {"type": "track", "userId": "u", "event": "X", "messageId": ["m"]},
            "messageId must be a string, got a list",
            id="message-id",
        ),
        pytest.param(
            {"type": "track", "userId": "u", "event": "X", "properties": {"note": "a\x00b"}},
            "the message contains a NUL character (\\u0000), which cannot be stored",
            id="nul",
        ),
    ],
)
def test_invalid_messages_are_refused_with_a_reason(raw: object, reason: str) -> None:
    with pytest.raises(MessageError) as refused:
        normalise_message(raw, source_id=1, received_at=RECEIVED)

    assert refused.value.reason == reason
    assert str(refused.value) == reason


def test_a_message_over_32_kb_is_refused() -> None:
    raw = _track(properties={"blob": "x" * (MAX_EVENT_BYTES + 300)})

    with pytest.raises(MessageError) as refused:
        normalise_message(raw, source_id=1, received_at=RECEIVED)

    assert refused.value.reason.startswith("the message is larger than 32 KB (")


def test_a_naive_received_at_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        normalise_message(_track(), source_id=1, received_at=datetime(2025, 1, 1))  # noqa: DTZ001


def test_an_order_completed_event_with_spec_types_is_accepted() -> None:
    raw = _track(
        event="Order Completed",
        properties={
            "order_id": "50314b8e",
            "total": 27.5,
            "revenue": 25,
            "currency": "EUR",
            "coupon": None,
            "products": [
                {"product_id": 507, "sku": "45790-32", "price": 19.0, "quantity": 1},
                {"product_id": "505", "name": "Monopoly", "price": 3.75, "quantity": 2.0},
            ],
        },
    )

    row = normalise_message(raw, source_id=1, received_at=RECEIVED)

    assert row.name == "Order Completed"


@pytest.mark.parametrize(
    ("event", "properties", "reason"),
    [
        pytest.param(
            "Order Completed",
            {"revenue": "25.00"},
            "properties.revenue must be a number, got a string ('25.00')",
            id="revenue-text",
        ),
        pytest.param(
            "Order Completed",
            {"products": {"sku": "a"}},
            "properties.products must be a list of product objects, got an object",
            id="products-object",
        ),
        pytest.param(
            "Checkout Started",
            {"products": [{"sku": "a", "price": 1}, {"sku": "b", "price": True}]},
            "properties.products[1].price must be a number, got a boolean",
            id="product-price-bool",
        ),
        pytest.param(
            "Cart Viewed",
            {"products": ["sku-1"]},
            "properties.products[0] must be an object, got a string",
            id="product-not-object",
        ),
        pytest.param(
            "Product Added",
            {"quantity": 1.5},
            "properties.quantity must be an integer, got a number",
            id="quantity-fraction",
        ),
        pytest.param(
            "Product Viewed",
            {"currency": "euro"},
            "properties.currency must be a 3-letter ISO 4217 currency code, got a string ('euro')",
            id="currency",
        ),
        pytest.param(
            "Products Searched",
            {"query": 7},
            "properties.query must be a string, got a number",
            id="query",
        ),
        pytest.param(
            "Product Viewed",
            {"product_id": ["p"]},
            "properties.product_id must be a string or a number, got a list",
            id="product-id",
        ),
    ],
)
def test_ecommerce_events_must_follow_the_spec_types(
    event: str, properties: dict[str, Any], reason: str
) -> None:
    with pytest.raises(MessageError) as refused:
        normalise_message(
            _track(event=event, properties=properties), source_id=1, received_at=RECEIVED
        )

    assert refused.value.reason == reason


def test_other_events_keep_free_properties() -> None:
    row = normalise_message(
        _track(event="Store Visited", properties={"revenue": "lots", "products": "many"}),
        source_id=1,
        received_at=RECEIVED,
    )

    assert row.payload["properties"] == {"revenue": "lots", "products": "many"}
