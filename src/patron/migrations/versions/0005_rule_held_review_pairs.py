"""pairs held apart by an identity rule wait in the review queue beside the model's pairs

A pair held apart by a rule (a shared email, first names that disagree) has no model, no
probability and no match weight: those columns become nullable, and ``method`` says how the pair
came to the queue (``probabilistic`` or ``rule``) and ``reason`` why a rule held it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 06:40:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("match_pairs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "method",
                sa.String(length=16),
                nullable=False,
                server_default=sa.text("'probabilistic'"),
            )
        )
        batch_op.add_column(sa.Column("reason", _json(), nullable=True))
        batch_op.alter_column("model_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("probability", existing_type=sa.Double(), nullable=True)
        batch_op.alter_column("match_weight", existing_type=sa.Double(), nullable=True)


def downgrade() -> None:
    # Rule-held pairs have no model to name: they cannot be kept in the older table.
    op.execute("DELETE FROM match_pairs WHERE method = 'rule'")
    with op.batch_alter_table("match_pairs", schema=None) as batch_op:
        batch_op.alter_column("match_weight", existing_type=sa.Double(), nullable=False)
        batch_op.alter_column("probability", existing_type=sa.Double(), nullable=False)
        batch_op.alter_column("model_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("reason")
        batch_op.drop_column("method")
