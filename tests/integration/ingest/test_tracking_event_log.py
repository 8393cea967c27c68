from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from patron.ingest import (
    Channel,
    FailedMessage,
    append_events,
    create_source,
    normalise_message,
    record_failed_events,
)
from patron.ingest.models import Event, FailedEvent

RECEIVED = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def _source(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as session:
        return create_source(session, "eshop", Channel.ESHOP).source.id


def test_appended_events_read_back_through_the_orm(sessions: sessionmaker[Session]) -> None:
    # given a normalised track event
    source_id = _source(sessions)
    row = normalise_message(
        {
            "type": "track",
            "event": "Product Viewed",
            "userId": "u1",
            "messageId": "m1",
            "timestamp": "2025-03-01T11:00:00Z",
            "sentAt": "2025-03-01T11:00:01Z",
            "properties": {"sku": "A-1", "price": 12.5},
        },
        source_id=source_id,
        received_at=RECEIVED,
    )

    # when it is appended
    with sessions.begin() as session:
        stored = append_events(session, [row])

    # then it reads back with every column as sent
    assert stored == 1
    with sessions() as session:
        event = session.scalars(select(Event)).one()
    assert (event.source_id, event.message_id, event.type, event.name, event.user_id) == (
        source_id,
        "m1",
        "track",
        "Product Viewed",
        "u1",
    )
    assert event.timestamp == datetime(2025, 3, 1, 11, 59, 59, 123456, tzinfo=UTC)
    assert event.sent_at == datetime(2025, 3, 1, 11, 0, 1, tzinfo=UTC)
    assert event.received_at == RECEIVED
    assert event.payload == row.payload


def test_appending_the_same_message_ids_again_stores_nothing(
    sessions: sessionmaker[Session],
) -> None:
    # given two events already in the log
    source_id = _source(sessions)
    rows = [
        normalise_message(
            {"type": "track", "event": "E", "userId": "u", "messageId": f"m{i}"},
            source_id=source_id,
            received_at=RECEIVED,
        )
        for i in range(2)
    ]
    with sessions.begin() as session:
        append_events(session, rows)

    # when the same two and one new one are appended (an SDK retry)
    extra = normalise_message(
        {"type": "track", "event": "E", "userId": "u", "messageId": "m2"},
        source_id=source_id,
        received_at=RECEIVED,
    )
    with sessions.begin() as session:
        stored = append_events(session, [*rows, extra])

    # then only the new one is stored
    assert stored == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 3


def test_failed_messages_are_kept_once_with_their_reason(sessions: sessionmaker[Session]) -> None:
    # given a failed message with a message id and one without
    source_id = _source(sessions)
    failures = [
        FailedMessage(
            source_id=source_id,
            reason="a track call needs an event name (event)",
            payload={"type": "track", "userId": "u", "messageId": "bad-1"},
            received_at=RECEIVED,
            message_id="bad-1",
        ),
        FailedMessage(
            source_id=source_id,
            reason="a message must be a JSON object, got a string",
            payload="nonsense",
            received_at=RECEIVED,
        ),
    ]

    # when both are recorded twice (the batch was retried)
    with sessions.begin() as session:
        first = record_failed_events(session, failures)
    with sessions.begin() as session:
        second = record_failed_events(session, failures)

    # then the one with an id is kept once, the one without each time
    assert (first, second) == (2, 1)
    with sessions() as session:
        kept = session.scalars(select(FailedEvent).order_by(FailedEvent.id)).all()
    assert [(f.message_id, f.reason, f.payload, f.status) for f in kept] == [
        (
            "bad-1",
            "a track call needs an event name (event)",
            {"type": "track", "userId": "u", "messageId": "bad-1"},
            "failed",
        ),
        (None, "a message must be a JSON object, got a string", "nonsense", "failed"),
        (None, "a message must be a JSON object, got a string", "nonsense", "failed"),
    ]


def test_a_failed_message_with_a_nul_character_is_kept_with_it_replaced(
    sessions: sessionmaker[Session],
) -> None:
    source_id = _source(sessions)
    failure = FailedMessage(
        source_id=source_id,
        reason="the message contains a NUL character (\\u0000), which cannot be stored",
        payload={"type": "track", "event": "a\x00b", "userId": "u"},
        received_at=RECEIVED,
    )

    with sessions.begin() as session:
        record_failed_events(session, [failure])

    with sessions() as session:
        kept = session.scalars(select(FailedEvent)).one()
    assert kept.payload == {"type": "track", "event": "a\ufffdb", "userId": "u"}


def test_a_message_twice_in_one_append_is_stored_once(sessions: sessionmaker[Session]) -> None:
    source_id = _source(sessions)
    row = normalise_message(
        {"type": "track", "event": "E", "userId": "u", "messageId": "same"},
        source_id=source_id,
        received_at=RECEIVED,
    )

    with sessions.begin() as session:
        stored = append_events(session, [row, row])

    assert stored == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 1


def test_a_large_append_is_split_into_statements_and_stored_whole(
    sessions: sessionmaker[Session],
) -> None:
    source_id = _source(sessions)
    rows = [
        normalise_message(
            {"type": "page", "anonymousId": f"a{i}", "messageId": f"m{i}", "name": "Home"},
            source_id=source_id,
            received_at=RECEIVED,
        )
        for i in range(1_234)
    ]

    with sessions.begin() as session:
        stored = append_events(session, rows)

    assert stored == 1_234
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 1_234
