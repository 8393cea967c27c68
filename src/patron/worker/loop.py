"""The worker loop, embedded in ``patron serve`` or run alone by ``patron worker``."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError

from patron import identity, ingest, profiles
from patron.storage import make_engine, make_session_factory, utcnow
from patron.worker.snapshot import start_snapshot_keeper

if TYPE_CHECKING:
    import threading

    from sqlalchemy.orm import Session, sessionmaker

    from patron.settings import Settings

logger = logging.getLogger(__name__)

GOLDEN_SWEEP_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class WorkerPass:
    events_read: int
    carts_changed: int
    carts_abandoned: int
    identity: identity.ResolutionStep = field(default_factory=identity.ResolutionStep)


def run_once(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    settle: timedelta = ingest.CART_SETTLE_TIME,
) -> WorkerPass:
    """Resolve the identities of everything new, project every settled event not yet
    projected, then sweep abandoned carts."""
    resolved = identity.ResolutionStep()
    while True:
        with sessions() as session, session.begin():
            resolution = identity.resolve_identities(
                session, default_region=settings.default_phone_region, settle=settle
            )
        resolved += resolution
        if resolution.items_read == 0:
            break
    # Golden records follow the records, nodes and merges resolution just made at once, and
    # within a minute those made elsewhere (batch matching, a review accepted).
    with sessions() as session, session.begin():
        profiles.refresh_changed_golden_records(
            session, at_most_every=None if resolved.items_read else GOLDEN_SWEEP_INTERVAL
        )
    events_read = carts_changed = 0
    while True:
        with sessions() as session, session.begin():
            step = ingest.project_carts(session, settle=settle)
        events_read += step.events_read
        carts_changed += step.carts_changed
        if step.events_read == 0:
            break
    with sessions() as session, session.begin():
        abandoned = ingest.mark_abandoned_carts(
            session,
            idle_for=timedelta(minutes=settings.cart_abandon_after_minutes),
            now=utcnow(),
        )
    return WorkerPass(events_read, carts_changed, abandoned, resolved)


def drain(settings: Settings, *, settle: timedelta = ingest.CART_SETTLE_TIME) -> WorkerPass:
    """Process everything received before the call, then return what was done.

    Readers of the event log hold back what arrived in the last ``settle`` (a writer may
    still commit a lower id there), so the drain first waits that long, then runs passes
    until one finds nothing: a script can import, drain, and read a resolved store.
    """
    time.sleep(settle.total_seconds())
    engine = make_engine(settings.database_url, pool_size=2)
    sessions = make_session_factory(engine)
    events_read = carts_changed = carts_abandoned = 0
    resolved = identity.ResolutionStep()
    try:
        while True:
            done = run_once(sessions, settings, settle=settle)
            events_read += done.events_read
            carts_changed += done.carts_changed
            carts_abandoned += done.carts_abandoned
            resolved += done.identity
            if not (done.events_read or done.identity.items_read):
                return WorkerPass(events_read, carts_changed, carts_abandoned, resolved)
    finally:
        engine.dispose()


def run_worker(settings: Settings, stop: threading.Event) -> None:
    """Run passes until ``stop`` is set; a database outage is waited out, not fatal.

    Beside the passes, a thread refreshes the analytics snapshot when it is due.
    """
    engine = make_engine(settings.database_url, pool_size=2)
    sessions = make_session_factory(engine)
    # A daemon thread: a refresh cut short by a stop leaves only a partial file, which
    # the next refresh replaces.
    start_snapshot_keeper(settings, stop)
    try:
        while not stop.is_set():
            try:
                done = run_once(sessions, settings)
            except OperationalError:
                logger.exception("database unavailable; the worker retries shortly")
                stop.wait(settings.worker_poll_seconds * 5)
                continue
            if done.events_read or done.identity.items_read:
                logger.info(
                    "worker: %d events read, %d carts changed, %d abandoned; identity: "
                    "%d events, %d records, %d orders resolved, %d profiles new, %d merges",
                    done.events_read,
                    done.carts_changed,
                    done.carts_abandoned,
                    done.identity.events,
                    done.identity.records,
                    done.identity.orders,
                    done.identity.profiles_created,
                    done.identity.merges,
                )
            else:
                stop.wait(settings.worker_poll_seconds)
    finally:
        engine.dispose()
