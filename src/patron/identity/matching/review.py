"""The review queue: pairs a person decides.

Two kinds of pairs wait there: pairs of records the model was unsure about (method
``probabilistic``, with its probability and each field's contribution), and pairs of customers
an identity rule kept apart (method ``rule``: the shared-identifier guard held two customers
sharing only an email whose first names disagree; the rule's reason instead of a probability).

Accepting a pair merges the two customers (method ``manual``, the pair, how it came to the
queue and the decider as the reason). Rejecting it blocks that merge for good: a merge block
between the two records' nodes keeps both the deterministic graph and later probabilistic runs
from joining them. Either way the decision is kept on the pair, which is then never asked again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import aliased

from patron.identity.graph import MergeMethod, merge_profiles
from patron.identity.models import MatchModel, MatchPair, MergeBlock, RecordProfile
from patron.ingest.models import Source, SourceRecord
from patron.storage import utcnow

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

PairStatus = Literal["merged", "review", "accepted", "rejected"]


class PairDecidedError(ValueError):
    """The pair was decided already (or merged automatically)."""


@dataclass(frozen=True)
class RecordSummary:
    """What a reviewer needs to see of one record."""

    id: int
    source: str
    record_id: str
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    birth_date: str | None
    postcode: str | None


@dataclass(frozen=True)
class ReviewPair:
    """A pair of records in the queue and its decision so far.

    ``method`` is ``probabilistic`` for a pair a model scored (``probability``,
    ``match_weight``, ``model_version`` and ``contributions`` say how) and ``rule`` for a pair
    an identity rule held apart (those are None or empty; ``reason`` says why, its ``text``
    in a sentence: "shared email, first names disagree: Anna / Tom").
    """

    id: int
    status: str
    method: str
    probability: float | None
    match_weight: float | None
    model_version: str | None
    contributions: dict[str, Any]
    reason: dict[str, Any] | None
    record_a: RecordSummary
    record_b: RecordSummary
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    merge_id: int | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "method": self.method,
            "probability": self.probability,
            "match_weight": self.match_weight,
            "model_version": self.model_version,
            "contributions": self.contributions,
            "reason": self.reason,
            "record_a": self.record_a.__dict__,
            "record_b": self.record_b.__dict__,
            "created_at": self.created_at.isoformat(),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "decided_by": self.decided_by,
            "merge_id": self.merge_id,
        }


@dataclass(frozen=True)
class ReviewDecision:
    """What a decision did: the pair's new status and, for an accepted pair, the merge."""

    pair_id: int
    status: PairStatus
    merge_id: int | None
    # merged | same (already one customer) | blocked (an undone merge forbids it) | None.
    merge_status: str | None


def _pairs_query(status: str | None) -> Any:
    record_a = aliased(SourceRecord)
    record_b = aliased(SourceRecord)
    source_a = aliased(Source)
    source_b = aliased(Source)
    query = (
        select(MatchPair, MatchModel.version, record_a, source_a.name, record_b, source_b.name)
        .outerjoin(MatchModel, MatchModel.id == MatchPair.model_id)
        .join(record_a, record_a.id == MatchPair.record_a_id)
        .join(source_a, source_a.id == record_a.source_id)
        .join(record_b, record_b.id == MatchPair.record_b_id)
        .join(source_b, source_b.id == record_b.source_id)
    )
    if status is not None:
        query = query.where(MatchPair.status == status)
    return query


def _summary(record: SourceRecord, source: str) -> RecordSummary:
    return RecordSummary(
        id=record.id,
        source=source,
        record_id=record.record_id,
        first_name=record.first_name,
        last_name=record.last_name,
        email=record.email,
        phone=record.phone,
        birth_date=record.birth_date.isoformat() if record.birth_date else None,
        postcode=record.postcode,
    )


def _review_pair(row: Any) -> ReviewPair:
    pair, version, record_a, source_a, record_b, source_b = row
    return ReviewPair(
        id=pair.id,
        status=pair.status,
        method=pair.method,
        probability=pair.probability,
        match_weight=pair.match_weight,
        model_version=version,
        contributions=pair.contributions,
        reason=pair.reason,
        record_a=_summary(record_a, source_a),
        record_b=_summary(record_b, source_b),
        created_at=pair.created_at,
        decided_at=pair.decided_at,
        decided_by=pair.decided_by,
        merge_id=pair.merge_id,
    )


def list_match_pairs(
    session: Session, *, status: str | None = "review", limit: int = 50, offset: int = 0
) -> list[ReviewPair]:
    """Pairs with a status (the review queue by default): the model's, the most likely first,
    then the pairs rules held apart, oldest first."""
    query = (
        _pairs_query(status)
        .order_by(MatchPair.probability.desc().nulls_last(), MatchPair.id)
        .limit(limit)
        .offset(offset)
    )
    return [_review_pair(row) for row in session.execute(query).all()]


def count_match_pairs(session: Session, *, status: str | None = "review") -> int:
    """How many pairs have this status (all pairs for None)."""
    query = select(func.count()).select_from(MatchPair)
    if status is not None:
        query = query.where(MatchPair.status == status)
    return session.scalar(query) or 0


def match_pair(session: Session, pair_id: int) -> ReviewPair:
    """One scored pair. Raises ``LookupError`` when there is none with this id."""
    row = session.execute(_pairs_query(None).where(MatchPair.id == pair_id)).one_or_none()
    if row is None:
        raise LookupError(f"match pair {pair_id} does not exist")
    return _review_pair(row)


def _pending(session: Session, pair_id: int) -> MatchPair:
    pair = session.get(MatchPair, pair_id, with_for_update=True)
    if pair is None:
        raise LookupError(f"match pair {pair_id} does not exist")
    if pair.status != "review":
        raise PairDecidedError(f"match pair {pair_id} was already decided: {pair.status}")
    return pair


def _nodes(session: Session, pair: MatchPair) -> tuple[int, int]:
    nodes = dict(
        session.execute(
            select(RecordProfile.source_record_id, RecordProfile.profile_id).where(
                RecordProfile.source_record_id.in_([pair.record_a_id, pair.record_b_id])
            )
        ).all()
    )
    missing = [r for r in (pair.record_a_id, pair.record_b_id) if r not in nodes]
    if missing:
        raise LookupError(f"source record {missing[0]} has no profile yet")
    return nodes[pair.record_a_id], nodes[pair.record_b_id]


def accept_match_pair(session: Session, pair_id: int, *, decided_by: str) -> ReviewDecision:
    """Merge the customers of a queued pair (method ``manual``: a reviewer's decision, with
    the pair's probability or the rule that had held them apart), in the caller's transaction.

    Raises ``LookupError`` for an unknown pair (or a record without a profile) and
    ``PairDecidedError`` when the pair is not waiting for review.
    """
    pair = _pending(session, pair_id)
    node_a, node_b = _nodes(session, pair)
    outcome = merge_profiles(
        session,
        node_a,
        node_b,
        method=MergeMethod.MANUAL,
        reason=_accepted_reason(pair, decided_by),
    )
    now = utcnow()
    session.execute(
        update(MatchPair)
        .where(MatchPair.id == pair.id)
        .values(status="accepted", decided_at=now, decided_by=decided_by, merge_id=outcome.merge_id)
        .execution_options(synchronize_session=False)
    )
    return ReviewDecision(
        pair_id=pair.id, status="accepted", merge_id=outcome.merge_id, merge_status=outcome.status
    )


def _accepted_reason(pair: MatchPair, decided_by: str) -> dict[str, Any]:
    reason: dict[str, Any] = {
        "rule": "review accepted",
        "match_pair": pair.id,
        "decided_by": decided_by,
        "method": pair.method,
        "records": [pair.record_a_id, pair.record_b_id],
    }
    if pair.method == "rule":
        # What the rule saw, which the reviewer overruled.
        reason["held_apart"] = pair.reason
    else:
        reason.update(
            probability=pair.probability,
            match_weight=pair.match_weight,
            contributions=pair.contributions,
        )
    return reason


def reject_match_pair(session: Session, pair_id: int, *, decided_by: str) -> ReviewDecision:
    """Mark a queued pair as two different people and block merging their records' nodes.

    Raises ``LookupError`` for an unknown pair (or a record without a profile) and
    ``PairDecidedError`` when the pair is not waiting for review.
    """
    pair = _pending(session, pair_id)
    node_a, node_b = _nodes(session, pair)
    low, high = min(node_a, node_b), max(node_a, node_b)
    now = utcnow()
    if low != high:
        exists = session.scalar(
            select(MergeBlock.id).where(
                MergeBlock.profile_a_id == low, MergeBlock.profile_b_id == high
            )
        )
        if exists is None:
            session.execute(
                insert(MergeBlock).values(profile_a_id=low, profile_b_id=high, created_at=now)
            )
    session.execute(
        update(MatchPair)
        .where(MatchPair.id == pair.id)
        .values(status="rejected", decided_at=now, decided_by=decided_by)
        .execution_options(synchronize_session=False)
    )
    return ReviewDecision(pair_id=pair.id, status="rejected", merge_id=None, merge_status=None)
