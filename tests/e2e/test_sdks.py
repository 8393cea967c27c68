"""The official Segment and RudderStack Python SDKs, unchanged, against a live Patron."""

import time
from collections import Counter
from typing import Any, Protocol

import pytest
from rudderstack.analytics import Client as RudderClient
from segment.analytics import Client as SegmentClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from patron.ingest import Channel, create_source
from patron.ingest.models import Event
from tests.e2e.conftest import LiveServer
from tests.locks import EventsWriteLock


class _Sdk(Protocol):
    def track(self, *args: Any, **kwargs: Any) -> tuple[bool, dict[str, Any]]: ...
    def identify(self, *args: Any, **kwargs: Any) -> tuple[bool, dict[str, Any]]: ...
    def page(self, *args: Any, **kwargs: Any) -> tuple[bool, dict[str, Any]]: ...
    def screen(self, *args: Any, **kwargs: Any) -> tuple[bool, dict[str, Any]]: ...
    def group(self, *args: Any, **kwargs: Any) -> tuple[bool, dict[str, Any]]: ...
    def alias(self, *args: Any, **kwargs: Any) -> tuple[bool, dict[str, Any]]: ...
    def flush(self) -> None: ...
    def join(self) -> None: ...


def _client(sdk: str, write_key: str, host: str, errors: list[Any], *, gzip: bool) -> _Sdk:
    def on_error(error: Exception, batch: list[dict[str, Any]]) -> None:
        errors.append((error, batch))

    options = {
        "host": host,
        "gzip": gzip,
        "on_error": on_error,
        "upload_interval": 0.05,
        "max_retries": 1,
    }
    if sdk == "segment":
        client: _Sdk = SegmentClient(write_key, **options)
    else:
        client = RudderClient(write_key, **options)
    return client


def _write_key(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as session:
        return create_source(session, "mobile app", Channel.APP).write_key


def _stored(sessions: sessionmaker[Session]) -> list[Event]:
    with sessions() as session:
        return list(session.scalars(select(Event).order_by(Event.id)))


@pytest.mark.parametrize(
    ("sdk", "gzip"),
    [
        pytest.param("segment", False, id="segment"),
        pytest.param("segment", True, id="segment-gzip"),
        pytest.param("rudderstack", True, id="rudderstack-gzip"),
        pytest.param("rudderstack", False, id="rudderstack"),
    ],
)
def test_every_call_of_the_sdk_lands_exactly_once(
    live_server: LiveServer, sessions: sessionmaker[Session], sdk: str, *, gzip: bool
) -> None:
    # given an SDK pointed at Patron with a source's write key
    errors: list[Any] = []
    client = _client(sdk, _write_key(sessions), live_server.url, errors, gzip=gzip)

    # when the app makes every kind of call, then sends one message again in a later batch
    sent = [
        client.identify("user-1", {"email": "ada@example.com", "loyalty_card": "L-1"}),
        client.track(
            "user-1",
            "Order Completed",
            {
                "order_id": "o-1",
                "revenue": 25.5,
                "currency": "EUR",
                "products": [{"product_id": "p-1", "price": 25.5, "quantity": 1}],
            },
        ),
        client.page("user-1", "Shop", "Home", {"url": "https://shop.example/"}),
        client.screen("user-1", "App", "Basket"),
        client.group("user-1", "household-7", {"name": "Lovelace"}),
        client.alias("anon-1", "user-1"),
        client.track(anonymous_id="anon-2", event="Product Viewed", message_id="retry-1"),
    ]
    client.flush()
    client.track(anonymous_id="anon-2", event="Product Viewed", message_id="retry-1")
    client.flush()
    client.join()

    # then every message is in the event log once, as the SDK built it
    assert errors == []
    assert all(ok for ok, _ in sent)
    stored = _stored(sessions)
    assert sorted(e.message_id for e in stored) == sorted(m["messageId"] for _, m in sent)
    assert Counter(e.type for e in stored) == {
        "identify": 1,
        "track": 2,
        "page": 1,
        "screen": 1,
        "group": 1,
        "alias": 1,
    }
    by_type = {e.type: e for e in stored if e.type != "track"}
    assert by_type["alias"].previous_id == "anon-1"
    assert by_type["group"].group_id == "household-7"
    assert by_type["page"].name == "Home"
    order = next(e for e in stored if e.name == "Order Completed")
    assert order.payload["properties"]["revenue"] == 25.5
    assert order.sent_at is not None
    assert all(e.timestamp <= e.received_at for e in stored)


@pytest.mark.parametrize("sdk", ["segment", "rudderstack"])
def test_an_sdk_with_a_wrong_key_hears_401(
    live_server: LiveServer, sessions: sessionmaker[Session], sdk: str
) -> None:
    errors: list[Any] = []
    client = _client(sdk, "wrong-key", live_server.url, errors, gzip=True)

    client.track("user-1", "Signed Up")
    client.flush()
    client.join()

    assert len(errors) == 1
    assert errors[0][0].status == 401
    assert _stored(sessions) == []


def test_an_sdk_retry_after_a_timeout_stores_the_message_once(
    live_server: LiveServer, sessions: sessionmaker[Session], database_url: str
) -> None:
    # given the Segment SDK with a short timeout, and a write key already in use
    errors: list[Any] = []
    client = SegmentClient(
        _write_key(sessions),
        host=live_server.url,
        on_error=lambda error, batch: errors.append((error, batch)),
        upload_interval=0.05,
        timeout=0.5,
        max_retries=6,
    )
    client.track("user-1", "Signed Up")
    client.flush()

    # when the database is slow to commit, the SDK times out and sends the same batch again
    with EventsWriteLock(database_url):
        client.track("user-1", "Order Completed", {"order_id": "o-9"}, message_id="sent-twice")
        time.sleep(1.2)
    client.flush()
    client.join()

    # then the message is stored once, and the SDK counts it as delivered
    assert errors == []
    stored = [e.message_id for e in _stored(sessions)]
    assert stored.count("sent-twice") == 1
    assert len(stored) == 2
