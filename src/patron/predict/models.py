"""Tables of the predictions: one row per customer and as-of date, and the fitted models.

A prediction belongs to the customer (the canonical profile) it was computed for on its
as-of date. It is a snapshot: if that customer is merged into another later, the row keeps
the old id and a read resolves the id through the identity graph first, so there is no
foreign key to keep in step with merges (and none to check while a million rows are copied
in). Re-running the same as-of date replaces its rows.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from patron.storage import Base, BigIntPK, JSONDocument, UTCDateTime, utcnow


class Prediction(Base):
    """Every model's output for one customer on one as-of date.

    ``values`` holds everything (next products with their reasons, probability per channel,
    send-hour scores…); the typed columns are the ones segments and reports filter on.
    """

    __tablename__ = "predictions"
    __table_args__ = (UniqueConstraint("as_of", "profile_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    profile_id: Mapped[int] = mapped_column(BigInteger, index=True)
    as_of: Mapped[date] = mapped_column(Date)
    model_version: Mapped[str] = mapped_column(String(64))
    p_alive: Mapped[float | None] = mapped_column(Float)
    churn_probability: Mapped[float | None] = mapped_column(Float)
    churn_band: Mapped[str | None] = mapped_column(String(8))
    expected_purchases_90d: Mapped[float | None] = mapped_column(Float)
    clv_12m_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    next_purchase_on: Mapped[date | None] = mapped_column(Date)
    preferred_channel: Mapped[str | None] = mapped_column(String(16))
    best_send_hour: Mapped[int | None] = mapped_column(Integer)
    best_send_weekday: Mapped[int | None] = mapped_column(Integer)
    values: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PredictionModel(Base):
    """A model fitted for one as-of date: its parameters and fit diagnostics."""

    __tablename__ = "prediction_models"
    __table_args__ = (UniqueConstraint("name", "as_of"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[date] = mapped_column(Date)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    diagnostics: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
