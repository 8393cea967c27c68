"""Fit every model as of one date and score every customer seen before it.

``compute_predictions`` reads through the analytics store and returns the fitted models and a
frame with one row per customer; ``run_predictions`` also stores them (``records``). Only data
before the as-of date is read (orders, events, and so the customers first seen before it), so
a run for a past date is a back-test of what the models would have said then.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from patron import ingest
from patron.analytics import open_store
from patron.predict import clv, inputs, preferences, products

if TYPE_CHECKING:
    import duckdb

PREDICTIONS_VERSION = "1"
MODEL_VERSIONS = {
    "clv": "bgnbd-gamma-gamma/1",
    "churn": "bgnbd-no-purchase-180d/1",
    "next_products": "item-cooccurrence/1",
    "channel": "dirichlet-multinomial/1",
    "send_time": "dirichlet-multinomial/1",
}
MODEL_NAMES = tuple(MODEL_VERSIONS)


@dataclass(frozen=True)
class PredictionOptions:
    """How to run: the as-of date (None: the day after the newest order), the retailer's time
    zone (send hours are local hours in it), the CLV's monthly discount rate, and k."""

    as_of: date | None = None
    timezone: str = "UTC"
    monthly_discount_rate: float = clv.DEFAULT_MONTHLY_DISCOUNT_RATE
    products_per_customer: int = products.DEFAULT_K


@dataclass(frozen=True)
class FittedModel:
    """One model as fitted for an as-of date: parameters and diagnostics, or why it failed."""

    name: str
    version: str
    parameters: dict[str, Any]
    diagnostics: dict[str, Any]
    error: str | None = None


@dataclass(frozen=True)
class PredictionRun:
    """Fitted models and one row per customer (see ``CUSTOMER_COLUMNS``)."""

    as_of: date
    currency: str | None
    models: tuple[FittedModel, ...]
    customers: pd.DataFrame
    seconds: dict[str, float] = field(default_factory=dict)

    def model(self, name: str) -> FittedModel:
        return next(model for model in self.models if model.name == name)


class _Stopwatch:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(now - self._last, 3)
        self._last = now


def resolve_as_of(connection: duckdb.DuckDBPyConnection, options: PredictionOptions) -> date:
    """The as-of date of a run: the one asked for, or the day after the newest order."""
    if options.as_of is not None:
        return options.as_of
    latest = inputs.latest_order_day(connection, options.timezone)
    if latest is None:
        msg = "the store holds no orders: there is nothing to predict from"
        raise inputs.PredictionDataError(msg)
    return latest + timedelta(days=1)


def compute_predictions(database_url: str, options: PredictionOptions) -> PredictionRun:
    """Fit every model on the store's data before the as-of date and score every customer.

    Raises ``PredictionDataError`` when no customer was seen before the as-of date and
    ``AnalyticsStoreError`` when the store cannot be read. A model that cannot be fitted
    (CLV on too little history) is reported in its ``FittedModel.error`` and leaves its
    values empty; the other models still run.
    """
    with open_store(database_url) as store:
        return compute_predictions_on(store.connection, options)


def compute_predictions_on(
    connection: duckdb.DuckDBPyConnection, options: PredictionOptions
) -> PredictionRun:
    """``compute_predictions`` on an open analytics connection."""
    watch = _Stopwatch()
    # Without an as-of date, the window ends the day after the newest order, found in the
    # same pass that reads the orders.
    window = inputs.make_window(connection, None, options.as_of, options.timezone)
    as_of = window.end
    customers = inputs.customers_seen(connection, window)
    if customers.empty:
        msg = f"no customer has an order or an event before {as_of.isoformat()}"
        raise inputs.PredictionDataError(msg)
    frame = pd.DataFrame({"customer_id": customers["customer_id"].to_numpy(np.int64)})
    currency = inputs.main_currency(connection, window)
    watch.lap("read customers")

    models = list(_clv_and_churn(connection, window, currency, options, frame))
    watch.lap("clv and churn")
    models.append(_next_products(connection, window, options, frame))
    watch.lap("next products")
    models.extend(_preferences(connection, window, frame))
    watch.lap("channel and send time")
    return PredictionRun(as_of, currency, tuple(models), frame, watch.seconds)


def _aligned(frame: pd.DataFrame, ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` (one per id in ``ids``) placed on ``frame``'s customers (NaN where absent)."""
    positions = pd.Index(ids).get_indexer(frame["customer_id"].to_numpy())
    out = (
        np.full(len(frame), np.nan)
        if values.ndim == 1
        else np.full((len(frame), values.shape[1]), np.nan)
    )
    found = positions >= 0
    out[found] = values[positions[found]]
    return out


def _clv_and_churn(
    connection: duckdb.DuckDBPyConnection,
    window: inputs.Window,
    currency: str | None,
    options: PredictionOptions,
    frame: pd.DataFrame,
) -> tuple[FittedModel, FittedModel]:
    churn_parameters = {
        "horizon_days": clv.CHURN_HORIZON_DAYS,
        "bands": {"low": "< 0.5", "medium": "0.5 to < 0.8", "high": ">= 0.8"},
    }
    for column in (
        "p_alive",
        "churn_probability",
        "expected_30d",
        "expected_90d",
        "expected_365d",
        "spend",
        "clv",
        "next_purchase_days",
        "frequency",
    ):
        frame[column] = np.nan
    if currency is None:
        error = "no identified customer has an order before the as-of date"
        return (
            FittedModel("clv", MODEL_VERSIONS["clv"], {}, {}, error),
            FittedModel("churn", MODEL_VERSIONS["churn"], churn_parameters, {}, error),
        )
    last_day = window.end - timedelta(days=1)
    summary = clv.rfm_summary(inputs.purchase_days(connection, window, currency), last_day)
    try:
        model = clv.fit_clv(summary)
        scores = clv.score_clv(model, summary, monthly_discount_rate=options.monthly_discount_rate)
    except clv.ClvError as error:
        return (
            FittedModel("clv", MODEL_VERSIONS["clv"], {}, {"customers": len(summary)}, str(error)),
            FittedModel("churn", MODEL_VERSIONS["churn"], churn_parameters, {}, str(error)),
        )
    ids = summary["customer_id"].to_numpy(np.int64)
    scale = 10 ** ingest.currency_exponent(currency)
    frame["p_alive"] = _aligned(frame, ids, scores.p_alive)
    frame["churn_probability"] = _aligned(frame, ids, scores.churn_probability)
    for days in clv.HORIZONS_DAYS:
        frame[f"expected_{days}d"] = _aligned(frame, ids, scores.expected_purchases[days])
    frame["spend"] = _aligned(frame, ids, scores.spend_per_purchase * scale)
    frame["clv"] = _aligned(frame, ids, scores.clv * scale)
    frame["next_purchase_days"] = _aligned(frame, ids, scores.next_purchase_days)
    frame["frequency"] = _aligned(frame, ids, summary["frequency"].to_numpy(float))
    parameters = model.as_json()
    diagnostics = parameters.pop("diagnostics")
    parameters["currency"] = currency
    parameters["monthly_discount_rate"] = options.monthly_discount_rate
    parameters["clv_months"] = clv.CLV_MONTHS
    churn_diagnostics = {
        "customers": len(summary),
        "mean_probability": float(np.mean(scores.churn_probability)),
    }
    return (
        FittedModel("clv", MODEL_VERSIONS["clv"], parameters, diagnostics),
        FittedModel("churn", MODEL_VERSIONS["churn"], churn_parameters, churn_diagnostics),
    )


def _next_products(
    connection: duckdb.DuckDBPyConnection,
    window: inputs.Window,
    options: PredictionOptions,
    frame: pd.DataFrame,
) -> FittedModel:
    bought = inputs.bought_products(connection, window)
    name, version = "next_products", MODEL_VERSIONS["next_products"]
    frame["next_products"] = [[] for _ in range(len(frame))]
    if bought.empty:
        return FittedModel(name, version, {}, {}, "no product was bought before the as-of date")
    model = products.fit_next_products(bought, window.end)
    ids = frame["customer_id"].to_numpy(np.int64)
    history = products.purchase_history(model, bought, ids, window.end)
    recommendations = products.recommend(model, history, options.products_per_customer)
    frame["next_products"] = products.recommendation_lists(model, recommendations)
    parameters = {
        "k": options.products_per_customer,
        "recent_days_excluded": products.RECENT_DAYS,
        "popular_days": products.POPULAR_DAYS,
        "repeat_share": products.REPEAT_SHARE,
    }
    return FittedModel(name, version, parameters, model.diagnostics())


def _preferences(
    connection: duckdb.DuckDBPyConnection, window: inputs.Window, frame: pd.DataFrame
) -> list[FittedModel]:
    fitted: list[FittedModel] = []
    counts = inputs.channel_counts(connection, window)
    frame["channel_probabilities"] = None
    frame["preferred_channel"] = None
    if counts.empty:
        fitted.append(
            FittedModel("channel", MODEL_VERSIONS["channel"], {}, {}, "no orders to learn from")
        )
    else:
        channels = preferences.fit_channels(counts)
        posterior = _aligned(frame, channels.customer_ids, channels.posterior)
        has = ~np.isnan(posterior[:, 0])
        # Customers without orders get the population's shares, stated as such.
        posterior[~has] = channels.population
        best = posterior.argmax(axis=1)
        frame["preferred_channel"] = np.asarray(channels.options, dtype=object)[best]
        frame["channel_probabilities"] = [
            dict(zip(channels.options, np.round(row, 4).tolist(), strict=True)) for row in posterior
        ]
        fitted.append(
            FittedModel(
                "channel",
                MODEL_VERSIONS["channel"],
                channels.parameters(),
                {"customers_with_orders": len(channels.customer_ids)},
            )
        )
    attention = inputs.attention_times(connection, window)
    frame["best_send_hour"] = np.nan
    frame["best_send_weekday"] = np.nan
    frame["send_observations"] = 0.0
    if attention.empty:
        fitted.append(
            FittedModel(
                "send_time",
                MODEL_VERSIONS["send_time"],
                {},
                {},
                "no purchases or opens to learn from",
            )
        )
        return fitted
    hours = preferences.fit_send_hours(attention)
    weekdays = preferences.fit_send_weekdays(attention)
    frame["best_send_hour"] = _aligned(frame, hours.customer_ids, hours.best().astype(float))
    frame["best_send_weekday"] = _aligned(
        frame, weekdays.customer_ids, weekdays.best().astype(float)
    )
    observed = _aligned(frame, hours.customer_ids, hours.observations)
    frame["send_observations"] = np.nan_to_num(observed)
    # Customers never seen paying attention get the population's best hour and day.
    frame.loc[frame["best_send_hour"].isna(), "best_send_hour"] = hours.population_best()
    frame.loc[frame["best_send_weekday"].isna(), "best_send_weekday"] = weekdays.population_best()
    fitted.append(
        FittedModel(
            "send_time",
            MODEL_VERSIONS["send_time"],
            {
                "timezone": window.timezone,
                "hour": hours.parameters() | {"window_hours": preferences.HOUR_WINDOW},
                "weekday": weekdays.parameters(),
                "events": [*inputs.ATTENTION_EVENTS, "purchases"],
            },
            {
                "customers_observed": len(hours.customer_ids),
                "population_best_hour": hours.population_best(),
                "population_best_weekday": preferences.WEEKDAYS[weekdays.population_best()],
            },
        )
    )
    return fitted


def _rounded(frame: pd.DataFrame, column: str, digits: int = 4) -> list[Any]:
    return [None if value != value else value for value in frame[column].round(digits).tolist()]  # noqa: PLR0124 - NaN test


def churn_bands(probabilities: np.ndarray) -> np.ndarray:
    """``churn_band`` of every probability (None where the probability is NaN)."""
    bands = np.full(len(probabilities), None, dtype=object)
    known = ~np.isnan(probabilities)
    lower = 0.0
    for band, limit in clv.CHURN_BANDS:
        bands[known & (probabilities >= lower) & (probabilities < limit)] = band
        lower = limit
    return bands


def customer_values(
    run: PredictionRun, start: int = 0, stop: int | None = None
) -> list[dict[str, Any]]:
    """Each customer's predictions as the JSON document stored with them (the customers
    ``start`` to ``stop`` of ``run.customers``, all by default)."""
    frame = run.customers.iloc[start:stop]
    next_on = [
        None if days != days else (run.as_of + timedelta(days=round(days))).isoformat()  # noqa: PLR0124
        for days in frame["next_purchase_days"].tolist()
    ]
    bands = churn_bands(frame["churn_probability"].to_numpy(float)).tolist()
    timezone = run.model("send_time").parameters.get("timezone")
    weekdays = preferences.WEEKDAYS
    documents: list[dict[str, Any]] = []
    for (
        p_alive, churn, e30, e90, e365, spend, value, next_day, band, next_products,
        channel_probabilities, preferred, hour, weekday, observations,
    ) in zip(
        _rounded(frame, "p_alive"), _rounded(frame, "churn_probability"),
        _rounded(frame, "expected_30d"), _rounded(frame, "expected_90d"),
        _rounded(frame, "expected_365d"), _rounded(frame, "spend", 0), _rounded(frame, "clv", 0),
        next_on, bands, frame["next_products"].tolist(),
        frame["channel_probabilities"].tolist(), frame["preferred_channel"].tolist(),
        _rounded(frame, "best_send_hour", 0), _rounded(frame, "best_send_weekday", 0),
        frame["send_observations"].tolist(), strict=True,
    ):  # fmt: skip
        document: dict[str, Any] = {}
        if p_alive is not None:
            document["clv"] = {
                "expected_purchases": {"30d": e30, "90d": e90, "365d": e365},
                "p_alive": p_alive,
                "spend_per_purchase_minor": int(spend),
                "clv_12m_minor": int(value),
                "currency": run.currency,
            }
            document["churn"] = {
                "probability": churn,
                "band": band,
                "horizon_days": clv.CHURN_HORIZON_DAYS,
                "expected_next_purchase_on": next_day,
            }
        document["next_products"] = next_products
        if channel_probabilities is not None:
            document["channel"] = {"preferred": preferred, "probabilities": channel_probabilities}
        if hour is not None:
            document["send_time"] = {
                "hour": int(hour),
                "weekday": weekdays[int(weekday)],
                "observations": int(observations),
                "timezone": timezone,
            }
        documents.append(document)
    return documents
