"""Stored versions of the match model (``match_models``): the newest one is in use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select

from patron.identity.models import MatchModel

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class TrainingStats:
    """What a training run saw and how long it took."""

    records: int
    # Random pairs asked for when estimating u.
    u_sample_pairs: int
    # The blocking keys of the EM sessions that ran, with the pairs each compared.
    em_sessions: dict[str, int]
    em_iterations: int
    # Whether the share of matching pairs was estimated (or left at Splink's default).
    lambda_estimated: bool
    backend: str
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "u_sample_pairs": self.u_sample_pairs,
            "em_sessions": self.em_sessions,
            "em_iterations": self.em_iterations,
            "lambda_estimated": self.lambda_estimated,
            "backend": self.backend,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class StoredModel:
    """A trained model as stored in ``match_models``."""

    id: int
    version: str
    model: dict[str, Any]
    training: dict[str, Any]
    trained_at: datetime


def store_model(session: Session, model: dict[str, Any], stats: TrainingStats) -> StoredModel:
    """Save a trained model as the newest version (in the caller's transaction)."""
    now = datetime.now(UTC)
    count = session.scalar(select(func.count()).select_from(MatchModel)) or 0
    version = f"v{count + 1}-{now:%Y%m%dT%H%M%SZ}"
    model_id = session.scalars(
        insert(MatchModel)
        .values(version=version, model=model, training=stats.as_json(), trained_at=now)
        .returning(MatchModel.id)
    ).one()
    return StoredModel(
        id=model_id, version=version, model=model, training=stats.as_json(), trained_at=now
    )


def latest_model(session: Session) -> StoredModel | None:
    """The newest trained model, if any."""
    row = session.scalars(select(MatchModel).order_by(MatchModel.id.desc()).limit(1)).first()
    if row is None:
        return None
    return StoredModel(
        id=row.id,
        version=row.version,
        model=row.model,
        training=row.training,
        trained_at=row.trained_at,
    )
