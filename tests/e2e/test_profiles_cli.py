"""``patron profiles show|search|export|refresh`` as a user runs them."""

import json
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from patron import identity
from patron.identity import MergeMethod
from patron.ingest import Channel
from tests.e2e.test_cli_basics import patron
from tests.integration.profiles.graph_state import import_jsonl, new_customer


def two_customers(sessions: sessionmaker[Session], tmp_path: Path) -> tuple[int, int, int]:
    """Ann on two merged nodes (store and e-shop records) and Bob on his own."""
    import_jsonl(
        sessions,
        tmp_path,
        "customers",
        source="store",
        channel=Channel.POS,
        rows=[
            {"id": "p1", "first_name": "Ann", "last_name": "Lee", "city": "Leeds"},
            {"id": "p2", "first_name": "Bob", "last_name": "Hill"},
        ],
    )
    import_jsonl(
        sessions,
        tmp_path,
        "customers",
        source="shop",
        channel=Channel.ESHOP,
        rows=[{"id": "s1", "first_name": "Ann", "email": "ann@example.com"}],
    )
    with sessions() as session, session.begin():
        ann = new_customer(
            session, records=(("store", "p1"),), identifiers=(("email", "ann@example.com"),)
        )
        ann_shop = new_customer(session, records=(("shop", "s1"),))
        bob = new_customer(session, records=(("store", "p2"),))
        identity.merge_profiles(
            session, ann, ann_shop, method=MergeMethod.MANUAL, reason={"by": "test"}
        )
    return ann, ann_shop, bob


def test_export_writes_one_line_per_customer(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    ann, _, bob = two_customers(sessions, tmp_path)
    out = tmp_path / "customers.jsonl"

    exported = patron(database_url, "profiles", "export", "--format", "jsonl", "--out", str(out))
    to_stdout = patron(database_url, "profiles", "export")

    assert exported.returncode == 0, exported.stderr
    assert "exported 2 customers" in exported.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines == [
        {
            "id": ann,
            "attributes": {
                "first_name": "Ann",
                "last_name": "Lee",
                "email": "ann@example.com",
                "city": "Leeds",
            },
            "records": [{"source": "store", "id": "p1"}, {"source": "shop", "id": "s1"}],
        },
        {
            "id": bob,
            "attributes": {"first_name": "Bob", "last_name": "Hill"},
            "records": [{"source": "store", "id": "p2"}],
        },
    ]
    assert to_stdout.stdout == out.read_text()


def test_show_search_and_refresh(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    ann, ann_shop, _ = two_customers(sessions, tmp_path)

    refreshed = patron(database_url, "profiles", "refresh")
    shown = patron(database_url, "profiles", "show", str(ann_shop), "--json")
    text = patron(database_url, "profiles", "show", str(ann))
    found = patron(database_url, "profiles", "search", "ann lee", "--json")
    by_email = patron(database_url, "profiles", "search", "ANN@example.com")
    missing = patron(database_url, "profiles", "show", "999")

    assert refreshed.returncode == 0, refreshed.stderr
    assert "refreshed the golden records of 2 customers" in refreshed.stdout
    view = json.loads(shown.stdout)
    assert (view["id"], view["requested_id"]) == (ann, ann_shop)
    assert [r["record_id"] for r in view["records"]] == ["p1", "s1"]
    assert "customer" in text.stdout
    assert "ann@example.com" in text.stdout
    assert "shop/s1 by most_trusted_source" in text.stdout
    assert [match["id"] for match in json.loads(found.stdout)] == [ann]
    assert "(email)" in by_email.stdout
    assert missing.returncode == 1
    assert "no profile has id 999" in missing.stderr
