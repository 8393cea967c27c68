"""Probabilistic matching (batch): Splink models, scoring bands and the review queue.

Splink, DuckDB and Spark are imported by a resolve run only, so importing this package stays
cheap for the processes that never score pairs.
"""

from patron.identity.matching.options import MatchBackend, SparkOptions
from patron.identity.matching.resolve import (
    ResolveOptions,
    ResolveSummary,
    ThresholdError,
    resolve_records,
    train_match_model,
)
from patron.identity.matching.review import (
    PairDecidedError,
    RecordSummary,
    ReviewDecision,
    ReviewPair,
    accept_match_pair,
    count_match_pairs,
    list_match_pairs,
    match_pair,
    reject_match_pair,
)
from patron.identity.matching.versions import StoredModel, TrainingStats, latest_model

__all__ = [
    "MatchBackend",
    "PairDecidedError",
    "RecordSummary",
    "ResolveOptions",
    "ResolveSummary",
    "ReviewDecision",
    "ReviewPair",
    "SparkOptions",
    "StoredModel",
    "ThresholdError",
    "TrainingStats",
    "accept_match_pair",
    "count_match_pairs",
    "latest_model",
    "list_match_pairs",
    "match_pair",
    "reject_match_pair",
    "resolve_records",
    "train_match_model",
]
