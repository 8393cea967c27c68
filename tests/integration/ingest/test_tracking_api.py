"""The tracking API over HTTP, on SQLite and PostgreSQL."""

import base64
import gzip
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from tests.locks import EventsWriteLock

from patron import migrations
from patron.ingest import (
    Channel,
    EventRow,
    EventWriter,
    create_source,
    normalise_message,
    source_by_write_key,
)
from patron.ingest.models import Event, FailedEvent
from patron.settings import Environment, Settings
from patron.storage import make_engine
from patron.web import create_app

SECRET = "test-secret-key-for-the-suite"


def _basic(write_key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()}


@pytest.fixture
def write_key(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as session:
        return create_source(session, "web shop", Channel.ESHOP).write_key


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def _events(sessions: sessionmaker[Session]) -> list[Event]:
    with sessions() as session:
        return list(session.scalars(select(Event).order_by(Event.id)))


def _failed(sessions: sessionmaker[Session]) -> list[FailedEvent]:
    with sessions() as session:
        return list(session.scalars(select(FailedEvent).order_by(FailedEvent.id)))


def _message(number: int, **fields: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Product Viewed",
        "userId": f"user-{number}",
        "messageId": f"msg-{number}",
        "properties": {"product_id": f"p{number}", "price": 9.99},
        **fields,
    }


def test_a_track_call_is_stored_and_acknowledged(
    client: TestClient, write_key: str, sessions: sessionmaker[Session]
) -> None:
    # when a track call is sent with the write key as HTTP Basic user
    response = client.post(
        "/v1/track",
        json={
            "userId": "u-1",
            "event": "Order Completed",
            "messageId": "m-1",
            "timestamp": "2025-03-01T10:00:00Z",
            "sentAt": "2025-03-01T10:00:00Z",
            "properties": {"order_id": "o-1", "revenue": 25.0, "currency": "EUR"},
        },
        headers=_basic(write_key),
    )

    # then it is acknowledged the way Segment does and is in the event log
    assert response.status_code == 200
    assert response.json() == {"success": True}
    (stored,) = _events(sessions)
    assert (stored.type, stored.name, stored.user_id, stored.message_id) == (
        "track",
        "Order Completed",
        "u-1",
        "m-1",
    )
    assert stored.payload["properties"] == {"order_id": "o-1", "revenue": 25.0, "currency": "EUR"}
    assert stored.payload["originalTimestamp"] == "2025-03-01T10:00:00Z"
    assert "writeKey" not in stored.payload
    # sent at the moment it happened: the event happened when it was received
    assert stored.timestamp == stored.received_at


@pytest.mark.parametrize(
    ("path", "body", "stored_type"),
    [
        pytest.param("/v1/identify", {"userId": "u", "traits": {"email": "a@b.c"}}, "identify"),
        pytest.param("/v1/page", {"anonymousId": "a", "name": "Home"}, "page"),
        pytest.param("/v1/screen", {"userId": "u", "name": "Basket"}, "screen"),
        pytest.param("/v1/group", {"userId": "u", "groupId": "g"}, "group"),
        pytest.param("/v1/alias", {"userId": "u", "previousId": "a"}, "alias"),
        pytest.param("/v1/t", {"userId": "u", "event": "Clicked"}, "track", id="analytics.js-t"),
        pytest.param("/v1/p", {"anonymousId": "a"}, "page", id="analytics.js-p"),
    ],
)
def test_every_call_type_has_its_endpoint(
    *,
    client: TestClient,
    write_key: str,
    sessions: sessionmaker[Session],
    path: str,
    body: dict[str, Any],
    stored_type: str,
) -> None:
    # analytics.js sends text/plain with the write key in the body
    response = client.post(
        path,
        content=orjson.dumps({**body, "writeKey": write_key}),
        headers={"Content-Type": "text/plain"},
    )

    assert response.status_code == 200
    assert [e.type for e in _events(sessions)] == [stored_type]


@pytest.mark.parametrize(
    ("headers", "body", "message"),
    [
        pytest.param(
            {},
            {"userId": "u", "event": "E"},
            "no write key: send it as the HTTP Basic user name or as writeKey in the body",
            id="no-key",
        ),
        pytest.param(
            _basic("not-a-key"), {"userId": "u", "event": "E"}, "the write key belongs to no source"
        ),
        pytest.param(
            {},
            {"userId": "u", "event": "E", "writeKey": "nope"},
            "the write key belongs to no source",
            id="bad-body-key",
        ),
        pytest.param(
            {"Authorization": "Basic %%%"},
            {"userId": "u", "event": "E"},
            "the Authorization header is not valid HTTP Basic",
            id="bad-basic",
        ),
    ],
)
def test_a_call_without_a_valid_write_key_is_refused(
    *,
    client: TestClient,
    write_key: str,
    sessions: sessionmaker[Session],
    headers: dict[str, str],
    body: dict[str, Any],
    message: str,
) -> None:
    response = client.post("/v1/track", json=body, headers=headers)

    assert response.status_code == 401
    assert response.json() == {"success": False, "code": "unauthorized", "message": message}
    assert _events(sessions) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            b'{"userId": "u", "event": ',
            "the body is not valid JSON: unexpected end of data: line 1 column 26 (char 25)",
            id="bad-json",
        ),
        pytest.param(b"", "the request body is empty; send a JSON object", id="empty"),
        pytest.param(b"[1]", "the body must be a JSON object", id="not-object"),
        pytest.param(b'{"event": "E"}', "a userId or an anonymousId is required", id="no-user"),
        pytest.param(b'{"userId": "u"}', "a track call needs an event name (event)", id="no-event"),
        pytest.param(
            b'{"userId": "u", "event": "E", "timestamp": "31/12/2024"}',
            "timestamp is not an ISO 8601 date-time: '31/12/2024'",
            id="bad-timestamp",
        ),
        pytest.param(
            b'{"userId": "u", "event": "Order Completed", "properties": {"revenue": "12"}}',
            "properties.revenue must be a number, got a string ('12')",
            id="ecommerce-types",
        ),
    ],
)
def test_a_bad_single_call_gets_400_naming_the_problem(
    client: TestClient,
    write_key: str,
    sessions: sessionmaker[Session],
    body: bytes,
    message: str,
) -> None:
    response = client.post("/v1/track", content=body, headers=_basic(write_key))

    assert response.status_code == 400
    assert response.json() == {"success": False, "code": "invalid_request", "message": message}
    assert _events(sessions) == []
    assert _failed(sessions) == []


def test_a_batch_keeps_its_valid_messages_and_sets_the_bad_ones_aside(
    client: TestClient, write_key: str, sessions: sessionmaker[Session]
) -> None:
    # given a batch with two good messages, one without an event name and one not an object
    batch = [
        _message(1),
        {"type": "track", "userId": "u", "messageId": "bad-1"},
        _message(2),
        "not a message",
    ]

    # when it is sent
    response = client.post(
        "/v1/batch",
        json={"batch": batch, "sentAt": "2025-03-01T10:00:00Z"},
        headers=_basic(write_key),
    )

    # then the good ones are stored, the bad ones kept with their reasons, and the batch is OK
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "accepted": 2,
        "rejected": [
            {
                "index": 1,
                "messageId": "bad-1",
                "reason": "a track call needs an event name (event)",
            },
            {
                "index": 3,
                "messageId": None,
                "reason": "a message must be a JSON object, got a string",
            },
        ],
    }
    assert [e.message_id for e in _events(sessions)] == ["msg-1", "msg-2"]
    assert [(f.message_id, f.reason, f.payload) for f in _failed(sessions)] == [
        (
            "bad-1",
            "a track call needs an event name (event)",
            {
                "type": "track",
                "userId": "u",
                "messageId": "bad-1",
                "sentAt": "2025-03-01T10:00:00Z",
            },
        ),
        (None, "a message must be a JSON object, got a string", "not a message"),
    ]


def test_a_batch_sent_twice_is_stored_once(
    client: TestClient, write_key: str, sessions: sessionmaker[Session]
) -> None:
    body = {"batch": [_message(n) for n in range(5)]}

    first = client.post("/v1/batch", json=body, headers=_basic(write_key))
    again = client.post("/v1/b", json=body, headers=_basic(write_key))

    assert (first.status_code, again.status_code) == (200, 200)
    assert len(_events(sessions)) == 5


def test_a_gzipped_batch_is_read(
    client: TestClient, write_key: str, sessions: sessionmaker[Session]
) -> None:
    body = gzip.compress(orjson.dumps({"batch": [_message(1), _message(2)]}))

    response = client.post(
        "/v1/batch",
        content=body,
        headers={**_basic(write_key), "Content-Encoding": "gzip"},
    )

    assert response.status_code == 200
    assert len(_events(sessions)) == 2


@pytest.mark.parametrize(
    ("encoding", "body", "message"),
    [
        pytest.param(
            "gzip",
            b"plainly not gzip",
            "the body is not valid gzip: Error -3 while decompressing data: incorrect header check",
            id="not-gzip",
        ),
        pytest.param(
            "gzip",
            gzip.compress(b'{"batch": []}')[:-12],
            "the gzip body is truncated",
            id="truncated",
        ),
        pytest.param(
            "br",
            b"{}",
            "Content-Encoding 'br' is not supported; send gzip or plain JSON",
            id="brotli",
        ),
    ],
)
def test_a_body_that_cannot_be_decoded_gets_400(
    client: TestClient, write_key: str, encoding: str, body: bytes, message: str
) -> None:
    response = client.post(
        "/v1/batch", content=body, headers={**_basic(write_key), "Content-Encoding": encoding}
    )

    assert response.status_code == 400
    assert response.json()["message"] == message


@pytest.mark.parametrize(
    ("path", "body", "encoding", "message"),
    [
        pytest.param(
            "/v1/track",
            orjson.dumps({"userId": "u", "event": "E", "properties": {"x": "y" * 33_000}}),
            None,
            "the body is {size} bytes; the limit is 32 KB",
            id="single-over-32kb",
        ),
        pytest.param(
            "/v1/batch",
            orjson.dumps(
                {"batch": [_message(n, properties={"x": "y" * 30_000}) for n in range(20)]}
            ),
            None,
            "the body is {size} bytes; the limit is 500 KB",
            id="batch-over-500kb",
        ),
        pytest.param(
            "/v1/batch",
            orjson.dumps({"batch": [{"type": "track"}] * 2_501}),
            None,
            "a batch holds at most 2500 messages, this one has 2501",
            id="batch-over-2500",
        ),
        pytest.param(
            "/v1/batch",
            gzip.compress(b'{"batch": [], "pad": "' + b" " * 600_000 + b'"}'),
            "gzip",
            "the decompressed body is over the limit of 500 KB",
            id="gzip-bomb",
        ),
    ],
)
def test_a_body_over_the_limits_gets_413(
    *,
    client: TestClient,
    write_key: str,
    sessions: sessionmaker[Session],
    path: str,
    body: bytes,
    encoding: str | None,
    message: str,
) -> None:
    headers = _basic(write_key)
    if encoding:
        headers["Content-Encoding"] = encoding

    response = client.post(path, content=body, headers=headers)

    assert response.status_code == 413
    assert response.json() == {
        "success": False,
        "code": "payload_too_large",
        "message": message.format(size=len(body)),
    }
    assert _events(sessions) == []


def test_an_oversized_message_inside_a_batch_is_set_aside(
    client: TestClient, write_key: str, sessions: sessionmaker[Session]
) -> None:
    big = _message(2, properties={"notes": "n" * 40_000})

    response = client.post(
        "/v1/batch", json={"batch": [_message(1), big]}, headers=_basic(write_key)
    )

    assert response.status_code == 200
    (rejection,) = response.json()["rejected"]
    assert rejection["messageId"] == "msg-2"
    assert rejection["reason"].startswith("the message is larger than 32 KB")
    assert [e.message_id for e in _events(sessions)] == ["msg-1"]
    assert [f.message_id for f in _failed(sessions)] == ["msg-2"]


def test_a_warm_batch_request_makes_one_statement(
    client: TestClient, write_key: str, sessions: sessionmaker[Session]
) -> None:
    # given a write key already looked up once
    client.post("/v1/batch", json={"batch": [_message(0)]}, headers=_basic(write_key))
    statements: list[str] = []
    engine = client.app.state.services.engine  # type: ignore[attr-defined]

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        # when a batch of 100 events is sent
        response = client.post(
            "/v1/batch",
            json={"batch": [_message(n) for n in range(1, 101)]},
            headers=_basic(write_key),
        )
    finally:
        event.remove(engine, "before_cursor_execute", count)

    # then the only statement is the insert of all of them
    assert response.status_code == 200
    assert len(statements) == 1
    assert statements[0].startswith("INSERT INTO events")
    assert len(_events(sessions)) == 101


def test_browsers_may_send_from_any_origin(client: TestClient, write_key: str) -> None:
    # when a browser asks before posting JSON from a shop's page
    preflight = client.options(
        "/v1/batch",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, authorization",
        },
    )
    posted = client.post(
        "/v1/t",
        content=orjson.dumps({"userId": "u", "event": "E", "writeKey": write_key}),
        headers={"Origin": "https://shop.example", "Content-Type": "text/plain"},
    )

    # then it may, and reads the answer
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert preflight.headers["access-control-allow-headers"] == "content-type, authorization"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert posted.status_code == 200
    assert posted.headers["access-control-allow-origin"] == "*"


def test_the_admin_api_is_not_open_to_other_origins(client: TestClient) -> None:
    response = client.get("/api/failed-events", headers={"Origin": "https://evil.example"})

    assert "access-control-allow-origin" not in response.headers


def test_analytics_js_gets_settings_pointing_back_here(client: TestClient, write_key: str) -> None:
    response = client.get(f"/v1/projects/{write_key}/settings")

    assert response.status_code == 200
    settings = response.json()
    assert settings["integrations"]["Segment.io"]["apiKey"] == write_key
    assert settings["integrations"]["Segment.io"]["apiHost"] == "testserver/v1"
    assert settings["integrations"]["Segment.io"]["protocol"] == "http"
    assert settings["metrics"] == {"sampleRate": 0}


def test_settings_of_an_unknown_key_are_not_found(client: TestClient) -> None:
    response = client.get("/v1/projects/unknown/settings")

    assert response.status_code == 404
    assert response.json()["message"] == "the write key belongs to no source"


def test_a_failed_event_is_listed_and_replayed_after_a_fix(
    client: TestClient, write_key: str, sessions: sessionmaker[Session]
) -> None:
    # given a batch message that failed: a price sent as text
    bad = _message(1, properties={"product_id": "p1", "price": "9.99"})
    client.post("/v1/batch", json={"batch": [bad]}, headers=_basic(write_key))
    (listed,) = client.get("/api/failed-events").json()
    assert listed["reason"] == "properties.price must be a number, got a string ('9.99')"

    # when it is replayed as stored, then with the price corrected
    as_stored = client.post(f"/api/failed-events/{listed['id']}/replay")
    corrected = client.post(
        f"/api/failed-events/{listed['id']}/replay",
        json=_message(1, properties={"product_id": "p1", "price": 9.99}),
    )

    # then the first is still refused and the corrected one is in the event log
    assert as_stored.status_code == 422
    assert as_stored.json()["reason"] == listed["reason"]
    assert corrected.status_code == 200
    (stored,) = _events(sessions)
    assert corrected.json() == {
        "id": listed["id"],
        "status": "replayed",
        "reason": None,
        "event_id": stored.id,
    }
    assert stored.message_id == "msg-1"
    assert stored.payload["properties"]["price"] == 9.99
    assert client.get("/api/failed-events").json() == []
    (replayed,) = client.get("/api/failed-events", params={"status": "replayed"}).json()
    assert replayed["event_id"] == stored.id


def test_replaying_an_unknown_failed_event_is_not_found(client: TestClient) -> None:
    response = client.post("/api/failed-events/999/replay")

    assert response.status_code == 404
    assert response.json()["status"] == "not_found"


def _unreachable_url(database_url: str, tmp_path: Path) -> str:
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'gone' / 'patron.db'}"
    return make_url(database_url).set(host="127.0.0.1", port=1).render_as_string(False)


def test_an_unreachable_database_gets_503_with_retry_after(
    database_url: str, tmp_path: Path
) -> None:
    # given an app whose database cannot be reached (a closed port, a removed folder)
    url = _unreachable_url(database_url, tmp_path)
    settings = Settings(environment=Environment.TEST, database_url=url, secret_key=SECRET)
    app = create_app(settings)
    if url.startswith("sqlite"):
        shutil.rmtree(tmp_path / "gone")

    # when a call arrives
    with TestClient(app) as client:
        response = client.post("/v1/track", json={"userId": "u", "event": "E"}, headers=_basic("k"))

    # then the client is told to retry, never that its call is bad
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.json()["code"] == "unavailable"


def test_a_database_lost_after_start_gets_503(tmp_path: Path) -> None:
    # given a running app on SQLite that has already accepted a call from this key
    path = tmp_path / "store" / "patron.db"
    url = f"sqlite:///{path}"
    migrations.upgrade(url)
    settings = Settings(environment=Environment.TEST, database_url=url, secret_key=SECRET)
    app = create_app(settings)
    services = app.state.services
    with services.sessions.begin() as session:
        key = create_source(session, "app", Channel.APP).write_key
    with TestClient(app) as client:
        first = client.post("/v1/track", json={"userId": "u", "event": "E"}, headers=_basic(key))

        # when the database goes away
        services.engine.dispose()
        shutil.rmtree(path.parent)
        second = client.post("/v1/track", json={"userId": "u", "event": "E"}, headers=_basic(key))

    # then the writer's failure is a 503 with Retry-After, not a 4xx
    assert first.status_code == 200
    assert second.status_code == 503
    assert second.headers["retry-after"] == "2"


def test_a_full_queue_gets_429_with_retry_after(
    database_url: str,
    write_key: str,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given an app whose queue holds 10 events, and a writer stuck behind another writer
    settings = Settings(
        environment=Environment.TEST,
        database_url=database_url,
        secret_key=SECRET,
        ingest_queue_limit=10,
    )
    app = create_app(settings)
    writer = app.state.services.writer
    submitted = threading.Semaphore(0)
    submit = writer.submit

    def submit_and_tell(*args: Any, **kwargs: Any) -> Any:
        try:
            return submit(*args, **kwargs)
        finally:
            submitted.release()

    monkeypatch.setattr(writer, "submit", submit_and_tell)
    results: list[int] = []

    def send(first: int) -> None:
        batch = [_message(n) for n in range(first, first + 10)]
        response = api.post("/v1/batch", json={"batch": batch}, headers=_basic(write_key))
        results.append(response.status_code)

    with TestClient(app) as api:
        api.post("/v1/track", json=_message(999), headers=_basic(write_key))  # warm the key
        assert submitted.acquire(timeout=30)
        lock = EventsWriteLock(database_url)
        with lock:
            # each writer thread takes a batch and is stuck, then one more batch waits in the
            # queue; each batch is sent once the one before it has reached the writer
            senders: list[threading.Thread] = []
            for number in range(writer.thread_count + 1):
                sender = threading.Thread(target=send, args=(10 * number,))
                sender.start()
                senders.append(sender)
                assert submitted.acquire(timeout=30)
                if number < writer.thread_count:
                    _wait_for(lambda: writer.pending_events == 0)
            assert writer.pending_events == 10

            # when one more batch arrives
            refused = api.post(
                "/v1/batch", json={"batch": [_message(50)]}, headers=_basic(write_key)
            )
        for sender in senders:
            sender.join(timeout=30)

    # then it is told to come back later, and the queued batches are written once unblocked
    assert (refused.status_code, refused.headers.get("retry-after")) == (429, "2")
    assert refused.json()["code"] == "overloaded"
    assert results == [200] * len(senders)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 1 + 10 * len(senders)


def _wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def test_a_request_the_database_refuses_does_not_fail_the_others_in_its_group(
    database_url: str, write_key: str, sessions: sessionmaker[Session]
) -> None:
    # given a writer busy behind another writer, with a request for a source that does not
    # exist and a good one queued behind it, so that both go into the same group
    engine = make_engine(database_url)
    writer = EventWriter(engine, threads=1)
    writer.start()
    received = datetime.now(UTC)

    def rows(source: int, message_id: str) -> list[EventRow]:
        raw = {"type": "track", "event": "E", "userId": "u", "messageId": message_id}
        return [normalise_message(raw, source_id=source, received_at=received)]

    with sessions() as session:
        source = source_by_write_key(session, write_key)
    assert source is not None
    try:
        with EventsWriteLock(database_url):
            first = writer.submit(rows(source.id, "first"))
            _wait_for(lambda: writer.pending_events == 0)
            refused = writer.submit(rows(source.id + 1000, "orphan"))
            good = writer.submit(rows(source.id, "good"))

        # when the writer commits the group
        first.result(timeout=30)
        good.result(timeout=30)

        # then the refused request alone hears of the database's error
        with pytest.raises(IntegrityError):
            refused.result(timeout=30)
    finally:
        writer.stop()
        engine.dispose()
    assert sorted(e.message_id for e in _events(sessions)) == ["first", "good"]
