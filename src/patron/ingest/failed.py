"""Failed events: messages of a batch that failed validation, listed and replayed after a fix.

A replay validates the stored message again (or a corrected one given by the user) with the
same rules as the tracking API, as if it had arrived when it first did, and on success appends
it to the event log and marks the failed row replayed, in the caller's transaction. A failed
row without a ``messageId`` is replayed under one derived from its own id, so replaying it
twice can never store two events.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select

from patron.ingest.event_log import append_events, event_id_for
from patron.ingest.messages import MessageError, normalise_message
from patron.ingest.models import FailedEvent
from patron.storage import utcnow

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from sqlalchemy.orm import Session

FAILED: Final = "failed"
REPLAYED: Final = "replayed"
DISCARDED: Final = "discarded"
STATUSES: Final = (FAILED, REPLAYED, DISCARDED)
_REPLAY_NAMESPACE: Final = uuid.UUID("0f4b8a52-2f59-4b55-9d55-7f3f3c1f6a10")


@dataclass(frozen=True, slots=True)
class FailedEventInfo:
    id: int
    source_id: int
    message_id: str | None
    reason: str
    payload: Any
    received_at: datetime
    status: str
    resolved_at: datetime | None
    event_id: int | None


@dataclass(frozen=True, slots=True)
class ReplayOutcome:
    """What a replay did to one failed event.

    ``status`` is ``replayed`` (now in the event log as ``event_id``), ``failed`` (still
    invalid: ``reason`` says why), ``not_found`` or ``already_resolved``.
    """

    failed_event_id: int
    status: str
    reason: str | None = None
    event_id: int | None = None


def _info(failed: FailedEvent) -> FailedEventInfo:
    return FailedEventInfo(
        id=failed.id,
        source_id=failed.source_id,
        message_id=failed.message_id,
        reason=failed.reason,
        payload=failed.payload,
        received_at=failed.received_at,
        status=failed.status,
        resolved_at=failed.resolved_at,
        event_id=failed.event_id,
    )


def list_failed_events(
    session: Session,
    *,
    status: str | None = FAILED,
    source_id: int | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[FailedEventInfo]:
    """Failed events, newest first; ``status=None`` lists every status.

    Page through them with ``before_id`` (the smallest id of the previous page).
    """
    if status is not None and status not in STATUSES:
        msg = f"status must be one of {', '.join(STATUSES)}, got {status!r}"
        raise ValueError(msg)
    query = select(FailedEvent).order_by(FailedEvent.id.desc()).limit(max(1, min(limit, 1000)))
    if status is not None:
        query = query.where(FailedEvent.status == status)
    if source_id is not None:
        query = query.where(FailedEvent.source_id == source_id)
    if before_id is not None:
        query = query.where(FailedEvent.id < before_id)
    return [_info(failed) for failed in session.scalars(query)]


def _replay_one(
    session: Session, failed: FailedEvent, payload: Any, now: datetime
) -> ReplayOutcome:
    if isinstance(payload, dict) and not payload.get("messageId"):
        payload = {
            **payload,
            "messageId": failed.message_id or str(uuid.uuid5(_REPLAY_NAMESPACE, str(failed.id))),
        }
    try:
        row = normalise_message(payload, source_id=failed.source_id, received_at=failed.received_at)
    except MessageError as error:
        failed.reason = error.reason
        return ReplayOutcome(failed.id, FAILED, reason=error.reason)
    append_events(session, [row])
    event_id = event_id_for(session, row.source_id, row.message_id)
    failed.status = REPLAYED
    failed.resolved_at = now
    failed.event_id = event_id
    return ReplayOutcome(failed.id, REPLAYED, event_id=event_id)


def replay_failed_events(
    session: Session,
    failed_event_ids: Iterable[int] | None = None,
    *,
    corrected_payload: Any = None,
    source_id: int | None = None,
    limit: int = 10_000,
) -> list[ReplayOutcome]:
    """Validate failed events again and move the valid ones into the event log.

    ``failed_event_ids`` names the rows to replay; ``None`` means every failed row (of
    ``source_id`` if given, at most ``limit``). ``corrected_payload`` replaces the stored
    message and needs exactly one id. Changes are made in the caller's transaction.
    """
    ids = None if failed_event_ids is None else list(dict.fromkeys(failed_event_ids))
    if corrected_payload is not None and (ids is None or len(ids) != 1):
        msg = "a corrected payload replays exactly one failed event"
        raise ValueError(msg)
    query = select(FailedEvent).order_by(FailedEvent.id).with_for_update()
    if ids is not None:
        query = query.where(FailedEvent.id.in_(ids))
    else:
        query = query.where(FailedEvent.status == FAILED).limit(limit)
    if source_id is not None:
        query = query.where(FailedEvent.source_id == source_id)
    found = {failed.id: failed for failed in session.scalars(query)}
    now = utcnow()
    outcomes: list[ReplayOutcome] = []
    for failed_id in ids if ids is not None else list(found):
        failed = found.get(failed_id)
        if failed is None:
            outcomes.append(ReplayOutcome(failed_id, "not_found", reason="no such failed event"))
        elif failed.status != FAILED:
            outcomes.append(
                ReplayOutcome(
                    failed_id,
                    "already_resolved",
                    reason=f"already {failed.status}",
                    event_id=failed.event_id,
                )
            )
        else:
            payload = failed.payload if corrected_payload is None else corrected_payload
            outcomes.append(_replay_one(session, failed, payload, now))
    session.flush()
    return outcomes
