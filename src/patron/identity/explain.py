"""Why a customer is who it is: its nodes, identifiers, records, merges and blocks.

Read-only views of the identity graph for people (``patron profiles explain``, the admin API)
and the graph's counts for ``patron stats``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select

from patron.identity.graph import canonical_id
from patron.identity.models import Identifier, Merge, MergeBlock, Profile, RecordProfile
from patron.ingest.models import Source, SourceRecord

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class ExplainedNode:
    id: int
    merged_into_id: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ExplainedIdentifier:
    type: str
    value: str
    # The node it was first seen with, and the source that first sent it.
    node_id: int
    source: str | None
    first_seen: datetime


@dataclass(frozen=True, slots=True)
class ExplainedRecord:
    source: str
    record_id: str
    node_id: int


@dataclass(frozen=True, slots=True)
class ExplainedMerge:
    id: int
    winner_id: int
    loser_id: int
    method: str
    reason: dict[str, Any]
    created_at: datetime
    undone_at: datetime | None
    undone_reason: str | None


@dataclass(frozen=True, slots=True)
class ExplainedBlock:
    id: int
    profile_a_id: int
    profile_b_id: int
    merge_id: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Explanation:
    """A customer as the graph holds it; ``requested_id`` may be any node of it."""

    requested_id: int
    customer_id: int
    nodes: tuple[ExplainedNode, ...]
    identifiers: tuple[ExplainedIdentifier, ...]
    records: tuple[ExplainedRecord, ...]
    # Every merge that touched a node of this customer, undone ones included, oldest first.
    merges: tuple[ExplainedMerge, ...]
    blocks: tuple[ExplainedBlock, ...]


def explain_profile(session: Session, profile_id: int) -> Explanation:
    """Explain the customer of node ``profile_id``. Raises ``LookupError`` for an unknown node."""
    root = canonical_id(session, profile_id)
    nodes = tuple(
        ExplainedNode(row.id, row.merged_into_id, row.created_at)
        for row in session.execute(
            select(Profile.id, Profile.merged_into_id, Profile.created_at)
            .where(Profile.canonical_id == root)
            .order_by(Profile.id)
        )
    )
    node_ids = [node.id for node in nodes]
    identifiers = tuple(
        ExplainedIdentifier(row.type, row.value, row.profile_id, row.name, row.created_at)
        for row in session.execute(
            select(
                Identifier.type,
                Identifier.value,
                Identifier.profile_id,
                Source.name,
                Identifier.created_at,
            )
            .outerjoin(Source, Source.id == Identifier.source_id)
            .where(Identifier.profile_id.in_(node_ids))
            .order_by(Identifier.type, Identifier.value)
        )
    )
    records = tuple(
        ExplainedRecord(row.name, row.record_id, row.profile_id)
        for row in session.execute(
            select(Source.name, SourceRecord.record_id, RecordProfile.profile_id)
            .join(SourceRecord, SourceRecord.id == RecordProfile.source_record_id)
            .join(Source, Source.id == SourceRecord.source_id)
            .where(RecordProfile.profile_id.in_(node_ids))
            .order_by(Source.name, SourceRecord.record_id)
        )
    )
    merges = tuple(
        ExplainedMerge(
            merge.id,
            merge.winner_id,
            merge.loser_id,
            merge.method,
            merge.reason,
            merge.created_at,
            merge.undone_at,
            merge.undone_reason,
        )
        for merge in session.scalars(
            select(Merge)
            .where(or_(Merge.winner_id.in_(node_ids), Merge.loser_id.in_(node_ids)))
            .order_by(Merge.id)
        )
    )
    blocks = tuple(
        ExplainedBlock(
            block.id, block.profile_a_id, block.profile_b_id, block.merge_id, block.created_at
        )
        for block in session.scalars(
            select(MergeBlock)
            .where(
                or_(MergeBlock.profile_a_id.in_(node_ids), MergeBlock.profile_b_id.in_(node_ids))
            )
            .order_by(MergeBlock.id)
        )
    )
    return Explanation(profile_id, root, nodes, identifiers, records, merges, blocks)


@dataclass(frozen=True, slots=True)
class IdentityStats:
    customers: int
    profile_nodes: int
    identifiers: int
    merges: int
    merges_undone: int


def identity_stats(session: Session) -> IdentityStats:
    """Counts of the identity graph: customers (distinct roots), nodes, identifiers, merges."""
    customers = session.scalar(select(func.count()).where(Profile.id == Profile.canonical_id))
    nodes = session.scalar(select(func.count()).select_from(Profile))
    identifiers = session.scalar(select(func.count()).select_from(Identifier))
    merges = session.scalar(select(func.count()).select_from(Merge))
    undone = session.scalar(select(func.count()).where(Merge.undone_at.is_not(None)))
    return IdentityStats(
        customers=customers or 0,
        profile_nodes=nodes or 0,
        identifiers=identifiers or 0,
        merges=merges or 0,
        merges_undone=undone or 0,
    )
