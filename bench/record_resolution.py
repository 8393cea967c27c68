"""Deterministic resolution of imported customer files at scale: the worker's record pass.

Generates the FEBRL-like records of ``splink_resolve.py`` (three sources, 40 % of people with
two to four messy records), imports them with ``patron import customers``, then times what
the worker does with them, batch by batch, in this process: normalise every record's
identifiers, read the graph's known identifiers, assign, merge, insert, and finally refresh
the golden records of the profiles it touched.

A pass over a customer file should cost the same per record whatever the store already
holds, so besides records per second the benchmark reports the last tenth's batches against
the first tenth's: a ratio well above 1 means that a batch's cost grows with the store.

    .venv/bin/python bench/record_resolution.py --records 300000
    .venv/bin/python bench/record_resolution.py --records 1000000 --keep /tmp/records-1m
    .venv/bin/python bench/record_resolution.py --records 300000 --engine postgresql
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from benchdb import DEFAULT_POSTGRES, create_throwaway
from patron import identity, profiles
from patron.settings import Environment, Settings
from patron.storage import make_engine, make_session_factory
from splink_resolve import SOURCES, generate, import_files


def _import(records: int, seed: int, directory: Path, database_url: str) -> str:
    """Generate the records (or reuse the files in ``directory``) and import them into
    ``database_url``; say how long each took."""
    started = time.perf_counter()
    if not all((directory / f"{source}.csv").exists() for source in SOURCES):
        generate(records, seed, directory)
    generated = time.perf_counter() - started
    imported = import_files(directory, database_url)
    return f"generated in {generated:.0f}s, imported in {imported:.0f}s"


def _sqlite_imported(records: int, seed: int, directory: Path) -> tuple[Path, str]:
    """The records imported, unresolved, in ``directory/imported.db`` (reused when it is
    already there)."""
    database = directory / "imported.db"
    if database.exists():
        return database, "reused the imported store"
    database_url, _ = create_throwaway("sqlite", "", directory)
    set_up = _import(records, seed, directory, database_url)
    (directory / "bench.db").rename(database)
    return database, set_up


def _resolve(
    database_url: str,
) -> tuple[list[tuple[int, float]], float, identity.ResolutionStep]:
    """Every batch's (records read, seconds) until nothing is left, the golden records'
    refresh seconds and what the batches did: the worker's pass, timed step by step."""
    settings = Settings(environment=Environment.DEVELOPMENT, database_url=database_url)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    batches: list[tuple[int, float]] = []
    done = identity.ResolutionStep()
    try:
        while True:
            started = time.perf_counter()
            with sessions() as session, session.begin():
                step = identity.resolve_identities(
                    session, default_region=settings.default_phone_region, settle=timedelta(0)
                )
            if not step.items_read:
                break
            done += step
            batches.append((step.items_read, time.perf_counter() - started))
        started = time.perf_counter()
        with sessions() as session, session.begin():
            profiles.refresh_changed_golden_records(session, at_most_every=None)
        return batches, time.perf_counter() - started, done
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument(
        "--keep",
        type=Path,
        help="Keep the generated files (and the imported SQLite store) here, and reuse them.",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="patron-records-") as tmp:
        directory = args.keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        if args.engine == "postgresql":
            # A new database each run, imported again: the generated files are kept.
            database_url, drop = create_throwaway("postgresql", args.postgres, directory)
            try:
                set_up = _import(args.records, args.seed, directory, database_url)
                batches, golden, done = _resolve(database_url)
            finally:
                drop()
        else:
            imported, set_up = _sqlite_imported(args.records, args.seed, directory)
            # Each run resolves a copy: the imported store stays as it was for the next.
            run = directory / "run.db"
            shutil.copyfile(imported, run)
            try:
                batches, golden, done = _resolve(f"sqlite:///{run}")
            finally:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{run}{suffix}").unlink(missing_ok=True)

    records = sum(count for count, _ in batches)
    seconds = sum(elapsed for _, elapsed in batches)
    tenth = max(1, len(batches) // 10)
    first = statistics.median(elapsed / count for count, elapsed in batches[:tenth])
    last = statistics.median(elapsed / count for count, elapsed in batches[-tenth:])
    print(f"{args.records:,} records on {args.engine}: {set_up}")
    print(
        f"resolved {records:,} records in {len(batches)} batches, {seconds:.1f}s "
        f"({records / seconds:,.0f} records/s); golden records {golden:.1f}s"
    )
    print(
        f"per 1,000 records, median of the first {tenth} batches {first * 1000:.3f}s, "
        f"of the last {tenth} {last * 1000:.3f}s: last / first {last / first:.2f}"
    )
    print(
        f"{done.profiles_created - done.merges:,} customers ({done.profiles_created:,} made, "
        f"{done.merges:,} merged), {done.identifiers_added:,} identifiers, "
        f"{done.merges_held:,} held apart by the shared-identifier guard"
    )


if __name__ == "__main__":
    main()
