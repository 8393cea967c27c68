"""predictions per customer and the fitted prediction models

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 03:40:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import patron.storage.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "predictions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("p_alive", sa.Float(), nullable=True),
        sa.Column("churn_probability", sa.Float(), nullable=True),
        sa.Column("churn_band", sa.String(length=8), nullable=True),
        sa.Column("expected_purchases_90d", sa.Float(), nullable=True),
        sa.Column("clv_12m_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("next_purchase_on", sa.Date(), nullable=True),
        sa.Column("preferred_channel", sa.String(length=16), nullable=True),
        sa.Column("best_send_hour", sa.Integer(), nullable=True),
        sa.Column("best_send_weekday", sa.Integer(), nullable=True),
        sa.Column("values", _json(), nullable=False),
        sa.Column("computed_at", patron.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_predictions")),
        sa.UniqueConstraint("as_of", "profile_id", name=op.f("uq_predictions_as_of_profile_id")),
    )
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_predictions_profile_id"), ["profile_id"], unique=False)

    op.create_table(
        "prediction_models",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("parameters", _json(), nullable=False),
        sa.Column("diagnostics", _json(), nullable=False),
        sa.Column("fitted_at", patron.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prediction_models")),
        sa.UniqueConstraint("name", "as_of", name=op.f("uq_prediction_models_name_as_of")),
    )


def downgrade() -> None:
    op.drop_table("prediction_models")
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_predictions_profile_id"))
    op.drop_table("predictions")
