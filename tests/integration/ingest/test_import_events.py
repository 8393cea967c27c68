"""Importing Segment messages into the event log, in JSONL and CSV."""

from pathlib import Path

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from patron.ingest import Channel, ImportFileError, import_file
from patron.ingest.models import Event


def events(sessions: sessionmaker[Session]) -> list[Event]:
    with sessions() as session:
        return list(session.scalars(select(Event).order_by(Event.id)))


def test_jsonl_messages_go_to_the_event_log_once(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # given app events, one without a messageId, one invalid, one sent twice
    path = tmp_path / "app.jsonl"
    messages = [
        {
            "type": "track",
            "event": "Product Viewed",
            "userId": "u1",
            "messageId": "m-1",
            "timestamp": "2024-02-01T10:00:00Z",
            "properties": {"product_id": "TEA", "price": 4.99},
        },
        {"type": "identify", "anonymousId": "d-9", "traits": {"email": "a@example.com"}},
        {"type": "track", "userId": "u1"},
        {"type": "track", "event": "Product Viewed", "userId": "u1", "messageId": "m-1"},
    ]
    path.write_bytes(b"".join(orjson.dumps(m) + b"\n" for m in messages))

    # when imported twice
    first = import_file(sessions, "events", path, source="mobile-app", channel=Channel.APP)
    again = import_file(sessions, "events", path, source="mobile-app")

    # then valid messages are stored once, the bad one is reported with the API's reason
    assert (first.rows_read, first.inserted, first.unchanged, first.rejected) == (4, 2, 1, 1)
    assert [(e.line, e.reason) for e in first.errors] == [
        (3, "a track call needs an event name (event)")
    ]
    assert (again.inserted, again.unchanged) == (0, 3)
    stored = events(sessions)
    assert [(e.type, e.name, e.user_id, e.anonymous_id) for e in stored] == [
        ("track", "Product Viewed", "u1", None),
        ("identify", None, None, "d-9"),
    ]
    assert stored[0].message_id == "m-1"
    assert stored[0].payload["properties"] == {"product_id": "TEA", "price": 4.99}
    assert stored[1].message_id.startswith("import-")


def test_csv_messages_nest_dotted_columns_and_read_typed_ones(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "web.csv"
    path.write_text(
        "type,event,name,userId,anonymousId,messageId,timestamp,properties.price:number,"
        "properties.sku,context.page.url,traits.vip:boolean,coupon\n"
        "track,Product Added,,u1,,m1,2024-02-01T10:00:00Z,4.99,TEA,https://shop/tea,,SPRING\n"
        "identify,,,u1,,m2,,,,,yes,\n"
        "page,,Home,,a1,m3,,,,https://shop/,,\n"
        "track,Product Added,,u1,,m4,,cheap,,,,\n"
    )

    summary = import_file(sessions, "events", path, source="web", channel=Channel.WEB)

    assert (summary.inserted, summary.rejected) == (3, 1)
    assert [(e.line, e.reason) for e in summary.errors] == [
        (5, "properties.price:number 'cheap' is not a number")
    ]
    added, identify, page = events(sessions)
    assert added.payload["properties"] == {"price": 4.99, "sku": "TEA", "coupon": "SPRING"}
    assert added.payload["context"] == {"page": {"url": "https://shop/tea"}}
    assert identify.payload["traits"] == {"vip": True}
    assert (page.type, page.name, page.anonymous_id) == ("page", "Home", "a1")


def test_an_events_csv_needs_a_type_column(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    path = tmp_path / "web.csv"
    path.write_text("event,userId\nViewed,u1\n")

    with pytest.raises(ImportFileError, match="lacks the required column type"):
        import_file(sessions, "events", path, source="web", channel=Channel.WEB)

    assert events(sessions) == []
