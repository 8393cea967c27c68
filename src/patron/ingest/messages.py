"""Tracking messages: validation and normalisation of Segment-spec calls into event-log rows.

This is the hot path of the tracking API, so it is written by hand rather than with a
pydantic model per message (measured in ``bench/ingest_throughput.py``): a few dictionary
look-ups, the timestamps parsed with ``datetime.fromisoformat`` and the payload serialised
once with orjson, which also gives the size check and the bytes the event log stores.

Timestamps follow Segment: the client's ``timestamp`` is kept as ``originalTimestamp``, and
when the client says when it sent the message (``sentAt``) the clock skew of the device is
removed: ``timestamp = receivedAt - (sentAt - originalTimestamp)``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final

import orjson

MESSAGE_TYPES: Final = frozenset({"track", "identify", "page", "screen", "group", "alias"})
MAX_EVENT_BYTES: Final = 32 * 1024
MAX_BATCH_BYTES: Final = 500 * 1024
MAX_BATCH_EVENTS: Final = 2_500
MAX_ID_LENGTH: Final = 255
# The fields Patron adds to a stored message (receivedAt, originalTimestamp, a messageId, the
# batch's sentAt) may take a message sent at just under 32 KB a little over it.
_ADDED_FIELDS_ALLOWANCE: Final = 256
_OBJECT_FIELDS: Final = ("properties", "traits", "context", "integrations")
# PostgreSQL cannot store U+0000 in text or jsonb; orjson writes it as this escape.
_NUL_ESCAPE: Final = b"\\u0000"


class MessageError(ValueError):
    """A message that cannot be accepted; ``reason`` says what is wrong and where."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class EventRow:
    """One validated message, as a row of the event log (the ``events`` table)."""

    source_id: int
    message_id: str
    type: str
    name: str | None
    user_id: str | None
    anonymous_id: str | None
    previous_id: str | None
    group_id: str | None
    timestamp: datetime
    sent_at: datetime | None
    received_at: datetime
    payload: dict[str, Any]
    # ``payload`` serialised as JSON, computed once: the size check and the insert use it.
    payload_json: bytes = field(default=b"", repr=False, compare=False)


def isoformat(moment: datetime) -> str:
    """A UTC time the way Segment writes it: ISO 8601 with a ``Z``."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat()[:-6] + "Z"


@lru_cache(maxsize=64)
def _batch_time(value: str) -> tuple[datetime, str]:
    # A batch's sentAt and a request's receivedAt are shared by all its messages: parse and
    # format them once.
    moment = parse_timestamp(value, "sentAt")
    return moment, isoformat(moment)


@lru_cache(maxsize=64)
def _received_text(moment: datetime) -> str:
    return isoformat(moment)


def parse_timestamp(value: object, where: str) -> datetime:
    """An ISO 8601 date-time as an aware UTC datetime; a time without an offset is UTC."""
    if not isinstance(value, str):
        msg = f"{where} must be an ISO 8601 date-time string, got {_kind(value)}"
        raise MessageError(msg)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        msg = f"{where} is not an ISO 8601 date-time: {value[:64]!r}"
        raise MessageError(msg) from None
    if moment.tzinfo is UTC:
        return moment
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _identifier(message: dict[str, Any], key: str) -> str | None:
    """An id field as a string (numbers are accepted, as Segment does); empty means absent."""
    value = message.get(key)
    if value.__class__ is str and 0 < len(value) <= MAX_ID_LENGTH:
        return value
    if value is None or value == "":
        return None
    if isinstance(value, str):
        if len(value) > MAX_ID_LENGTH:
            msg = f"{key} is longer than {MAX_ID_LENGTH} characters"
            raise MessageError(msg)
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = str(value)
        message[key] = text
        return text
    msg = f"{key} must be a string, got {_kind(value)}"
    raise MessageError(msg)


def _name(message: dict[str, Any], key: str) -> str | None:
    value = message.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        msg = f"{key} must be a string, got {_kind(value)}"
        raise MessageError(msg)
    if len(value) > MAX_ID_LENGTH:
        msg = f"{key} is longer than {MAX_ID_LENGTH} characters"
        raise MessageError(msg)
    return value or None


def message_id_of(raw: object) -> str | None:
    """The ``messageId`` of a message that may be invalid, if it has a usable one."""
    if not isinstance(raw, dict):
        return None
    value = raw.get("messageId")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH and "\x00" not in value:
        return value
    return None


def normalise_message(
    raw: object,
    *,
    source_id: int,
    received_at: datetime,
    message_type: str | None = None,
    sent_at: object = None,
) -> EventRow:
    """Validate one tracking message and turn it into an event-log row.

    ``message_type`` is the call's type when the endpoint implies it (``/v1/track``...);
    otherwise the message's ``type`` field must name one. ``sent_at`` is the batch's
    ``sentAt``, used when the message has none of its own. A missing ``messageId`` is
    assigned (a random UUID). The stored payload is the message less its ``writeKey``, with
    ``receivedAt``, ``originalTimestamp`` and the corrected ``timestamp``.

    Raises ``MessageError`` (with ``.reason``) naming the first thing that is wrong.
    """
    if received_at.tzinfo is None:
        msg = "received_at must be timezone-aware"
        raise ValueError(msg)
    if not isinstance(raw, dict):
        msg = f"a message must be a JSON object, got {_kind(raw)}"
        raise MessageError(msg)
    message: dict[str, Any] = raw.copy()
    message.pop("writeKey", None)

    kind = message_type if message_type is not None else message.get("type")
    if kind.__class__ is not str or kind not in MESSAGE_TYPES:
        if kind is None:
            msg = "type is missing (one of alias, group, identify, page, screen, track)"
        else:
            msg = (
                f"type must be one of alias, group, identify, page, screen, track, "
                f"got {str(kind)[:32]!r}"
            )
        raise MessageError(msg)
    message["type"] = kind

    user_id = _identifier(message, "userId")
    anonymous_id = _identifier(message, "anonymousId")
    if user_id is None and anonymous_id is None:
        msg = "a userId or an anonymousId is required"
        raise MessageError(msg)

    name: str | None = None
    previous_id: str | None = None
    group_id: str | None = None
    if kind == "track":
        name = _name(message, "event")
        if name is None:
            msg = "a track call needs an event name (event)"
            raise MessageError(msg)
    elif kind in {"page", "screen"}:
        name = _name(message, "name")
    elif kind == "alias":
        previous_id = _identifier(message, "previousId")
        if previous_id is None:
            msg = "an alias call needs a previousId"
            raise MessageError(msg)
        if user_id is None:
            msg = "an alias call needs a userId"
            raise MessageError(msg)
    elif kind == "group":
        group_id = _identifier(message, "groupId")
        if group_id is None:
            msg = "a group call needs a groupId"
            raise MessageError(msg)

    for key in _OBJECT_FIELDS:
        value = message.get(key)
        if value is not None and value.__class__ is not dict and not isinstance(value, dict):
            msg = f"{key} must be a JSON object, got {_kind(value)}"
            raise MessageError(msg)

    if kind == "track":
        check_ecommerce_properties(name or "", message.get("properties"))

    message_id = _identifier(message, "messageId")
    if message_id is None:
        message_id = str(uuid.uuid4())
        message["messageId"] = message_id

    sent_raw = message.get("sentAt")
    if sent_raw is None and sent_at is not None:
        sent_raw = sent_at
        message["sentAt"] = sent_at
    if sent_raw is None:
        sent = None
    elif sent_raw.__class__ is str:
        sent = _batch_time(sent_raw)[0]
    else:
        sent = parse_timestamp(sent_raw, "sentAt")
    original_raw = message.get("timestamp")
    if original_raw is None:
        timestamp = received_at
    else:
        original = parse_timestamp(original_raw, "timestamp")
        message["originalTimestamp"] = original_raw
        try:
            timestamp = original if sent is None else received_at - (sent - original)
        except OverflowError:
            msg = "timestamp and sentAt are too far apart"
            raise MessageError(msg) from None
    message["timestamp"] = isoformat(timestamp)
    message["receivedAt"] = _received_text(received_at)

    payload_json = orjson.dumps(message)
    if len(payload_json) > MAX_EVENT_BYTES + _ADDED_FIELDS_ALLOWANCE:
        msg = f"the message is larger than {MAX_EVENT_BYTES // 1024} KB ({len(payload_json)} bytes)"
        raise MessageError(msg)
    if _NUL_ESCAPE in payload_json:
        msg = "the message contains a NUL character (\\u0000), which cannot be stored"
        raise MessageError(msg)

    return EventRow(
        source_id=source_id,
        message_id=message_id,
        type=kind,
        name=name,
        user_id=user_id,
        anonymous_id=anonymous_id,
        previous_id=previous_id,
        group_id=group_id,
        timestamp=timestamp,
        sent_at=sent,
        received_at=received_at,
        payload=message,
        payload_json=payload_json,
    )


# Segment's e-commerce spec (https://segment.com/docs/connections/spec/ecommerce/v2/): the
# types of the properties each event defines. Every property is optional; one that is sent
# must have the spec'd type (null counts as absent). Other properties are free.
_ID = "a string or a number"
_TEXT = "a string"
_NUMBER = "a number"
_INTEGER = "an integer"
_CURRENCY = "a 3-letter ISO 4217 currency code"
_PRODUCTS = "a list of product objects"

_PRODUCT: Final = {
    "product_id": _ID,
    "sku": _ID,
    "category": _TEXT,
    "name": _TEXT,
    "brand": _TEXT,
    "variant": _TEXT,
    "price": _NUMBER,
    "quantity": _INTEGER,
    "coupon": _TEXT,
    "position": _NUMBER,
    "url": _TEXT,
    "image_url": _TEXT,
    "currency": _CURRENCY,
    "value": _NUMBER,
}
_PRODUCT_EVENT: Final = {**_PRODUCT, "cart_id": _ID, "wishlist_id": _ID, "wishlist_name": _TEXT}
_PRODUCT_LIST: Final = {"list_id": _ID, "category": _TEXT, "products": _PRODUCTS}
_CART: Final = {"cart_id": _ID, "products": _PRODUCTS}
_ORDER: Final = {
    "order_id": _ID,
    "checkout_id": _ID,
    "cart_id": _ID,
    "affiliation": _TEXT,
    "total": _NUMBER,
    "subtotal": _NUMBER,
    "revenue": _NUMBER,
    "value": _NUMBER,
    "shipping": _NUMBER,
    "tax": _NUMBER,
    "discount": _NUMBER,
    "coupon": _TEXT,
    "currency": _CURRENCY,
    "products": _PRODUCTS,
}
_CHECKOUT_STEP: Final = {
    "checkout_id": _ID,
    "order_id": _ID,
    "step": _NUMBER,
    "shipping_method": _TEXT,
    "payment_method": _TEXT,
}
_COUPON: Final = {
    "order_id": _ID,
    "cart_id": _ID,
    "coupon_id": _ID,
    "coupon_name": _TEXT,
    "discount": _NUMBER,
    "reason": _TEXT,
}
_PROMOTION: Final = {"promotion_id": _ID, "creative": _TEXT, "name": _TEXT, "position": _ID}

ECOMMERCE_EVENTS: Final[dict[str, dict[str, str]]] = {
    "Products Searched": {"query": _TEXT},
    "Product List Viewed": _PRODUCT_LIST,
    "Product List Filtered": _PRODUCT_LIST,
    "Promotion Viewed": _PROMOTION,
    "Promotion Clicked": _PROMOTION,
    "Product Clicked": _PRODUCT_EVENT,
    "Product Viewed": _PRODUCT_EVENT,
    "Product Added": _PRODUCT_EVENT,
    "Product Removed": _PRODUCT_EVENT,
    "Cart Viewed": _CART,
    "Checkout Started": _ORDER,
    "Checkout Step Viewed": _CHECKOUT_STEP,
    "Checkout Step Completed": _CHECKOUT_STEP,
    "Payment Info Entered": _CHECKOUT_STEP,
    "Order Updated": _ORDER,
    "Order Completed": _ORDER,
    "Order Refunded": _ORDER,
    "Order Cancelled": _ORDER,
    "Coupon Entered": _COUPON,
    "Coupon Applied": _COUPON,
    "Coupon Denied": _COUPON,
    "Coupon Removed": _COUPON,
    "Product Added to Wishlist": _PRODUCT_EVENT,
    "Product Removed from Wishlist": _PRODUCT_EVENT,
    "Wishlist Product Added to Cart": _PRODUCT_EVENT,
    "Product Shared": {**_PRODUCT_EVENT, "share_via": _TEXT, "share_message": _TEXT},
    "Cart Shared": {**_CART, "share_via": _TEXT, "share_message": _TEXT},
    "Product Reviewed": {
        "product_id": _ID,
        "review_id": _ID,
        "review_body": _TEXT,
        "rating": _NUMBER,
    },
}


_NONE = type(None)
# The JSON types each kind allows (null counts as absent); bool is not a number here.
_TYPES: Final[dict[str, frozenset[type]]] = {
    _ID: frozenset({str, int, float, _NONE}),
    _TEXT: frozenset({str, _NONE}),
    _NUMBER: frozenset({int, float, _NONE}),
    _INTEGER: frozenset({int, float, _NONE}),
    _CURRENCY: frozenset({str, _NONE}),
    _PRODUCTS: frozenset({list, _NONE}),
}
_REFINED: Final = (_INTEGER, _CURRENCY, _PRODUCTS)


def _rules(spec: dict[str, str]) -> tuple[dict[str, frozenset[type]], tuple[tuple[str, str], ...]]:
    """Per property, the allowed types; and the properties that need more than a type check."""
    return (
        {key: _TYPES[kind] for key, kind in spec.items()},
        tuple((key, kind) for key, kind in spec.items() if kind in _REFINED),
    )


_PRODUCT_RULES: Final = _rules(_PRODUCT)
_EVENT_RULES: Final = {event: _rules(spec) for event, spec in ECOMMERCE_EVENTS.items()}


def _refuse(kind: str, value: object, where: str) -> MessageError:
    shown = f" ({value!r})" if isinstance(value, str) else ""
    return MessageError(f"{where} must be {kind}, got {_kind(value)}{shown}"[:300])


def _check_properties(
    rules: tuple[dict[str, frozenset[type]], tuple[tuple[str, str], ...]],
    properties: object,
    where: str,
) -> None:
    if not isinstance(properties, dict):
        msg = f"{where} must be an object, got {_kind(properties)}"
        raise MessageError(msg)
    types, refined = rules
    # One pass over the properties with a set look-up each: this runs for most events of an
    # e-shop, so it must cost little more than reading them.
    for key, value in properties.items():
        allowed = types.get(key)
        if allowed is not None and value.__class__ not in allowed:
            kind = next(k for k, t in _TYPES.items() if t is allowed)
            raise _refuse(kind, value, f"{where}.{key}")
    for key, kind in refined:
        value = properties.get(key)
        if value is None:
            continue
        if kind == _INTEGER:
            if value.__class__ is float and not value.is_integer():
                raise _refuse(kind, value, f"{where}.{key}")
        elif kind == _CURRENCY:
            if not (len(value) == 3 and value.isascii() and value.isalpha()):
                raise _refuse(kind, value, f"{where}.{key}")
        else:
            for index, product in enumerate(value):
                _check_properties(_PRODUCT_RULES, product, f"{where}.{key}[{index}]")


def check_ecommerce_properties(event: str, properties: object) -> None:
    """Check the spec'd property types of an e-commerce event; other events pass as they are."""
    rules = _EVENT_RULES.get(event)
    if rules is None or properties is None:
        return
    _check_properties(rules, properties, "properties")
