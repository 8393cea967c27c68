"""On a synthetic world the models beat their naive baselines in a back-test.

The world (1,500 people) follows the behaviour the models assume only loosely: seasons, sales,
households, messy records resolved by identity resolution. Each model is fitted on the data
before the holdout and judged on the holdout, as ``patron report model-quality`` does.
"""

from __future__ import annotations

from datetime import date

import orjson
import pytest
from tests.integration.predict.world_store import build_world_store

from patron import analytics, migrations, predict

PEOPLE = 1500


@pytest.fixture(scope="module")
def world_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    directory = tmp_path_factory.mktemp("quality-world")
    url = f"sqlite:///{directory / 'patron.db'}"
    migrations.upgrade(url)
    build_world_store(url, directory, customers=PEOPLE, seed=7)
    return url


@pytest.fixture(scope="module")
def result(world_url: str) -> predict.BackTest:
    with analytics.open_store(world_url) as store:
        return predict.back_test(store.connection, timezone="Europe/London")


@pytest.mark.parametrize(
    ("model", "metric"),
    [
        ("clv", "holdout purchases: mean absolute error per customer"),
        ("clv", "holdout purchases: total error (share of actual)"),
        ("churn", "AUC for no purchase in the holdout"),
        ("next_products", "hit rate at 5"),
        ("send_time", "holdout purchases and opens within an hour of the send hour"),
        ("channel", "holdout orders in the preferred channel"),
    ],
)
def test_the_model_beats_its_naive_baseline(
    result: predict.BackTest, model: str, metric: str
) -> None:
    found = result.metric(model, metric)

    assert found.value is not None
    assert found.baseline_value is not None
    assert found.beats_baseline, found
    assert found.customers >= 100


def test_churn_is_far_better_than_chance(result: predict.BackTest) -> None:
    auc = result.metric("churn", "AUC for no purchase in the holdout").value

    assert auc is not None
    assert auc > 0.7


def test_the_holdout_is_the_last_half_year_of_data(result: predict.BackTest) -> None:
    assert (result.holdout_end - result.calibration_end).days == 182


@pytest.mark.parametrize("report_format", list(analytics.ReportFormat))
def test_the_report_renders_in_every_format(
    world_url: str, report_format: analytics.ReportFormat
) -> None:
    request = analytics.ReportRequest(timezone="Europe/London")
    with analytics.open_store(world_url) as store:
        report = predict.MODEL_QUALITY_REPORT.run(store, request)

    content = analytics.render_report(report, report_format)

    assert content
    assert report.table("metrics").column("beats_baseline") == ("yes",) * 6
    assert {chart.name for chart in report.charts} == {
        "purchases-by-calibration-frequency",
        "churn-calibration",
        "next-products-hit-rate",
        "send-hour-lift",
        "channel-accuracy",
    }
    if report_format is analytics.ReportFormat.JSON:
        assert orjson.loads(content)["name"] == "model-quality"
    if report_format is analytics.ReportFormat.PNG:
        assert content.startswith(b"\x89PNG")


def test_a_holdout_without_history_before_it_explains_itself(world_url: str) -> None:
    request = analytics.ReportRequest(
        period=analytics.Period(date(2023, 1, 1), date(2023, 6, 30)),
        timezone="Europe/London",
    )
    with analytics.open_store(world_url) as store:
        report = predict.MODEL_QUALITY_REPORT.run(store, request)

    assert report.tables == ()
    assert report.notes[0].startswith("The back-test could not run")
