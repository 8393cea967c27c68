"""Failed events: replay through the package and through ``patron events``."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from patron.cli import app as cli
from patron.ingest import (
    Channel,
    FailedMessage,
    create_source,
    list_failed_events,
    record_failed_events,
    replay_failed_events,
)
from patron.ingest.models import Event, FailedEvent

RECEIVED = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SECRET = "test-secret-key-for-the-suite"


def _fail(
    sessions: sessionmaker[Session], payload: Any, reason: str, source: str = "app"
) -> tuple[int, list[int]]:
    """A source with one failed message per payload given; returns its id and theirs."""
    payloads = payload if isinstance(payload, list) else [payload]
    with sessions.begin() as session:
        source_id = create_source(session, source, Channel.APP).source.id
        record_failed_events(
            session,
            [
                FailedMessage(
                    source_id=source_id,
                    reason=reason,
                    payload=p,
                    received_at=RECEIVED,
                    message_id=p.get("messageId") if isinstance(p, dict) else None,
                )
                for p in payloads
            ],
        )
        ids = [f.id for f in list_failed_events(session, source_id=source_id)]
    return source_id, sorted(ids)


def test_a_corrected_payload_is_replayed_into_the_event_log(
    sessions: sessionmaker[Session],
) -> None:
    # given a failed Order Completed whose revenue was text
    bad = {
        "type": "track",
        "event": "Order Completed",
        "userId": "u",
        "messageId": "m-1",
        "timestamp": "2025-03-01T11:00:00Z",
        "sentAt": "2025-03-01T11:00:30Z",
        "properties": {"revenue": "12,50"},
    }
    _, (failed_id,) = _fail(sessions, bad, "properties.revenue must be a number")

    # when it is replayed with the revenue fixed
    fixed = {**bad, "properties": {"revenue": 12.5}}
    with sessions.begin() as session:
        (outcome,) = replay_failed_events(session, [failed_id], corrected_payload=fixed)

    # then the event is stored as if it had arrived when it first did, and the row is resolved
    assert outcome.status == "replayed"
    with sessions() as session:
        stored = session.scalars(select(Event)).one()
        failed = session.get(FailedEvent, failed_id)
    assert outcome.event_id == stored.id
    assert stored.received_at == RECEIVED
    assert stored.timestamp == datetime(2025, 3, 1, 11, 59, 30, tzinfo=UTC)
    assert stored.payload["properties"] == {"revenue": 12.5}
    assert failed is not None
    assert (failed.status, failed.event_id) == ("replayed", stored.id)
    assert failed.resolved_at is not None
    assert failed.payload == bad


def test_a_still_invalid_replay_keeps_the_row_with_the_new_reason(
    sessions: sessionmaker[Session],
) -> None:
    _, (failed_id,) = _fail(sessions, {"type": "track", "userId": "u"}, "old reason")

    with sessions.begin() as session:
        (outcome,) = replay_failed_events(session, [failed_id])

    assert (outcome.status, outcome.reason) == (
        "failed",
        "a track call needs an event name (event)",
    )
    with sessions() as session:
        failed = session.get(FailedEvent, failed_id)
        assert session.scalars(select(Event)).all() == []
    assert failed is not None
    assert (failed.status, failed.reason) == ("failed", "a track call needs an event name (event)")


def test_a_message_without_id_replayed_twice_is_stored_once(
    sessions: sessionmaker[Session],
) -> None:
    # given a failed message without a messageId, replayed with a fix
    _, (failed_id,) = _fail(sessions, {"type": "track", "userId": "u"}, "no event")
    fixed = {"type": "track", "userId": "u", "event": "Fixed"}
    with sessions.begin() as session:
        (first,) = replay_failed_events(session, [failed_id], corrected_payload=fixed)

    # when it is replayed again
    with sessions.begin() as session:
        (again,) = replay_failed_events(session, [failed_id], corrected_payload=fixed)

    # then the second replay changes nothing
    assert first.status == "replayed"
    assert (again.status, again.event_id) == ("already_resolved", first.event_id)
    with sessions() as session:
        assert len(session.scalars(select(Event)).all()) == 1


def test_replay_all_takes_every_failed_row_of_a_source(sessions: sessionmaker[Session]) -> None:
    source_id, ids = _fail(
        sessions,
        [
            {"type": "track", "userId": "u", "event": "Now Valid", "messageId": "a"},
            {"type": "track", "userId": "u", "messageId": "b"},
        ],
        "was invalid",
    )

    with sessions.begin() as session:
        outcomes = replay_failed_events(session, source_id=source_id)

    assert [(o.failed_event_id, o.status) for o in outcomes] == [
        (ids[0], "replayed"),
        (ids[1], "failed"),
    ]


def test_a_corrected_payload_needs_exactly_one_id(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session, pytest.raises(ValueError, match="exactly one"):
        replay_failed_events(session, [1, 2], corrected_payload={"type": "track"})


def test_unknown_ids_are_reported(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        (outcome,) = replay_failed_events(session, [12345])

    assert (outcome.failed_event_id, outcome.status) == (12345, "not_found")


def _env(database_url: str) -> dict[str, str]:
    return {
        "PATRON_DATABASE_URL": database_url,
        "PATRON_ENVIRONMENT": "test",
        "PATRON_SECRET_KEY": SECRET,
    }


def test_the_cli_lists_and_replays_failed_events(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # given a failed message of the source "app"
    bad = {"type": "track", "userId": "u", "messageId": "m-9"}
    _, (failed_id,) = _fail(sessions, bad, "a track call needs an event name (event)")
    runner = CliRunner()

    # when it is listed, replayed as is, then replayed with a corrected file
    listed = runner.invoke(cli, ["events", "failed", "--json"], env=_env(database_url))
    as_is = runner.invoke(cli, ["events", "replay", str(failed_id)], env=_env(database_url))
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps({**bad, "event": "Signed Up"}))
    replayed = runner.invoke(
        cli,
        ["events", "replay", str(failed_id), "--payload", str(fixed), "--json"],
        env=_env(database_url),
    )
    after = runner.invoke(cli, ["events", "failed", "--source", "app"], env=_env(database_url))

    # then each says what happened
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.output)
    assert (row["id"], row["message_id"], row["reason"], row["payload"]) == (
        failed_id,
        "m-9",
        "a track call needs an event name (event)",
        bad,
    )
    assert as_is.exit_code == 1
    assert "a track call needs an event name (event)" in as_is.output
    assert "0 of 1 replayed" in as_is.output
    assert replayed.exit_code == 0, replayed.output
    with sessions() as session:
        event_id = session.scalars(select(Event.id)).one()
    assert json.loads(replayed.output) == [
        {"id": failed_id, "status": "replayed", "reason": None, "event_id": event_id}
    ]
    assert after.output.strip() == "no failed events"


def test_the_cli_replay_needs_ids_or_all(database_url: str) -> None:
    result = CliRunner().invoke(cli, ["events", "replay"], env=_env(database_url))

    assert result.exit_code == 2
    assert "give failed-event ids or --all" in result.output
