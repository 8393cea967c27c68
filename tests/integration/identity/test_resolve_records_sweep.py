"""Customer records are resolved in sweeps over the table: each batch goes on from where the
last one stopped, and a record changed behind the sweep is found by the next one."""

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.integration.profiles.graph_state import import_jsonl

from patron import identity
from patron.identity.models import Identifier
from patron.ingest import Channel


def resolve_records(sessions: sessionmaker[Session], limit: int) -> int:
    with sessions.begin() as session:
        return identity.resolve_customer_records(session, default_region="GB", limit=limit).records


def test_a_record_changed_behind_the_sweep_is_resolved_by_the_next_sweep(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # given three store records, the first two resolved by a full batch
    rows = [
        {"id": "p1", "first_name": "Ann", "email": "ann@gmail.com"},
        {"id": "p2", "first_name": "Bob", "email": "bob@gmail.com"},
        {"id": "p3", "first_name": "Cat", "email": "cat@gmail.com"},
    ]
    import_jsonl(sessions, tmp_path, "customers", source="store", channel=Channel.POS, rows=rows)
    assert resolve_records(sessions, limit=2) == 2

    # when the first record changes behind the sweep, and the sweeps go on
    rows[0] = {**rows[0], "email": "ann.new@gmail.com"}
    import_jsonl(sessions, tmp_path, "customers", source="store", channel=Channel.POS, rows=rows)
    batches = [resolve_records(sessions, limit=2) for _ in range(4)]

    # then the sweep first finishes (the third record), then the next one finds the change,
    # then nothing is left
    assert batches == [1, 1, 0, 0]
    with sessions() as session:
        emails = set(session.scalars(select(Identifier.value).where(Identifier.type == "email")))
    assert "ann.new@gmail.com" in emails


def test_every_record_is_resolved_once_in_full_batches(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    rows = [{"id": f"p{n}", "first_name": "Ann", "email": f"a{n}@gmail.com"} for n in range(7)]
    import_jsonl(sessions, tmp_path, "customers", source="store", channel=Channel.POS, rows=rows)

    batches = [resolve_records(sessions, limit=3) for _ in range(5)]

    assert batches == [3, 3, 1, 0, 0]
