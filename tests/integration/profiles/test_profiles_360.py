"""The customer 360: golden record with lineage, identifiers, records, merges and a timeline of
events and orders across channels, read through the identity graph."""

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from tests.integration.profiles.graph_state import import_jsonl, new_customer

from patron import identity, profiles
from patron.identity import MergeMethod
from patron.ingest import Channel


def at(day: int, hour: int = 10) -> str:
    return f"2026-01-{day:02d}T{hour:02d}:00:00Z"


@pytest.fixture
def ann(sessions: sessionmaker[Session], tmp_path: Path) -> tuple[int, int, int]:
    """Ann on two nodes merged by her email (web events and an e-shop order on one, a store
    receipt on the other), and the merge's id."""
    import_jsonl(
        sessions,
        tmp_path,
        "customers",
        source="store",
        channel=Channel.POS,
        rows=[{"id": "p1", "first_name": "Ann", "email": "ANN@example.com", "city": "Leeds"}],
    )
    import_jsonl(
        sessions,
        tmp_path,
        "customers",
        source="shop",
        channel=Channel.ESHOP,
        rows=[{"id": "s1", "first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"}],
    )
    import_jsonl(
        sessions,
        tmp_path,
        "events",
        source="web",
        channel=Channel.WEB,
        rows=[
            {
                "type": "track",
                "event": "Product Viewed",
                "userId": "u1",
                "messageId": f"e{day}",
                "timestamp": at(day),
                "properties": {"sku": f"SKU-{day}"},
            }
            for day in (1, 3, 5, 7)
        ],
    )
    import_jsonl(
        sessions,
        tmp_path,
        "orders",
        source="shop",
        channel=Channel.ESHOP,
        rows=[
            {
                "id": "o1",
                "customer_id": "s1",
                "ordered_at": at(5),
                "currency": "EUR",
                "total": "12.50",
                "lines": [{"sku": "SKU-5", "quantity": 1, "unit_price": "12.50"}],
            }
        ],
    )
    import_jsonl(
        sessions,
        tmp_path,
        "orders",
        source="store",
        channel=Channel.POS,
        rows=[
            {
                "id": "r1",
                "customer_id": "p1",
                "ordered_at": at(6),
                "currency": "EUR",
                "total": "3.00",
                "store_id": "leeds-1",
            }
        ],
    )
    with sessions() as session, session.begin():
        shop = new_customer(
            session,
            records=(("shop", "s1"),),
            events=("e1", "e3", "e5", "e7"),
            orders=("o1",),
            identifiers=(("email", "ann@example.com"), ("user_id", "u1")),
        )
        store = new_customer(session, records=(("store", "p1"),), orders=("r1",))
        merged = identity.merge_profiles(
            session,
            shop,
            store,
            method=MergeMethod.DETERMINISTIC,
            reason={"rule": "shared identifier", "type": "email", "value": "ann@example.com"},
        )
    assert merged.merge_id is not None
    return shop, store, merged.merge_id


def test_an_old_merged_id_shows_the_whole_customer(
    sessions: sessionmaker[Session], ann: tuple[int, int, int]
) -> None:
    shop, store, merge_id = ann

    # when the 360 is read through the merged-away node
    with sessions() as session:
        view = profiles.customer_360(session, store)

    # then it is the surviving customer, with everything from both nodes
    assert (view.id, view.requested_id, view.nodes) == (shop, store, (shop, store))
    assert view.golden_values() == {
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann@example.com",
        "city": "Leeds",
    }
    email = next(a for a in view.golden if a.name == "email")
    assert (email.source, email.record_id, email.rule) == ("shop", "s1", "most_trusted_source")
    assert [(r.source, r.record_id, r.profile_id) for r in view.records] == [
        ("store", "p1", store),
        ("shop", "s1", shop),
    ]
    assert [(i.type, i.value) for i in view.identifiers] == [
        ("email", "ann@example.com"),
        ("user_id", "u1"),
    ]
    assert [(m.id, m.winner_id, m.loser_id, m.method) for m in view.merges] == [
        (merge_id, shop, store, "deterministic")
    ]
    assert view.merges[0].reason["type"] == "email"


def test_the_timeline_mixes_channels_newest_first(
    sessions: sessionmaker[Session], ann: tuple[int, int, int]
) -> None:
    shop, _, _ = ann

    with sessions() as session:
        page = profiles.customer_360(session, shop).timeline

    assert [(e.kind, e.name, e.channel) for e in page.entries] == [
        ("event", "Product Viewed", "web"),
        ("order", "r1", "pos"),
        ("order", "o1", "eshop"),
        ("event", "Product Viewed", "web"),
        ("event", "Product Viewed", "web"),
        ("event", "Product Viewed", "web"),
    ]
    receipt, order = page.entries[1], page.entries[2]
    assert (receipt.detail["total_minor"], receipt.detail["store_id"]) == (300, "leeds-1")
    assert [(line.sku, line.quantity, line.total_minor) for line in order.lines] == [
        ("SKU-5", 1, 1250)
    ]
    assert page.entries[0].detail == {"properties": {"sku": "SKU-7"}}
    assert page.next_cursor is None


def test_timeline_pages_follow_each_other_without_gaps_or_repeats(
    sessions: sessionmaker[Session], ann: tuple[int, int, int]
) -> None:
    shop, _, _ = ann
    seen = []
    cursor = None

    # when the timeline is read two entries at a time
    with sessions() as session:
        for _ in range(10):
            page = profiles.customer_timeline(session, shop, cursor=cursor, limit=2)
            seen.extend((e.kind, e.id, e.at) for e in page.entries)
            cursor = page.next_cursor
            if cursor is None:
                break
        whole = profiles.customer_timeline(session, shop, limit=50)

    # then the pages add up to the whole timeline, in order
    assert seen == [(e.kind, e.id, e.at) for e in whole.entries]
    assert len(seen) == 6


def test_an_undone_merge_takes_the_store_side_away_again(
    sessions: sessionmaker[Session], ann: tuple[int, int, int]
) -> None:
    shop, store, merge_id = ann

    with sessions() as session, session.begin():
        profiles.undo_merge(session, merge_id, reason="not the same Ann")

    with sessions() as session:
        shop_view = profiles.customer_360(session, shop)
        store_view = profiles.customer_360(session, store)
    assert store_view.id == store
    assert [e.name for e in store_view.timeline.entries] == ["r1"]
    assert [r.record_id for r in store_view.records] == ["p1"]
    assert len(shop_view.timeline.entries) == 5
    assert shop_view.merges[0].undone_reason == "not the same Ann"
    assert store_view.merges[0].id == merge_id


def test_unknown_profiles_and_bad_cursors_are_refused(
    sessions: sessionmaker[Session], ann: tuple[int, int, int]
) -> None:
    shop, _, _ = ann
    with sessions() as session:
        with pytest.raises(profiles.ProfileNotFoundError, match="no profile has id 999"):
            profiles.customer_360(session, 999)
        with pytest.raises(profiles.InvalidCursorError, match="invalid timeline cursor"):
            profiles.customer_timeline(session, shop, cursor="not-a-cursor")
        with pytest.raises(ValueError, match="limit must be between 1 and 500"):
            profiles.customer_timeline(session, shop, limit=0)
