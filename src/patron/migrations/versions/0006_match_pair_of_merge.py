"""a probabilistic merge's field contributions are read from its match pair

A merge made by ``patron resolve`` no longer copies each field's contribution into its reason:
the pair that caused it holds them and names the merge (``match_pairs.merge_id``). That column
gets an index, so that a customer's merge history finds its pairs without a scan.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 21:45:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_match_pairs_merge_id", "match_pairs", ["merge_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_match_pairs_merge_id", table_name="match_pairs")
