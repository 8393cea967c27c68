"""The snapshot's rollups give every report the same answers as the live store, on a store
filled from a synthetic world (hundreds of customers over two and a half years), on both
engines: all the data, periods aligned and not aligned to months, filters, comparisons and
time zones far from UTC."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.integration.analytics.retail import build_store
from tests.integration.predict.world_store import build_world_store

from patron import analytics, identity
from patron.identity.models import OrderProfile, Profile
from patron.ingest.models import Order
from patron.settings import Settings

PEOPLE = 300

REQUESTS: list[tuple[str, dict[str, Any]]] = [
    ("all data", {}),
    ("a quarter against the one before", {"date_from": "2026-01-01", "date_to": "2026-03-31"}),
    (
        "a year against the year before, New York",
        {
            "date_from": "2025-01-01",
            "date_to": "2025-12-31",
            "compare": "previous-year",
            "timezone": "America/New_York",
        },
    ),
    (
        "days not aligned to months, two channels, Kolkata",
        {
            "date_from": "2025-02-10",
            "date_to": "2025-09-17",
            "channels": ["pos", "app"],
            "timezone": "Asia/Kolkata",
        },
    ),
    ("one channel, all data", {"channels": ["eshop"]}),
    (
        "a year of one channel against the year before, London",
        {
            "date_from": "2025-01-01",
            "date_to": "2025-12-31",
            "compare": "previous-year",
            "channels": ["eshop"],
            "timezone": "Europe/London",
        },
    ),
    (
        # Bounds within a day of a month's start but not on it, and one deep in a month.
        "from the second of a month to the thirtieth, Auckland",
        {"date_from": "2025-03-02", "date_to": "2025-10-30", "timezone": "Pacific/Auckland"},
    ),
    ("within one month", {"date_from": "2025-05-03", "date_to": "2025-05-20"}),
]


@pytest.fixture
def world_url(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    # A PostgreSQL store's snapshot goes under var/ of the working directory.
    monkeypatch.chdir(tmp_path)
    build_world_store(database_url, tmp_path, customers=PEOPLE, seed=11)
    return database_url


def with_a_store_of_the_busiest(url: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """The request with a store filter on the store that sold most (a real id of the world)."""
    with analytics.open_store(url, snapshot=False) as store:
        found = store.connection.execute(
            "SELECT store_id FROM orders_v WHERE store_id IS NOT NULL "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        ).fetchone()
    assert found is not None
    return {**parameters, "stores": [str(found[0])]}


def test_every_report_from_the_rollups_answers_as_the_live_store(world_url: str) -> None:
    # given a store and its snapshot
    taken = analytics.refresh_snapshot(world_url)
    requests = [
        *REQUESTS,
        ("the busiest store, a quarter", with_a_store_of_the_busiest(world_url, REQUESTS[1][1])),
    ]
    differing = []
    answered: set[str] = set()
    for label, parameters in requests:
        request = analytics.parse_request(**parameters)
        for definition in analytics.builtin_reports():
            # when the report is run on the live store and on the snapshot
            with analytics.open_store(world_url, snapshot=False) as store:
                live = definition.run(store, request)
            with analytics.open_store(world_url, snapshot=True) as store:
                assert store.rollups
                from_snapshot = definition.run(store, request)
            # then the tables are the same, and the snapshot says when it was taken
            assert from_snapshot.data_as_of == taken.taken_at
            if from_snapshot.tables != live.tables:
                differing.append(f"{definition.name}, {label}")
            if any(table.rows for table in live.tables):
                answered.add(definition.name)
    assert differing == []
    # every report had something to say for some request (not only empty tables)
    assert answered == {definition.name for definition in analytics.builtin_reports()}
    assert taken.rows["customer_scopes"] > 0
    assert taken.rows["basket_pairs"] > 0


@pytest.fixture
def small_store_url(
    sessions: sessionmaker[Session],
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    monkeypatch.chdir(tmp_path)
    build_store(sessions, settings, tmp_path)
    return settings.database_url


def merge_bob_and_cat(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        bob, cat = (
            session.execute(
                select(Profile.canonical_id)
                .join(OrderProfile, OrderProfile.profile_id == Profile.id)
                .join(Order, Order.id == OrderProfile.order_pk)
                .where(Order.order_id == order_id)
            ).scalar_one()
            for order_id in ("r2", "e1")
        )
    with sessions() as session, session.begin():
        identity.merge_profiles(
            session, bob, cat, method=identity.MergeMethod.MANUAL, reason={"rule": "test"}
        )


def test_a_snapshot_is_refreshed_when_due_and_the_store_changed(
    small_store_url: str, sessions: sessionmaker[Session]
) -> None:
    # no snapshot was ever taken: none is made
    assert analytics.refresh_stale_snapshot(small_store_url) is None
    taken = analytics.refresh_snapshot(small_store_url)
    later = taken.taken_at + analytics.SNAPSHOT_MAX_AGE

    merge_bob_and_cat(sessions)

    # changed, but not due yet
    assert analytics.refresh_stale_snapshot(small_store_url, now=taken.taken_at) is None
    # changed and due: a new snapshot, which shows the merge
    fresh = analytics.refresh_stale_snapshot(small_store_url, now=later)
    assert fresh is not None
    assert fresh.taken_at > taken.taken_at
    request = analytics.parse_request(**REQUESTS[0][1])
    with analytics.open_store(small_store_url, snapshot=True) as store:
        from_snapshot = analytics.builtin_reports().get("overview").run(store, request)
    with analytics.open_store(small_store_url, snapshot=False) as store:
        live = analytics.builtin_reports().get("overview").run(store, request)
    assert from_snapshot.data_as_of == fresh.taken_at
    assert from_snapshot.tables == live.tables


def test_an_unchanged_stores_snapshot_stays_in_use_past_its_age(
    small_store_url: str, sessions: sessionmaker[Session]
) -> None:
    # given a snapshot older than the age reports read one for
    taken = analytics.refresh_snapshot(small_store_url)
    later = taken.taken_at + analytics.SNAPSHOT_MAX_AGE + timedelta(minutes=1)
    with analytics.open_store(small_store_url, now=later) as store:
        assert store.data_as_of is None

    # when the refresher finds the store unchanged
    assert analytics.refresh_stale_snapshot(small_store_url, now=later) is None

    # then reports read the same snapshot again, as of that check, with the live answers
    request = analytics.parse_request(**REQUESTS[0][1])
    overview = analytics.builtin_reports().get("overview")
    with analytics.open_store(small_store_url, now=later) as store:
        assert store.rollups
        from_snapshot = overview.run(store, request)
    with analytics.open_store(small_store_url, snapshot=False) as store:
        live = overview.run(store, request)
    assert from_snapshot.data_as_of == later
    assert from_snapshot.tables == live.tables
    with analytics.open_store(small_store_url, snapshot=True) as store:
        assert store.data_as_of == later

    # when the store changes, the snapshot still says when the store was last seen identical
    merge_bob_and_cat(sessions)
    with analytics.open_store(small_store_url, now=later + timedelta(minutes=10)) as store:
        assert store.data_as_of == later
    # and a report past the age since then reads the live store
    much_later = later + analytics.SNAPSHOT_MAX_AGE + timedelta(minutes=1)
    with analytics.open_store(small_store_url, now=much_later) as store:
        assert store.data_as_of is None
    # and the next due check takes a new snapshot, whose own time replaces the confirmation
    fresh = analytics.refresh_stale_snapshot(small_store_url, now=much_later)
    assert fresh is not None
    with analytics.open_store(small_store_url, snapshot=True) as store:
        assert store.data_as_of == fresh.taken_at


def test_run_report_reads_a_confirmed_snapshot(small_store_url: str) -> None:
    # given a snapshot confirmed current by a check just now (its own time is older)
    taken = analytics.refresh_snapshot(small_store_url)
    assert analytics.refresh_stale_snapshot(small_store_url, refresh_after=timedelta(0)) is None

    # when a report is run the ordinary way
    overview = analytics.builtin_reports().get("overview")
    report = analytics.run_report(small_store_url, overview, analytics.parse_request())

    # then it reads the snapshot, as of the check, which is later than the snapshot's time
    assert report.data_as_of is not None
    assert report.data_as_of > taken.taken_at
