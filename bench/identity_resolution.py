"""Deterministic identity resolution: throughput through the processor, and merge cost.

1. Throughput. Generates a world (5,000 customers by default: about 120,000 events, 7,000
   customer records, 24,000 orders), imports it into a new database, then times the identity
   step of the worker (``patron.identity.resolve_identities`` in batches, one transaction each,
   as ``run_once`` calls it): the customer records and orders first, then the events alone,
   reported as events per second. Beside it, in the same run, a bare loop reads the same events
   by cursor in the same batches and writes one ``event_profiles`` row per event to a single
   profile, with the driver alone: the floor of reading the log and writing an assignment.
2. Merge cost in history size. A customer with N prior events (1,000, then 100,000) is merged
   under an older one-node customer, timed, then unmerged (not timed), 30 times; the median
   time per merge is reported for each N. A merge re-points the loser's nodes, never its
   events, so both medians should be the same.

    .venv/bin/python bench/identity_resolution.py
    .venv/bin/python bench/identity_resolution.py --customers 10000 --engine sqlite
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select

from benchdb import DEFAULT_POSTGRES, create_throwaway
from patron import identity, ingest
from patron.identity.models import EventProfile
from patron.ingest.models import Event
from patron.storage import make_engine, make_session_factory
from patron.world import generate_world

BATCH = 5_000
MERGE_TRIALS = 30
HISTORIES = (1_000, 100_000)


def resolve_all(sessions: Any, *, events_only: bool) -> tuple[identity.ResolutionStep, float]:
    total = identity.ResolutionStep()
    started = time.perf_counter()
    while True:
        with sessions.begin() as session:
            if events_only:
                step = identity.resolve_events(
                    session, default_region="GB", limit=BATCH, settle=timedelta(0)
                )
            else:
                # The worker's order: identify traits into their records first.
                step = identity.fill_records_from_identify_calls(
                    session, default_region="GB", settle=timedelta(0)
                )
                step += identity.resolve_customer_records(session, default_region="GB", limit=BATCH)
                step += identity.resolve_orders(
                    session, default_region="GB", limit=BATCH, settle=timedelta(0)
                )
        total += step
        if step.items_read == 0:
            return total, time.perf_counter() - started


def bare_baseline(engine: Engine, sessions: Any) -> tuple[int, float]:
    """Read the log in batches by cursor and write one assignment per event, driver only."""
    with sessions.begin() as session:
        profile_id = identity.new_profile(session)
    read = 0
    position = 0
    started = time.perf_counter()
    while True:
        with engine.begin() as connection:
            rows = connection.execute(
                select(Event.id, Event.source_id, Event.type, Event.user_id, Event.payload)
                .where(Event.id > position)
                .order_by(Event.id)
                .limit(BATCH)
            ).all()
            if not rows:
                break
            connection.execute(
                insert(EventProfile.__table__),
                [{"event_id": row.id, "profile_id": profile_id} for row in rows],
            )
            position = rows[-1].id
            read += len(rows)
    seconds = time.perf_counter() - started
    with engine.begin() as connection:
        connection.execute(delete(EventProfile.__table__))
    return read, seconds


def throughput(url: str, world: Path) -> dict[str, float]:
    engine = make_engine(url, pool_size=2)
    sessions = make_session_factory(engine)
    try:
        for summary in ingest.import_world(sessions, world):
            if summary.error is not None:
                raise SystemExit(f"the world did not import: {summary.describe()}")
        bare_events, bare_seconds = bare_baseline(engine, sessions)
        before, before_seconds = resolve_all(sessions, events_only=False)
        events, events_seconds = resolve_all(sessions, events_only=True)
    finally:
        engine.dispose()
    return {
        "events": events.events,
        "events_per_s": events.events / events_seconds,
        "events_seconds": events_seconds,
        "records_and_orders": before.records + before.orders,
        "records_and_orders_seconds": before_seconds,
        "profiles": events.profiles_created + before.profiles_created,
        "merges": events.merges + before.merges,
        "held": events.merges_held + before.merges_held,
        "queued": events.held_queued + before.held_queued,
        "bare_events_per_s": bare_events / bare_seconds,
    }


def _history(sessions: Any, node: int, count: int, source_id: int, tag: str) -> None:
    received = datetime(2026, 1, 1, tzinfo=UTC)
    for start in range(0, count, BATCH):
        rows = [
            ingest.normalise_message(
                {"type": "track", "event": "Viewed", "userId": tag, "messageId": f"{tag}-{n}"},
                source_id=source_id,
                received_at=received,
            )
            for n in range(start, min(count, start + BATCH))
        ]
        with sessions.begin() as session:
            ingest.append_events(session, rows)
            ids = session.scalars(
                select(Event.id)
                .where(Event.user_id == tag)
                .order_by(Event.id.desc())
                .limit(len(rows))
            ).all()
            session.execute(
                insert(EventProfile), [{"event_id": i, "profile_id": node} for i in ids]
            )


def merge_cost(url: str) -> dict[int, float]:
    """Median seconds per merge of a customer with each history size; the trials alternate
    between the sizes, so both see the same tables and the same caches."""
    engine = make_engine(url, pool_size=2)
    sessions = make_session_factory(engine)
    times: dict[int, list[float]] = {count: [] for count in HISTORIES}
    try:
        with sessions.begin() as session:
            source = ingest.ensure_source(session, "bench-web", ingest.Channel.WEB).id
            # The older one-node customers the histories are merged under, one per trial.
            winners = identity.new_profiles(session, MERGE_TRIALS * len(HISTORIES))
            customers = {count: identity.new_profile(session) for count in HISTORIES}
        for count, customer in customers.items():
            _history(sessions, customer, count, source, f"history-{count}")
            with sessions() as session:
                assigned = session.scalar(
                    select(func.count()).where(EventProfile.profile_id == customer)
                )
            if assigned != count:
                raise SystemExit(f"history of {count} events has {assigned}")
        if engine.dialect.name == "sqlite":
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        pending = iter(winners)
        for _ in range(MERGE_TRIALS):
            for count, customer in customers.items():
                with sessions.begin() as session:
                    started = time.perf_counter()
                    outcome = identity.merge_profiles(
                        session,
                        next(pending),
                        customer,
                        method=identity.MergeMethod.MANUAL,
                        reason={"bench": count},
                    )
                    elapsed = time.perf_counter() - started
                if outcome.loser_id != customer or outcome.merge_id is None:
                    raise SystemExit(f"unexpected merge outcome {outcome}")
                times[count].append(elapsed)
                with sessions.begin() as session:
                    identity.unmerge(session, outcome.merge_id, reason="bench")
    finally:
        engine.dispose()
    return {count: statistics.median(values) for count, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument(
        "--world",
        type=Path,
        help="a world generated before (patron world generate) instead of a new one",
    )
    parser.add_argument(
        "--throughput-only", action="store_true", help="skip the merge cost measurement"
    )
    args = parser.parse_args()
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    with tempfile.TemporaryDirectory(prefix="patron-identity-bench-") as scratch:
        workdir = Path(scratch)
        world = args.world or workdir / "world"
        if args.world is None:
            generate_world(world, customers=args.customers, seed=args.seed)
        for engine_name in engines:
            url, drop = create_throwaway(engine_name, args.postgres, workdir)
            try:
                result = throughput(url, world)
            finally:
                drop()
            print(
                f"{engine_name:<10} resolution: {result['events']:,} events in "
                f"{result['events_seconds']:.1f} s = {result['events_per_s']:,.0f} events/s "
                f"(bare read + assign: {result['bare_events_per_s']:,.0f}/s); "
                f"{result['records_and_orders']:,} records and orders in "
                f"{result['records_and_orders_seconds']:.1f} s; "
                f"{result['profiles']:,} profiles, {result['merges']:,} merges; "
                f"{result['held']:,} held apart by the shared-email guard, "
                f"{result['queued']:,} pairs of customers queued for review"
            )
            if args.throughput_only:
                continue
            url, drop = create_throwaway(engine_name, args.postgres, workdir)
            try:
                medians = merge_cost(url)
            finally:
                drop()
            shown = ", ".join(
                f"{count:,} prior events: {seconds * 1000:.2f} ms"
                for count, seconds in medians.items()
            )
            print(f"{engine_name:<10} merge, median of {MERGE_TRIALS}: {shown}")


if __name__ == "__main__":
    main()
