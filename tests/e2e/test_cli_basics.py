"""The CLI as a user runs it: a subprocess with PATRON_* settings in its environment."""

import json
import os
import subprocess
import sys

import pytest

from patron import migrations
from tests.conftest import TEST_SECRET


def patron(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATRON_DATABASE_URL": database_url,
        "PATRON_ENVIRONMENT": "test",
        "PATRON_SECRET_KEY": TEST_SECRET,
    }
    return subprocess.run(
        [sys.executable, "-m", "patron", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


def test_sources_create_json_prints_the_key_once(database_url: str) -> None:
    created = patron(database_url, "sources", "create", "eshop", "--channel", "eshop", "--json")

    assert created.returncode == 0, created.stderr
    body = json.loads(created.stdout)
    assert set(body) == {"id", "name", "channel", "write_key"}
    assert body["name"] == "eshop"
    listed = patron(database_url, "sources", "list", "--json")
    assert body["write_key"] not in listed.stdout
    assert json.loads(listed.stdout)[0]["name"] == "eshop"


def test_duplicate_source_is_refused_with_a_message(database_url: str) -> None:
    patron(database_url, "sources", "create", "pos", "--channel", "pos")

    again = patron(database_url, "sources", "create", "pos", "--channel", "pos")

    assert again.returncode == 1
    assert "exists already" in again.stderr


def test_unknown_channel_is_refused(database_url: str) -> None:
    result = patron(database_url, "sources", "create", "x", "--channel", "fax")

    assert result.returncode == 2
    assert "fax" in result.stderr


def test_stats_json_counts_what_is_stored(database_url: str) -> None:
    patron(database_url, "sources", "create", "pos", "--channel", "pos")

    result = patron(database_url, "stats", "--json")

    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout)
    assert counts["sources"] == 1
    assert counts["events"] == 0
    assert counts["orders"] == 0


def test_db_upgrade_on_a_new_sqlite_file(tmp_path: pytest.TempPathFactory) -> None:
    url = f"sqlite:///{tmp_path}/fresh/patron.db"

    upgraded = patron(url, "db", "upgrade")
    counted = patron(url, "stats", "--json")

    assert upgraded.returncode == 0, upgraded.stderr
    assert json.loads(counted.stdout)["sources"] == 0


def test_production_refuses_the_default_secret(tmp_path: pytest.TempPathFactory) -> None:
    env = {**os.environ, "PATRON_ENVIRONMENT": "production"}
    env.pop("PATRON_SECRET_KEY", None)

    result = subprocess.run(
        [sys.executable, "-m", "patron", "stats"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )

    assert result.returncode == 2
    assert "PATRON_SECRET_KEY" in result.stderr


def test_demo_loads_a_world_and_hands_out_write_keys(
    database_url: str, tmp_path: pytest.TempPathFactory
) -> None:
    env = {
        **os.environ,
        "PATRON_DATABASE_URL": database_url,
        "PATRON_ENVIRONMENT": "test",
        "PATRON_SECRET_KEY": TEST_SECRET,
    }

    result = subprocess.run(
        [sys.executable, "-m", "patron", "demo", "--customers", "300", "--no-serve"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr
    imported = [line for line in result.stdout.splitlines() if " read, " in line]
    assert imported
    assert all(line.rstrip().split(" rejected")[0].endswith(" 0") for line in imported), imported
    keys = {
        line.split()[0]: line.split()[1]
        for line in result.stdout.splitlines()
        if line.startswith(("  eshop-web ", "  mobile-app "))
    }
    assert set(keys) == {"eshop-web", "mobile-app"}
    counts = json.loads(patron(database_url, "stats", "--json").stdout)
    assert counts["sources"] == 5
    assert counts["orders"] > 0
    rules = json.loads(patron(database_url, "identity", "rules", "show", "--json").stdout)
    assert rules["user_id_records"] == {"eshop-web": "eshop"}


@pytest.mark.parametrize("command", ["stats", "serve", "worker"])
def test_a_store_without_the_newest_schema_is_named_with_the_command_that_migrates_it(
    database_url: str, command: str
) -> None:
    # given a store whose schema was taken down to nothing
    migrations.downgrade(database_url, "base")
    try:
        # when a command that reads it, or serves or works on it, starts
        result = patron(database_url, command)
    finally:
        migrations.upgrade(database_url)

    # then it stops at once, saying what is wrong and what to do, without a traceback
    assert result.returncode == 2
    assert "has no schema, and Patron needs revision" in result.stderr
    assert "run patron db upgrade" in result.stderr
    assert "Traceback" not in result.stderr
