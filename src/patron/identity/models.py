"""Tables of the identity graph.

A profile is a node; identifiers (an email, a phone, a loyalty card, a source's user id, a
cookie, a device, a source record) point at the node they were first seen with and never move.
A merge links one node under another (``merged_into_id``) and gives every node of the merged
tree the surviving root as ``canonical_id``: its cost grows with the number of profiles merged
before, never with the customers' history, and the event log is never rewritten. Undoing a
merge cuts the link and gives the cut-off tree its own root back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from patron.storage import Base, BigIntPK, JSONDocument, UTCDateTime, utcnow


class Profile(Base):
    """A node of the identity graph; the customer is the tree under a canonical root."""

    __tablename__ = "profiles"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # The root this node resolves to now (itself while it is not merged into another).
    canonical_id: Mapped[int] = mapped_column(BigInteger, index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("profiles.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Identifier(Base):
    """A normalised identifier and the profile node it was first seen with.

    ``scope`` is the source id for identifiers that only mean something inside one source
    (its user ids, cookies and customer record ids) and 0 for those that mean the same
    everywhere (emails, phones, loyalty cards, devices, push tokens).
    """

    __tablename__ = "identifiers"
    __table_args__ = (
        UniqueConstraint("type", "scope", "value"),
        Index("ix_identifiers_profile_id_type", "profile_id", "type"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(32))
    scope: Mapped[int] = mapped_column(Integer, default=0)
    value: Mapped[str] = mapped_column(String(320))
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id"))
    # The source that first delivered it, for lineage and trust.
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EventProfile(Base):
    """The profile node an event was resolved to (the node of its strongest identifier)."""

    __tablename__ = "event_profiles"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id"), index=True)


class RecordProfile(Base):
    """The profile node a source's customer record was resolved to."""

    __tablename__ = "record_profiles"

    source_record_id: Mapped[int] = mapped_column(
        ForeignKey("source_records.id", ondelete="CASCADE"), primary_key=True
    )
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id"), index=True)
    # The record's content hash when it was resolved: a record whose hash differs (a placeholder
    # filled in, an address changed) is resolved again.
    content_hash: Mapped[str | None] = mapped_column(String(64))


class OrderProfile(Base):
    """The profile node an order was resolved to (none for an anonymous receipt)."""

    __tablename__ = "order_profiles"

    order_pk: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id"), index=True)


class Merge(Base):
    """One merge of two customers, with why it happened; undone merges stay, marked."""

    __tablename__ = "merges"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # The roots at the time: the loser's tree was linked under the winner.
    winner_id: Mapped[int] = mapped_column(ForeignKey("profiles.id"), index=True)
    loser_id: Mapped[int] = mapped_column(ForeignKey("profiles.id"), index=True)
    # One of: deterministic, probabilistic, manual.
    method: Mapped[str] = mapped_column(String(16))
    # The rule and identifier, or the match probability with each field's contribution.
    reason: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_reason: Mapped[str | None] = mapped_column(String(500))


class MergeBlock(Base):
    """Two profile nodes that must never be merged again (set when a merge is undone)."""

    __tablename__ = "merge_blocks"
    __table_args__ = (UniqueConstraint("profile_a_id", "profile_b_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # Stored with the lower id first.
    profile_a_id: Mapped[int] = mapped_column(ForeignKey("profiles.id"))
    profile_b_id: Mapped[int] = mapped_column(ForeignKey("profiles.id"), index=True)
    merge_id: Mapped[int | None] = mapped_column(ForeignKey("merges.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdentityRuleSet(Base):
    """A version of the workspace's identity rules (blocked values, limits, priorities,
    match thresholds, survivorship); the newest version is in force."""

    __tablename__ = "identity_rule_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rules: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(String(500))


class MatchModel(Base):
    """A trained probabilistic matching model (Splink settings with its EM estimates)."""

    __tablename__ = "match_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    # The model as Splink saves it: comparisons, m and u probabilities, lambda.
    model: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    # Training data size, EM iterations, convergence, backend, duration.
    training: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MatchPair(Base):
    """Two customer records a model scored as possibly the same person.

    Pairs above the auto-merge threshold are merged; those between the thresholds wait for a
    person's decision, which is remembered: a pair decided once is never asked again.
    """

    __tablename__ = "match_pairs"
    __table_args__ = (
        UniqueConstraint("record_a_id", "record_b_id"),
        Index("ix_match_pairs_status_probability", "status", "probability"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # Stored with the lower record id first.
    record_a_id: Mapped[int] = mapped_column(ForeignKey("source_records.id", ondelete="CASCADE"))
    record_b_id: Mapped[int] = mapped_column(
        ForeignKey("source_records.id", ondelete="CASCADE"), index=True
    )
    # How the pair came to the queue: ``probabilistic`` (a model scored it) or ``rule`` (an
    # identity rule held the two apart: a shared email, first names that disagree).
    method: Mapped[str] = mapped_column(
        String(16), default="probabilistic", server_default=text("'probabilistic'")
    )
    # The model, its probability and match weight: None for a rule's pair.
    model_id: Mapped[int | None] = mapped_column(ForeignKey("match_models.id"))
    probability: Mapped[float | None]
    match_weight: Mapped[float | None]
    # Each compared field: its comparison level and its contribution to the match weight.
    contributions: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    # Why a rule held the two apart (the rule, the shared identifier, both sides' first
    # names, and a sentence saying it); None for a model's pair.
    reason: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    # One of: merged (automatically), review (waiting), accepted, rejected.
    status: Mapped[str] = mapped_column(String(16))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(255))
    # The merge this pair caused (automatically or accepted): a probabilistic merge's reason
    # is completed from the pair's contributions.
    merge_id: Mapped[int | None] = mapped_column(ForeignKey("merges.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
