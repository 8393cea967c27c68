"""Where Splink runs: DuckDB in this process, or Apache Spark.

DuckDB is the default: records of a few million customers fit one machine. Spark takes the
same model, the same blocking rules and the same records when they do not; here it runs in
local mode (``local[*]``), and a cluster is a matter of the Spark master URL.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from splink import Linker
from splink.backends.duckdb import DuckDBAPI

from patron.identity.matching.options import MatchBackend, SparkOptions
from patron.storage import offline_duckdb

if TYPE_CHECKING:
    from collections.abc import Iterator

# The DuckDB scratch memory for Splink's joins: well below the 8 GB budget of a resolve run.
DUCKDB_MEMORY_LIMIT = "4GB"


class MatchRun:
    """A Splink linker over one table of record features, on one backend."""

    def __init__(self, linker: Linker, backend: MatchBackend, cleanup: Any = None) -> None:
        self.linker = linker
        self.backend = backend
        self._cleanup = cleanup

    def predictions(self, threshold: float) -> pa.Table:
        """Every blocked pair scored at or above ``threshold``, as an Arrow table."""
        frame = self.linker.inference.predict(threshold_match_probability=threshold)
        if self.backend is MatchBackend.DUCKDB:
            relation = frame.as_duckdbpyrelation()
            table: pa.Table = relation.to_arrow_table()
        else:
            table = pa.Table.from_pandas(
                frame.as_pandas_dataframe(),  # type: ignore[no-untyped-call]
                preserve_index=False,
            )
        frame.drop_table_from_database_and_remove_from_cache()
        return table


@contextmanager
def open_match_run(
    features: pa.Table,
    settings: Any,
    backend: MatchBackend,
    *,
    spark: SparkOptions | None = None,
) -> Iterator[MatchRun]:
    """A linker over ``features`` with ``settings`` (a SettingsCreator or a saved model)."""
    if backend is MatchBackend.DUCKDB:
        connection = offline_duckdb()
        try:
            connection.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
            connection.register("patron_record_features", features)
            db_api = DuckDBAPI(connection=connection)
            linker = Linker("patron_record_features", settings, db_api, set_up_basic_logging=False)
            yield MatchRun(linker, backend)
        finally:
            connection.close()
        return
    yield from _spark_run(features, settings, spark or SparkOptions())


def _spark_run(features: pa.Table, settings: Any, options: SparkOptions) -> Iterator[MatchRun]:
    # pyspark starts a JVM: imported only when Spark is asked for.
    from pyspark.sql import SparkSession  # noqa: PLC0415
    from splink.backends.spark import SparkAPI, similarity_jar_location  # noqa: PLC0415

    session = (
        SparkSession.builder.master(options.master)
        .appName("patron-resolve")
        # Splink's string similarity functions (Jaro-Winkler...) ship as a jar in its wheel.
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.shuffle.partitions", str(options.shuffle_partitions))
        .config("spark.default.parallelism", str(options.shuffle_partitions))
        .config("spark.driver.memory", options.driver_memory)
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    try:
        frame = session.createDataFrame(features.to_pandas())
        frame.createOrReplaceTempView("patron_record_features")
        db_api = SparkAPI(  # type: ignore[no-untyped-call]
            spark_session=session, break_lineage_method="persist"
        )
        linker = Linker("patron_record_features", settings, db_api, set_up_basic_logging=False)
        yield MatchRun(linker, MatchBackend.SPARK)
    finally:
        session.catalog.clearCache()
