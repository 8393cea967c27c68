"""Model quality: a back-test of every model against what customers did next.

The models are fitted as of the end of a calibration period (as ``patron predict --as-of``
would), and their predictions compared with the holdout period that follows:

* purchases (BG/NBD): predicted against actual purchases per customer in the holdout, in
  total and as mean absolute error, beside a naive forecast (each customer keeps buying at
  their own past rate), and the classic chart by number of calibration purchases;
* churn: the area under the ROC curve of the churn probability for "no purchase in the
  holdout", beside recency alone (days since the last purchase), and its calibration;
* next products: hit rate at k (a customer buying in the holdout bought one of the k
  products) against the k most popular products;
* send hour: the share of holdout purchases and app opens within an hour of the predicted
  hour, against the same fixed hour for everyone (the population's best);
* preferred channel: the share of holdout orders in the predicted channel, against the
  population's top channel.

The report follows the analytics report contract, so every renderer draws it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from scipy import sparse

from patron.analytics import (
    Chart,
    ChartKind,
    Column,
    Period,
    Report,
    ReportDefinition,
    ReportRegistry,
    Series,
    Table,
    Unit,
    builtin_reports,
)
from patron.predict import clv, inputs, preferences, products

if TYPE_CHECKING:
    from collections.abc import Callable

    import duckdb
    import pandas as pd

    from patron.analytics import AnalyticsStore, ReportRequest

NAME = "model-quality"
TITLE = "Model quality"
# Without a period, the holdout is the last six months of data.
DEFAULT_HOLDOUT_DAYS = 182
# The chart by calibration purchases groups everyone with this many or more.
MAX_PURCHASE_GROUP = 7
K = products.DEFAULT_K
T = TypeVar("T")


class ModelQualityError(ValueError):
    """The back-test cannot be run on this data or period."""


@dataclass(frozen=True)
class Metric:
    model: str
    metric: str
    value: float | None
    baseline: str
    baseline_value: float | None
    higher_is_better: bool
    customers: int

    @property
    def beats_baseline(self) -> bool | None:
        if self.value is None or self.baseline_value is None:
            return None
        if self.higher_is_better:
            return self.value > self.baseline_value
        return self.value < self.baseline_value


@dataclass(frozen=True)
class BackTest:
    calibration_end: date  # the as-of date: first day of the holdout
    holdout_end: date  # first day after the holdout
    metrics: tuple[Metric, ...]
    charts: tuple[Chart, ...]

    def metric(self, model: str, metric: str) -> Metric:
        return next(m for m in self.metrics if m.model == model and m.metric == metric)


@dataclass(frozen=True)
class _Split:
    """The calibration period (everything before ``start``) and the holdout ``[start, end)``."""

    connection: duckdb.DuckDBPyConnection
    calibration: inputs.Window
    holdout: inputs.Window

    @property
    def start(self) -> date:
        return self.calibration.end

    @property
    def end(self) -> date:
        return self.holdout.end

    def before(self, reader: Callable[[duckdb.DuckDBPyConnection, inputs.Window], T]) -> T:
        return reader(self.connection, self.calibration)

    def after(self, reader: Callable[[duckdb.DuckDBPyConnection, inputs.Window], T]) -> T:
        return reader(self.connection, self.holdout)


def _periods(
    connection: duckdb.DuckDBPyConnection, period: Period | None, timezone: str
) -> tuple[date, date]:
    if period is not None:
        return period.start, period.end + timedelta(days=1)
    latest = inputs.latest_order_day(connection, timezone)
    if latest is None:
        msg = "the store holds no orders: there is nothing to back-test"
        raise ModelQualityError(msg)
    end = latest + timedelta(days=1)
    return end - timedelta(days=DEFAULT_HOLDOUT_DAYS), end


def back_test(
    connection: duckdb.DuckDBPyConnection,
    *,
    timezone: str,
    holdout: Period | None = None,
) -> BackTest:
    """Fit as of the holdout's first day, compare with the holdout (default: the last
    ``DEFAULT_HOLDOUT_DAYS`` days of data).

    Raises ``ModelQualityError`` when there is no data before or in the holdout, and
    ``ClvError`` when the calibration period cannot carry a CLV fit.
    """
    start, end = _periods(connection, holdout, timezone)
    calibration = inputs.make_window(connection, None, start, timezone)
    currency = inputs.main_currency(connection, calibration)
    if currency is None:
        msg = f"no identified customer has an order before {start.isoformat()}"
        raise ModelQualityError(msg)
    window = inputs.make_window(connection, start, end, timezone)
    actual = inputs.purchase_days(connection, window, currency).df()
    if actual.empty:
        msg = f"no purchases between {start.isoformat()} and {end.isoformat()} to compare with"
        raise ModelQualityError(msg)
    metrics: list[Metric] = []
    charts: list[Chart] = []
    summary = clv.rfm_summary(
        inputs.purchase_days(connection, calibration, currency), start - timedelta(days=1)
    )
    _purchases_and_churn(
        start=start, end=end, summary=summary, actual=actual, metrics=metrics, charts=charts
    )
    split = _Split(connection, calibration, window)
    _next_products(split, metrics, charts)
    _send_hours(split, metrics, charts)
    _channels(split, metrics, charts)
    return BackTest(start, end, tuple(metrics), tuple(charts))


def _purchases_and_churn(
    *,
    start: date,
    end: date,
    summary: pd.DataFrame,
    actual: pd.DataFrame,
    metrics: list[Metric],
    charts: list[Chart],
) -> None:
    holdout_days = (end - start).days
    model = clv.fit_clv(summary)
    fitter = model.bgnbd_fitter()
    x = summary["frequency"].to_numpy(float)
    predicted = np.asarray(
        fitter.conditional_expected_number_of_purchases_up_to_time(
            holdout_days / clv.DAYS_PER_UNIT, x, summary["recency"].to_numpy(float),
            summary["T"].to_numpy(float),
        ),
        dtype=float,
    )  # fmt: skip
    made = (
        actual.groupby("customer_id").size().reindex(summary["customer_id"], fill_value=0)
    ).to_numpy(float)
    # Naive: each customer's purchases per day so far (first purchase day included), kept up.
    observed_days = summary["T"].to_numpy(float) * clv.DAYS_PER_UNIT + 1
    naive = (x + 1) / observed_days * holdout_days
    customers = len(summary)
    metrics.append(
        Metric(
            "clv", "holdout purchases: mean absolute error per customer",
            float(np.mean(np.abs(predicted - made))), "own past rate",
            float(np.mean(np.abs(naive - made))), higher_is_better=False, customers=customers,
        )
    )  # fmt: skip
    metrics.append(
        Metric(
            "clv", "holdout purchases: total error (share of actual)",
            float(abs(predicted.sum() - made.sum()) / max(made.sum(), 1)), "own past rate",
            float(abs(naive.sum() - made.sum()) / max(made.sum(), 1)), higher_is_better=False,
            customers=customers,
        )
    )  # fmt: skip
    groups = np.minimum(x, MAX_PURCHASE_GROUP).astype(int)
    categories = tuple(
        f"{n}+" if n == MAX_PURCHASE_GROUP else str(n) for n in range(MAX_PURCHASE_GROUP + 1)
    )
    series = []
    for name, values in (("actual", made), ("BG/NBD", predicted), ("own past rate", naive)):
        means = tuple(
            float(values[groups == n].mean()) if (groups == n).any() else None
            for n in range(MAX_PURCHASE_GROUP + 1)
        )
        series.append(Series(name, means))
    charts.append(
        Chart(
            "purchases-by-calibration-frequency", ChartKind.LINE,
            f"Purchases per customer in the {holdout_days}-day holdout, by repeat purchases "
            "before it", categories, tuple(series), Unit.NUMBER,
            x_label="repeat purchases in the calibration period",
            y_label="purchases in the holdout",
        )
    )  # fmt: skip
    # Churn: the horizon of the probability is CHURN_HORIZON_DAYS; the holdout's own length
    # is used for the label, and the probability recomputed for that length.
    scores = clv.score_clv(model, summary)
    churned = made == 0
    churn = _no_purchase_probability(model, summary, holdout_days, scores.p_alive)
    recency_days = (start - summary["last_day"].dt.date).map(lambda delta: delta.days)
    recency = recency_days.to_numpy(float)
    metrics.append(
        Metric(
            "churn", "AUC for no purchase in the holdout", _auc(churn, churned),
            "days since the last purchase", _auc(recency, churned), higher_is_better=True,
            customers=customers,
        )
    )  # fmt: skip
    deciles = np.minimum((churn * 10).astype(int), 9)
    lapsed = churned.astype(float)
    labels = tuple(f"{d * 10}-{d * 10 + 10}%" for d in range(10))
    charts.append(
        Chart(
            "churn-calibration", ChartKind.BAR,
            "Churn probability against the share who did not buy in the holdout", labels,
            (
                Series("predicted", tuple(_mean(churn, deciles == d) for d in range(10))),
                Series("actual", tuple(_mean(lapsed, deciles == d) for d in range(10))),
            ),
            Unit.SHARE, x_label="predicted probability of no purchase",
        )
    )  # fmt: skip


def _no_purchase_probability(
    model: clv.ClvModel, summary: pd.DataFrame, days: int, p_alive: np.ndarray
) -> np.ndarray:
    shape = model.bgnbd.r + summary["frequency"].to_numpy(float)
    scale = model.bgnbd.alpha + summary["T"].to_numpy(float)
    quiet = (scale / (scale + days / clv.DAYS_PER_UNIT)) ** shape
    return np.asarray((1 - p_alive) + p_alive * quiet)


def _mean(values: np.ndarray, mask: np.ndarray) -> float | None:
    return float(values[mask].mean()) if mask.any() else None


def _auc(scores: np.ndarray, positive: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney), ties counted half."""
    positives = int(positive.sum())
    negatives = len(positive) - positives
    if positives == 0 or negatives == 0:
        return None
    # scipy.stats costs about a second to import: only a back-test pays for it.
    from scipy.stats import rankdata  # noqa: PLC0415

    ranks = rankdata(scores)
    return float(
        (ranks[positive].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    )


def _next_products(split: _Split, metrics: list[Metric], charts: list[Chart]) -> None:
    bought = split.before(inputs.bought_products)
    later = split.after(inputs.bought_products)
    if bought.empty or later.empty:
        return
    model = products.fit_next_products(bought, split.start)
    # Customers who bought before and in the holdout: can the model name what they bought?
    ids = np.intersect1d(bought.customer_ids, later.customer_ids)
    history = products.purchase_history(model, bought, ids, split.start)
    recommended = products.recommend(model, history, K).products
    baseline = products.popularity_baseline(model, history, K)
    holdout = products.purchase_history(model, later, ids, split.end).bought
    model_hits = [_hit_rate(recommended[:, :k], holdout) for k in range(1, K + 1)]
    baseline_hits = [_hit_rate(baseline[:, :k], holdout) for k in range(1, K + 1)]
    metrics.append(
        Metric(
            "next_products", f"hit rate at {K}", model_hits[-1], f"the {K} most popular",
            baseline_hits[-1], higher_is_better=True, customers=len(ids),
        )
    )  # fmt: skip
    charts.append(
        Chart(
            "next-products-hit-rate", ChartKind.LINE,
            "Customers who bought one of the k products recommended",
            tuple(str(k) for k in range(1, K + 1)),
            (
                Series("co-occurrence", tuple(model_hits)),
                Series("most popular", tuple(baseline_hits)),
            ),
            Unit.SHARE, x_label="k",
        )
    )  # fmt: skip


def _hit_rate(recommended: np.ndarray, holdout: object) -> float | None:
    bought = sparse.csr_matrix(holdout)
    if bought.shape[0] == 0:
        return None
    rows = np.repeat(np.arange(recommended.shape[0]), recommended.shape[1])
    columns = recommended.ravel()
    valid = columns >= 0
    hits = np.zeros(recommended.shape[0], dtype=bool)
    values = np.asarray(bought[rows[valid], columns[valid]]).ravel() > 0
    np.logical_or.at(hits, rows[valid], values)
    return float(hits.mean())


OBSERVATION_GROUPS = ((0, 0, "0"), (1, 2, "1-2"), (3, 5, "3-5"), (6, 10, "6-10"), (11, None, "11+"))


def _groups(observations: np.ndarray) -> list[tuple[str, np.ndarray]]:
    groups = []
    for low, high, label in OBSERVATION_GROUPS:
        mask = observations >= low
        if high is not None:
            mask &= observations <= high
        groups.append((label, mask))
    return groups


def _send_hours(split: _Split, metrics: list[Metric], charts: list[Chart]) -> None:
    before = split.before(inputs.attention_times)
    after = split.after(inputs.attention_times)
    if before.empty or after.empty:
        return
    hours = preferences.fit_send_hours(before)
    ids, counts = preferences.count_matrix(after, "hour", tuple(range(24)), "n")
    positions = np.searchsorted(hours.customer_ids, ids)
    known = (positions < len(hours.customer_ids)) & (
        hours.customer_ids[np.minimum(positions, len(hours.customer_ids) - 1)] == ids
    )
    fixed = hours.population_best()
    best = np.full(len(ids), fixed)
    best[known] = hours.best()[positions[known]]
    observations = np.zeros(len(ids))
    observations[known] = hours.observations[positions[known]]
    within_model = _within_an_hour(counts, best)
    within_fixed = _within_an_hour(counts, np.full(len(ids), fixed))
    total = counts.sum()
    metrics.append(
        Metric(
            "send_time", "holdout purchases and opens within an hour of the send hour",
            float(within_model.sum() / total), f"{fixed:02d}:00 for everyone",
            float(within_fixed.sum() / total), higher_is_better=True, customers=len(ids),
        )
    )  # fmt: skip
    rows = _groups(observations)
    charts.append(
        Chart(
            "send-hour-lift", ChartKind.BAR,
            "Holdout activity within an hour of the send hour, by history before it",
            tuple(label for label, _ in rows),
            (
                Series("predicted hour", tuple(_share(within_model, counts, m) for _, m in rows)),
                Series("fixed hour", tuple(_share(within_fixed, counts, m) for _, m in rows)),
            ),
            Unit.SHARE, x_label="purchases and opens before the holdout",
        )
    )  # fmt: skip


def _within_an_hour(counts: np.ndarray, best: np.ndarray) -> np.ndarray:
    hours = np.arange(counts.shape[1])
    distance = np.abs((hours[np.newaxis, :] - best[:, np.newaxis] + 12) % 24 - 12)
    return np.asarray((counts * (distance <= 1)).sum(axis=1))


def _share(hits: np.ndarray, counts: np.ndarray, mask: np.ndarray) -> float | None:
    total = counts[mask].sum()
    return float(hits[mask].sum() / total) if total else None


def _channels(split: _Split, metrics: list[Metric], charts: list[Chart]) -> None:
    before = split.before(inputs.channel_counts)
    after = split.after(inputs.channel_counts)
    if before.empty or after.empty:
        return
    channels = preferences.fit_channels(before)
    ids, counts = preferences.count_matrix(after, "channel", channels.options, "orders")
    positions = np.searchsorted(channels.customer_ids, ids)
    known = (positions < len(channels.customer_ids)) & (
        channels.customer_ids[np.minimum(positions, len(channels.customer_ids) - 1)] == ids
    )
    top = int(channels.population.argmax())
    best = np.full(len(ids), top)
    best[known] = channels.best()[positions[known]]
    observations = np.zeros(len(ids))
    observations[known] = channels.observations[positions[known]]
    rows = np.arange(len(ids))
    in_model = counts[rows, best]
    in_top = counts[:, top]
    total = counts.sum()
    metrics.append(
        Metric(
            "channel", "holdout orders in the preferred channel", float(in_model.sum() / total),
            f"{channels.options[top]} (the population's top channel)", float(in_top.sum() / total),
            higher_is_better=True, customers=len(ids),
        )
    )  # fmt: skip
    groups = _groups(observations)
    charts.append(
        Chart(
            "channel-accuracy", ChartKind.BAR,
            "Holdout orders in the predicted channel, by orders before the holdout",
            tuple(label for label, _ in groups),
            (
                Series("preferred channel", tuple(_share(in_model, counts, m) for _, m in groups)),
                Series("top channel", tuple(_share(in_top, counts, m) for _, m in groups)),
            ),
            Unit.SHARE, x_label="orders before the holdout",
        )
    )  # fmt: skip


def model_quality(store: AnalyticsStore, request: ReportRequest) -> Report:
    """The model-quality report: ``request.period`` is the holdout (default: the last
    ``DEFAULT_HOLDOUT_DAYS`` days of data); the models are fitted on everything before it."""
    try:
        result = back_test(store.connection, timezone=request.timezone, holdout=request.period)
    except (ModelQualityError, clv.ClvError) as error:
        # Not a failure of the request: the data cannot carry a back-test (yet). Say why.
        return Report(
            name=NAME,
            title=TITLE,
            period=request.period,
            comparison_period=None,
            filters=request.filters,
            tables=(),
            notes=(f"The back-test could not run: {error}.",),
            timezone=request.timezone,
        )
    rows = tuple(
        (
            metric.model, metric.metric, metric.value, metric.baseline, metric.baseline_value,
            "yes" if metric.beats_baseline else "no", metric.customers,
        )
        for metric in result.metrics
    )  # fmt: skip
    table = Table(
        "metrics",
        "Back-test against the holdout",
        (
            Column("model", "Model"),
            Column("metric", "Metric"),
            Column("value", "Model", Unit.NUMBER),
            Column("baseline", "Naive baseline"),
            Column("baseline_value", "Baseline", Unit.NUMBER),
            Column("beats_baseline", "Better"),
            Column("customers", "Customers", Unit.COUNT),
        ),
        rows,
    )
    holdout = Period(result.calibration_end, result.holdout_end - timedelta(days=1))
    better = sum(1 for metric in result.metrics if metric.beats_baseline)
    notes = (
        (
            f"{better} of {len(result.metrics)} metrics beat their naive baseline. Models "
            f"fitted on data before {result.calibration_end.isoformat()}, compared with {holdout}."
        ),
        "Filters do not apply: the models are fitted on every customer.",
    )
    return Report(
        name=NAME,
        title=TITLE,
        period=holdout,
        comparison_period=None,
        filters=request.filters,
        tables=(table,),
        charts=result.charts,
        notes=notes,
        timezone=request.timezone,
    )


MODEL_QUALITY_REPORT = ReportDefinition(
    NAME,
    TITLE,
    "Back-test of the predictions on a holdout period: purchases (MAE, by calibration "
    "purchases), churn AUC, next-product hit rate, send-hour lift, channel accuracy, each "
    "against a naive baseline.",
    model_quality,
)


def every_report() -> ReportRegistry:
    """Every report the entry points serve: the analytics package's, then model quality."""
    return builtin_reports().including(MODEL_QUALITY_REPORT)
