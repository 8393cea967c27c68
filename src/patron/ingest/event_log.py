"""The event log: append-only, idempotent on ``(source_id, message_id)``.

Rows go in with ``INSERT ... ON CONFLICT DO NOTHING``: an SDK that retries a batch it already
delivered adds nothing, and no row is ever updated. The statement is written per dialect
(``executemany`` on SQLite, ``unnest`` of one array per column on PostgreSQL) and the values are
bound as the driver wants them, because building the insert through SQLAlchemy's type layer
costs more per row than the insert itself on the hot path (the payload is already serialised by
``normalise_message``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

from patron.ingest.models import Event, FailedEvent

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from patron.ingest.messages import EventRow

_COLUMNS = (
    "source_id, message_id, type, name, user_id, anonymous_id, previous_id, group_id, "
    "timestamp, sent_at, received_at, payload"
)
_SQLITE_INSERT = (
    f"INSERT INTO events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "  # noqa: S608 - constant text
    "ON CONFLICT (source_id, message_id) DO NOTHING"
)
# PostgreSQL: one statement per group whatever its size, the columns sent as arrays in binary
# (``%b``): the text form of an array would escape every quote of every JSON payload.
_POSTGRES_INSERT = (
    f"INSERT INTO events ({_COLUMNS}) "  # noqa: S608 - constant text
    "SELECT s, m, ty, n, u, a, pr, g, ts, sa, ra, p::jsonb FROM unnest("
    "%b::integer[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], "
    "%b::text[], %b::timestamptz[], %b::timestamptz[], %b::timestamptz[], %b::text[]"
    ") AS t(s, m, ty, n, u, a, pr, g, ts, sa, ra, p) "
    "ON CONFLICT (source_id, message_id) DO NOTHING"
)


@dataclass(frozen=True, slots=True)
class FailedMessage:
    """A message that parsed but failed validation, to keep in ``failed_events``."""

    source_id: int
    reason: str
    payload: Any
    received_at: datetime
    message_id: str | None = None


def _connection(connection_or_session: Connection | Session) -> Connection:
    if isinstance(connection_or_session, Session):
        return connection_or_session.connection()
    return connection_or_session


def _sqlite_time(moment: datetime | None) -> str | None:
    # The text form SQLAlchemy's SQLite DateTime writes (naive UTC, microseconds), so that
    # rows written here and through the ORM compare and sort alike.
    if moment is None:
        return None
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(" ", "microseconds")[:26]


# A request's receivedAt and a batch's sentAt are shared by all their rows.
_shared_sqlite_time = lru_cache(maxsize=256)(_sqlite_time)


def _payload_text(row: EventRow) -> str:
    return (row.payload_json or orjson.dumps(row.payload)).decode()


def append_events(connection_or_session: Connection | Session, rows: Sequence[EventRow]) -> int:
    """Insert ``rows`` into the event log in the caller's transaction.

    Returns how many were newly stored: a row whose ``(source_id, message_id)`` is already
    in the log is skipped. The caller commits.
    """
    if not rows:
        return 0
    connection = _connection(connection_or_session)
    if connection.dialect.name == "sqlite":
        return _append_sqlite(connection, rows)
    return _append_postgres(connection, rows)


def _append_sqlite(connection: Connection, rows: Sequence[EventRow]) -> int:
    # executemany: one prepared statement stepped per row. (A multi-row VALUES was measured
    # too: more CPU per event, no more throughput.)
    params = [
        (
            row.source_id,
            row.message_id,
            row.type,
            row.name,
            row.user_id,
            row.anonymous_id,
            row.previous_id,
            row.group_id,
            _sqlite_time(row.timestamp),
            _shared_sqlite_time(row.sent_at),
            _shared_sqlite_time(row.received_at),
            _payload_text(row),
        )
        for row in rows
    ]
    result = connection.exec_driver_sql(_SQLITE_INSERT, params)
    return max(result.rowcount, 0)


def _append_postgres(connection: Connection, rows: Sequence[EventRow]) -> int:
    columns = (
        [row.source_id for row in rows],
        [row.message_id for row in rows],
        [row.type for row in rows],
        [row.name for row in rows],
        [row.user_id for row in rows],
        [row.anonymous_id for row in rows],
        [row.previous_id for row in rows],
        [row.group_id for row in rows],
        [row.timestamp for row in rows],
        [row.sent_at for row in rows],
        [row.received_at for row in rows],
        [_payload_text(row) for row in rows],
    )
    result = connection.exec_driver_sql(_POSTGRES_INSERT, columns)
    return max(result.rowcount, 0)


def _storable(payload: Any) -> Any:
    # PostgreSQL refuses U+0000 in jsonb, and a message may have failed for carrying one:
    # keep it with the character replaced (U+FFFD) rather than lose it.
    text = orjson.dumps(payload)
    if b"\\u0000" not in text:
        return payload
    return orjson.loads(text.replace(b"\\u0000", b"\\ufffd"))


def record_failed_events(
    connection_or_session: Connection | Session, failures: Iterable[FailedMessage]
) -> int:
    """Keep messages that failed validation, with their reasons, for a later replay.

    A message already waiting in ``failed_events`` under the same source and ``messageId``
    (an SDK retrying the batch) is not stored twice. Returns how many rows were added.
    """
    failures = list(failures)
    if not failures:
        return 0
    connection = _connection(connection_or_session)
    waiting: set[tuple[int, str | None]] = set()
    keyed = {(f.source_id, f.message_id) for f in failures if f.message_id is not None}
    keyed_ids = {message_id for _, message_id in keyed if message_id is not None}
    if keyed:
        found = connection.execute(
            select(FailedEvent.source_id, FailedEvent.message_id).where(
                FailedEvent.status == "failed",
                FailedEvent.source_id.in_({source_id for source_id, _ in keyed}),
                FailedEvent.message_id.in_(keyed_ids),
            )
        )
        waiting = {(source_id, message_id) for source_id, message_id in found}
    values: list[dict[str, Any]] = []
    for failure in failures:
        key = (failure.source_id, failure.message_id)
        if failure.message_id is not None:
            if key in waiting:
                continue
            waiting.add((failure.source_id, failure.message_id))
        values.append(
            {
                "source_id": failure.source_id,
                "message_id": failure.message_id,
                "reason": failure.reason,
                "payload": _storable(failure.payload),
                "received_at": failure.received_at,
                "status": "failed",
            }
        )
    if values:
        connection.execute(insert(FailedEvent), values)
    return len(values)


def event_id_for(
    connection_or_session: Connection | Session, source_id: int, message_id: str
) -> int | None:
    """The id of the stored event with this source and ``messageId``, if there is one."""
    connection = _connection(connection_or_session)
    return connection.scalar(
        select(Event.id).where(Event.source_id == source_id, Event.message_id == message_id)
    )
