"""``patron resolve`` and ``patron review`` as a user runs them."""

import json
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from tests.e2e.test_cli_basics import patron
from tests.integration.identity.test_matching import (
    import_customer_records,
    world,  # noqa: F401 - the fixture
)


def test_resolve_trains_once_then_queues_and_reviews(
    database_url: str,
    sessions: sessionmaker[Session],
    world: Path,  # noqa: F811
) -> None:
    # given a world's customer records, imported
    import_customer_records(sessions, world)

    # when resolving with the auto-merge band out of reach
    first = patron(database_url, "resolve", "--auto-merge", "1", "--review", "0.5", "--json")

    # then a model is trained and the likely pairs wait for review
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["trained"] is True
    assert summary["merged"] == 0
    assert summary["queued"] > 1
    listed = patron(database_url, "review", "list", "--limit", "2", "--json")
    assert listed.returncode == 0, listed.stderr
    pairs = json.loads(listed.stdout)["pairs"]
    assert len(pairs) == 2

    # when a person accepts one pair and rejects the other
    accepted = patron(database_url, "review", "accept", str(pairs[0]["id"]), "--by", "ana")
    rejected = patron(database_url, "review", "reject", str(pairs[1]["id"]))
    again = patron(database_url, "review", "reject", str(pairs[1]["id"]))
    unknown = patron(database_url, "review", "accept", "999999")

    # then each decision is told, a second one refused, an unknown pair named
    assert accepted.returncode == 0, accepted.stderr
    assert f"pair {pairs[0]['id']} accepted: merge" in accepted.stdout
    assert f"pair {pairs[1]['id']} rejected" in rejected.stdout
    assert again.returncode == 1
    assert "already decided: rejected" in again.stderr
    assert unknown.returncode == 1
    assert "match pair 999999 does not exist" in unknown.stderr

    # when resolving again, in words
    second = patron(database_url, "resolve")

    # then the stored model is reused and the decided pairs are not asked again
    assert second.returncode == 0, second.stderr
    assert "(trained now)" not in second.stdout
    assert "merged 0 " in second.stdout
    assert "queued for review 0," in second.stdout
    assert "already one customer 0," in second.stdout


def test_resolve_refuses_thresholds_that_make_no_bands(database_url: str) -> None:
    result = patron(database_url, "resolve", "--auto-merge", "0.5", "--review", "0.9")

    assert result.returncode == 2
    assert "review (0.9) <= auto-merge (0.5)" in result.stderr
