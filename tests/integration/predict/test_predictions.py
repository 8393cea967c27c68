"""Predictions over a store filled from a synthetic world, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from tests.integration.predict.world_store import build_world_store, drain

from patron import ingest, predict
from patron.predict.models import Prediction, PredictionModel
from patron.settings import Settings
from patron.web import create_app

PEOPLE = 300
TIMEZONE = "Europe/London"
PAST = date(2025, 7, 1)


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Path:
    return build_world_store(database_url, tmp_path, customers=PEOPLE, seed=3)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def newest_order_day(world: Path) -> date:
    """The local date of the world's newest order, read from its files."""
    times = [
        orjson.loads(line)["ordered_at"]
        for name in ("eshop_orders.jsonl", "app_orders.jsonl")
        for line in (world / name).read_bytes().splitlines()
    ]
    with (world / "pos_orders.csv").open(newline="") as receipts:
        times += [row["ordered_at"] for row in csv.DictReader(receipts)]
    zone = ZoneInfo(TIMEZONE)
    return max(datetime.fromisoformat(value).astimezone(zone).date() for value in times)


def options(as_of: date | None = None) -> predict.PredictionOptions:
    return predict.PredictionOptions(as_of=as_of, timezone=TIMEZONE)


def test_predict_stores_every_customer_once_and_a_rerun_replaces(
    world: Path, database_url: str, sessions: sessionmaker[Session]
) -> None:
    # given a resolved store, when predictions run twice for the same as-of date
    first = predict.run_predictions(database_url, options())
    second = predict.run_predictions(database_url, options())

    # then the as-of date is the day after the newest order, every model fitted, and the
    # second run replaced the first
    assert first.as_of == second.as_of == newest_order_day(world) + timedelta(days=1)
    assert [model.name for model in second.models] == list(predict.MODEL_NAMES)
    assert all(model.error is None for model in second.models)
    with sessions() as session:
        rows = session.scalar(select(func.count()).select_from(Prediction))
        customers = session.scalar(select(func.count(func.distinct(Prediction.profile_id))))
        models = session.scalar(select(func.count()).select_from(PredictionModel))
    assert rows == customers == second.customers
    assert models == len(predict.MODEL_NAMES)
    assert sum(second.churn_bands.values()) > 0
    assert second.total_clv_12m_minor is not None
    assert second.total_clv_12m_minor > 0


def test_typed_columns_agree_with_the_stored_values(
    world: Path, database_url: str, sessions: sessionmaker[Session]
) -> None:
    predict.run_predictions(database_url, options())

    with sessions() as session:
        stored = session.scalars(select(Prediction).where(Prediction.clv_12m_minor.is_not(None)))
        checked = 0
        for row in stored:
            values = row.values
            assert values["clv"]["clv_12m_minor"] == row.clv_12m_minor
            assert values["churn"]["band"] == row.churn_band
            assert values["churn"]["band"] == predict.churn_band(values["churn"]["probability"])
            assert 0 <= values["clv"]["p_alive"] <= 1
            assert row.preferred_channel == values["channel"]["preferred"]
            assert sum(values["channel"]["probabilities"].values()) == pytest.approx(1, abs=1e-3)
            assert row.best_send_hour == values["send_time"]["hour"]
            assert 0 <= row.best_send_hour < 24
            assert len(values["next_products"]) == 5
            assert all(item["reason"] for item in values["next_products"])
            checked += 1
    assert checked > PEOPLE / 3


def _frame(run: predict.PredictionRun) -> pd.DataFrame:
    columns = ["customer_id", "p_alive", "churn_probability", "clv", "frequency"]
    return run.customers[columns].set_index("customer_id").sort_index()


def test_as_of_reads_only_data_before_it(
    world: Path, database_url: str, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    # given predictions as of a past date
    before = predict.compute_predictions(database_url, options(PAST))
    latest = predict.compute_predictions(database_url, options())
    # when an identified customer places a new order in the last days of the data
    first_order = orjson.loads((world / "eshop_orders.jsonl").read_bytes().split(b"\n")[0])
    late = first_order | {"id": "EO-LATE-1", "ordered_at": "2026-06-29T10:00:00Z"}
    path = tmp_path / "late.jsonl"
    path.write_bytes(orjson.dumps(late) + b"\n")
    summary = ingest.import_file(sessions, "orders", path, source="eshop")
    assert summary.ok, summary
    drain(database_url)
    after = predict.compute_predictions(database_url, options(PAST))
    now = predict.compute_predictions(database_url, options())

    # then the past predictions do not change, and the customer first seen after the past
    # date is not in them, while today's predictions count the new purchase
    pd.testing.assert_frame_equal(_frame(before), _frame(after))
    assert len(before.customers) < len(latest.customers)
    assert _frame(now)["frequency"].sum() == _frame(latest)["frequency"].sum() + 1


def test_predictions_and_models_over_the_api(
    world: Path, database_url: str, client: TestClient, sessions: sessionmaker[Session]
) -> None:
    predict.run_predictions(database_url, options())
    with sessions() as session:
        customer = session.scalar(
            select(Prediction.profile_id).where(Prediction.clv_12m_minor.is_not(None)).limit(1)
        )

    found = client.get(f"/api/profiles/{customer}/predictions")
    model = client.get("/api/models/clv")

    assert found.status_code == 200
    body = found.json()
    assert body["profile_id"] == customer
    assert body["as_of"] == (newest_order_day(world) + timedelta(days=1)).isoformat()
    assert set(body["values"]) >= {"clv", "churn", "next_products", "channel", "send_time"}
    assert model.status_code == 200
    parameters = model.json()
    assert set(parameters["bgnbd"]) == {"r", "alpha", "a", "b", "time_unit"}
    assert set(parameters["gamma_gamma"]) == {"p", "q", "v"}
    assert parameters["diagnostics"]["customers"] > 0
    assert client.get("/api/models/nonsense").status_code == 404
    assert client.get("/api/models/clv?as_of=2020-01-01").status_code == 404
    assert client.get("/api/profiles/999999999/predictions").status_code == 404


def test_too_little_history_fails_clv_and_keeps_the_other_models(
    world: Path, database_url: str
) -> None:
    # given an as-of date a few days into the history: too few repeat buyers for BG/NBD
    run = predict.compute_predictions(database_url, options(date(2024, 1, 10)))

    # then CLV and churn say why and leave their values empty; the others still ran
    assert run.model("clv").error is not None
    assert "too little purchase history" in run.model("clv").error
    assert run.customers["clv"].isna().all()
    assert run.model("channel").error is None
    assert run.customers["preferred_channel"].notna().all()


def test_no_customer_before_the_as_of_date_is_a_clear_error(world: Path, database_url: str) -> None:
    with pytest.raises(predict.PredictionDataError, match="before 2020-01-01"):
        predict.run_predictions(database_url, options(date(2020, 1, 1)))
