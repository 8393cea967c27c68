"""The customer 360 API over HTTP: show, timeline pages, search, undo, and a query budget."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker
from tests.integration.profiles.graph_state import import_jsonl, new_customer

from patron import identity
from patron.identity import MergeMethod
from patron.ingest import Channel
from patron.settings import Settings
from patron.web import create_app

# Queries of GET /api/profiles/{id}: the node's root, its nodes, identifiers, records, the
# rules in force, merges, events, orders, order lines.
PROFILE_QUERY_BUDGET = 9


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def build_customer(
    sessions: sessionmaker[Session], tmp_path: Path, size: int, prefix: str
) -> tuple[int, int, int]:
    """A customer of two merged nodes with ``size`` records, events and orders on each."""
    import_jsonl(
        sessions,
        tmp_path,
        "customers",
        source=f"{prefix}-shop",
        channel=Channel.ESHOP,
        rows=[
            {
                "id": f"c{n}",
                "first_name": "Ann",
                "last_name": "Lee",
                "email": f"{prefix}{n}@example.com",
            }
            for n in range(2 * size)
        ],
    )
    import_jsonl(
        sessions,
        tmp_path,
        "events",
        source=f"{prefix}-web",
        channel=Channel.WEB,
        rows=[
            {
                "type": "track",
                "event": "Product Viewed",
                "userId": "u1",
                "messageId": f"{prefix}-e{n}",
                "timestamp": f"2026-01-01T10:{n % 60:02d}:00Z",
            }
            for n in range(2 * size)
        ],
    )
    import_jsonl(
        sessions,
        tmp_path,
        "orders",
        source=f"{prefix}-shop",
        channel=Channel.ESHOP,
        rows=[
            {
                "id": f"{prefix}-o{n}",
                "customer_id": f"c{n}",
                "ordered_at": f"2026-01-02T10:{n % 60:02d}:00Z",
                "currency": "EUR",
                "total": "5.00",
                "lines": [{"sku": "A", "quantity": 1, "unit_price": "5.00"}],
            }
            for n in range(2 * size)
        ],
    )

    def share(half: int) -> dict[str, Any]:
        numbers = range(half * size, (half + 1) * size)
        return {
            "records": tuple((f"{prefix}-shop", f"c{n}") for n in numbers),
            "events": tuple(f"{prefix}-e{n}" for n in numbers),
            "orders": tuple(f"{prefix}-o{n}" for n in numbers),
            "identifiers": tuple(("email", f"{prefix}{n}@example.com") for n in numbers),
        }

    with sessions() as session, session.begin():
        first = new_customer(session, **share(0))
        second = new_customer(session, **share(1))
        merged = identity.merge_profiles(
            session, first, second, method=MergeMethod.MANUAL, reason={"by": "test"}
        )
    assert merged.merge_id is not None
    return first, second, merged.merge_id


def queries_of(client: TestClient, path: str) -> tuple[int, list[str]]:
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.text
    return len(seen), seen


def test_the_profile_endpoint_makes_the_same_few_queries_for_any_history(
    client: TestClient, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # given a customer with 1 record, event and order per node, and one with 40 of each
    small, _, _ = build_customer(sessions, tmp_path, 1, "small")
    large, _, _ = build_customer(sessions, tmp_path, 40, "large")

    # when each profile page is read
    small_count, _ = queries_of(client, f"/api/profiles/{small}")
    large_count, large_queries = queries_of(client, f"/api/profiles/{large}")

    # then both take the same number of queries, within the budget
    assert small_count == large_count, large_queries
    assert large_count <= PROFILE_QUERY_BUDGET, large_queries


def test_the_profile_shows_everything_and_pages_the_timeline(
    client: TestClient, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    first, second, merge_id = build_customer(sessions, tmp_path, 3, "ann")

    shown = client.get(f"/api/profiles/{second}", params={"limit": 4}).json()

    assert (shown["id"], shown["requested_id"], shown["nodes"]) == (first, second, [first, second])
    assert {a["name"]: a["value"] for a in shown["golden"]}["first_name"] == "Ann"
    email = next(a for a in shown["golden"] if a["name"] == "email")
    assert (email["source"], email["rule"]) == ("ann-shop", "most_trusted_source")
    assert len(shown["records"]) == 6
    assert len(shown["identifiers"]) == 6
    assert shown["merges"][0]["id"] == merge_id
    assert shown["merges"][0]["reason"] == {"by": "test"}
    entries = shown["timeline"]["entries"]
    assert [e["kind"] for e in entries] == ["order"] * 4
    assert entries[0]["lines"] == [
        {"sku": "A", "quantity": 1, "unit_price_minor": 500, "total_minor": 500}
    ]
    cursor = shown["timeline"]["next_cursor"]
    rest = []
    while cursor:
        page = client.get(
            f"/api/profiles/{first}/timeline", params={"cursor": cursor, "limit": 4}
        ).json()
        rest.extend(page["entries"])
        cursor = page["next_cursor"]
    assert [e["kind"] for e in rest] == ["order"] * 2 + ["event"] * 6
    assert len({(e["kind"], e["id"]) for e in entries + rest}) == 12


def test_search_and_undo_over_http(
    client: TestClient, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    first, second, merge_id = build_customer(sessions, tmp_path, 1, "ann")

    found = client.get("/api/profiles", params={"q": "ANN1@Example.com"})
    undone = client.post(f"/api/merges/{merge_id}/undo", json={"reason": "two people"})
    again = client.post(f"/api/merges/{merge_id}/undo", json={})
    after = client.get(f"/api/profiles/{second}").json()

    assert found.status_code == 200
    assert [(p["id"], p["matched_on"]) for p in found.json()["profiles"]] == [(first, ["email"])]
    assert undone.status_code == 200
    assert undone.json() == {"merge_id": merge_id, "customer_ids": [first, second]}
    assert again.status_code == 409
    assert after["id"] == second
    assert after["merges"][0]["undone_reason"] == "two people"


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        pytest.param("/api/profiles/999", 404, "not_found", id="unknown profile"),
        pytest.param("/api/profiles/999/timeline", 404, "not_found", id="unknown timeline"),
        pytest.param("/api/profiles?q=%20", 400, "invalid_request", id="empty search"),
    ],
)
def test_bad_requests_get_a_clear_error(
    client: TestClient, path: str, status: int, code: str
) -> None:
    response = client.get(path)

    assert response.status_code == status
    assert response.json()["error"] == code


def test_a_bad_cursor_and_an_unknown_merge_are_refused(
    client: TestClient, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    first, _, _ = build_customer(sessions, tmp_path, 1, "ann")

    cursor = client.get(f"/api/profiles/{first}/timeline", params={"cursor": "x"})
    unknown = client.post("/api/merges/999/undo")

    assert (cursor.status_code, cursor.json()["error"]) == (400, "invalid_cursor")
    assert unknown.status_code == 404


def test_explain_shows_the_merge_and_the_block_after_an_undo(
    client: TestClient, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    first, second, merge_id = build_customer(sessions, tmp_path, 1, "ann")
    client.post(f"/api/merges/{merge_id}/undo", json={"reason": "two people"})

    explained = client.get(f"/api/profiles/{first}/explain")
    missing = client.get("/api/profiles/999/explain")

    assert explained.status_code == 200
    body = explained.json()
    assert body["customer_id"] == first
    assert [(m["id"], m["undone_reason"]) for m in body["merges"]] == [(merge_id, "two people")]
    assert [(b["profile_a_id"], b["profile_b_id"]) for b in body["blocks"]] == [(first, second)]
    assert missing.status_code == 404
