"""Deterministic resolution of a whole synthetic world, judged against its ground truth."""

import csv
import json
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from patron import ingest, world
from patron.identity.models import Identifier, Profile
from patron.ingest.models import Source
from patron.settings import Settings
from patron.worker import run_once

PEOPLE = 400


@pytest.fixture(scope="module")
def world_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("world")
    world.generate_world(directory, customers=PEOPLE, seed=11, workers=1)
    return directory


def customers_of_records(session: Session) -> dict[tuple[str, str], int]:
    """(source name, record id or user id) → customer, as the truth file names them."""
    sources = dict(session.execute(select(Source.id, Source.name)).all())
    rows = session.execute(
        select(Identifier.scope, Identifier.value, Profile.canonical_id)
        .join(Profile, Profile.id == Identifier.profile_id)
        .where(Identifier.type.in_(["record", "user_id"]))
    ).all()
    return {(sources[scope], value): customer for scope, value, customer in rows}


def test_a_world_resolves_without_chaining_people_or_tablet_shoppers_together(
    world_directory: Path, sessions: sessionmaker[Session], settings: Settings
) -> None:
    ingest.import_world(sessions, world_directory)

    done = run_once(sessions, settings, settle=timedelta(0))

    with sessions() as session:
        customer_of = customers_of_records(session)
    with (world_directory / "truth.csv").open() as truth_file:
        truth = list(csv.DictReader(truth_file))
    members: dict[int, list[str]] = defaultdict(list)
    for row in truth:
        customer = customer_of.get((row["source"], row["record_id"]))
        if customer is not None:
            members[customer].append(row["person_id"])
    same = together = 0
    for people in members.values():
        together += len(people) * (len(people) - 1) // 2
        same += sum(n * (n - 1) // 2 for n in Counter(people).values())
    all_pairs = sum(n * (n - 1) // 2 for n in Counter(r["person_id"] for r in truth).values())
    # Family emails shared across channels are what deterministic rules cannot tell apart; the
    # rest of the recall is probabilistic matching's work.
    assert same / together >= 0.98
    assert same / all_pairs >= 0.75
    assert done.identity.events > 0
    assert done.identity.records > 0
    assert done.identity.merges > 0
    # Shoppers who logged in on a store's tablet (one device, one cookie) stay apart.
    tablet_users: dict[str, set[str]] = defaultdict(set)
    with (world_directory / "app_events.jsonl").open() as events:
        for line in events:
            message = json.loads(line)
            device = message.get("context", {}).get("device", {})
            if str(device.get("name", "")).startswith("store-tablet") and "userId" in message:
                tablet_users[device["id"]].add(message["userId"])
    with (world_directory / "truth.csv").open() as truth_file:
        person_of = {
            row["record_id"]: row["person_id"]
            for row in csv.DictReader(truth_file)
            if row["source"] == "mobile-app"
        }

    assert tablet_users, "the world has shoppers on store tablets"
    for users in tablet_users.values():
        people = {person_of[user] for user in users}
        customers = {customer_of[("mobile-app", user)] for user in users}
        assert len(customers) == len(people)
