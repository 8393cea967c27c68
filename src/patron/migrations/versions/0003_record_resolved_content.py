"""the content of each source record when identity resolution last read it

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 01:43:25.749325
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("record_profiles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("record_profiles", schema=None) as batch_op:
        batch_op.drop_column("content_hash")
