"""Probabilistic resolution at scale: ``patron resolve`` beside a bare Splink run.

Generates FEBRL-like customer records (originals and duplicates with typos, nicknames,
missing fields, moved addresses and swapped birth dates, spread over three sources), imports
them with ``patron import customers``, lets the deterministic rules resolve them (as the worker
does when records arrive), then times, on the same records and in separate processes:

* ``patron resolve --train --json``: read the records from the store, prepare the features,
  train the model (u by sampling, m by EM), score every blocked pair, merge and queue;
* bare Splink: the same records from a CSV, the same settings, the same training, the same
  prediction, materialised in DuckDB, nothing written back.

Wall time and peak memory (max RSS) of each process are reported, with the ratio.

    .venv/bin/python bench/splink_resolve.py --records 100000
    .venv/bin/python bench/splink_resolve.py --records 1000000 --keep /tmp/splink-1m
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from faker.providers.address.en_GB import Provider as GBAddress
from faker.providers.person.en_GB import Provider as GBPerson
from faker.providers.person.en_IE import Provider as IEPerson
from faker.providers.person.en_US import Provider as USPerson
from nicknames import NickNamer

from benchdb import create_throwaway, run_patron
from patron.settings import Environment, Settings
from patron.storage import make_engine, make_session_factory
from patron.worker.loop import run_once

SOURCES = {"store-pos": "pos", "eshop": "eshop", "loyalty-crm": "crm"}
FIELDS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "birth_date",
    "street",
    "city",
    "postcode",
)
DOMAINS = (
    "gmail.com",
    "yahoo.co.uk",
    "hotmail.co.uk",
    "outlook.com",
    "icloud.com",
    "btinternet.com",
)


def _names(*providers: object, attribute: str) -> list[str]:
    found: set[str] = set()
    for provider in providers:
        value = getattr(provider, attribute, ())
        found.update(value.keys() if isinstance(value, dict) else value)
    return sorted(found)


FIRST_NAMES = _names(GBPerson, USPerson, IEPerson, attribute="first_names_male") + _names(
    GBPerson, USPerson, IEPerson, attribute="first_names_female"
)
LAST_NAMES = _names(GBPerson, USPerson, IEPerson, attribute="last_names")
STREET_SUFFIXES = list(GBAddress.street_suffixes)
CITIES = [f"{prefix}{suffix}" for prefix in LAST_NAMES[:300] for suffix in ("ton", "ford", "bury")]
NICKNAMES = NickNamer()


def _typo(value: str, rng: random.Random) -> str:
    if len(value) < 3:
        return value
    at = rng.randrange(1, len(value) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return value[:at] + value[at + 1] + value[at] + value[at + 2 :]
    if kind == 1:
        return value[:at] + value[at + 1 :]
    return value[:at] + value[at] + value[at:]


def _postcode(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPRSTUWYZ"
    return (
        f"{rng.choice(letters)}{rng.choice(letters)}{rng.randrange(1, 30)} "
        f"{rng.randrange(10)}{rng.choice(letters)}{rng.choice(letters)}"
    )


def _person(rng: random.Random) -> dict[str, str]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 65))
    return {
        "first_name": first,
        "last_name": last,
        "email": f"{first}.{last}{rng.randrange(100)}@{rng.choice(DOMAINS)}".lower(),
        "phone": f"07{rng.randrange(100, 999)} {rng.randrange(100000, 999999)}",
        "birth_date": born.isoformat(),
        "street": f"{rng.randrange(1, 300)} {rng.choice(LAST_NAMES)} {rng.choice(STREET_SUFFIXES)}",
        "city": rng.choice(CITIES),
        "postcode": _postcode(rng),
    }


def _messy(person: dict[str, str], rng: random.Random) -> dict[str, str]:
    record = dict(person)
    roll = rng.random
    if roll() < 0.15:
        forms = sorted(NICKNAMES.nicknames_of(record["first_name"].lower()))
        if forms:
            record["first_name"] = rng.choice(forms).title()
    if roll() < 0.1:
        record["first_name"] = _typo(record["first_name"], rng)
    if roll() < 0.1:
        record["last_name"] = _typo(record["last_name"], rng)
    if roll() < 0.1:
        born = date.fromisoformat(record["birth_date"])
        if born.day <= 12 and born.day != born.month:
            record["birth_date"] = date(born.year, born.day, born.month).isoformat()
    if roll() < 0.15:
        record.update(
            street=_person(rng)["street"], postcode=_postcode(rng), city=rng.choice(CITIES)
        )
    if roll() < 0.3:
        record["email"] = ""
    elif roll() < 0.3:
        record["email"] = (
            f"{record['last_name']}{rng.randrange(1000)}@{rng.choice(DOMAINS)}".lower()
        )
    for name, rate in (("phone", 0.4), ("birth_date", 0.3), ("street", 0.15)):
        if roll() < rate:
            record[name] = ""
            if name == "street":
                record["postcode"] = record["city"] = ""
    return record


def generate(records: int, seed: int, directory: Path) -> dict[str, Path]:
    """FEBRL-like records: 60 % of people have one record, the others two to four."""
    rng = random.Random(seed)
    paths = {source: directory / f"{source}.csv" for source in SOURCES}
    handles = {source: path.open("w", newline="") for source, path in paths.items()}
    writers = {source: csv.DictWriter(handle, FIELDS) for source, handle in handles.items()}
    for writer in writers.values():
        writer.writeheader()
    written = 0
    while written < records:
        person = _person(rng)
        copies = 1 if rng.random() < 0.6 else rng.randrange(2, 5)
        for copy in range(min(copies, records - written)):
            source = rng.choice(list(SOURCES))
            record = person if copy == 0 else _messy(person, rng)
            writers[source].writerow({"id": f"R{written:08d}", **record})
            written += 1
    for handle in handles.values():
        handle.close()
    return paths


def import_files(directory: Path, database_url: str) -> float:
    """Import each source's generated file in ``directory`` into ``database_url`` with
    ``patron import customers``, as a retailer would; the seconds it took."""
    started = time.perf_counter()
    for source, channel in SOURCES.items():
        path = directory / f"{source}.csv"
        run_patron(
            database_url, "import", "customers", str(path), "--source", source, "--channel", channel
        )
    return time.perf_counter() - started


# Runs the measured command as its only child and prints that child's peak memory (KB) last
# on stderr: each measurement is of one process alone.
_PEAK_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(usage.ru_utime + usage.ru_stime, usage.ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


@dataclass(frozen=True)
class Run:
    """One measured process: wall and CPU seconds (CPU time is what a busy machine's other
    work changes least), peak memory and what it printed."""

    seconds: float
    cpu_seconds: float
    peak_gb: float
    stdout: str


def _timed(args: list[str], env: dict[str, str]) -> Run:
    """Run a process and measure it."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _PEAK_WRAPPER, *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stderr[-4000:]}")
    cpu, peak_kb = result.stderr.strip().splitlines()[-1].split()
    return Run(seconds, float(cpu), int(peak_kb) / 1024 / 1024, result.stdout)


BARE_SPLINK = r"""
import sys, time, duckdb
from patron.identity.matching.model import match_settings, train
from patron.identity.matching.features import first_name_forms
from splink import Linker
from splink.backends.duckdb import DuckDBAPI
import pyarrow as pa

paths, threshold = sys.argv[1:-1], float(sys.argv[-1])
started = time.perf_counter()
con = duckdb.connect()
con.execute("SET memory_limit = '4GB'")
union = " UNION ALL ".join(
    f"SELECT row_number() OVER () + {i * 10**8} AS unique_id, {i} AS source_id, * "
    f"FROM read_csv('{p}', all_varchar=true)"
    for i, p in enumerate(paths)
)
# The same cleaning as Patron's features, written in SQL: lower case names, whole emails,
# digits of phones, postcodes with one space.
con.execute(f'''CREATE TABLE raw AS SELECT * FROM ({union})''')
forms = {n: list(first_name_forms(n)) for (n,) in con.execute(
    "SELECT DISTINCT lower(first_name) FROM raw WHERE first_name IS NOT NULL").fetchall()}
con.register("forms", pa.table({"name": list(forms), "forms": list(forms.values())}))
con.execute('''CREATE TABLE features AS SELECT unique_id, source_id,
  lower(first_name) AS first_name, f.forms AS first_name_forms, lower(last_name) AS last_name,
  nullif(birth_date, '') AS birth_date, lower(trim(email)) AS email,
  '+44' || substr(regexp_replace(phone, '[^0-9]', '', 'g'), 2) AS phone,
  NULL::VARCHAR AS loyalty_card, lower(street) AS street, upper(postcode) AS postcode,
  lower(city) AS city
  FROM raw LEFT JOIN forms f ON f.name = lower(raw.first_name)''')
linker = Linker("features", match_settings(), DuckDBAPI(connection=con), set_up_basic_logging=False)
features = con.execute("SELECT * FROM features").to_arrow_table()
train(linker, features, backend="duckdb")
pairs = linker.inference.predict(threshold_match_probability=threshold)
count = con.execute(f"SELECT count(*) FROM {pairs.physical_name}").fetchone()[0]
print(f"{count} {time.perf_counter() - started:.1f}")
"""


def _set_up(records: int, seed: int, directory: Path) -> tuple[Path, list[Path], str]:
    """Generate, import and resolve deterministically into ``directory/setup.db`` (reused when
    it is already there: the set-up of a million records takes longer than the runs)."""
    database = directory / "setup.db"
    paths = [directory / f"{source}.csv" for source in SOURCES]
    if database.exists() and all(path.exists() for path in paths):
        return database, paths, "reused set-up"
    database.unlink(missing_ok=True)
    started = time.perf_counter()
    generate(records, seed, directory)
    generated = time.perf_counter() - started
    database_url, _ = create_throwaway("sqlite", "", directory)
    imported = import_files(directory, database_url)
    settings = Settings(environment=Environment.DEVELOPMENT, database_url=database_url)
    engine = make_engine(database_url)
    started = time.perf_counter()
    try:
        sessions = make_session_factory(engine)
        # Nothing else writes during the benchmark: no settle time to wait out.
        while run_once(sessions, settings, settle=timedelta(0)).identity.items_read:
            pass
    finally:
        engine.dispose()
    deterministic = time.perf_counter() - started
    (directory / "bench.db").rename(database)
    return (
        database,
        paths,
        (
            f"generated in {generated:.0f}s, imported in {imported:.0f}s, "
            f"resolved deterministically in {deterministic:.0f}s"
        ),
    )


def _patron_run(database: Path, directory: Path) -> Run:
    # Every run starts from the same set-up: a copy, since a run writes its merges.
    run = directory / "run.db"
    shutil.copyfile(database, run)
    env = {
        **os.environ,
        "PATRON_DATABASE_URL": f"sqlite:///{run}",
        "PATRON_ENVIRONMENT": "development",
    }
    try:
        return _timed([sys.executable, "-m", "patron", "resolve", "--train", "--json"], env)
    finally:
        run.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeats", type=int, default=3, help="Runs of each; medians shown.")
    parser.add_argument("--skip-bare", action="store_true", help="Only time patron resolve.")
    parser.add_argument(
        "--keep",
        type=Path,
        help="Keep the generated, imported and resolved set-up here, and reuse it.",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="patron-splink-") as tmp:
        directory = args.keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        database, paths, set_up = _set_up(args.records, args.seed, directory)
        patron_runs: list[Run] = []
        bare_runs: list[Run] = []
        # Alternated, so that a change in the machine's load falls on both.
        for _ in range(args.repeats):
            if not args.skip_bare:
                bare_command = [sys.executable, "-c", BARE_SPLINK, *map(str, paths), "0.8"]
                bare_runs.append(_timed(bare_command, dict(os.environ)))
            patron_runs.append(_patron_run(database, directory))
    print(f"{args.records:,} records: {set_up}; {args.repeats} runs each, medians")
    if not patron_runs:
        return
    summary = json.loads(patron_runs[-1].stdout)
    print(
        f"patron resolve --train: {_medians(patron_runs)}; "
        f"{summary['pairs_scored']:,} pairs >= {summary['review_threshold']}, "
        f"merged {summary['merged']:,}, queued {summary['queued']:,}"
    )
    if bare_runs:
        pairs = bare_runs[-1].stdout.strip().splitlines()[-1].split()[0]
        print(f"bare Splink:            {_medians(bare_runs)}; {int(pairs):,} pairs >= 0.8")
        wall = statistics.median(r.seconds for r in patron_runs) / statistics.median(
            r.seconds for r in bare_runs
        )
        cpu = statistics.median(r.cpu_seconds for r in patron_runs) / statistics.median(
            r.cpu_seconds for r in bare_runs
        )
        print(f"ratio patron / bare: {wall:.2f} wall, {cpu:.2f} CPU")


def _medians(runs: list[Run]) -> str:
    seconds = ", ".join(f"{run.seconds:.1f}" for run in runs)
    return (
        f"{statistics.median(run.seconds for run in runs):.1f}s wall ({seconds}), "
        f"{statistics.median(run.cpu_seconds for run in runs):.1f}s CPU, "
        f"{max(run.peak_gb for run in runs):.2f} GB peak"
    )


if __name__ == "__main__":
    main()
