"""Reports over a small hand-made store, on both engines, against answers read from the store
through the ORM and the identity graph."""

from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.integration.analytics.retail import ORDERS, build_store

from patron import analytics, identity
from patron.identity.models import OrderProfile
from patron.ingest.models import Order
from patron.settings import Settings


@pytest.fixture
def store_url(sessions: sessionmaker[Session], settings: Settings, tmp_path: Path) -> str:
    build_store(sessions, settings, tmp_path)
    return settings.database_url


def customer_of_orders(sessions: sessionmaker[Session]) -> dict[str, int | None]:
    """Each order's customer as the identity graph says now (None: nobody identified)."""
    with sessions() as session:
        rows = session.execute(
            select(Order.order_id, OrderProfile.profile_id).outerjoin(
                OrderProfile, OrderProfile.order_pk == Order.id
            )
        ).all()
        return {
            order_id: identity.canonical_id(session, node) if node else None
            for order_id, node in rows
        }


def run(url: str, name: str, **parameters: Any) -> analytics.Report:
    request = analytics.parse_request(**parameters)
    with analytics.open_store(url) as store:
        return analytics.builtin_reports().get(name).run(store, request)


Q1 = {"date_from": "2025-01-01", "date_to": "2025-03-31"}


def test_overview_counts_orders_revenue_and_customers_through_the_identity_graph(
    store_url: str, sessions: sessionmaker[Session]
) -> None:
    customers = customer_of_orders(sessions)

    report = run(store_url, "overview", **Q1)

    summary = report.table("summary").records()[0]
    identified = [o for o in ORDERS if customers[o.order_id] is not None]
    assert summary["orders"] == len(ORDERS)
    assert summary["identified_orders"] == len(identified)
    assert summary["revenue"] == sum(o.total_minor for o in ORDERS)
    assert summary["active_customers"] == len({customers[o.order_id] for o in identified})
    assert summary["active_customers"] == 3  # Ann (three channels), Bob and Cat
    assert summary["average_order_value"] == pytest.approx(summary["revenue"] / len(ORDERS))
    by_channel = {row["channel"]: row for row in report.table("channel").records()}
    expected: dict[str, int] = defaultdict(int)
    for order in ORDERS:
        expected[{"store": "pos", "shop": "eshop", "app": "app"}[order.source]] += order.total_minor
    assert {k: v["revenue"] for k, v in by_channel.items()} == expected
    by_store = {row["store"]: row["orders"] for row in report.table("store").records()}
    assert by_store == {"S1": 2, "S2": 1}
    assert any("never as customers" in note for note in report.notes)


def test_a_filter_and_a_comparison_period_narrow_and_compare(store_url: str) -> None:
    report = run(store_url, "overview", channels=["pos"], compare="previous-year", **Q1)

    rows = report.table("summary").records()
    pos = [o for o in ORDERS if o.source == "store"]
    assert rows[0]["orders"] == len(pos)
    assert rows[1]["period"] == "2024-01-01 to 2024-03-31"
    assert rows[1]["orders"] == 0
    assert report.filters.describe() == {"channel": ["pos"]}


def test_a_merge_changes_the_customer_count_without_rewriting_orders(
    store_url: str, sessions: sessionmaker[Session]
) -> None:
    before = run(store_url, "overview", **Q1).table("summary").records()[0]
    customers = customer_of_orders(sessions)
    bob, cat = customers["r2"], customers["e1"]
    assert bob is not None
    assert cat is not None
    assert bob != cat

    # when Bob and Cat are found to be one person
    with sessions() as session, session.begin():
        identity.merge_profiles(
            session, bob, cat, method=identity.MergeMethod.MANUAL, reason={"rule": "test"}
        )

    after = run(store_url, "overview", **Q1).table("summary").records()[0]
    assert after["active_customers"] == before["active_customers"] - 1
    assert (after["orders"], after["revenue"]) == (before["orders"], before["revenue"])


def test_omnichannel_sets_customers_of_every_channel_beside_single_channel_ones(
    store_url: str, sessions: sessionmaker[Session]
) -> None:
    customers = customer_of_orders(sessions)
    channels: dict[int, set[str]] = defaultdict(set)
    revenue: dict[int, int] = defaultdict(int)
    for order in ORDERS:
        customer = customers[order.order_id]
        if customer is not None:
            channels[customer].add(order.source)
            revenue[customer] += order.total_minor

    report = run(store_url, "omnichannel", **Q1)

    groups = {row["group"]: row for row in report.table("groups").records()}
    everywhere = [c for c, used in channels.items() if len(used) == 3]
    single = [c for c, used in channels.items() if len(used) == 1]
    assert groups["all 3 channels"]["customers"] == len(everywhere) == 1
    assert groups["all 3 channels"]["value_per_customer"] == revenue[everywhere[0]]
    assert groups["1 channel"]["customers"] == len(single)
    assert groups["1 channel"]["value_per_customer"] == pytest.approx(
        sum(revenue[c] for c in single) / len(single)
    )
    assert report.notes[0].startswith("Omnichannel customers (2 or more channels")
    migration = {row["first_channel"]: row for row in report.table("migration").records()}
    # Ann's first order was a store receipt; she later bought in the e-shop and the app.
    assert migration["pos"]["later_eshop"] == pytest.approx(1 / migration["pos"]["customers"])


def test_cohorts_count_each_customer_once_in_their_first_month(
    store_url: str, sessions: sessionmaker[Session]
) -> None:
    customers = customer_of_orders(sessions)
    first_month: dict[int, str] = {}
    for order in sorted(ORDERS, key=lambda o: o.ordered_at):
        customer = customers[order.order_id]
        if customer is not None:
            first_month.setdefault(customer, order.ordered_at.strftime("%Y-%m"))

    report = run(store_url, "cohorts", period="all")

    sizes = {row["cohort"]: row["customers"] for row in report.table("triangle").records()}
    expected: dict[str, int] = defaultdict(int)
    for month in first_month.values():
        expected[month] += 1
    assert sizes == expected


def test_rfm_puts_every_customer_in_exactly_one_segment(
    store_url: str, sessions: sessionmaker[Session]
) -> None:
    customers = {c for c in customer_of_orders(sessions).values() if c is not None}

    report = run(store_url, "rfm", **Q1)

    segments = report.table("segments").records()
    assert len({row["segment"] for row in segments}) == len(segments) == 11
    assert sum(row["customers"] for row in segments) == len(customers)
    assert sum(row["revenue"] for row in segments) == sum(
        o.total_minor for o in ORDERS if o.customer is not None
    )


def test_basket_analysis_finds_products_bought_together(store_url: str) -> None:
    report = run(store_url, "affinity", **Q1)

    pairs = report.table("product_baskets").records()
    together = [o for o in ORDERS if {"TEA", "CUP"} <= set(o.skus)]
    with_tea = [o for o in ORDERS if "TEA" in o.skus]
    with_lines = len(ORDERS)
    assert len(pairs) == 1
    pair = pairs[0]
    assert {pair["a"], pair["b"]} == {"Tea item", "Cup item"}
    assert pair["together"] == len(together)
    assert pair["support"] == pytest.approx(len(together) / with_lines)
    cup_given_tea = pair["confidence_b_a"] if pair["a"] == "Cup item" else pair["confidence_a_b"]
    assert cup_given_tea == pytest.approx(len(together) / len(with_tea))
    assert pair["lift"] == pytest.approx(
        (len(together) / len(with_tea)) / (len(together) / with_lines)
    )


def test_abandoned_carts_by_channel_with_the_value_left(store_url: str) -> None:
    report = run(store_url, "abandoned-carts", **Q1)

    rows = {row["channel"]: row for row in report.table("by_channel").records()}
    assert rows["eshop"]["abandoned"] == 2
    assert rows["eshop"]["abandonment_rate"] == pytest.approx(2 / 3)
    assert rows["eshop"]["value_left"] == 1200 + 800
    assert rows["app"]["value_left"] == 500
    assert rows["all"]["abandoned"] == 3


def test_a_period_is_days_in_the_retailers_time_zone(store_url: str) -> None:
    # The first order was placed at 10:00 UTC on 10 January: the 10th in London, already
    # the 11th in Kiritimati (UTC+14).
    first = min(o.ordered_at for o in ORDERS)
    day = first.date().isoformat()
    london = run(store_url, "overview", date_from=day, date_to=day, timezone="Europe/London")
    kiritimati = run(
        store_url, "overview", date_from=day, date_to=day, timezone="Pacific/Kiritimati"
    )

    assert london.table("summary").records()[0]["orders"] == 1
    assert kiritimati.table("summary").records()[0]["orders"] == 0
    assert first.date() == date(2025, 1, 10)


@pytest.mark.parametrize("report_format", list(analytics.ReportFormat))
def test_every_report_renders_in_every_format(
    store_url: str, report_format: analytics.ReportFormat
) -> None:
    for definition in analytics.builtin_reports():
        report = run(store_url, definition.name, **Q1)

        content = analytics.render_report(report, report_format)

        if report_format is analytics.ReportFormat.PNG:
            assert content.startswith(b"\x89PNG")
        elif report_format is analytics.ReportFormat.HTML:
            assert content.count(b"<svg") == len(report.charts)
            assert b"<script" not in content
            assert b"<link" not in content
        elif report_format is analytics.ReportFormat.JSON:
            assert orjson.loads(content)["name"] == definition.name
        elif report_format is analytics.ReportFormat.CSV:
            assert content.decode().count("\n# ") == len(report.tables) - 1
        else:
            assert report.tables[0].title.encode() in content


def test_a_snapshot_answers_like_the_live_store_and_says_when_it_was_taken(
    store_url: str, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A PostgreSQL store's snapshot goes under var/ of the working directory.
    monkeypatch.chdir(tmp_path)
    request = analytics.parse_request(**Q1)
    live = run(store_url, "omnichannel", **Q1)

    taken = analytics.refresh_snapshot(store_url)

    assert taken.rows["orders_v"] == len(ORDERS)
    with analytics.open_store(store_url) as store:
        from_snapshot = analytics.builtin_reports().get("omnichannel").run(store, request)
    assert from_snapshot.tables == live.tables
    assert from_snapshot.data_as_of == taken.taken_at
    assert live.data_as_of is None
    # a merge after the snapshot shows in the live store, not in the snapshot
    customers = customer_of_orders(sessions)
    bob, cat = customers["r2"], customers["e1"]
    assert bob is not None
    assert cat is not None
    with sessions() as session, session.begin():
        identity.merge_profiles(
            session, bob, cat, method=identity.MergeMethod.MANUAL, reason={"rule": "test"}
        )
    with analytics.open_store(store_url, snapshot=True) as store:
        stale = analytics.builtin_reports().get("overview").run(store, request)
    with analytics.open_store(store_url, snapshot_max_age=timedelta(0)) as store:
        fresh = analytics.builtin_reports().get("overview").run(store, request)
    assert fresh.data_as_of is None
    stale_count = stale.table("summary").records()[0]["active_customers"]
    assert fresh.table("summary").records()[0]["active_customers"] == stale_count - 1


def test_a_snapshot_asked_for_but_never_taken_is_a_clear_error(
    store_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)

    with pytest.raises(analytics.AnalyticsStoreError, match="patron analytics refresh"):
        analytics.open_store(store_url, snapshot=True)
