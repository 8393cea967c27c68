"""The JSONL export: one line per customer, its golden attributes and its source records."""

from pathlib import Path

import orjson
from sqlalchemy.orm import Session, sessionmaker
from tests.integration.profiles.graph_state import import_jsonl, new_customer

from patron import identity, profiles
from patron.identity import MergeMethod
from patron.ingest import Channel


def test_every_customer_is_one_line_with_its_records(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # given three records of two people and a customer known only from events
    import_jsonl(
        sessions,
        tmp_path,
        "customers",
        source="store",
        channel=Channel.POS,
        rows=[
            {"id": "p1", "first_name": "Ann", "birth_date": "1990-01-02", "tier": "gold"},
            {"id": "p2", "first_name": "Bob"},
        ],
    )
    import_jsonl(
        sessions,
        tmp_path,
        "customers",
        source="shop",
        channel=Channel.ESHOP,
        rows=[{"id": "s1", "first_name": "Anne", "email": "ann@example.com"}],
    )
    with sessions() as session, session.begin():
        ann = new_customer(session, records=(("store", "p1"),))
        ann_shop = new_customer(session, records=(("shop", "s1"),))
        bob = new_customer(session, records=(("store", "p2"),))
        visitor = new_customer(session)
        identity.merge_profiles(session, ann, ann_shop, method=MergeMethod.MANUAL, reason={})

    # when every customer is exported
    lines: list[bytes] = []
    with sessions() as session:
        written = profiles.export_customers(session, lines.append)

    # then each line has exactly the benchmark's shape
    assert written == 3
    assert all(line.endswith(b"\n") for line in lines)
    assert [orjson.loads(line) for line in lines] == [
        {
            "id": ann,
            "attributes": {
                "first_name": "Anne",
                "email": "ann@example.com",
                "birth_date": "1990-01-02",
                "tier": "gold",
            },
            "records": [{"source": "store", "id": "p1"}, {"source": "shop", "id": "s1"}],
        },
        {
            "id": bob,
            "attributes": {"first_name": "Bob"},
            "records": [{"source": "store", "id": "p2"}],
        },
        {"id": visitor, "attributes": {}, "records": []},
    ]


def test_an_empty_store_exports_nothing(sessions: sessionmaker[Session]) -> None:
    lines: list[bytes] = []
    with sessions() as session:
        assert profiles.export_customers(session, lines.append) == 0
    assert lines == []
