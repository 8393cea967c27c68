"""The Spark backend: the same model and records scored by Splink on pyspark (local mode)."""

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.integration.identity.test_matching import (
    import_customer_records,
    world,  # noqa: F401 - the fixture
)

from patron.identity import (
    MatchBackend,
    ResolveOptions,
    SparkOptions,
    explain_profile,
    resolve_records,
    train_match_model,
)
from patron.identity.models import Merge


@pytest.mark.spark
def test_spark_backend_scores_with_the_stored_model_and_merges(
    database_url: str,
    sessions: sessionmaker[Session],
    world: Path,  # noqa: F811
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("one engine is enough to exercise Spark; storage is the same code")
    # given a world's customer records, imported, and a model trained on DuckDB
    # (training on Spark runs the same Splink code, only slower in local mode)
    import_customer_records(sessions, world)
    with sessions() as session, session.begin():
        model = train_match_model(session, MatchBackend.DUCKDB)
    assert model is not None
    spark = SparkOptions(master="local[2]", shuffle_partitions=2, driver_memory="1g")

    # when resolving on Spark
    with sessions() as session, session.begin():
        summary = resolve_records(session, ResolveOptions(backend=MatchBackend.SPARK, spark=spark))

    # then Spark scored the pairs with the stored model and merged the sure ones, with reasons
    assert summary.backend == "spark"
    assert summary.model_version == model.version
    assert not summary.trained
    assert summary.merged > 50
    with sessions() as session:
        winner = session.scalars(select(Merge.winner_id).order_by(Merge.id).limit(1)).one()
        merge = explain_profile(session, winner).merges[0]
    assert merge.method == "probabilistic"
    assert merge.reason["probability"] >= 0.99
    assert "level" in merge.reason["contributions"]["first_name"]
