"""The choice of engine for a resolve run (no heavy imports: read by every caller)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MatchBackend(StrEnum):
    """The engine that scores record pairs."""

    DUCKDB = "duckdb"
    SPARK = "spark"


@dataclass(frozen=True)
class SparkOptions:
    """How to reach Spark: the master URL and the shuffle partitions of its joins."""

    master: str = "local[*]"
    shuffle_partitions: int = 8
    driver_memory: str = "2g"
