"""Patron's CLV fit reproduces the published parameters on the CDNOW sample.

The data is the 2,357-customer CDNOW sample that ships with lifetimes (every purchase of a
cohort's first quarter of 1997, as used by Fader, Hardie & Lee). It goes through Patron's own
path: transactions to purchase days, ``rfm_summary`` (weeks, 39-week calibration ending
1997-09-30) and ``fit_clv``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import lifetimes
import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, GammaGammaFitter

from patron.predict import ClvError, fit_clv, rfm_summary, score_clv

CDNOW = Path(lifetimes.__file__).parent / "datasets" / "CDNOW_sample.txt"
CALIBRATION_LAST_DAY = date(1997, 9, 30)
# Fader, Hardie & Lee (2005), "Counting your customers the easy way", Table 1 (BG/NBD).
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
# Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves", Gamma-Gamma on the 946
# customers with repeat purchases in the calibration period.
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}
# The published values are rounded to 3 (BG/NBD) and 2-3 (Gamma-Gamma) significant decimals:
# a relative tolerance of 0.5 % covers the rounding and nothing more.
TOLERANCE = 0.005


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    transactions = pd.read_csv(
        CDNOW, sep=r"\s+", header=None, names=["master_id", "customer_id", "date", "cds", "spend"]
    )
    transactions["day"] = pd.to_datetime(transactions["date"].astype(str)).dt.date
    calibration = transactions[transactions["day"] <= CALIBRATION_LAST_DAY]
    days = calibration.groupby(["customer_id", "day"], as_index=False)["spend"].sum()
    connection = duckdb.connect()
    relation = connection.from_df(days)
    return rfm_summary(relation, CALIBRATION_LAST_DAY)


def test_summary_is_the_published_cohort(summary: pd.DataFrame) -> None:
    # 2,357 customers, 946 of them with repeat purchases in the 39 weeks
    assert len(summary) == 2357
    assert int((summary["frequency"] > 0).sum()) == 946
    assert summary["T"].max() == pytest.approx(38.86, abs=0.01)


def test_bgnbd_reproduces_fader_hardie_lee_2005(summary: pd.DataFrame) -> None:
    model = fit_clv(summary)

    fitted = model.bgnbd
    assert fitted.time_unit == "week"
    for name, published in PUBLISHED_BGNBD.items():
        assert getattr(fitted, name) == pytest.approx(published, rel=TOLERANCE), name


def test_gamma_gamma_reproduces_fader_hardie_lee_2005(summary: pd.DataFrame) -> None:
    model = fit_clv(summary)

    assert model.gamma_gamma is not None
    for name, published in PUBLISHED_GAMMA_GAMMA.items():
        assert getattr(model.gamma_gamma, name) == pytest.approx(published, rel=TOLERANCE), name
    assert model.diagnostics["spend_model"] == "gamma_gamma"


def test_expected_purchases_match_the_published_forecast(summary: pd.DataFrame) -> None:
    # given the fitted model, when the 39-week holdout is forecast
    model = fit_clv(summary)
    scores = score_clv(model, summary)

    # then a customer with x=2, t_x=30.43, T=38.86 is expected to buy 1.226 times in the next
    # 39 weeks (Fader, Hardie & Lee 2005, the worked example of equation 10)
    one = summary.index[summary["customer_id"] == 1][0]
    fitter = model.bgnbd_fitter()
    expected = fitter.conditional_expected_number_of_purchases_up_to_time(39, 2, 30.43, 38.86)
    assert expected == pytest.approx(1.226, abs=0.002)
    assert 0 < scores.p_alive[one] <= 1
    assert scores.clv[one] > 0


def test_too_little_history_is_refused(summary: pd.DataFrame) -> None:
    with pytest.raises(ClvError, match="too little purchase history"):
        fit_clv(summary.head(30))


def test_discount_rate_outside_range_is_refused(summary: pd.DataFrame) -> None:
    model = fit_clv(summary)

    with pytest.raises(ClvError, match="discount rate"):
        score_clv(model, summary, monthly_discount_rate=1.5)


def test_clv_is_purchases_times_spend_discounted_month_by_month(summary: pd.DataFrame) -> None:
    model = fit_clv(summary)

    undiscounted = score_clv(model, summary, monthly_discount_rate=0.0)
    discounted = score_clv(model, summary, monthly_discount_rate=0.01)

    # without discounting, CLV is a year's expected purchases times the spend per purchase
    year = undiscounted.expected_purchases[365] * undiscounted.spend_per_purchase
    assert undiscounted.clv == pytest.approx(year, rel=0.01)
    # a 1 % monthly rate takes between 1 % (first month) and 11.4 % (twelfth) off each month
    ratio = discounted.clv.sum() / undiscounted.clv.sum()
    assert 1 / 1.01**12 < ratio < 1 / 1.01


def test_fits_weighted_by_shared_histories_equal_the_fits_on_every_customer(
    summary: pd.DataFrame,
) -> None:
    # given lifetimes fitted on every customer, one row each (no weights)
    bgnbd = BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
    buyers = summary[summary["frequency"] > 0]
    unit = buyers["monetary_value"].mean()
    gamma_gamma = GammaGammaFitter().fit(buyers["frequency"], buyers["monetary_value"] / unit)

    # when Patron fits each distinct history once with its count as weight
    model = fit_clv(summary)

    # then the parameters are the same, up to the optimiser's tolerance
    assert model.diagnostics["bgnbd"]["distinct_histories"] < len(summary)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(model.bgnbd, name) == pytest.approx(bgnbd.params_[name], rel=1e-4), name
    assert model.gamma_gamma is not None
    assert model.diagnostics["gamma_gamma"]["distinct_histories"] < len(buyers)
    assert model.gamma_gamma.p == pytest.approx(gamma_gamma.params_["p"], rel=1e-4)
    assert model.gamma_gamma.q == pytest.approx(gamma_gamma.params_["q"], rel=1e-4)
    assert model.gamma_gamma.v == pytest.approx(gamma_gamma.params_["v"] * unit, rel=1e-4)


def test_scores_equal_lifetimes_customer_by_customer(summary: pd.DataFrame) -> None:
    # given a fitted model, when every customer is scored
    model = fit_clv(summary)
    scores = score_clv(model, summary)

    # then the expected purchases and P(alive) are lifetimes' own, for every customer
    fitter = model.bgnbd_fitter()
    x, t_x, age = summary["frequency"], summary["recency"], summary["T"]
    for days, expected in scores.expected_purchases.items():
        reference = fitter.conditional_expected_number_of_purchases_up_to_time(
            days / 7, x, t_x, age
        )
        assert expected == pytest.approx(np.asarray(reference), rel=1e-12), days
    assert scores.p_alive == pytest.approx(
        np.asarray(fitter.conditional_probability_alive(x, t_x, age)), rel=1e-12
    )
