"""Customer lifetime value: BG/NBD for purchases and P(alive), Gamma-Gamma for spend per order.

The models are fitted by ``lifetimes`` (Fader, Hardie & Lee's likelihoods, maximised by
scipy); this module turns purchase history into the models' inputs, checks that the data can
carry a fit, and scores every customer.

Time unit: the **week** (days / 7, fractional), as in Fader, Hardie & Lee (2005). A customer's
purchases are counted per day: several orders on one day are one purchase of their summed
value, because BG/NBD models purchase occasions, and a split basket is one occasion.

* ``frequency`` (x): purchase days after the first one (repeat purchases).
* ``recency`` (t_x): weeks from the first to the last purchase day.
* ``T``: weeks from the first purchase day to the last observed day (the day before as-of).
* ``monetary_value``: the mean spend of the repeat purchase days, in major currency units
  (the first purchase is left out, as Gamma-Gamma assumes).
"""

from __future__ import annotations

import contextlib
import io
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from datetime import date

    import duckdb
    from lifetimes import BetaGeoFitter

TIME_UNIT = "week"
DAYS_PER_UNIT = 7.0
DAYS_PER_MONTH = 365.25 / 12
# A BG/NBD fit needs enough customers, and enough of them buying twice, to tell the purchase
# rate from the drop-out rate; below these counts the parameters are noise.
MIN_CUSTOMERS = 50
MIN_REPEAT_CUSTOMERS = 20
# Gamma-Gamma is fitted on customers with repeat purchases only; below this count the spend
# model falls back to the mean spend per purchase (stated in the diagnostics).
MIN_SPEND_CUSTOMERS = 20
# When the unpenalised likelihood has no interior maximum (typically: no heterogeneity in
# drop-out, so a and b run off to infinity together), the fit is retried with these L2
# penalties on the parameters, smallest first; the diagnostics name the one used.
RETRY_PENALIZERS = (0.001, 0.01, 0.1)
DEFAULT_MONTHLY_DISCOUNT_RATE = 0.01
CLV_MONTHS = 12

# Turns purchase days into the models' inputs. ``purchase_days`` has one row per customer and
# day with the day's spend; ``$last_day`` is the last observed day.
_SUMMARY_SQL = """
    WITH ranked AS (
        SELECT customer_id, day, spend,
               row_number() OVER (PARTITION BY customer_id ORDER BY day) AS purchase_no
        FROM purchase_days
    )
    SELECT customer_id,
           COUNT(*) - 1 AS frequency,
           date_diff('day', MIN(day), MAX(day)) / 7.0 AS recency,
           date_diff('day', MIN(day), CAST($last_day AS DATE)) / 7.0 AS "T",
           COALESCE(AVG(spend) FILTER (WHERE purchase_no > 1), 0) AS monetary_value,
           AVG(spend) AS mean_spend,
           MIN(day) AS first_day,
           MAX(day) AS last_day
    FROM ranked
    GROUP BY customer_id
    ORDER BY customer_id
"""


def _fit_errors() -> tuple[type[Exception], ...]:
    """How a lifetimes fit fails: the optimiser gives up, or the Hessian of a degenerate fit
    cannot be inverted, or the numbers overflow."""
    # lifetimes (with autograd and scipy) costs over a second to import: only a fit pays.
    from lifetimes.utils import ConvergenceError  # noqa: PLC0415

    return (ConvergenceError, ValueError, ArithmeticError, np.linalg.LinAlgError)


class ClvError(ValueError):
    """The data cannot carry a CLV fit (too few customers or repeat buyers), or the fit failed."""


@dataclass(frozen=True)
class BgNbdParameters:
    r: float
    alpha: float
    a: float
    b: float
    time_unit: str = TIME_UNIT


@dataclass(frozen=True)
class GammaGammaParameters:
    p: float
    q: float
    v: float


@dataclass(frozen=True)
class ClvModel:
    """A fitted CLV model: BG/NBD parameters, Gamma-Gamma (or ``None`` with the fallback
    spend), and how the fit went."""

    bgnbd: BgNbdParameters
    gamma_gamma: GammaGammaParameters | None
    # The spend per purchase used when Gamma-Gamma could not be fitted (major units).
    fallback_spend: float
    diagnostics: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        """The parameters in the shape of ``patron models show clv --json``."""
        gamma_gamma = None
        if self.gamma_gamma is not None:
            gamma_gamma = {
                "p": self.gamma_gamma.p,
                "q": self.gamma_gamma.q,
                "v": self.gamma_gamma.v,
            }
        return {
            "bgnbd": {
                "r": self.bgnbd.r,
                "alpha": self.bgnbd.alpha,
                "a": self.bgnbd.a,
                "b": self.bgnbd.b,
                "time_unit": self.bgnbd.time_unit,
            },
            "gamma_gamma": gamma_gamma,
            "diagnostics": self.diagnostics,
        }

    def bgnbd_fitter(self) -> BetaGeoFitter:
        from lifetimes import BetaGeoFitter  # noqa: PLC0415

        fitter = BetaGeoFitter()
        fitter.params_ = pd.Series(
            [self.bgnbd.r, self.bgnbd.alpha, self.bgnbd.a, self.bgnbd.b],
            index=["r", "alpha", "a", "b"],
        )
        return fitter


def rfm_summary(purchase_days: duckdb.DuckDBPyRelation, last_day: date) -> pd.DataFrame:
    """Per customer: frequency, recency and T in weeks, monetary value, first and last day.

    ``purchase_days`` must have the columns ``customer_id``, ``day`` (DATE) and ``spend``
    (major units), one row per customer and day, all on or before ``last_day``.
    """
    summary = purchase_days.query(
        "purchase_days", _SUMMARY_SQL.replace("$last_day", f"'{last_day.isoformat()}'")
    ).df()
    summary["frequency"] = summary["frequency"].astype(np.int64)
    return summary


def fit_clv(summary: pd.DataFrame, *, penalizer: float = 0.0) -> ClvModel:
    """Fit BG/NBD on ``summary`` (from ``rfm_summary``) and Gamma-Gamma on its repeat buyers.

    Raises ``ClvError`` when there are too few customers or repeat buyers for BG/NBD, when
    the optimiser does not converge, or when it ends on parameters that are not finite and
    positive. Gamma-Gamma falls back to the mean spend per purchase (``gamma_gamma`` is then
    ``None`` and the diagnostics say why) when fewer than ``MIN_SPEND_CUSTOMERS`` customers
    bought twice or its fit fails: CLV is still a number, with a cruder spend.
    """
    customers = len(summary)
    repeat = int((summary["frequency"] > 0).sum())
    if customers < MIN_CUSTOMERS or repeat < MIN_REPEAT_CUSTOMERS:
        msg = (
            f"too little purchase history for a CLV fit: {customers} customers, {repeat} with "
            f"a repeat purchase (at least {MIN_CUSTOMERS} and {MIN_REPEAT_CUSTOMERS} needed)"
        )
        raise ClvError(msg)
    bgnbd, bgnbd_diagnostics = _fit_bgnbd(summary, penalizer)
    gamma_gamma, spend_diagnostics = _fit_gamma_gamma(summary, penalizer)
    fallback_spend = float(summary["mean_spend"].mean())
    diagnostics = {
        "customers": customers,
        "repeat_customers": repeat,
        "bgnbd": bgnbd_diagnostics,
        "gamma_gamma": spend_diagnostics,
        "spend_model": "gamma_gamma" if gamma_gamma else "mean spend per purchase (fallback)",
        "fallback_spend": fallback_spend,
    }
    return ClvModel(bgnbd, gamma_gamma, fallback_spend, diagnostics)


def _fit_bgnbd(summary: pd.DataFrame, penalizer: float) -> tuple[BgNbdParameters, dict[str, Any]]:
    # Customers with the same (x, t_x, T) have the same likelihood: fit each distinct
    # triple once, weighted by how many customers share it.
    grouped = (
        summary.groupby(["frequency", "recency", "T"], sort=False).size().reset_index(name="weight")
    )
    from lifetimes import BetaGeoFitter  # noqa: PLC0415

    fitter, used, failures = None, penalizer, []
    for used in (penalizer, *RETRY_PENALIZERS):
        candidate = BetaGeoFitter(penalizer_coef=used)
        try:
            # lifetimes prints the optimiser's state when it fails; keep it out of the output.
            with contextlib.redirect_stdout(io.StringIO()):
                candidate.fit(
                    grouped["frequency"],
                    grouped["recency"],
                    grouped["T"],
                    weights=grouped["weight"],
                )
        except _fit_errors() as error:
            failures.append(f"penalizer {used}: {type(error).__name__}")
            continue
        fitter = candidate
        break
    if fitter is None:
        msg = f"the BG/NBD fit did not converge ({'; '.join(failures)})"
        raise ClvError(msg)
    params = {name: float(fitter.params_[name]) for name in ("r", "alpha", "a", "b")}
    if not all(math.isfinite(value) and value > 0 for value in params.values()):
        msg = f"the BG/NBD fit ended on parameters that are not finite and positive: {params}"
        raise ClvError(msg)
    # The classic check of fit: repeat purchases the model expects over each customer's
    # observed time, against those made. Customers of the same age share the expectation.
    ages, customers_of_age = np.unique(summary["T"].to_numpy(float), return_counts=True)
    expected = fitter.expected_number_of_purchases_up_to_time(ages)
    diagnostics = {
        "repeat_purchases": int(summary["frequency"].sum()),
        "expected_repeat_purchases": round(float(np.sum(expected * customers_of_age)), 2),
        "distinct_histories": len(grouped),
        "penalizer": used,
        "failed_attempts": failures,
        "standard_errors": {
            name: _finite(value) for name, value in fitter.standard_errors_.items()
        },
    }
    return BgNbdParameters(params["r"], params["alpha"], params["a"], params["b"]), diagnostics


def _fit_gamma_gamma(
    summary: pd.DataFrame, penalizer: float
) -> tuple[GammaGammaParameters | None, dict[str, Any]]:
    buyers = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    # Gamma-Gamma assumes spend per purchase is independent of purchase frequency: the
    # correlation is reported so that a reader can judge it.
    correlation = (
        _finite(float(buyers["frequency"].corr(buyers["monetary_value"])))
        if len(buyers) > 2
        else None
    )
    diagnostics: dict[str, Any] = {
        "customers": len(buyers),
        "frequency_spend_correlation": correlation,
    }
    if len(buyers) < MIN_SPEND_CUSTOMERS:
        diagnostics["fallback_reason"] = (
            f"{len(buyers)} customers with repeat purchases (at least {MIN_SPEND_CUSTOMERS} needed)"
        )
        return None, diagnostics
    from lifetimes import GammaGammaFitter  # noqa: PLC0415

    fitter = GammaGammaFitter(penalizer_coef=penalizer)
    # The optimiser starts from parameters near 0.1, far from a scale parameter of hundreds
    # of pounds, and often stops there: fit on spend in units of the mean spend (v is a scale
    # parameter, so the other parameters do not change) and scale v back.
    unit = float(buyers["monetary_value"].mean())
    # Customers with the same frequency and mean spend have the same likelihood: each pair
    # is fitted once, weighted by how many customers share it.
    grouped = (
        buyers.assign(spend=buyers["monetary_value"] / unit)
        .groupby(["frequency", "spend"], sort=False)
        .size()
        .reset_index(name="weight")
    )
    diagnostics["distinct_histories"] = len(grouped)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            fitter.fit(grouped["frequency"], grouped["spend"], weights=grouped["weight"])
    except _fit_errors() as error:  # the optimiser's failure is a fallback, not a crash
        diagnostics["fallback_reason"] = f"the fit did not converge ({type(error).__name__})"
        return None, diagnostics
    params = {name: float(fitter.params_[name]) for name in ("p", "q", "v")}
    params["v"] *= unit
    if not all(math.isfinite(value) and value > 0 for value in params.values()) or params["q"] <= 1:
        # q <= 1 gives an infinite expected spend.
        diagnostics["fallback_reason"] = f"the fit ended on unusable parameters {params}"
        return None, diagnostics
    return GammaGammaParameters(**params), diagnostics


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class ClvScores:
    """Per-customer scores, aligned with the summary they were computed from."""

    expected_purchases: dict[int, np.ndarray]  # horizon in days -> expected purchases
    p_alive: np.ndarray
    spend_per_purchase: np.ndarray  # major units
    clv: np.ndarray  # major units, discounted
    churn_probability: np.ndarray
    next_purchase_days: np.ndarray  # days after as-of; NaN when not expected


HORIZONS_DAYS = (30, 90, 365)
# Churn: the probability of no purchase in the next six months (drop-out, or still a customer
# but not buying within that time).
CHURN_HORIZON_DAYS = 180
# The next purchase date is given when it falls within two years.
NEXT_PURCHASE_LIMIT_DAYS = 730


def score_clv(
    model: ClvModel,
    summary: pd.DataFrame,
    *,
    monthly_discount_rate: float = DEFAULT_MONTHLY_DISCOUNT_RATE,
) -> ClvScores:
    """Expected purchases, P(alive), churn probability, next purchase, spend and 12-month CLV.

    CLV is the sum over the next 12 months of the expected purchases in the month times the
    expected spend per purchase, each month discounted by ``(1 + rate) ** month``.
    """
    if not 0 <= monthly_discount_rate < 1:
        msg = f"the monthly discount rate must be in [0, 1), not {monthly_discount_rate}"
        raise ClvError(msg)
    x = summary["frequency"].to_numpy(dtype=float)
    t_x = summary["recency"].to_numpy(dtype=float)
    age = summary["T"].to_numpy(dtype=float)
    fitter = model.bgnbd_fitter()
    expected = _ConditionalExpectation(model.bgnbd, x, t_x, age)

    expected_purchases = {days: expected(days) for days in HORIZONS_DAYS}
    p_alive = np.asarray(fitter.conditional_probability_alive(x, t_x, age), dtype=float)
    spend = _spend(model, summary)
    clv = np.zeros(len(summary))
    before = np.zeros(len(summary))
    for month in range(1, CLV_MONTHS + 1):
        upto = expected(month * DAYS_PER_MONTH)
        clv += (upto - before) * spend / (1 + monthly_discount_rate) ** month
        before = upto
    # Given alive, the purchase rate's posterior is Gamma(r + x, alpha + T); BG/NBD drops a
    # customer out only at a purchase, so "no purchase in t" is death, or life without one.
    shape = model.bgnbd.r + x
    scale = model.bgnbd.alpha + age
    quiet = (scale / (scale + CHURN_HORIZON_DAYS / DAYS_PER_UNIT)) ** shape
    churn = (1 - p_alive) + p_alive * quiet
    # Median wait for the next purchase of a customer still alive: the t where
    # (scale / (scale + t)) ** shape = 1/2.
    wait_days = scale * (2 ** (1 / shape) - 1) * DAYS_PER_UNIT
    next_purchase = np.where(wait_days <= NEXT_PURCHASE_LIMIT_DAYS, wait_days, np.nan)
    return ClvScores(expected_purchases, p_alive, spend, clv, churn, next_purchase)


class _ConditionalExpectation:
    """Expected purchases in the next ``days`` of customers with histories (x, t_x, T):
    equation 10 of Fader, Hardie & Lee (2005), as ``lifetimes`` computes it
    (``BetaGeoFitter.conditional_expected_number_of_purchases_up_to_time``).

    Its costly part, the Gaussian hypergeometric function, depends on x and T only, which
    far fewer distinct pairs share than customers: it is evaluated once per pair.
    """

    def __init__(
        self, bgnbd: BgNbdParameters, x: np.ndarray, t_x: np.ndarray, age: np.ndarray
    ) -> None:
        self.bgnbd = bgnbd
        inverse, pairs = pd.MultiIndex.from_arrays([x, age]).factorize()
        self.inverse = np.asarray(inverse)
        self.x = pairs.get_level_values(0).to_numpy(float)
        self.age = pairs.get_level_values(1).to_numpy(float)
        r, alpha, a, b = bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b
        with np.errstate(divide="ignore", invalid="ignore"):
            # For x = 0 the term is multiplied by 0 (b + x - 1 may be 0 there), as in lifetimes.
            self.denominator = 1 + (x > 0) * (a / (b + x - 1)) * (
                (alpha + age) / (alpha + t_x)
            ) ** (r + x)

    def __call__(self, days: float) -> np.ndarray:
        from scipy.special import hyp2f1  # noqa: PLC0415

        t = days / DAYS_PER_UNIT
        r, alpha, a, b = self.bgnbd.r, self.bgnbd.alpha, self.bgnbd.a, self.bgnbd.b
        x, age = self.x, self.age
        shape_a, shape_b, shape_c = r + x, b + x, a + b + x - 1
        z = t / (alpha + age + t)
        with np.errstate(divide="ignore"):
            ln_hyp = np.log(hyp2f1(shape_a, shape_b, shape_c, z))
            # Where the series overflows, an equivalent form (as lifetimes does).
            ln_hyp_alt = np.log(hyp2f1(shape_c - shape_a, shape_c - shape_b, shape_c, z)) + (
                shape_c - shape_a - shape_b
            ) * np.log(1 - z)
        ln_hyp = np.where(np.isinf(ln_hyp), ln_hyp_alt, ln_hyp)
        first = (a + b + x - 1) / (a - 1)
        second = 1 - np.exp(ln_hyp + (r + x) * np.log((alpha + age) / (alpha + t + age)))
        return np.asarray((first * second)[self.inverse] / self.denominator, dtype=float)


def _spend(model: ClvModel, summary: pd.DataFrame) -> np.ndarray:
    if model.gamma_gamma is None:
        return np.full(len(summary), model.fallback_spend)
    p, q, v = model.gamma_gamma.p, model.gamma_gamma.q, model.gamma_gamma.v
    x = summary["frequency"].to_numpy(dtype=float)
    mean = summary["monetary_value"].to_numpy(dtype=float)
    # Conditional expectation of Gamma-Gamma (Fader, Hardie & Lee 2005, eq. 5); a customer
    # without repeat purchases gets the population mean p v / (q - 1).
    weight = (q - 1) / (p * x + q - 1)
    population = p * v / (q - 1)
    return np.where(x > 0, weight * population + (1 - weight) * mean, population)


CHURN_BANDS = (("low", 0.5), ("medium", 0.8), ("high", 1.01))


def churn_band(probability: float) -> str:
    """low below 0.5, medium from 0.5 to below 0.8, high from 0.8."""
    for band, limit in CHURN_BANDS:
        if probability < limit:
            return band
    return "high"
