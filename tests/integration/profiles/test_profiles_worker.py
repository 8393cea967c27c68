"""Imported records resolved by the worker come out as customers with golden records."""

from datetime import timedelta
from pathlib import Path

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.integration.profiles.graph_state import import_jsonl

from patron import profiles
from patron.ingest import Channel
from patron.profiles.models import GoldenRecord
from patron.settings import Settings
from patron.worker import run_once


def test_the_worker_keeps_golden_records_of_the_customers_it_resolves(
    sessions: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    # given a store member and an e-shop account with the same email, and someone else
    import_jsonl(
        sessions,
        tmp_path,
        "customers",
        source="store",
        channel=Channel.POS,
        rows=[
            {"id": "m1", "first_name": "Ann", "email": "Ann.Lee@Gmail.com", "city": "Leeds"},
            {"id": "m2", "first_name": "Bob", "email": "bob.hill@gmail.com"},
        ],
    )
    import_jsonl(
        sessions,
        tmp_path,
        "customers",
        source="shop",
        channel=Channel.ESHOP,
        rows=[{"id": "s1", "first_name": "Anne", "email": "ann.lee@gmail.com", "city": "York"}],
    )

    # when the worker resolves them
    run_once(sessions, settings, settle=timedelta(0))

    # then the export shows two customers and their golden records are stored
    lines: list[bytes] = []
    with sessions() as session:
        profiles.export_customers(session, lines.append)
        stored = {g.email: g for g in session.scalars(select(GoldenRecord))}
    exported = sorted(
        sorted((r["source"], r["id"]) for r in customer["records"])
        for customer in map(orjson.loads, lines)
    )
    assert exported == [[("shop", "s1"), ("store", "m1")], [("store", "m2")]]
    assert sorted(stored) == ["ann.lee@gmail.com", "bob.hill@gmail.com"]
    ann = stored["ann.lee@gmail.com"]
    assert ann.attributes["email"]["source"] == "shop"
    assert ann.attributes["city"]["value"] == "Leeds"
