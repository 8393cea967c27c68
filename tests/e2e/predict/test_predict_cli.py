"""``patron predict``, ``patron models`` and ``patron report model-quality`` as a user runs
them, on a store filled from a small synthetic world."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.e2e.test_cli_basics import patron
from tests.integration.predict.world_store import build_world_store


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Path:
    return build_world_store(database_url, tmp_path, customers=300, seed=5)


def test_predict_then_show_and_list_the_models(world: Path, database_url: str) -> None:
    # when predictions run as of a date, then for the newest data
    past = patron(database_url, "predict", "--as-of", "2026-01-01", "--json")
    latest = patron(database_url, "predict")
    shown = patron(database_url, "models", "show", "clv", "--json")
    listed = patron(database_url, "models", "list")

    assert past.returncode == 0, past.stderr
    summary = json.loads(past.stdout)
    assert summary["as_of"] == "2026-01-01"
    assert [model["name"] for model in summary["models"]] == [
        "clv", "churn", "next_products", "channel", "send_time",
    ]  # fmt: skip
    assert latest.returncode == 0, latest.stderr
    assert "churn risk: low" in latest.stdout
    assert shown.returncode == 0, shown.stderr
    clv = json.loads(shown.stdout)
    assert set(clv["bgnbd"]) == {"r", "alpha", "a", "b", "time_unit"}
    assert clv["bgnbd"]["time_unit"] == "week"
    assert set(clv["gamma_gamma"]) == {"p", "q", "v"}
    assert clv["as_of"] != "2026-01-01"  # the newest fit
    assert "diagnostics" in clv
    assert listed.returncode == 0
    assert listed.stdout.count("clv") == 2  # both as-of dates


def test_bad_input_is_refused_with_a_reason(database_url: str) -> None:
    bad_date = patron(database_url, "predict", "--as-of", "yesterday")
    unknown = patron(database_url, "models", "show", "horoscope")
    empty = patron(database_url, "predict")
    nothing = patron(database_url, "models", "show", "clv")

    assert bad_date.returncode == 2
    assert "--as-of" in bad_date.stderr
    assert unknown.returncode == 2
    assert empty.returncode == 1
    assert "no orders" in empty.stderr
    assert nothing.returncode == 1
    assert "patron predict" in nothing.stderr


def test_model_quality_report_as_json(world: Path, database_url: str) -> None:
    result = patron(database_url, "report", "model-quality", "--format", "json")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["name"] == "model-quality"
    assert len(report["charts"]) == 5
