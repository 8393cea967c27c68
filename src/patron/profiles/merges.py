"""Undoing a merge from the customer 360: the graph is split and both golden records rebuilt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from patron import identity
from patron.identity.models import Merge
from patron.profiles.golden import refresh_golden_records

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class UndoneMerge:
    merge_id: int
    # The customers the split left: the winner's and the loser's roots now.
    customer_ids: tuple[int, int]


def undo_merge(session: Session, merge_id: int, *, reason: str) -> UndoneMerge:
    """Split the customers merge ``merge_id`` joined and refresh both golden records.

    The same merge is blocked from happening again (see ``patron.identity.unmerge``). Raises
    ``LookupError`` for an unknown merge and ``ValueError`` for one already undone. Runs in the
    caller's transaction.
    """
    identity.unmerge(session, merge_id, reason=reason)
    winner, loser = session.execute(
        select(Merge.winner_id, Merge.loser_id).where(Merge.id == merge_id)
    ).one()
    refresh_golden_records(session, [winner, loser])
    roots = identity.canonical_ids(session, [winner, loser])
    return UndoneMerge(merge_id, (roots[winner], roots[loser]))
