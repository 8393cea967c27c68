"""identity graph, matching and golden records

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 01:34:40.349061
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import patron.storage.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identity_rule_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "rules",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", patron.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_rule_sets")),
    )
    op.create_table(
        "match_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column(
            "model",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "training",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("trained_at", patron.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_models")),
        sa.UniqueConstraint("version", name=op.f("uq_match_models_version")),
    )
    op.create_table(
        "profiles",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("canonical_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "merged_into_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", patron.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", patron.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["profiles.id"], name=op.f("fk_profiles_merged_into_id_profiles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profiles")),
    )
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_profiles_canonical_id"), ["canonical_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_profiles_merged_into_id"), ["merged_into_id"], unique=False
        )

    op.create_table(
        "golden_records",
        sa.Column(
            "profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("first_name", sa.String(length=255), nullable=True),
        sa.Column("last_name", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("updated_at", patron.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_golden_records_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("profile_id", name=op.f("pk_golden_records")),
    )
    with op.batch_alter_table("golden_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_golden_records_last_name"), ["last_name"], unique=False
        )

    op.create_table(
        "identifiers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.Column(
            "profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("created_at", patron.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"], ["profiles.id"], name=op.f("fk_identifiers_profile_id_profiles")
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_identifiers_source_id_sources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identifiers")),
        sa.UniqueConstraint("type", "scope", "value", name=op.f("uq_identifiers_type_scope_value")),
    )
    with op.batch_alter_table("identifiers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_identifiers_profile_id_type", ["profile_id", "type"], unique=False
        )

    op.create_table(
        "merges",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "winner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("loser_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column(
            "reason",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", patron.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("undone_at", patron.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("undone_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["loser_id"], ["profiles.id"], name=op.f("fk_merges_loser_id_profiles")
        ),
        sa.ForeignKeyConstraint(
            ["winner_id"], ["profiles.id"], name=op.f("fk_merges_winner_id_profiles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merges")),
    )
    with op.batch_alter_table("merges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_merges_loser_id"), ["loser_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_merges_winner_id"), ["winner_id"], unique=False)

    op.create_table(
        "event_profiles",
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_event_profiles_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"], ["profiles.id"], name=op.f("fk_event_profiles_profile_id_profiles")
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_event_profiles")),
    )
    with op.batch_alter_table("event_profiles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_event_profiles_profile_id"), ["profile_id"], unique=False
        )

    op.create_table(
        "match_pairs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "record_a_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "record_b_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Double(), nullable=False),
        sa.Column("match_weight", sa.Double(), nullable=False),
        sa.Column(
            "contributions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_at", patron.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("merge_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", patron.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merge_id"], ["merges.id"], name=op.f("fk_match_pairs_merge_id_merges")
        ),
        sa.ForeignKeyConstraint(
            ["model_id"], ["match_models.id"], name=op.f("fk_match_pairs_model_id_match_models")
        ),
        sa.ForeignKeyConstraint(
            ["record_a_id"],
            ["source_records.id"],
            name=op.f("fk_match_pairs_record_a_id_source_records"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["record_b_id"],
            ["source_records.id"],
            name=op.f("fk_match_pairs_record_b_id_source_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_pairs")),
        sa.UniqueConstraint(
            "record_a_id", "record_b_id", name=op.f("uq_match_pairs_record_a_id_record_b_id")
        ),
    )
    with op.batch_alter_table("match_pairs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_match_pairs_record_b_id"), ["record_b_id"], unique=False
        )
        batch_op.create_index(
            "ix_match_pairs_status_probability", ["status", "probability"], unique=False
        )

    op.create_table(
        "merge_blocks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "profile_a_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "profile_b_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("merge_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", patron.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merge_id"], ["merges.id"], name=op.f("fk_merge_blocks_merge_id_merges")
        ),
        sa.ForeignKeyConstraint(
            ["profile_a_id"], ["profiles.id"], name=op.f("fk_merge_blocks_profile_a_id_profiles")
        ),
        sa.ForeignKeyConstraint(
            ["profile_b_id"], ["profiles.id"], name=op.f("fk_merge_blocks_profile_b_id_profiles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merge_blocks")),
        sa.UniqueConstraint(
            "profile_a_id", "profile_b_id", name=op.f("uq_merge_blocks_profile_a_id_profile_b_id")
        ),
    )
    with op.batch_alter_table("merge_blocks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_merge_blocks_profile_b_id"), ["profile_b_id"], unique=False
        )

    op.create_table(
        "record_profiles",
        sa.Column(
            "source_record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"], ["profiles.id"], name=op.f("fk_record_profiles_profile_id_profiles")
        ),
        sa.ForeignKeyConstraint(
            ["source_record_id"],
            ["source_records.id"],
            name=op.f("fk_record_profiles_source_record_id_source_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_record_id", name=op.f("pk_record_profiles")),
    )
    with op.batch_alter_table("record_profiles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_record_profiles_profile_id"), ["profile_id"], unique=False
        )

    op.create_table(
        "order_profiles",
        sa.Column("order_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["order_pk"],
            ["orders.id"],
            name=op.f("fk_order_profiles_order_pk_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"], ["profiles.id"], name=op.f("fk_order_profiles_profile_id_profiles")
        ),
        sa.PrimaryKeyConstraint("order_pk", name=op.f("pk_order_profiles")),
    )
    with op.batch_alter_table("order_profiles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_order_profiles_profile_id"), ["profile_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("order_profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_profiles_profile_id"))

    op.drop_table("order_profiles")
    with op.batch_alter_table("record_profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_record_profiles_profile_id"))

    op.drop_table("record_profiles")
    with op.batch_alter_table("merge_blocks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_merge_blocks_profile_b_id"))

    op.drop_table("merge_blocks")
    with op.batch_alter_table("match_pairs", schema=None) as batch_op:
        batch_op.drop_index("ix_match_pairs_status_probability")
        batch_op.drop_index(batch_op.f("ix_match_pairs_record_b_id"))

    op.drop_table("match_pairs")
    with op.batch_alter_table("event_profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_profiles_profile_id"))

    op.drop_table("event_profiles")
    with op.batch_alter_table("merges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_merges_winner_id"))
        batch_op.drop_index(batch_op.f("ix_merges_loser_id"))

    op.drop_table("merges")
    with op.batch_alter_table("identifiers", schema=None) as batch_op:
        batch_op.drop_index("ix_identifiers_profile_id_type")

    op.drop_table("identifiers")
    with op.batch_alter_table("golden_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_golden_records_last_name"))

    op.drop_table("golden_records")
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_profiles_merged_into_id"))
        batch_op.drop_index(batch_op.f("ix_profiles_canonical_id"))

    op.drop_table("profiles")
    op.drop_table("match_models")
    op.drop_table("identity_rule_sets")
