"""Batch probabilistic resolution: score record pairs, merge the sure ones, queue the rest.

The run reads every source customer record, compares the pairs that share a blocking key with
the newest trained model (training one on the first run or when asked), and acts on the pairs
whose records still belong to two customers: above the auto-merge threshold the customers are
merged (method ``probabilistic``, with the probability as the merge's reason and each field's
contribution on the pair, which names the merge); between the thresholds the pair waits in the
review queue, and so does a pair above them whose first names disagree completely (a
household, not one person); below, nothing. A pair decided before (merged, accepted, rejected,
or already waiting) is never asked again, nor is another pair of the same two customers: the
queue asks about two customers once, whether a scored pair or a rule that held them apart put
them there.
"""

from __future__ import annotations

import gc
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Text, bindparam, select
from sqlalchemy import cast as sa_cast
from sqlalchemy.dialects.postgresql import JSONB

from patron.identity.graph import MergeMethod, PairToMerge, merge_pairs
from patron.identity.matching.options import MatchBackend, SparkOptions
from patron.identity.matching.versions import StoredModel, latest_model, store_model
from patron.identity.models import MatchPair, Profile, RecordProfile
from patron.identity.resolve import resolve_customer_records
from patron.identity.rules import current_rules
from patron.storage import (
    bind_value,
    dialect_insert,
    execute_many,
    has_written,
    large_page_cache,
    offline_duckdb,
    utcnow,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pyarrow as pa
    from sqlalchemy import Table
    from sqlalchemy.orm import Session


_MATCH_PAIRS = cast("Table", MatchPair.__table__)
# SQLite's page cache while a run writes its merges and pairs: at a million records the pages
# they change fit, well inside the run's memory budget.
_ACT_PAGE_CACHE_MB = 512


class ThresholdError(ValueError):
    """The thresholds asked for do not make three bands."""


@dataclass(frozen=True)
class ResolveOptions:
    """How to run: retrain or reuse, the engine, and thresholds overriding the rules."""

    train: bool = False
    backend: MatchBackend = MatchBackend.DUCKDB
    auto_merge_threshold: float | None = None
    review_threshold: float | None = None
    spark: SparkOptions | None = None
    # The region national phone numbers are read in, for sources without their own.
    default_region: str = "GB"


@dataclass(frozen=True)
class ResolveSummary:
    """What a run did."""

    model_version: str
    trained: bool
    backend: str
    records: int
    # Records the deterministic graph had not reached yet, resolved by this run first.
    records_resolved: int
    pairs_scored: int
    merged: int
    queued: int
    already_one_customer: int
    decided_before: int
    blocked: int
    unresolved: int
    auto_merge_threshold: float
    review_threshold: float
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "trained": self.trained,
            "backend": self.backend,
            "records": self.records,
            "records_resolved": self.records_resolved,
            "pairs_scored": self.pairs_scored,
            "merged": self.merged,
            "queued": self.queued,
            "already_one_customer": self.already_one_customer,
            "decided_before": self.decided_before,
            "blocked": self.blocked,
            "unresolved": self.unresolved,
            "auto_merge_threshold": self.auto_merge_threshold,
            "review_threshold": self.review_threshold,
            "seconds": round(self.seconds, 3),
        }


def _thresholds(session: Session, options: ResolveOptions) -> tuple[float, float]:
    match = current_rules(session).match
    upper = options.auto_merge_threshold
    lower = options.review_threshold
    upper = match.auto_merge if upper is None else upper
    lower = match.review if lower is None else lower
    if not (0.0 < lower <= upper <= 1.0):
        raise ThresholdError(
            f"thresholds must satisfy 0 < review ({lower}) <= auto-merge ({upper}) <= 1"
        )
    return upper, lower


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused: reading the graph and acting on the scored pairs make
    millions of dicts, tuples and lists, none in a cycle, and the collector would walk them
    again and again as they pile up (reading the graph of a million records took twice as
    long with it)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Roots:
    """The customer (root) of each record's node, kept current as this run merges."""

    def __init__(self, session: Session) -> None:
        # Through the connection, not the ORM (the caller flushed): a million plain rows
        # cost less.
        rows = (
            session.connection()
            .execute(
                select(
                    RecordProfile.source_record_id, RecordProfile.profile_id, Profile.canonical_id
                ).join(Profile, Profile.id == RecordProfile.profile_id)
            )
            .all()
        )
        self.node: dict[int, int] = {}
        self._parent: dict[int, int] = {}
        for record_id, node, root in rows:
            self.node[record_id] = node
            self._parent.setdefault(root, root)
        # The customer of each record as read, before this run merged anything.
        self.read: dict[int, int] = {record_id: root for record_id, _, root in rows}

    def customer(self, record_id: int) -> int | None:
        root = self.read.get(record_id)
        return None if root is None else self._find(root)

    def _find(self, root: int) -> int:
        parent = self._parent.setdefault(root, root)
        while parent != root:
            grand = self._parent.setdefault(parent, parent)
            self._parent[root] = grand
            root, parent = parent, grand
        return root

    def join(self, winner: int, loser: int) -> None:
        self._parent[self._find(loser)] = self._find(winner)


# Fields on which two records must not fully disagree to be merged without a person: members
# of one household share a surname, an address and often an email, which together outweigh
# any single difference; only their first names tell them apart.
MUST_NOT_DISAGREE = ("first_name",)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _decisions_sql(columns: set[str], labels: dict[str, dict[int, str]]) -> str:
    """A DuckDB query over the candidate pairs (table ``candidates``, in the order to act on
    them, numbered by ``position``): each pair's records (lower id first), probability, match
    weight, whether the names that must not disagree do, and each compared field's level and
    contribution to the match weight as a JSON object.

    A field's Bayes factor includes its term-frequency adjustment; its weight is the factor's
    log2 (none when the factor is 0). A field whose level or factor is missing is left out.
    """
    entries = []
    for name, by_gamma in labels.items():
        gamma, factor, adjustment = (f"{prefix}_{name}" for prefix in ("gamma", "bf", "bf_tf_adj"))
        if gamma not in columns or factor not in columns:
            continue
        level = f"CAST({_sql_name(gamma)} AS INTEGER)"
        # Each level's label as a JSON string, written once here.
        cases = " ".join(
            f"WHEN {value} THEN {_sql_text(json.dumps(label))}"
            for value, label in sorted(by_gamma.items())
        )
        bayes = f"CAST({_sql_name(factor)} AS DOUBLE)"
        if adjustment in columns:
            bayes = f"({bayes} * coalesce(CAST({_sql_name(adjustment)} AS DOUBLE), 1))"
        opening = _sql_text(json.dumps(name) + ':{"level":')
        factor_key, weight_key = _sql_text(',"bayes_factor":'), _sql_text(',"weight":')
        entries.append(
            f"CASE WHEN {_sql_name(gamma)} IS NULL OR {_sql_name(factor)} IS NULL THEN NULL "
            f"ELSE {opening} || CASE {level} {cases} ELSE to_json(CAST({level} AS VARCHAR)) END "
            f"|| {factor_key} || to_json(round({bayes}, 6)) || {weight_key} "
            f"|| CASE WHEN {bayes} > 0 THEN to_json(round(log2({bayes}), 4)) ELSE 'null' END "
            "|| '}' END"
        )
    # The object written as text, member by member (a field left out is NULL, which
    # concat_ws skips): building a map and serialising it took twice as long.
    contributions = (
        "'{' || concat_ws(',', " + ", ".join(entries) + ") || '}'" if entries else "'{}'"
    )
    # Gamma 0 is a comparison's last (else) level: nothing alike, not even a nickname.
    disagree = " OR ".join(
        f"coalesce({_sql_name('gamma_' + name)} = 0, false)"
        for name in MUST_NOT_DISAGREE
        if f"gamma_{name}" in columns
    )
    # Every name is quoted and every label escaped: the text comes from the model, not a user.
    return (
        "SELECT least(unique_id_l, unique_id_r) AS record_a_id, "  # noqa: S608
        "greatest(unique_id_l, unique_id_r) AS record_b_id, "
        "CAST(match_probability AS DOUBLE) AS probability, "
        "CAST(match_weight AS DOUBLE) AS match_weight, "
        f"{disagree or 'false'} AS names_disagree, "
        f"{contributions} AS contributions "
        "FROM candidates ORDER BY position"
    )


def _decisions(candidates: pa.Table, labels: dict[str, dict[int, str]]) -> pa.Table:
    """The candidate pairs as the rows a decision reads, built in DuckDB (see
    ``_decisions_sql``): built pair by pair in Python, the contributions took about a tenth
    of a resolve run."""
    import pyarrow as pa  # noqa: PLC0415

    numbered = candidates.append_column("position", pa.array(range(candidates.num_rows)))
    connection = offline_duckdb()
    try:
        connection.register("candidates", numbered)
        query = _decisions_sql(set(candidates.column_names), labels)
        return connection.sql(query).to_arrow_table()
    finally:
        connection.close()


def _decided_pairs(session: Session) -> set[tuple[int, int]]:
    rows = session.connection().execute(select(MatchPair.record_a_id, MatchPair.record_b_id))
    return {(a, b) for a, b in rows}


def _between(roots: _Roots, a: int, b: int) -> tuple[int, int] | None:
    """The two customers of records ``a`` and ``b``, smaller id first (None when one of the
    records has no customer yet)."""
    first, second = roots.customer(a), roots.customer(b)
    if first is None or second is None:
        return None
    return (first, second) if first <= second else (second, first)


def _resolve_deterministically(session: Session, default_region: str) -> int:
    # Records imported since the worker last ran (or with no worker at all: import, then
    # resolve) get their nodes and shared-identifier merges first, so that every record can
    # be acted on and pairs the deterministic rules join are not asked about.
    resolved = 0
    while True:
        step = resolve_customer_records(session, default_region=default_region)
        if step.records == 0:
            return resolved
        resolved += step.records


def train_match_model(
    session: Session,
    backend: MatchBackend = MatchBackend.DUCKDB,
    *,
    spark: SparkOptions | None = None,
    default_region: str = "GB",
) -> StoredModel | None:
    """Train a new model version on all source customer records and store it (in the
    caller's transaction); None when there are fewer than two records to learn from.
    ``default_region`` reads the national phone numbers of sources without a region."""
    from patron.identity.matching.backends import open_match_run  # noqa: PLC0415
    from patron.identity.matching.features import record_features  # noqa: PLC0415
    from patron.identity.matching.model import match_settings, train  # noqa: PLC0415

    features = record_features(session, default_region=default_region)
    if features.num_rows < 2:
        return None
    with open_match_run(features, match_settings(), backend, spark=spark) as run:
        model, stats = train(run.linker, features, backend=str(backend))
    return store_model(session, model, stats)


def resolve_records(session: Session, options: ResolveOptions | None = None) -> ResolveSummary:
    """Run probabilistic resolution over all source customer records, in the caller's
    transaction (the caller commits).

    Records the deterministic graph has not reached yet are resolved by it first. Raises
    ``ThresholdError`` when the thresholds do not make three bands.
    """
    from patron.identity.matching.features import start_record_features  # noqa: PLC0415

    options = options or ResolveOptions()
    started = time.perf_counter()
    upper, lower = _thresholds(session, options)
    # Records the caller wrote in this transaction are seen by it alone: the features are then
    # read here. The deterministic pass writes the graph, never a record.
    records_committed = not has_written(session)
    records_resolved = _resolve_deterministically(session, options.default_region)
    pending = start_record_features(
        session, default_region=options.default_region, records_committed=records_committed
    )
    # While the features are prepared (in a child process on SQLite), this process reads the
    # graph the run acts on, and imports Splink, DuckDB and Arrow: they take a moment to
    # import, and only a resolve run pays for them, not every process that imports the
    # identity package.
    try:
        with _no_cycle_collection():
            graph = _Graph.read(session)
        from patron.identity.matching.backends import open_match_run  # noqa: PLC0415
        from patron.identity.matching.model import (  # noqa: PLC0415
            match_settings,
            model_for_dialect,
            train,
        )
    except BaseException:
        pending.cancel()
        raise
    features = pending.result()
    stored = None if options.train else latest_model(session)
    trained = stored is None
    settings: Any = (
        match_settings() if stored is None else model_for_dialect(stored.model, options.backend)
    )
    predictions: Any = None
    if features.num_rows >= 2:
        with open_match_run(features, settings, options.backend, spark=options.spark) as run:
            if stored is None:
                model, stats = train(run.linker, features, backend=str(options.backend))
                stored = store_model(session, model, stats)
            predictions = run.predictions(lower)
    if stored is None:
        # Fewer than two records: nothing to learn from, nothing to compare.
        return ResolveSummary(
            model_version="",
            trained=False,
            backend=str(options.backend),
            records=features.num_rows,
            records_resolved=records_resolved,
            pairs_scored=0,
            merged=0,
            queued=0,
            already_one_customer=0,
            decided_before=0,
            blocked=0,
            unresolved=0,
            auto_merge_threshold=upper,
            review_threshold=lower,
            seconds=time.perf_counter() - started,
        )
    # The merges and pairs rewrite rows all over the graph's and the queue's indexes.
    with _no_cycle_collection(), large_page_cache(session, _ACT_PAGE_CACHE_MB):
        tally = _act(session, graph, predictions, stored, upper)
    return ResolveSummary(
        model_version=stored.version,
        trained=trained,
        backend=str(options.backend),
        records=features.num_rows,
        records_resolved=records_resolved,
        pairs_scored=0 if predictions is None else predictions.num_rows,
        auto_merge_threshold=upper,
        review_threshold=lower,
        seconds=time.perf_counter() - started,
        **tally,
    )


@dataclass
class _Graph:
    """What a run reads of the graph before acting: each record's customer, the pairs decided
    before, and the pairs of customers the queue has asked about (waiting or decided), as
    they are now; grown as the run queues, so that it asks about two customers once, by their
    surest pair."""

    roots: _Roots
    decided: set[tuple[int, int]]
    asked: set[tuple[int, int] | None]

    @classmethod
    def read(cls, session: Session) -> _Graph:
        # The reads go through the connection, past the ORM's autoflush.
        session.flush()
        roots = _Roots(session)
        decided = _decided_pairs(session)
        return cls(roots, decided, {_between(roots, a, b) for a, b in decided})


def _act(
    session: Session, graph: _Graph, predictions: Any, model: StoredModel, upper: float
) -> dict[str, int]:
    tally = {
        "merged": 0,
        "queued": 0,
        "already_one_customer": 0,
        "decided_before": 0,
        "blocked": 0,
        "unresolved": 0,
    }
    if predictions is None or predictions.num_rows == 0:
        return tally
    import pyarrow.compute as pc  # noqa: PLC0415 - as Splink: only a resolve run imports it

    roots, decided, asked = graph.roots, graph.decided, graph.asked
    left = predictions.column("unique_id_l").to_pylist()
    right = predictions.column("unique_id_r").to_pylist()
    # The surest pairs first: when a chain of pairs joins several customers, the strongest
    # links are made (and recorded as the reason) before the weaker ones. Arrow's sort is
    # stable: equally sure pairs keep the order Splink gave them.
    order = pc.array_sort_indices(predictions.column("match_probability"), order="descending")
    candidates: list[int] = []
    # Nothing is merged yet: each record's customer is the root it was read with (looked up
    # directly, as this walks every scored pair).
    customer_of = roots.read
    for index in order.to_pylist():
        a, b = left[index], right[index]
        if a > b:
            a, b = b, a
        first, second = customer_of.get(a), customer_of.get(b)
        if (a, b) in decided:
            tally["decided_before"] += 1
        elif first is None or second is None:
            tally["unresolved"] += 1
        elif first == second:
            tally["already_one_customer"] += 1
        elif ((first, second) if first < second else (second, first)) in asked:
            tally["decided_before"] += 1
        else:
            candidates.append(index)
    if not candidates:
        return tally
    from patron.identity.matching.model import level_labels  # noqa: PLC0415

    labels = level_labels(model.model)
    # Only the columns a decision and its reason read: the compared values and Splink's
    # intermediate columns would cost a Python object each.
    wanted = ["unique_id_l", "unique_id_r", "match_probability", "match_weight"] + [
        f"{prefix}_{name}" for name in labels for prefix in ("gamma", "bf", "bf_tf_adj")
    ]
    present = [name for name in wanted if name in predictions.column_names]
    decisions = _decisions(predictions.select(present).take(candidates), labels)
    # The rows go to the driver as they are: the time converted once, as SQLAlchemy would.
    now = bind_value(session.connection(), _MATCH_PAIRS.c.created_at, utcnow())
    pairs: list[dict[str, Any]] = []
    to_merge: list[PairToMerge] = []
    merge_of: dict[int, int] = {}  # position in pairs -> position in to_merge
    for a, b, probability, weight, disagree, contributions in zip(
        *(decisions.column(name).to_pylist() for name in decisions.column_names), strict=True
    ):
        # The contributions stay JSON text on their way to the pair's row.
        pair: dict[str, Any] = {
            "status": "review",
            "method": "probabilistic",
            "merge_id": None,
            "decided_at": None,
            "record_a_id": a,
            "record_b_id": b,
            "model_id": model.id,
            "probability": probability,
            "match_weight": weight,
            "contributions_json": contributions,
            "created_at": now,
        }
        if probability >= upper and not disagree:
            merge_of[len(pairs)] = len(to_merge)
            # The fields' contributions stay on the pair, which names the merge: a history
            # of merges reads them from there (``identity.merge_history``) rather than a run
            # writing them twice.
            reason = {
                "probability": probability,
                "match_weight": weight,
                "model": model.version,
                "records": [a, b],
            }
            to_merge.append(PairToMerge(roots.node[a], roots.node[b], reason))
        pairs.append(pair)
    # The auto-merge band in one set-based merge; the outcomes are those of merging the pairs
    # one by one, surest first, so the walk below sees the customers as each pair found them.
    outcomes = merge_pairs(session, to_merge, method=MergeMethod.PROBABILISTIC)
    decided_now: list[dict[str, Any]] = []
    for position, pair in enumerate(pairs):
        if roots.customer(pair["record_a_id"]) == roots.customer(pair["record_b_id"]):
            # Joined by a stronger pair earlier in this run.
            tally["already_one_customer"] += 1
            continue
        if position in merge_of:
            outcome = outcomes[merge_of[position]]
            if outcome.status == "blocked":
                tally["blocked"] += 1
                continue
            if outcome.loser_id is not None:
                roots.join(outcome.winner_id, outcome.loser_id)
            if outcome.status == "same":
                tally["already_one_customer"] += 1
                continue
            pair.update(status="merged", merge_id=outcome.merge_id, decided_at=now)
            tally["merged"] += 1
        else:
            between = _between(roots, pair["record_a_id"], pair["record_b_id"])
            if between in asked:
                tally["decided_before"] += 1
                continue
            asked.add(between)
            tally["queued"] += 1
        decided_now.append(pair)
    # Every row carries the same keys. A pair the worker's rules queued meanwhile (in a
    # transaction that committed first) is left as it is.
    statement = (
        dialect_insert(session, _MATCH_PAIRS)
        .values(contributions=_json_text(session, "contributions_json"))
        .on_conflict_do_nothing(index_elements=["record_a_id", "record_b_id"])
    )
    execute_many(session.connection(), statement, decided_now)
    return tally


def _json_text(session: Session, name: str) -> Any:
    """A bound parameter taking a JSON document already serialised (text), for a JSON column:
    SQLite stores JSON as text; PostgreSQL's ``jsonb`` parses it from text."""
    parameter = bindparam(name, type_=Text)
    if session.get_bind().dialect.name == "postgresql":
        return sa_cast(parameter, JSONB)
    return parameter
