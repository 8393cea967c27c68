"""Reports as users ask for them: ``patron report`` in a subprocess, ``/api/reports`` over
HTTP, with their answers to bad parameters and to a missing admin token."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker
from tests.conftest import TEST_SECRET
from tests.integration.analytics.retail import ORDERS, build_store

from patron.settings import Settings
from patron.web import create_app

TOKEN = "s3cret-admin-token"
Q1 = {"from": "2025-01-01", "to": "2025-03-31"}


def patron(database_url: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {
        **os.environ,
        "PATRON_DATABASE_URL": database_url,
        "PATRON_ENVIRONMENT": "test",
        "PATRON_SECRET_KEY": TEST_SECRET,
    }
    return subprocess.run(
        [sys.executable, "-m", "patron", "report", *args],
        capture_output=True,
        env=env,
        check=False,
        timeout=120,
    )


@pytest.fixture
def store_url(sessions: sessionmaker[Session], settings: Settings, tmp_path: Path) -> str:
    build_store(sessions, settings, tmp_path)
    return settings.database_url


@pytest.fixture
def client(store_url: str, settings: Settings) -> Iterator[TestClient]:
    guarded = settings.model_copy(update={"admin_token": SecretStr(TOKEN)})
    with TestClient(create_app(guarded)) as client:
        client.headers["Authorization"] = f"Bearer {TOKEN}"
        yield client


def test_report_list_names_every_report(database_url: str) -> None:
    done = patron(database_url, "list")

    assert done.returncode == 0, done.stderr
    names = [line.split()[0] for line in done.stdout.decode().splitlines()]
    assert names[:6] == ["overview", "omnichannel", "cohorts", "rfm", "affinity", "abandoned-carts"]


def test_report_json_to_a_file(store_url: str, tmp_path: Path) -> None:
    out = tmp_path / "overview.json"

    done = patron(
        store_url,
        "overview",
        "--from",
        Q1["from"],
        "--to",
        Q1["to"],
        "--format",
        "json",
        "--out",
        str(out),
    )

    assert done.returncode == 0, done.stderr
    body = json.loads(out.read_bytes())
    assert body["name"] == "overview"
    assert body["tables"][0]["rows"][0][4] == len(ORDERS)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(("overview", "--period", "fortnight"), b"--period:", id="bad period"),
        pytest.param(("overview", "--from", "2025-02-30"), b"--from:", id="bad date"),
        pytest.param(("overview", "--channel", "fax"), b"--channel:", id="bad channel"),
        pytest.param(("nonsense",), b"no report called 'nonsense'", id="unknown report"),
    ],
)
def test_report_refuses_bad_parameters_with_exit_code_2(
    database_url: str, args: tuple[str, ...], message: bytes
) -> None:
    done = patron(database_url, *args)

    assert done.returncode == 2
    assert message in done.stderr


def test_api_lists_reports_and_answers_each_format(client: TestClient) -> None:
    listed = client.get("/api/reports")
    names = [r["name"] for r in listed.json()["reports"]]

    assert listed.status_code == 200
    assert "omnichannel" in names
    body = client.get("/api/reports/overview", params=Q1).json()
    assert body["tables"][0]["rows"][0][4] == len(ORDERS)
    for report_format, media_type in [
        ("csv", "text/csv"),
        ("html", "text/html"),
        ("png", "image/png"),
    ]:
        answer = client.get("/api/reports/omnichannel", params={**Q1, "format": report_format})
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith(media_type)


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        pytest.param({"period": "fortnight"}, "period", id="bad period"),
        pytest.param({"from": "yesterday"}, "from", id="bad date"),
        pytest.param({"compare": "previous-year"}, "compare", id="comparison of all"),
        pytest.param({"channel": "fax"}, "channel", id="bad channel"),
        pytest.param({"format": "xlsx"}, "format", id="bad format"),
    ],
)
def test_api_answers_a_bad_parameter_with_422_naming_it(
    client: TestClient, params: dict[str, str], parameter: str
) -> None:
    answer = client.get("/api/reports/overview", params=params)

    assert answer.status_code == 422
    assert answer.json()["parameter"] == parameter


def test_api_needs_the_admin_token_and_knows_its_reports(client: TestClient) -> None:
    anonymous = client.get("/api/reports/overview", headers={"Authorization": ""})
    unknown = client.get("/api/reports/nonsense")

    assert anonymous.status_code == 401
    assert unknown.status_code == 404
