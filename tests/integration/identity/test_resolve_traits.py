"""Identify traits fill in the source record the userId designates."""

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from patron import identity, ingest
from patron.identity.models import RecordProfile
from patron.ingest.models import Event, SourceRecord

from .test_resolve import customer_of, given_events, message, resolve, source

APP_USER = {"email": "Ann.Lee@Shop.co.uk", "firstName": "Ann", "lastName": "Lee"}


def record(session: Session, source_id: int, record_id: str) -> SourceRecord:
    return session.scalars(
        select(SourceRecord).where(
            SourceRecord.source_id == source_id, SourceRecord.record_id == record_id
        )
    ).one()


def import_rows(
    sessions: sessionmaker[Session], tmp_path: Path, kind: str, source_name: str, rows: list[Any]
) -> ingest.ImportSummary:
    path = tmp_path / f"{kind}-{len(list(tmp_path.iterdir()))}.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return ingest.import_file(sessions, kind, path, source=source_name)


def app_order(order_id: str, customer_id: str, **printed: str) -> dict[str, Any]:
    return {
        "id": order_id,
        "customer_id": customer_id,
        "ordered_at": "2026-03-01T10:00:00Z",
        "currency": "GBP",
        "total": "12.50",
        **printed,
    }


def test_an_identify_after_the_order_fills_in_its_placeholder(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    app = source(sessions, "app", ingest.Channel.APP)
    import_rows(sessions, tmp_path, "orders", "app", [app_order("AO-1", "u-1")])
    resolve(sessions)
    with sessions() as session:
        placeholder = record(session, app, "u-1")
        assert placeholder.is_placeholder
        old_hash = placeholder.content_hash
    identify = message(
        app,
        "identify",
        userId="u-1",
        traits={**APP_USER, "birthday": "12/03/1985", "phone": "not a phone"},
    )
    given_events(sessions, identify)

    step = resolve(sessions)

    with sessions() as session:
        filled = record(session, app, "u-1")
        assert not filled.is_placeholder
        assert filled.content_hash != old_hash
        assert (filled.first_name, filled.last_name, filled.email) == (
            "Ann",
            "Lee",
            "ann.lee@shop.co.uk",
        )
        assert filled.birth_date == date(1985, 3, 12)
        assert filled.phone is None
        # Resolved again with its new content: the worker saw the change.
        assert session.get_one(RecordProfile, filled.id).content_hash == filled.content_hash
        assert customer_of(session, "record", "u-1") == customer_of(session, "user_id", "u-1")
        # The event log keeps the call as it was sent.
        stored = session.scalars(select(Event).where(Event.message_id == identify.message_id))
        assert stored.one().payload["traits"]["phone"] == "not a phone"
    assert step.records_filled == 1


def test_an_identify_before_the_order_creates_the_record_the_order_then_uses(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    app = source(sessions, "app", ingest.Channel.APP)
    given_events(sessions, message(app, "identify", userId="u-2", traits=APP_USER))
    resolve(sessions)

    summary = import_rows(sessions, tmp_path, "orders", "app", [app_order("AO-2", "u-2")])
    resolve(sessions)

    assert summary.placeholders_created == 0
    with sessions() as session:
        created = record(session, app, "u-2")
        assert not created.is_placeholder
        assert created.first_name == "Ann"
        assert customer_of(session, "record", "u-2") == customer_of(session, "user_id", "u-2")


def test_the_newest_non_empty_trait_wins_per_field(sessions: sessionmaker[Session]) -> None:
    app = source(sessions, "app", ingest.Channel.APP)
    given_events(
        sessions,
        message(app, "identify", userId="u-3", traits={**APP_USER, "phone": "07400 111222"}),
        message(
            app,
            "identify",
            userId="u-3",
            traits={"firstName": "Annie", "lastName": "", "email": "nonsense"},
        ),
    )

    resolve(sessions)

    with sessions() as session:
        kept = record(session, app, "u-3")
        assert (kept.first_name, kept.last_name) == ("Annie", "Lee")
        assert (kept.email, kept.phone) == ("ann.lee@shop.co.uk", "+447400111222")


def test_a_web_identify_fills_the_shop_record_its_user_id_names_before_or_after_the_file(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    web = source(sessions, "shop-web", ingest.Channel.WEB)
    shop = source(sessions, "shop", ingest.Channel.ESHOP)
    with sessions.begin() as session:
        identity.save_rules(
            session, identity.parse_rules({"user_id_records": {"shop-web": "shop"}})
        )
    shop_file = [
        {"id": "C-1", "first_name": "Ann", "email": "ann@shop.co.uk"},
        {"id": "C-2", "first_name": "Bea", "email": "bea@shop.co.uk"},
    ]
    # C-1: the file first, then the call; C-2: the call first, then the file.
    import_rows(sessions, tmp_path, "customers", "shop", shop_file[:1])
    given_events(
        sessions,
        message(web, "identify", userId="C-1", traits={"lastName": "Lee", "firstName": "Anne"}),
        message(
            web, "identify", userId="C-2", traits={"lastName": "Cole", "phone": "07400 333444"}
        ),
    )
    resolve(sessions)
    import_rows(sessions, tmp_path, "customers", "shop", shop_file[1:])
    resolve(sessions)

    with sessions() as session:
        after_file = record(session, shop, "C-1")
        assert (after_file.first_name, after_file.last_name) == ("Anne", "Lee")
        assert after_file.email == "ann@shop.co.uk"
        # The file, delivered after the call, is the shop's newest word on C-2.
        replaced = record(session, shop, "C-2")
        assert (replaced.first_name, replaced.email, replaced.last_name) == (
            "Bea",
            "bea@shop.co.uk",
            None,
        )
        assert customer_of(session, "user_id", "C-2") == customer_of(session, "record", "C-2")
        assert customer_of(session, "email", "bea@shop.co.uk") == customer_of(
            session, "record", "C-2"
        )


def test_identify_calls_without_user_id_or_traits_write_no_record(
    sessions: sessionmaker[Session],
) -> None:
    web = source(sessions, "web", ingest.Channel.WEB)
    given_events(
        sessions,
        message(web, "identify", anonymousId="c-1", traits={"email": "ann@shop.co.uk"}),
        message(web, "identify", userId="u-4", traits={"plan": "gold"}),
        message(web, "track", userId="u-5", context={"traits": {"firstName": "Ann"}}),
    )

    step = resolve(sessions)

    with sessions() as session:
        assert session.scalars(select(SourceRecord)).all() == []
    assert step.records_filled == 0


def test_a_customers_order_details_join_it_to_the_customer_with_those_identifiers(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    source(sessions, "pos", ingest.Channel.POS)
    source(sessions, "app", ingest.Channel.APP)
    import_rows(
        sessions,
        tmp_path,
        "customers",
        "pos",
        [{"id": "P-1", "first_name": "Ann", "loyalty_card": "6337 0001 2345"}],
    )
    import_rows(
        sessions, tmp_path, "orders", "app", [app_order("AO-9", "u-9", loyalty_card="633700012345")]
    )

    step = resolve(sessions)

    with sessions() as session:
        assert customer_of(session, "record", "u-9") == customer_of(session, "record", "P-1")
    assert step.merges == 1


def test_the_worker_settles_identify_calls_like_every_event(
    sessions: sessionmaker[Session],
) -> None:
    app = source(sessions, "app", ingest.Channel.APP)
    given_events(sessions, message(app, "identify", userId="u-6", traits=APP_USER))
    with sessions.begin() as session:
        step = identity.resolve_identities(
            session, default_region="GB", settle=timedelta(days=3650)
        )
    assert step.records_filled == 0
