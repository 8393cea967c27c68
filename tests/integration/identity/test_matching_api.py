"""The review queue API: list, show, accept and reject pairs over HTTP."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.integration.identity.test_matching import (
    import_customer_records,
    world,  # noqa: F401 - the fixture
)

from patron.identity import ResolveOptions, resolve_records
from patron.identity.models import MatchPair, Merge
from patron.settings import Settings
from patron.web import create_app


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def test_review_pairs_are_listed_and_decided_over_http(
    client: TestClient,
    sessions: sessionmaker[Session],
    world: Path,  # noqa: F811
) -> None:
    # given a queue of pairs waiting for review
    import_customer_records(sessions, world)
    with sessions() as session, session.begin():
        resolve_records(session, ResolveOptions(auto_merge_threshold=1.0, review_threshold=0.5))

    # when listing the queue
    listed = client.get("/api/identity/review", params={"limit": 2})

    # then the most likely pairs come first, with both records and each field's level
    assert listed.status_code == 200
    body = listed.json()
    assert body["total"] >= 2
    first, second = body["pairs"]
    assert first["status"] == "review"
    assert first["probability"] >= second["probability"]
    assert first["record_a"]["source"]
    assert "level" in first["contributions"]["last_name"]
    assert client.get(f"/api/identity/review/{first['id']}").json()["id"] == first["id"]

    # when one is accepted and the other rejected
    accepted = client.post(
        f"/api/identity/review/{first['id']}/accept", json={"decided_by": "ana@example.com"}
    )
    rejected = client.post(f"/api/identity/review/{second['id']}/reject")

    # then the first is merged by hand and the second remembered as two people
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["merge_status"] == "merged"
    assert rejected.json() == {
        "pair_id": second["id"],
        "status": "rejected",
        "merge_id": None,
        "merge_status": None,
    }
    shown = client.get(f"/api/identity/review/{first['id']}").json()
    assert shown["decided_by"] == "ana@example.com"
    assert client.get("/api/identity/review", params={"status": "rejected"}).json()["total"] == 1
    # and deciding again is a conflict, an unknown pair a 404, a bad status a 400
    again = client.post(f"/api/identity/review/{second['id']}/accept")
    assert again.status_code == 409
    assert again.json()["error"] == "already_decided"
    assert client.post("/api/identity/review/999999/reject").status_code == 404
    assert client.get("/api/identity/review", params={"status": "maybe"}).status_code == 400


def test_a_customer_shows_why_the_model_merged_it_field_by_field(
    client: TestClient,
    sessions: sessionmaker[Session],
    world: Path,  # noqa: F811
) -> None:
    # given records that the model merged on its own
    import_customer_records(sessions, world)
    with sessions() as session, session.begin():
        summary = resolve_records(session)
    assert summary.merged > 0
    with sessions() as session:
        merged = session.execute(
            select(MatchPair.merge_id, MatchPair.contributions, Merge.winner_id)
            .join(Merge, Merge.id == MatchPair.merge_id)
            .where(MatchPair.status == "merged")
            .order_by(MatchPair.id)
            .limit(1)
        ).one()

    # when the customer is shown
    shown = client.get(f"/api/profiles/{merged.winner_id}")

    # then its merge gives the probability and each field's level and weight, as scored
    assert shown.status_code == 200
    merge = next(m for m in shown.json()["merges"] if m["id"] == merged.merge_id)
    assert merge["method"] == "probabilistic"
    assert merge["reason"]["probability"] >= summary.auto_merge_threshold
    assert merge["reason"]["contributions"] == merged.contributions
    assert "level" in merge["reason"]["contributions"]["last_name"]
