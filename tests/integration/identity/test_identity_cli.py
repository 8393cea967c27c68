"""``patron profiles explain|unmerge``, ``patron identity rules show|set`` and ``patron stats``."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.conftest import TEST_SECRET
from typer.testing import CliRunner

from patron import identity, ingest
from patron.cli import app as cli
from patron.identity.models import Merge

runner = CliRunner()


def env(database_url: str) -> dict[str, str]:
    return {
        "PATRON_DATABASE_URL": database_url,
        "PATRON_ENVIRONMENT": "test",
        "PATRON_SECRET_KEY": TEST_SECRET,
    }


def given_two_merged_visitors(sessions: sessionmaker[Session]) -> tuple[int, int]:
    """Two cookies joined by an email: one merge. Returns (customer, merge id)."""
    visits = [
        ("c-1", {"email": "ann@shop.co.uk"}),
        ("c-2", {"phone": "07400 123456"}),
        ("c-2", {"email": "ann@shop.co.uk"}),
    ]
    with sessions.begin() as session:
        web = ingest.ensure_source(session, "web", ingest.Channel.WEB).id
        rows = [
            ingest.normalise_message(
                {
                    "type": "identify",
                    "messageId": f"m-{n}",
                    "anonymousId": cookie,
                    "traits": traits,
                },
                source_id=web,
                received_at=datetime.now(UTC),
            )
            for n, (cookie, traits) in enumerate(visits)
        ]
        ingest.append_events(session, rows)
    with sessions.begin() as session:
        identity.resolve_identities(session, default_region="GB", settle=timedelta(0))
    with sessions() as session:
        merge = session.scalars(select(Merge)).one()
        return merge.winner_id, merge.id


def test_explain_shows_the_nodes_identifiers_and_the_merge_with_its_reason(
    database_url: str, sessions: sessionmaker[Session]
) -> None:
    customer, merge_id = given_two_merged_visitors(sessions)

    shown = runner.invoke(cli, ["profiles", "explain", str(customer + 1)], env=env(database_url))
    as_json = runner.invoke(
        cli, ["profiles", "explain", str(customer), "--json"], env=env(database_url)
    )

    assert shown.exit_code == 0, shown.output
    assert f"customer {customer}" in shown.output
    assert f"(profile {customer + 1} was merged into it)" in shown.output
    assert "email" in shown.output
    assert "ann@shop.co.uk" in shown.output
    assert f"#{merge_id} {customer + 1} -> {customer} deterministic" in shown.output
    document = json.loads(as_json.output)
    assert document["customer_id"] == customer
    assert sorted(i["type"] for i in document["identifiers"]) == [
        "anonymous_id",
        "anonymous_id",
        "email",
        "phone",
    ]
    reason = document["merges"][0]["reason"]
    assert {reason["identifier"]["value"], reason["with"]["value"]} == {"c-2", "ann@shop.co.uk"}


def test_unmerge_splits_the_customer_and_explain_shows_the_block(
    database_url: str, sessions: sessionmaker[Session]
) -> None:
    customer, merge_id = given_two_merged_visitors(sessions)

    undone = runner.invoke(
        cli,
        ["profiles", "unmerge", str(merge_id), "--reason", "two people", "--json"],
        env=env(database_url),
    )
    again = runner.invoke(cli, ["profiles", "unmerge", str(merge_id)], env=env(database_url))
    unknown = runner.invoke(cli, ["profiles", "unmerge", "999"], env=env(database_url))
    explained = runner.invoke(
        cli, ["profiles", "explain", str(customer), "--json"], env=env(database_url)
    )

    assert undone.exit_code == 0, undone.output
    assert json.loads(undone.output)["customer_ids"] == [customer, customer + 1]
    assert again.exit_code == 2
    assert "already undone" in again.output
    assert unknown.exit_code == 1
    document = json.loads(explained.output)
    assert [node["id"] for node in document["nodes"]] == [customer]
    assert document["merges"][0]["undone_reason"] == "two people"
    assert document["blocks"][0]["profile_b_id"] == customer + 1


def test_explain_of_an_unknown_profile_fails_cleanly(database_url: str) -> None:
    shown = runner.invoke(cli, ["profiles", "explain", "42"], env=env(database_url))

    assert shown.exit_code == 1
    assert "profile 42 does not exist" in shown.output


def test_rules_set_puts_a_valid_file_in_force_and_refuses_a_bad_one(
    database_url: str, tmp_path: Path
) -> None:
    good = tmp_path / "rules.json"
    good.write_text(json.dumps({"limits": {"email": 2}, "match": {"auto_merge": 0.995}}))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"limits": {"email": 0}, "match": {"auto_merge": 2}}))
    broken = tmp_path / "broken.json"
    broken.write_text("{limits")

    before = runner.invoke(cli, ["identity", "rules", "show"], env=env(database_url))
    saved = runner.invoke(cli, ["identity", "rules", "set", str(good)], env=env(database_url))
    refused = runner.invoke(cli, ["identity", "rules", "set", str(bad)], env=env(database_url))
    unreadable = runner.invoke(
        cli, ["identity", "rules", "set", str(broken)], env=env(database_url)
    )
    shown = runner.invoke(cli, ["identity", "rules", "show", "--json"], env=env(database_url))

    assert "identity rules: defaults" in before.output
    assert saved.exit_code == 0, saved.output
    assert "version 1 in force" in saved.output
    assert refused.exit_code == 2
    assert "limits: Value error, the limit of email must be at least 1" in refused.output
    assert "match.auto_merge: Input should be less than or equal to 1" in refused.output
    assert unreadable.exit_code == 2
    assert "is not JSON" in unreadable.output
    rules = json.loads(shown.output)
    assert rules["limits"]["email"] == 2
    assert rules["match"] == {"auto_merge": 0.995, "review": 0.8}


def test_stats_count_customers_and_profile_nodes(
    database_url: str, sessions: sessionmaker[Session]
) -> None:
    given_two_merged_visitors(sessions)

    shown = runner.invoke(cli, ["stats", "--json"], env=env(database_url))

    counts = json.loads(shown.output)
    assert (counts["customers"], counts["profile_nodes"], counts["events"]) == (1, 2, 3)
