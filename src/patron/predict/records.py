"""Storing a run's predictions and models, and reading them back.

A run replaces what an earlier run stored for the same as-of date, in one transaction: the
old rows are deleted and the new ones copied in (``COPY`` on PostgreSQL, one ``executemany``
on SQLite), so a million customers never go through the ORM one by one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
import psycopg
from sqlalchemy import delete, insert, select

from patron import profiles
from patron.predict.clv import CHURN_BANDS, churn_band
from patron.predict.models import Prediction, PredictionModel
from patron.predict.run import (
    PREDICTIONS_VERSION,
    FittedModel,
    PredictionOptions,
    PredictionRun,
    churn_bands,
    compute_predictions,
    customer_values,
)
from patron.storage import make_engine, utcnow

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    import pandas as pd
    from sqlalchemy import Connection, Engine
    from sqlalchemy.orm import Session

# Customers whose rows are made and written at a time.
CHUNK = 50_000
_COLUMNS = (
    "profile_id", "as_of", "model_version", "p_alive", "churn_probability", "churn_band",
    "expected_purchases_90d", "clv_12m_minor", "currency", "next_purchase_on",
    "preferred_channel", "best_send_hour", "best_send_weekday", "values", "computed_at",
)  # fmt: skip


class PredictionNotFoundError(LookupError):
    """No prediction or model is stored for what was asked."""


def _nullable(values: pd.Series, cast: Callable[[float], Any]) -> list[Any]:
    return [None if value != value else cast(value) for value in values.tolist()]  # noqa: PLR0124 - NaN test


def _rows(
    run: PredictionRun, computed_at: datetime, start: int, stop: int
) -> list[tuple[Any, ...]]:
    """One tuple per customer (``start`` to ``stop``) in ``_COLUMNS`` order; ``values`` as its
    JSON text."""
    frame = run.customers.iloc[start:stop]
    documents = customer_values(run, start, stop)
    known_clv = frame["clv"].notna().tolist()
    next_on = [
        None if day != day else run.as_of + timedelta(days=round(day))  # noqa: PLR0124
        for day in frame["next_purchase_days"].tolist()
    ]
    columns = (
        frame["customer_id"].astype(int).tolist(),
        [run.as_of] * len(frame),
        [PREDICTIONS_VERSION] * len(frame),
        _nullable(frame["p_alive"], float),
        _nullable(frame["churn_probability"], float),
        churn_bands(frame["churn_probability"].to_numpy(float)).tolist(),
        _nullable(frame["expected_90d"], float),
        _nullable(frame["clv"], round),
        [run.currency if known else None for known in known_clv],
        next_on,
        frame["preferred_channel"].tolist(),
        _nullable(frame["best_send_hour"], round),
        _nullable(frame["best_send_weekday"], round),
        [orjson.dumps(document).decode() for document in documents],
        [computed_at] * len(frame),
    )
    return list(zip(*columns, strict=True))


def store_run(engine: Engine, run: PredictionRun) -> int:
    """Store ``run``'s models and predictions, replacing those of the same as-of date.

    Returns the number of customers stored. Runs in one transaction: a failure leaves the
    earlier predictions as they were.
    """
    computed_at = utcnow()
    customers = len(run.customers)
    # Rows are made and written a chunk at a time: a million customers' documents and JSON
    # texts are never all in memory at once.
    chunks = (_rows(run, computed_at, start, start + CHUNK) for start in range(0, customers, CHUNK))
    with engine.begin() as connection:
        connection.execute(delete(Prediction).where(Prediction.as_of == run.as_of))
        connection.execute(delete(PredictionModel).where(PredictionModel.as_of == run.as_of))
        connection.execute(
            insert(PredictionModel),
            [
                {
                    "name": model.name,
                    "version": model.version,
                    "as_of": run.as_of,
                    "parameters": model.parameters,
                    "diagnostics": model.diagnostics
                    | ({"error": model.error} if model.error else {}),
                    "fitted_at": computed_at,
                }
                for model in run.models
            ],
        )
        if connection.dialect.name == "postgresql":
            _copy_postgres(connection, chunks)
        else:
            for rows in chunks:
                _insert_sqlite(connection, rows)
    return customers


def _insert_sqlite(connection: Connection, rows: list[tuple[Any, ...]]) -> None:
    # Straight to the driver's executemany, in the text forms SQLAlchemy's SQLite types
    # store (ISO dates; naive UTC times), without a compiled statement per row.
    columns = ", ".join(f'"{name}"' for name in _COLUMNS)
    marks = ", ".join("?" for _ in _COLUMNS)
    statement = f"INSERT INTO predictions ({columns}) VALUES ({marks})"  # noqa: S608
    dates = (_COLUMNS.index("as_of"), _COLUMNS.index("next_purchase_on"))
    stamp = _COLUMNS.index("computed_at")
    chunk = []
    for row in rows:
        values = list(row)
        for position in dates:
            if values[position] is not None:
                values[position] = values[position].isoformat()
        values[stamp] = values[stamp].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        chunk.append(tuple(values))
    connection.exec_driver_sql(statement, chunk)


def _copy_postgres(connection: Connection, chunks: Iterable[list[tuple[Any, ...]]]) -> None:
    raw = connection.connection.dbapi_connection
    if not isinstance(raw, psycopg.Connection):
        msg = f"COPY needs a psycopg connection, not {type(raw).__name__}"
        raise TypeError(msg)
    columns = ", ".join(f'"{name}"' for name in _COLUMNS)
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY predictions ({columns}) FROM STDIN") as copy,
    ):
        for rows in chunks:
            for row in rows:
                # jsonb takes the document's text; COPY parses it on the server.
                copy.write_row(row)


@dataclass(frozen=True)
class StoredPredictions:
    """One customer's stored predictions (the newest as-of date unless asked otherwise)."""

    profile_id: int
    as_of: date
    model_version: str
    computed_at: datetime
    values: dict[str, Any]


def customer_predictions(
    session: Session, profile_id: int, as_of: date | None = None
) -> StoredPredictions:
    """The predictions of the customer ``profile_id`` belongs to (any node of it).

    Raises ``ProfileNotFoundError`` for an unknown profile and ``PredictionNotFoundError``
    when no prediction is stored for the customer (or for that as-of date).
    """
    customer = profiles.resolve_customer(session, profile_id)
    query = select(Prediction).where(Prediction.profile_id == customer)
    if as_of is not None:
        query = query.where(Prediction.as_of == as_of)
    found = session.scalars(query.order_by(Prediction.as_of.desc()).limit(1)).first()
    if found is None:
        when = f" as of {as_of.isoformat()}" if as_of else ""
        msg = f"no predictions stored for customer {customer}{when}: run `patron predict`"
        raise PredictionNotFoundError(msg)
    return StoredPredictions(
        found.profile_id, found.as_of, found.model_version, found.computed_at, found.values
    )


@dataclass(frozen=True)
class StoredModel:
    name: str
    version: str
    as_of: date
    fitted_at: datetime
    parameters: dict[str, Any]
    diagnostics: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        """Parameters at the top (``bgnbd``, ``gamma_gamma`` … for CLV), then what describes
        the fit: ``name``, ``version``, ``as_of``, ``fitted_at``, ``diagnostics``."""
        return {
            **self.parameters,
            "name": self.name,
            "version": self.version,
            "as_of": self.as_of.isoformat(),
            "fitted_at": self.fitted_at.isoformat(),
            "diagnostics": self.diagnostics,
        }


def stored_model(session: Session, name: str, as_of: date | None = None) -> StoredModel:
    """The model ``name`` as fitted for ``as_of`` (the newest when None).

    Raises ``PredictionNotFoundError`` when it was never fitted (or not for that date).
    """
    query = select(PredictionModel).where(PredictionModel.name == name)
    if as_of is not None:
        query = query.where(PredictionModel.as_of == as_of)
    found = session.scalars(query.order_by(PredictionModel.as_of.desc()).limit(1)).first()
    if found is None:
        when = f" as of {as_of.isoformat()}" if as_of else ""
        msg = f"no model {name!r} stored{when}: run `patron predict`"
        raise PredictionNotFoundError(msg)
    return _stored(found)


def _stored(found: PredictionModel) -> StoredModel:
    return StoredModel(
        found.name, found.version, found.as_of, found.fitted_at, found.parameters,
        found.diagnostics,
    )  # fmt: skip


def stored_models(session: Session) -> list[StoredModel]:
    """Every stored model fit, newest as-of date first."""
    found = session.scalars(
        select(PredictionModel).order_by(PredictionModel.as_of.desc(), PredictionModel.name)
    )
    return [_stored(model) for model in found]


@dataclass(frozen=True)
class PredictionSummary:
    """What ``patron predict`` reports: the as-of date, customers scored, each model's
    parameters or error, customers per churn band, the CLV of all, and seconds per stage."""

    as_of: date
    customers: int
    currency: str | None
    models: tuple[FittedModel, ...]
    churn_bands: dict[str, int]
    total_clv_12m_minor: int | None
    seconds: dict[str, float]


def run_predictions(database_url: str, options: PredictionOptions) -> PredictionSummary:
    """Fit every model as of ``options.as_of``, score every customer, store it all.

    Raises ``PredictionDataError`` when there is nothing to predict from (no orders, no
    customer before the as-of date), ``AnalyticsStoreError`` when the store cannot be read.
    """
    run = compute_predictions(database_url, options)
    started = time.perf_counter()
    engine = make_engine(database_url, pool_size=1)
    try:
        stored = store_run(engine, run)
    finally:
        engine.dispose()
    seconds = run.seconds | {"store": round(time.perf_counter() - started, 3)}
    bands = run.customers["churn_probability"].dropna()
    counts = {band: 0 for band, _ in CHURN_BANDS}
    for probability in bands.tolist():
        counts[churn_band(probability)] += 1
    clv_values = run.customers["clv"].dropna()
    return PredictionSummary(
        as_of=run.as_of,
        customers=stored,
        currency=run.currency,
        models=run.models,
        churn_bands=counts,
        total_clv_12m_minor=round(float(clv_values.sum())) if len(clv_values) else None,
        seconds=seconds,
    )
