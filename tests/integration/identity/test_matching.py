"""Probabilistic resolution on a small synthetic world: bands, memory of decisions, review."""

from __future__ import annotations

import csv
import itertools
import json
import math
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from patron.identity import (
    MatchBackend,
    PairDecidedError,
    ResolveOptions,
    ThresholdError,
    accept_match_pair,
    canonical_ids,
    explain_profile,
    list_match_pairs,
    merge_history,
    reject_match_pair,
    resolve_records,
)
from patron.identity.matching.features import record_features, start_record_features
from patron.identity.matching.versions import latest_model
from patron.identity.models import MatchPair, Merge, MergeBlock, Profile, RecordProfile
from patron.ingest import Channel, create_source, ensure_source, import_world
from patron.ingest.models import Source, SourceRecord
from patron.storage import ChildCall, has_written
from patron.world import generate_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small world's customer files, where only the e-shop keeps emails, phones and cards:
    the other sources' records share no identifier, so only the match model can link them."""
    directory = tmp_path_factory.mktemp("world")
    generate_world(directory, customers=250, seed=11, workers=1)
    document = json.loads((directory / "manifest.json").read_text())
    document["files"] = [f for f in document["files"] if f["kind"] == "customers"]
    (directory / "manifest.json").write_text(json.dumps(document))
    for entry in document["files"]:
        if entry["source"] == "eshop":
            continue
        path = directory / entry["path"]
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            fields = list(reader.fieldnames or [])
            rows = [{**row, "email": "", "phone": "", "loyalty_card": ""} for row in reader]
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    return directory


def import_customer_records(sessions: sessionmaker[Session], world: Path) -> None:
    """Import a world's customer files (no worker has run: resolve starts from nothing)."""
    import_world(sessions, world)


def _truth(sessions: sessionmaker[Session], world: Path) -> dict[int, str]:
    with (world / "truth.csv").open() as handle:
        person = {
            (row["source"], row["record_id"]): row["person_id"] for row in csv.DictReader(handle)
        }
    with sessions() as session:
        rows = session.execute(
            select(SourceRecord.id, Source.name, SourceRecord.record_id).join(
                Source, Source.id == SourceRecord.source_id
            )
        ).all()
    return {record: person[(source, record_id)] for record, source, record_id in rows}


def _customers(session: Session) -> dict[int, int]:
    rows = session.execute(select(RecordProfile.source_record_id, RecordProfile.profile_id)).all()
    roots = canonical_ids(session, [node for _, node in rows])
    return {record: roots[node] for record, node in rows}


def test_resolve_merges_sure_pairs_and_remembers_them(
    sessions: sessionmaker[Session], world: Path
) -> None:
    # given a world's customer records, imported and not resolved yet
    import_customer_records(sessions, world)
    truth = _truth(sessions, world)

    # when resolving for the first time
    with sessions() as session, session.begin():
        first = resolve_records(session)

    # then a model is trained and stored, and sure pairs are merged with their reasons
    assert first.trained
    assert first.model_version.startswith("v1-")
    assert first.records == len(truth)
    assert first.merged > 50
    with sessions() as session:
        customers = _customers(session)
        winner = session.scalars(select(Merge.winner_id).order_by(Merge.id).limit(1)).one()
        merge = explain_profile(session, winner).merges[0]
    assert merge.method == "probabilistic"
    assert merge.reason["probability"] >= 0.99
    assert merge.reason["model"] == first.model_version
    assert {"first_name", "last_name", "email", "address"} <= set(merge.reason["contributions"])
    assert "level" in merge.reason["contributions"]["last_name"]
    # and what was merged is nearly always the same person
    merged_pairs = [
        (a, b)
        for a, b in itertools.combinations(sorted(customers), 2)
        if customers[a] == customers[b]
    ]
    wrong = [pair for pair in merged_pairs if truth[pair[0]] != truth[pair[1]]]
    assert len(wrong) <= len(merged_pairs) * 0.01

    # when resolving again
    with sessions() as session, session.begin():
        second = resolve_records(session)

    # then the stored model is reused and nothing is merged or asked twice
    assert not second.trained
    assert second.model_version == first.model_version
    assert second.merged == 0
    assert second.queued == 0


def test_each_pair_explains_its_match_weight_field_by_field(
    sessions: sessionmaker[Session], world: Path
) -> None:
    # given a world's customer records, resolved with a review band wide enough to keep pairs
    import_customer_records(sessions, world)
    with sessions() as session, session.begin():
        summary = resolve_records(session, ResolveOptions(review_threshold=0.5))
    assert summary.merged > 0
    assert summary.queued > 0

    with sessions() as session:
        pairs = session.scalars(select(MatchPair)).all()
        history = merge_history(session, select(Profile.id))
        reasons = {merge.id: merge.reason for merge in history}
        model = latest_model(session)
    assert model is not None
    prior = model.model["probability_two_random_records_match"]

    # then every pair lists each compared field with its level and its weight, the log2 of
    # its Bayes factor, and the weights add up to the pair's match weight
    assert len(pairs) == summary.merged + summary.queued
    for pair in pairs:
        assert pair.record_a_id < pair.record_b_id
        assert set(pair.contributions) == {
            "first_name", "last_name", "birth_date", "email", "phone", "loyalty_card", "address",
        }  # fmt: skip
        total = math.log2(prior / (1 - prior))
        for field in pair.contributions.values():
            assert isinstance(field["level"], str)
            assert field["level"]
            assert field["weight"] == round(math.log2(field["bayes_factor"]), 4)
            total += field["weight"]
        assert total == pytest.approx(pair.match_weight, abs=0.01)
        # and a merged pair's merge gives the same reason
        if pair.status == "merged":
            reason = reasons[pair.merge_id]
            assert reason["records"] == [pair.record_a_id, pair.record_b_id]
            assert reason["probability"] == pair.probability
            assert reason["contributions"] == pair.contributions
    levels = {pair.contributions["email"]["level"] for pair in pairs}
    assert "missing" in levels


def test_review_queue_accept_and_reject(sessions: sessionmaker[Session], world: Path) -> None:
    # given a run whose auto-merge band is out of reach, so every likely pair waits for review
    import_customer_records(sessions, world)
    options = ResolveOptions(auto_merge_threshold=1.0, review_threshold=0.5)
    with sessions() as session, session.begin():
        summary = resolve_records(session, options)
    assert summary.merged == 0
    assert summary.queued > 2
    with sessions() as session:
        queue = list_match_pairs(session, limit=3)
    assert [pair.status for pair in queue] == ["review"] * 3
    assert queue[0].probability >= queue[1].probability

    # when one pair is accepted and another rejected
    with sessions() as session, session.begin():
        accepted = accept_match_pair(session, queue[0].id, decided_by="ana@example.com")
        rejected = reject_match_pair(session, queue[1].id, decided_by="ana@example.com")

    # then the accepted pair's customers are merged by hand and the rejected ones blocked
    assert accepted.merge_status == "merged"
    with sessions() as session:
        merge = session.get(Merge, accepted.merge_id)
        assert merge is not None
        assert merge.method == "manual"
        assert merge.reason["match_pair"] == queue[0].id
        customers = _customers(session)
        assert customers[queue[0].record_a.id] == customers[queue[0].record_b.id]
        assert customers[queue[1].record_a.id] != customers[queue[1].record_b.id]
        assert session.scalar(select(MergeBlock.id)) is not None
    assert rejected.status == "rejected"
    # and a decided pair cannot be decided again
    with sessions() as session, session.begin(), pytest.raises(PairDecidedError):
        accept_match_pair(session, queue[1].id, decided_by="bo@example.com")

    # when resolving again with the auto-merge band open
    with sessions() as session, session.begin():
        again = resolve_records(
            session, ResolveOptions(auto_merge_threshold=0.5, review_threshold=0.5)
        )

    # then the rejected pair stays apart: it is never asked or merged again
    assert again.decided_before >= summary.queued
    with sessions() as session:
        customers = _customers(session)
    assert customers[queue[1].record_a.id] != customers[queue[1].record_b.id]


def test_thresholds_that_make_no_bands_are_refused(sessions: sessionmaker[Session]) -> None:
    # given thresholds the wrong way round
    options = ResolveOptions(auto_merge_threshold=0.5, review_threshold=0.9)

    # when resolving, then the run is refused before any work
    with sessions() as session, pytest.raises(ThresholdError, match="review"):
        resolve_records(session, options)


def test_unknown_pair_is_a_lookup_error(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, pytest.raises(LookupError, match="match pair 99"):
        reject_match_pair(session, 99, decided_by="ana@example.com")


def test_resolve_without_records_does_nothing(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        summary = resolve_records(session, ResolveOptions(backend=MatchBackend.DUCKDB))
    assert summary.records == 0
    assert summary.merged == 0
    assert summary.model_version == ""


def test_features_read_national_phones_in_the_source_region_or_the_default(
    sessions: sessionmaker[Session],
) -> None:
    # Given a national phone number from a source without a region and one from a German source
    with sessions.begin() as session:
        plain = ensure_source(session, "crm", Channel.CRM)
        german = create_source(session, "shop-de", Channel.ESHOP, default_region="de").source
        session.add_all(
            [
                SourceRecord(
                    source_id=plain.id, record_id="a", phone="07400 123456", content_hash="a"
                ),
                SourceRecord(
                    source_id=german.id, record_id="b", phone="030 123456", content_hash="b"
                ),
            ]
        )

    # When the features are read with and without a default region
    with sessions() as session:
        with_default = record_features(session, default_region="GB").column("phone").to_pylist()
        without = record_features(session).column("phone").to_pylist()

    # Then the region-less source's number is read in the default region, the other in its own
    assert with_default == ["+447400123456", "+4930123456"]
    assert without == [None, "+4930123456"]


def test_features_prepared_beside_the_caller_are_the_ones_read_here(
    database_url: str, sessions: sessionmaker[Session], world: Path
) -> None:
    # given a world's records, resolved by the graph, and records no clean-up of SQL can
    # take alone: accents, a phone from a German source, an invalid email, a placeholder
    import_customer_records(sessions, world)
    with sessions() as session, session.begin():
        resolve_records(session)
    with sessions.begin() as session:
        plain = ensure_source(session, "crm", Channel.CRM)
        german = create_source(session, "shop-de", Channel.ESHOP, default_region="de").source
        session.add_all(
            [
                SourceRecord(
                    source_id=german.id, record_id="de-1", first_name="Zoë", last_name="Müller",
                    phone="030 123456", email="ZOE@Example.DE", street="Straße 5, Köln",
                    postcode="50667", birth_date=date(1990, 2, 3), content_hash="de-1",
                ),
                SourceRecord(
                    source_id=plain.id, record_id="x", first_name="  ", email="not an email",
                    phone="+44 (0) 7400 123456", loyalty_card="1234-5678", content_hash="x",
                ),
                SourceRecord(
                    source_id=plain.id, record_id="order-only", is_placeholder=True,
                    content_hash="y",
                ),
            ]
        )  # fmt: skip

    # when the features are read here and prepared beside the caller
    with sessions() as session:
        here = record_features(session, default_region="GB")
        pending = start_record_features(session, default_region="GB", records_committed=True)
        beside = pending.result()

    # then both are the same table; a SQLite store's was read by another process
    assert beside.equals(here)
    assert here.num_rows > 250
    assert isinstance(pending, ChildCall) == database_url.startswith("sqlite")


def test_records_written_in_the_resolving_transaction_are_resolved(
    sessions: sessionmaker[Session], world: Path
) -> None:
    # given a world's records imported and resolved once
    import_customer_records(sessions, world)
    with sessions() as session, session.begin():
        first = resolve_records(session)

    # when a record is added in the transaction that resolves again
    with sessions() as session, session.begin():
        source = ensure_source(session, "late", Channel.CRM)
        session.add(
            SourceRecord(
                source_id=source.id, record_id="late-1", first_name="Late", last_name="Comer",
                content_hash="late-1",
            )
        )  # fmt: skip
        assert has_written(session)
        second = resolve_records(session)

    # then the run saw it, though nothing of it was committed when the run began
    assert second.records == first.records + 1


_PERSON_FIELDS = (
    "first_name", "last_name", "email", "phone", "loyalty_card", "birth_date", "street", "city",
    "postcode", "region", "country", "content_hash",
)  # fmt: skip


def test_two_customers_are_asked_about_once(sessions: sessionmaker[Session], world: Path) -> None:
    # given a run that queued a pair of records of two customers
    import_customer_records(sessions, world)
    options = ResolveOptions(auto_merge_threshold=1.0, review_threshold=0.5)
    with sessions() as session, session.begin():
        resolve_records(session, options)
    with sessions() as session:
        asked = list_match_pairs(session, limit=1)[0]
        second = session.get_one(SourceRecord, asked.record_b.id)
        fields = {name: getattr(second, name) for name in _PERSON_FIELDS}
        node = session.get_one(RecordProfile, second.id).profile_id
    # and a twin of the second record, from another source, in the second customer
    with sessions() as session, session.begin():
        other = create_source(session, name="store-tablet", channel=Channel.POS).source.id
        twin = SourceRecord(source_id=other, record_id="T-1", **fields)
        session.add(twin)
        session.flush()
        session.add(
            RecordProfile(source_record_id=twin.id, profile_id=node, content_hash=twin.content_hash)
        )

    # when resolving again, where the twin scores against the first customer as the pair did
    with sessions() as session, session.begin():
        resolve_records(session, options)

    # then the two customers are still asked about once, and so is every pair of customers
    with sessions() as session:
        customers = _customers(session)
        assert customers[twin.id] == customers[second.id]
        waiting = [
            frozenset((customers[pair.record_a.id], customers[pair.record_b.id]))
            for pair in list_match_pairs(session, status="review", limit=500)
        ]
    assert waiting.count(frozenset((customers[asked.record_a.id], customers[second.id]))) == 1
    assert len(set(waiting)) == len(waiting)
