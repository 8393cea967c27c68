"""Readers of the tables wait a settle time, so a late commit of a lower id is never skipped."""

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from patron import identity, ingest
from patron.identity.models import OrderProfile
from patron.ingest.models import Order


def import_receipts(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    path = tmp_path / "receipts.jsonl"
    lines = [
        {
            "id": f"r{n}",
            "loyalty_card": f"CARD{n:04d}",
            "ordered_at": "2026-03-01T10:00:00Z",
            "channel": "pos",
            "currency": "GBP",
            "total": "9.99",
        }
        for n in range(12)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    summary = ingest.import_file(
        sessions, "orders", path, source="store-pos", channel=ingest.Channel.POS, chunk_size=5
    )
    assert summary.inserted == 12


def resolved_orders(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(OrderProfile)) or 0)


def test_orders_just_imported_wait_for_the_settle_time(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    import_receipts(sessions, tmp_path)

    with sessions.begin() as session:
        unsettled = identity.resolve_orders(session, default_region="GB")
    with sessions.begin() as session:
        settled = identity.resolve_orders(session, default_region="GB", settle=timedelta(0))

    assert unsettled.orders == 0
    assert settled.orders == 12
    assert resolved_orders(sessions) == 12


def test_each_chunk_of_an_import_is_stamped_when_it_is_written(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    import_receipts(sessions, tmp_path)

    with sessions() as session:
        stamps = session.scalars(select(Order.created_at).order_by(Order.id)).all()

    # three chunks of five, five and two rows: the stamps never go back in id order
    assert len(stamps) == 12
    assert stamps == sorted(stamps)
    assert len(set(stamps)) >= 2
