"""``patron worker --drain``: process what has arrived, say what was done, and exit."""

import json
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from patron.ingest import Channel
from tests.e2e.test_cli_basics import patron
from tests.integration.profiles.graph_state import import_jsonl


def test_drain_resolves_what_was_imported_and_exits(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # given Ann in the store and the e-shop (one email, written two ways) and Bob in the store
    import_jsonl(
        sessions,
        tmp_path,
        "customers",
        source="store",
        channel=Channel.POS,
        rows=[
            {"id": "p1", "first_name": "Ann", "email": "ann@gmail.com"},
            {"id": "p2", "first_name": "Bob", "email": "bob@gmail.com"},
        ],
    )
    import_jsonl(
        sessions,
        tmp_path,
        "customers",
        source="shop",
        channel=Channel.ESHOP,
        rows=[{"id": "s1", "first_name": "Ann", "email": " ANN@gmail.com"}],
    )
    before = json.loads(patron(database_url, "stats", "--json").stdout)

    # when the worker drains
    drained = patron(database_url, "worker", "--drain")

    # then it exits, having resolved the three records into two customers
    assert drained.returncode == 0, drained.stderr
    assert "drained: 3 records" in drained.stdout
    after = json.loads(patron(database_url, "stats", "--json").stdout)
    assert before["customers"] == 0
    assert after["customers"] == 2


def test_drain_of_an_empty_store_does_nothing(database_url: str) -> None:
    drained = patron(database_url, "worker", "--drain")

    assert drained.returncode == 0, drained.stderr
    assert "drained: 0 records, 0 orders and 0 events" in drained.stdout
