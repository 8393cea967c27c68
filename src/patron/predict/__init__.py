"""Predictions of purchase behaviour per customer: CLV, churn, next product, channel, send time."""

from patron.predict import models as _models  # noqa: F401 - registers the tables
from patron.predict.clv import (
    CHURN_BANDS,
    BgNbdParameters,
    ClvError,
    ClvModel,
    ClvScores,
    GammaGammaParameters,
    churn_band,
    fit_clv,
    rfm_summary,
    score_clv,
)
from patron.predict.inputs import PredictionDataError
from patron.predict.quality import (
    MODEL_QUALITY_REPORT,
    BackTest,
    Metric,
    ModelQualityError,
    back_test,
    every_report,
)
from patron.predict.records import (
    PredictionNotFoundError,
    PredictionSummary,
    StoredModel,
    StoredPredictions,
    customer_predictions,
    run_predictions,
    store_run,
    stored_model,
    stored_models,
)
from patron.predict.run import (
    MODEL_NAMES,
    FittedModel,
    PredictionOptions,
    PredictionRun,
    compute_predictions,
    resolve_as_of,
)

__all__ = [
    "CHURN_BANDS",
    "MODEL_NAMES",
    "MODEL_QUALITY_REPORT",
    "BackTest",
    "BgNbdParameters",
    "ClvError",
    "ClvModel",
    "ClvScores",
    "FittedModel",
    "GammaGammaParameters",
    "Metric",
    "ModelQualityError",
    "PredictionDataError",
    "PredictionNotFoundError",
    "PredictionOptions",
    "PredictionRun",
    "PredictionSummary",
    "StoredModel",
    "StoredPredictions",
    "back_test",
    "churn_band",
    "compute_predictions",
    "customer_predictions",
    "every_report",
    "fit_clv",
    "resolve_as_of",
    "rfm_summary",
    "run_predictions",
    "score_clv",
    "store_run",
    "stored_model",
    "stored_models",
]
