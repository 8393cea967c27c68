"""Why a customer is who it is: its nodes, identifiers, records, merges and blocks.

Read-only views of the identity graph for people (``patron profiles explain``, the admin API)
and the graph's counts for ``patron stats``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select

from patron.identity.graph import MergeMethod, canonical_id
from patron.identity.models import (
    Identifier,
    MatchPair,
    Merge,
    MergeBlock,
    Profile,
    RecordProfile,
)
from patron.ingest.models import Source, SourceRecord

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Select
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
    merges = merge_history(session, node_ids)
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


def merge_history(
    session: Session, nodes: list[int] | Select[int], *, newest_first: bool = False
) -> tuple[ExplainedMerge, ...]:
    """Every merge that touched one of ``nodes`` (ids, or a query of them), undone ones
    included, oldest first (or newest first), each with its whole reason.

    A merge of ``patron resolve`` keeps its per-field contributions on the match pair that
    caused it, not in its own reason (they would be written twice for each of a run's
    merges): they are read from there, in the same query, and shown as part of the reason.
    """
    order = (Merge.created_at.desc(), Merge.id.desc()) if newest_first else (Merge.id,)
    rows = session.execute(
        select(Merge, MatchPair.contributions)
        .outerjoin(MatchPair, MatchPair.merge_id == Merge.id)
        .where(or_(Merge.winner_id.in_(nodes), Merge.loser_id.in_(nodes)))
        .order_by(*order)
    )
    return tuple(
        ExplainedMerge(
            merge.id,
            merge.winner_id,
            merge.loser_id,
            merge.method,
            _whole_reason(merge, contributions),
            merge.created_at,
            merge.undone_at,
            merge.undone_reason,
        )
        for merge, contributions in rows
    )


def _whole_reason(merge: Merge, contributions: dict[str, Any] | None) -> dict[str, Any]:
    if (
        merge.method != MergeMethod.PROBABILISTIC
        or contributions is None
        or "contributions" in merge.reason
    ):
        # A rule's or a reviewer's reason is whole; so is a merge from before the pairs
        # kept them.
        return merge.reason
    return {**merge.reason, "contributions": contributions}


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
