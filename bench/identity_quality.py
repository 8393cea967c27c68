"""Identity quality against the synthetic world's truth: pairwise precision and recall.

Generates a world, imports it with ``patron import world``, runs the worker's deterministic
resolution over everything imported, exports the customers (``patron profiles export``), then
runs ``patron resolve`` and exports again. Each export is scored against ``truth.csv``: over
every pair of source customer records, a pair is *predicted* when both records are in one
exported customer and *true* when ``truth.csv`` gives them one person. Reported overall, per
pair of sources (channels) and per kind of mess (a pair counts for a tag when either record
has it), with the over-merged customers (records of several people) listed.

    .venv/bin/python bench/identity_quality.py --customers 5000 --seed 7
    .venv/bin/python bench/identity_quality.py --customers 20000 --seed 2026 --json out.json

Records that appear in no export line (a web or app ``userId`` is known from events, not from
a customer file) are found through their identifier in the graph; a truth record found nowhere
counts as a customer of its own and is reported as missing. Each stage is also scored over the
records some source delivered (a customer file row, an order's customer, an event's
``userId``): the world's truth lists exactly those, so the two scores agree unless the import
lost a record.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import csv
import itertools
import json
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from benchdb import create_throwaway, run_patron
from patron.identity.models import Identifier, Profile
from patron.ingest.models import Event, Source, SourceRecord
from patron.settings import Environment, Settings
from patron.storage import make_engine, make_session_factory
from patron.worker.loop import run_once
from patron.world import IDENTITY_RULES, generate_world

Record = tuple[str, str]


@dataclass
class Counts:
    predicted: int = 0
    true: int = 0
    correct: int = 0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.true if self.true else 1.0

    def as_json(self) -> dict[str, float | int]:
        return {
            "predicted_pairs": self.predicted,
            "true_pairs": self.true,
            "correct_pairs": self.correct,
            "precision": round(self.precision, 5),
            "recall": round(self.recall, 5),
        }


@dataclass
class Quality:
    overall: Counts = field(default_factory=Counts)
    by_sources: dict[str, Counts] = field(default_factory=lambda: collections.defaultdict(Counts))
    by_mess: dict[str, Counts] = field(default_factory=lambda: collections.defaultdict(Counts))
    over_merged: list[list[dict[str, str]]] = field(default_factory=list)
    over_merged_customers: int = 0
    missing: int = 0
    # The same scores over the truth records some source delivered.
    delivered: Counts = field(default_factory=Counts)
    delivered_records: int = 0

    def as_json(self) -> dict[str, object]:
        return {
            "overall": self.overall.as_json(),
            "by_sources": {k: v.as_json() for k, v in sorted(self.by_sources.items())},
            "by_mess": {k: v.as_json() for k, v in sorted(self.by_mess.items())},
            "over_merged_customers": self.over_merged_customers,
            "over_merged_examples": self.over_merged,
            "missing_records": self.missing,
            "delivered": {"records": self.delivered_records, **self.delivered.as_json()},
        }


def _read_truth(world: Path) -> tuple[dict[Record, str], dict[Record, set[str]]]:
    person: dict[Record, str] = {}
    mess: dict[Record, set[str]] = {}
    with (world / "truth.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            key = (row["source"], row["record_id"])
            person[key] = row["person_id"]
            mess[key] = {tag for tag in row["mess"].split(";") if tag}
    return person, mess


def _delivered(database_url: str) -> set[Record]:
    """Every (source, id) a source delivered: customer records and events' userIds."""
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            records = session.execute(
                select(Source.name, SourceRecord.record_id).join(
                    SourceRecord, SourceRecord.source_id == Source.id
                )
            ).all()
            users = session.execute(
                select(Source.name, Event.user_id)
                .join(Event, Event.source_id == Source.id)
                .where(Event.user_id.is_not(None))
                .distinct()
            ).all()
    finally:
        engine.dispose()
    return {(source, value) for source, value in (*records, *users) if value is not None}


def _customers_of(database_url: str, export: Path, wanted: set[Record]) -> dict[Record, int]:
    customer: dict[Record, int] = {}
    with export.open() as handle:
        for line in handle:
            document = json.loads(line)
            for record in document["records"]:
                customer[(record["source"], record["id"])] = document["id"]
    # Web user ids are not customer-file records: find them through the graph's identifiers.
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            rows = session.execute(
                select(Source.name, Identifier.value, Profile.canonical_id)
                .join(Identifier, Identifier.scope == Source.id)
                .join(Profile, Profile.id == Identifier.profile_id)
                .where(Identifier.type.in_(("user_id", "record")))
            ).all()
    finally:
        engine.dispose()
    for source, value, root in rows:
        key = (source, value)
        if key in wanted and key not in customer:
            customer[key] = root
    return customer


def score(
    person: dict[Record, str],
    mess: dict[Record, set[str]],
    customer: dict[Record, int],
    delivered: set[Record],
    *,
    examples: int = 15,
) -> Quality:
    """Pairwise scores over every truth record, and the overall ones over delivered records."""
    quality = _score(person, mess, customer, examples=examples)
    known = {record: who for record, who in person.items() if record in delivered}
    quality.delivered = _score(known, mess, customer, examples=0).overall
    quality.delivered_records = len(known)
    return quality


def _score(
    person: dict[Record, str],
    mess: dict[Record, set[str]],
    customer: dict[Record, int],
    *,
    examples: int,
) -> Quality:
    quality = Quality()
    next_own = -1
    cluster: dict[Record, int] = {}
    for record in person:
        if record in customer:
            cluster[record] = customer[record]
        else:
            quality.missing += 1
            cluster[record] = next_own
            next_own -= 1

    def count(a: Record, b: Record, attr: str) -> None:
        sources = " + ".join(sorted((a[0], b[0])))
        tags = mess[a] | mess[b] or {"(clean)"}
        for counts in (quality.overall, quality.by_sources[sources]):
            setattr(counts, attr, getattr(counts, attr) + 1)
        for tag in tags:
            counts = quality.by_mess[tag]
            setattr(counts, attr, getattr(counts, attr) + 1)

    by_cluster: dict[int, list[Record]] = collections.defaultdict(list)
    by_person: dict[str, list[Record]] = collections.defaultdict(list)
    for record in person:
        by_cluster[cluster[record]].append(record)
        by_person[person[record]].append(record)
    for records in by_cluster.values():
        for a, b in itertools.combinations(records, 2):
            count(a, b, "predicted")
            if person[a] == person[b]:
                count(a, b, "correct")
        people = {person[r] for r in records}
        if len(people) > 1:
            quality.over_merged_customers += 1
            if len(quality.over_merged) < examples:
                quality.over_merged.append(
                    [
                        {
                            "source": r[0],
                            "record": r[1],
                            "person": person[r],
                            "mess": ";".join(sorted(mess[r])),
                        }
                        for r in sorted(records, key=lambda r: person[r])
                    ]
                )
    for records in by_person.values():
        for a, b in itertools.combinations(records, 2):
            count(a, b, "true")
    return quality


def _print(title: str, quality: Quality) -> None:
    overall = quality.overall
    print(f"\n### {title}\n")
    print(
        f"precision {overall.precision:.4f}, recall {overall.recall:.4f} "
        f"({overall.correct:,} of {overall.predicted:,} predicted pairs correct, "
        f"{overall.true:,} true pairs); {quality.over_merged_customers} over-merged customers; "
        f"{quality.missing} truth records not found"
    )
    delivered = quality.delivered
    print(
        f"over the {quality.delivered_records:,} truth records some source delivered: "
        f"precision {delivered.precision:.4f}, recall {delivered.recall:.4f} "
        f"({delivered.correct:,} of {delivered.predicted:,} predicted pairs correct, "
        f"{delivered.true:,} true pairs)"
    )
    print("\n| sources | true pairs | precision | recall |\n|---|---:|---:|---:|")
    for name, counts in sorted(quality.by_sources.items()):
        print(f"| {name} | {counts.true:,} | {counts.precision:.4f} | {counts.recall:.4f} |")
    print("\n| mess | true pairs | precision | recall |\n|---|---:|---:|---:|")
    for name, counts in sorted(quality.by_mess.items()):
        print(f"| {name} | {counts.true:,} | {counts.precision:.4f} | {counts.recall:.4f} |")
    if quality.over_merged:
        print("\nOver-merged customers (records of several people):\n")
        for records in quality.over_merged:
            listed = "; ".join(
                f"{r['source']}:{r['record']} = {r['person']}"
                + (f" ({r['mess']})" if r["mess"] else "")
                for r in records
            )
            print(f"- {listed}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="Also write the results as JSON here.")
    parser.add_argument(
        "--keep",
        type=Path,
        help="Work in this directory and keep the world, the SQLite database and the exports "
        "(to look into what was missed).",
    )
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        if args.keep is not None:
            workdir = args.keep
            workdir.mkdir(parents=True, exist_ok=True)
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="patron-")))
        world = workdir / "world"
        started = time.perf_counter()
        generate_world(world, customers=args.customers, seed=args.seed)
        database_url, drop = create_throwaway("sqlite", "", workdir)
        try:
            run_patron(database_url, "import", "world", str(world))
            rules_file = workdir / "rules.json"
            rules_file.write_text(json.dumps(IDENTITY_RULES))
            run_patron(database_url, "identity", "rules", "set", str(rules_file))
            imported = time.perf_counter()
            settings = Settings(environment=Environment.DEVELOPMENT, database_url=database_url)
            engine = make_engine(database_url)
            try:
                sessions = make_session_factory(engine)
                # Nothing else writes during the benchmark: no settle time to wait out.
                while run_once(sessions, settings, settle=timedelta(0)).identity.items_read:
                    pass
            finally:
                engine.dispose()
            resolved = time.perf_counter()
            person, mess = _read_truth(world)
            delivered = _delivered(database_url)
            deterministic_export = workdir / "deterministic.jsonl"
            run_patron(database_url, "profiles", "export", "--out", str(deterministic_export))
            deterministic = score(
                person,
                mess,
                _customers_of(database_url, deterministic_export, set(person)),
                delivered,
            )
            summary = json.loads(run_patron(database_url, "resolve", "--json"))
            final_export = workdir / "customers.jsonl"
            run_patron(database_url, "profiles", "export", "--out", str(final_export))
            final = score(
                person, mess, _customers_of(database_url, final_export, set(person)), delivered
            )
        finally:
            if args.keep is None:
                drop()

    print(
        f"world: {args.customers:,} people, seed {args.seed}, {len(person):,} truth records; "
        f"import {imported - started:.0f}s, worker {resolved - imported:.0f}s, "
        f"resolve {summary['seconds']:.0f}s"
    )
    print(f"patron resolve: {json.dumps(summary)}")
    _print("Deterministic rules only (after the worker)", deterministic)
    _print("Deterministic + probabilistic (after patron resolve)", final)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "customers": args.customers,
                    "seed": args.seed,
                    "resolve": summary,
                    "deterministic": deterministic.as_json(),
                    "final": final.as_json(),
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
