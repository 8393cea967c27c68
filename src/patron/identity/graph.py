"""The identity graph: profile nodes, merges of their trees, and the undoing of merges.

A customer is a tree of profile nodes under one root; every node carries that root as its
``canonical_id``, so reads resolve a node in one lookup. Merging two customers links the loser's
root under the winner's and re-points the loser's nodes: the cost is the number of nodes in the
loser's tree, never the customers' history, and the event log is never touched. Undoing a merge
cuts that one link, gives the cut-off subtree its root back and blocks the same merge for ever.

Every function works inside the caller's transaction and commits nothing. On PostgreSQL the
roots being changed are locked (``SELECT ... FOR UPDATE``, in id order, so two workers merging
the same customers queue rather than deadlock); SQLite serialises writers by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, cast

from sqlalchemy import BigInteger, any_, bindparam, case, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased

from patron.identity.models import Merge, MergeBlock, Profile, RecordProfile
from patron.storage import UTCDateTime, bind_value, execute_many, utcnow

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from sqlalchemy import ColumnElement, Connection, Select, Table
    from sqlalchemy.orm import QueryableAttribute, Session


class MergeMethod(StrEnum):
    """How a merge was decided."""

    DETERMINISTIC = "deterministic"
    PROBABILISTIC = "probabilistic"
    MANUAL = "manual"


@dataclass(frozen=True)
class MergeOutcome:
    """What ``merge_profiles`` did.

    ``merged``: the loser's tree now resolves to the winner (``merge_id`` is the audit row);
    ``same``: both nodes were already one customer (``winner_id`` is its root);
    ``blocked``: an undone merge forbids joining these customers (nothing changed).
    """

    status: Literal["merged", "same", "blocked"]
    merge_id: int | None
    winner_id: int
    loser_id: int | None


# A merge retries its root lookup when a concurrent merge moved a root between the read and the
# lock; more rounds than this means something keeps rewriting the same customer.
_MAX_LOCK_ROUNDS = 20


def new_profile(session: Session) -> int:
    """Create a node that is its own customer; return its id."""
    return new_profiles(session, 1)[0]


def new_profiles(session: Session, count: int) -> list[int]:
    """Create ``count`` nodes, each its own customer; return their ids in creation order."""
    if count <= 0:
        return []
    now = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        # One statement: the ids drawn from the sequence first, so each row is its own root
        # from the start.
        return sorted(session.scalars(_NEW_ROOTS_PG, {"count": count, "now": now}))
    # The ids are only known after the insert; 0 marks a root being created until the update
    # below, in the same transaction (SQLite has one writer at a time), so no reader ever sees
    # it.
    ids = sorted(session.scalars(_NEW_ROOTS_SQLITE, {"count": count, "now": now}))
    session.execute(_ROOTS_MADE_SQLITE)
    return ids


_NEW_ROOTS_SQLITE = text(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
    "INSERT INTO profiles (canonical_id, created_at, updated_at) "
    "SELECT 0, :now, :now FROM n RETURNING id"
).bindparams(bindparam("now", type_=UTCDateTime()))
_ROOTS_MADE_SQLITE = text("UPDATE profiles SET canonical_id = id WHERE canonical_id = 0")
_NEW_ROOTS_PG = text(
    "INSERT INTO profiles (id, canonical_id, created_at, updated_at) "
    "SELECT n.id, n.id, :now, :now FROM ("
    "SELECT nextval(pg_get_serial_sequence('profiles', 'id')) AS id "
    "FROM generate_series(1, :count)) AS n RETURNING id"
).bindparams(bindparam("now", type_=UTCDateTime()))


def canonical_id(session: Session, profile_id: int) -> int:
    """The root (customer) a node resolves to now. Raises ``LookupError`` for an unknown node."""
    found = session.scalar(select(Profile.canonical_id).where(Profile.id == profile_id))
    if found is None:
        raise LookupError(f"profile {profile_id} does not exist")
    return found


def canonical_ids(session: Session, profile_ids: set[int] | list[int]) -> dict[int, int]:
    """The root of each of the given nodes (unknown nodes are left out), in one query."""
    wanted = sorted(set(profile_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(Profile.id, Profile.canonical_id).where(Profile.id.in_(wanted))
    ).all()
    return dict(rows)


# Merges are on the resolver's hot path: their statements are built once, in Core, on the
# tables (no ORM adaptation per call).
_PROFILES = cast("Table", Profile.__table__)
_BLOCKS = cast("Table", MergeBlock.__table__)
_MERGES = cast("Table", Merge.__table__)
_node_a = _PROFILES.alias("node_a")
_node_b = _PROFILES.alias("node_b")
_ROOTS_OF = select(_PROFILES.c.id, _PROFILES.c.canonical_id).where(
    _PROFILES.c.id.in_(bindparam("nodes", expanding=True))
)
_root = _PROFILES.alias("root")
# The roots of the given nodes, locked in id order; each root as it is after the lock (a merge
# committed meanwhile shows as a root that is no longer its own canonical id).
_LOCK_ROOTS = (
    select(_root.c.id, _root.c.canonical_id)
    .join(_PROFILES, _PROFILES.c.canonical_id == _root.c.id)
    .where(_PROFILES.c.id.in_(bindparam("nodes", expanding=True)))
    .order_by(_root.c.id)
    .with_for_update(of=_root)
)
_BLOCK_BETWEEN = (
    select(_BLOCKS.c.id)
    .join(_node_a, _node_a.c.id == _BLOCKS.c.profile_a_id)
    .join(_node_b, _node_b.c.id == _BLOCKS.c.profile_b_id)
    .where(
        _node_a.c.canonical_id.in_([bindparam("winner"), bindparam("loser")]),
        _node_b.c.canonical_id.in_([bindparam("winner"), bindparam("loser")]),
        _node_a.c.canonical_id != _node_b.c.canonical_id,
    )
    .limit(1)
)
# Links the loser's root under the winner and re-points every node of the loser's tree.
_LINK_AND_REPOINT = (
    update(_PROFILES)
    .where(_PROFILES.c.canonical_id == bindparam("loser"))
    .values(
        canonical_id=bindparam("winner"),
        merged_into_id=case(
            (_PROFILES.c.id == bindparam("loser"), bindparam("winner")),
            else_=_PROFILES.c.merged_into_id,
        ),
        updated_at=bindparam("now"),
    )
)
# The same for many merges at once: the loser's tree goes to the customer's final root, which
# is the winner itself unless the winner lost a later merge of the same batch.
_LINK_AND_REPOINT_MANY = (
    update(_PROFILES)
    .where(_PROFILES.c.canonical_id == bindparam("loser"))
    .values(
        canonical_id=bindparam("winner_root"),
        merged_into_id=case(
            (_PROFILES.c.id == bindparam("loser"), bindparam("winner")),
            else_=_PROFILES.c.merged_into_id,
        ),
        updated_at=bindparam("now"),
    )
)
_INSERT_MERGES = insert(_MERGES)
_NEW_MERGE_IDS_PG = text(
    "SELECT nextval(pg_get_serial_sequence('merges', 'id')) FROM generate_series(1, :count)"
)


def _new_merge_ids(connection: Connection, count: int) -> list[int]:
    """Ids for ``count`` new merges, in order. PostgreSQL draws them from the sequence;
    SQLite gives a new row the largest id plus one, and this transaction, having written,
    holds the only write lock until it ends: nobody else takes the ones after it."""
    if connection.dialect.name == "postgresql":
        return list(connection.execute(_NEW_MERGE_IDS_PG, {"count": count}).scalars())
    last = connection.execute(select(func.max(_MERGES.c.id))).scalar() or 0
    return list(range(last + 1, last + 1 + count))


_RECORD_MERGE = (
    insert(_MERGES)
    .values(
        winner_id=bindparam("winner"),
        loser_id=bindparam("loser"),
        method=bindparam("method"),
        reason=bindparam("reason", type_=_MERGES.c.reason.type),
        created_at=bindparam("now", type_=_MERGES.c.created_at.type),
    )
    .returning(_MERGES.c.id)
)


def _roots(connection: Connection, a: int, b: int) -> tuple[int, int]:
    roots = dict(connection.execute(_ROOTS_OF, {"nodes": sorted({a, b})}).all())
    if a not in roots or b not in roots:
        missing = a if a not in roots else b
        raise LookupError(f"profile {missing} does not exist")
    return roots[a], roots[b]


def _lock_roots(session: Session, a: int, b: int) -> tuple[int, int]:
    """Lock the current roots of ``a`` and ``b`` in id order and return them.

    A concurrent merge may move a root between the read and the lock; the lookup is then made
    again under the locks already held, until the locked rows are still the roots. SQLite has
    one writer at a time, and refuses a write from a transaction that read an older state, so
    there a read is enough.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return _roots(connection, a, b)
    for _ in range(_MAX_LOCK_ROUNDS):
        locked = connection.execute(_LOCK_ROOTS, {"nodes": sorted({a, b})}).all()
        if all(node == root for node, root in locked):
            root_a, root_b = _roots(connection, a, b)
            if {root_a, root_b} == {node for node, _ in locked}:
                return root_a, root_b
    raise RuntimeError(f"the roots of profiles {a} and {b} kept moving; try again")


def merge_profiles(
    session: Session, a: int, b: int, *, method: MergeMethod, reason: dict[str, Any]
) -> MergeOutcome:
    """Make the customers of nodes ``a`` and ``b`` one customer, recording why.

    The older root (lower id) wins. Nothing happens when they are already one customer
    (``same``) or when an undone merge blocks joining them (``blocked``). Raises ``LookupError``
    when a node does not exist. Runs in the caller's transaction.
    """
    root_a, root_b = _lock_roots(session, a, b)
    if root_a == root_b:
        return MergeOutcome(status="same", merge_id=None, winner_id=root_a, loser_id=None)
    winner, loser = min(root_a, root_b), max(root_a, root_b)
    connection = session.connection()
    pair = {"winner": winner, "loser": loser}
    if connection.execute(_BLOCK_BETWEEN, pair).first() is not None:
        return MergeOutcome(status="blocked", merge_id=None, winner_id=winner, loser_id=loser)
    now = utcnow()
    connection.execute(_LINK_AND_REPOINT, {**pair, "now": now})
    merge_id = connection.execute(
        _RECORD_MERGE, {**pair, "method": str(method), "reason": reason, "now": now}
    ).scalar_one()
    return MergeOutcome(status="merged", merge_id=merge_id, winner_id=winner, loser_id=loser)


@dataclass(frozen=True)
class PairToMerge:
    """Two nodes whose customers should become one, and why (the merge's audit reason)."""

    a: int
    b: int
    reason: dict[str, Any]


# Statements of a set-based merge take this many rows (or ids) at a time: under SQLite's and
# PostgreSQL's limits on bound parameters, and few round trips for any number of pairs.
_BULK_ROWS = 5_000
_LOCK_ROOT_IDS = (
    select(_PROFILES.c.id, _PROFILES.c.canonical_id)
    .where(_PROFILES.c.id.in_(bindparam("nodes", expanding=True)))
    .order_by(_PROFILES.c.id)
    .with_for_update()
)
_BLOCKS_BY_ROOT = select(_node_a.c.canonical_id, _node_b.c.canonical_id).select_from(
    _BLOCKS.join(_node_a, _node_a.c.id == _BLOCKS.c.profile_a_id).join(
        _node_b, _node_b.c.id == _BLOCKS.c.profile_b_id
    )
)


def among(
    column: ColumnElement[int] | QueryableAttribute[int], name: str, *, postgres: bool
) -> ColumnElement[bool]:
    """``column`` is one of the ids bound as ``name`` (a list).

    SQLite: ``IN (?, ?, ...)``. PostgreSQL: ``= ANY(:name)``, the list sent as one array: an
    ``IN`` list of thousands is a new query text each time, which the driver parses and binds
    value by value.
    """
    if postgres:
        return column == any_(bindparam(name, type_=postgresql.ARRAY(BigInteger)))
    return column.in_(bindparam(name, expanding=True))


def id_chunks(ids: list[int], *, postgres: bool) -> Iterator[list[int]]:
    """The ids in lists small enough for one statement (all at once on PostgreSQL)."""
    size = max(len(ids), 1) if postgres else _BULK_ROWS
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _blocks_of_roots(postgres: bool) -> Select[int, int]:
    return _BLOCKS_BY_ROOT.where(
        or_(
            among(_node_a.c.canonical_id, "roots", postgres=postgres),
            among(_node_b.c.canonical_id, "roots", postgres=postgres),
        )
    )


_BLOCKS_OF_ROOTS = {postgres: _blocks_of_roots(postgres) for postgres in (False, True)}


def blocks_of_roots(connection: Connection, roots: list[int]) -> list[tuple[int, int]]:
    """The blocks touching any of the given customers, as pairs of the customers' roots now
    (a pair can name the same root twice, when a block's two nodes were joined since)."""
    postgres = connection.dialect.name == "postgresql"
    statement = _BLOCKS_OF_ROOTS[postgres]
    return [
        (a, b)
        for chunk in id_chunks(roots, postgres=postgres)
        for a, b in connection.execute(statement, {"roots": chunk})
    ]


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), _BULK_ROWS):
        yield values[start : start + _BULK_ROWS]


def _roots_of_many(connection: Connection, nodes: list[int]) -> dict[int, int]:
    roots: dict[int, int] = {}
    for chunk in _chunks(nodes):
        roots.update(connection.execute(_ROOTS_OF, {"nodes": chunk}).all())
    missing = [node for node in nodes if node not in roots]
    if missing:
        raise LookupError(f"profile {missing[0]} does not exist")
    return roots


def _lock_roots_of_many(session: Session, nodes: list[int]) -> dict[int, int]:
    """The current root of each node, every one of those roots locked (PostgreSQL).

    Roots are locked in id order, as ``merge_profiles`` locks its two; a root that a
    concurrent merge moved before its lock is looked up again and the new root locked too.
    """
    connection = session.connection()
    roots = _roots_of_many(connection, nodes)
    if connection.dialect.name != "postgresql":
        return roots
    locked: set[int] = set()
    for _ in range(_MAX_LOCK_ROUNDS):
        wanted = sorted(set(roots.values()) - locked)
        moved = False
        for chunk in _chunks(wanted):
            for node, root in connection.execute(_LOCK_ROOT_IDS, {"nodes": chunk}).all():
                locked.add(node)
                moved = moved or node != root
        if not moved:
            return roots
        roots = _roots_of_many(connection, nodes)
    raise RuntimeError("the roots of the profiles being merged kept moving; try again")


class _Customers:
    """Union-find over roots, the lowest root of a set standing for it (the merge winner),
    with the blocks between the sets."""

    def __init__(self, blocks: list[tuple[int, int]]) -> None:
        self._parent: dict[int, int] = {}
        # For each set's representative, the roots it must never be joined with.
        self._blocked: dict[int, set[int]] = {}
        for a, b in blocks:
            if a != b:
                self._blocked.setdefault(a, set()).add(b)
                self._blocked.setdefault(b, set()).add(a)

    def find(self, root: int) -> int:
        parent = self._parent.get(root, root)
        while parent != root:
            grand = self._parent.get(parent, parent)
            self._parent[root] = grand
            root, parent = parent, grand
        return root

    def blocked(self, winner: int, loser: int) -> bool:
        ours, theirs = self._blocked.get(winner, ()), self._blocked.get(loser, ())
        # Most customers have no block at all: a block needs one on each side.
        if not ours or not theirs:
            return False
        if len(ours) <= len(theirs):
            return any(self.find(other) == loser for other in ours)
        return any(self.find(other) == winner for other in theirs)

    def join(self, winner: int, loser: int) -> None:
        self._parent[loser] = winner
        moved = self._blocked.pop(loser, None)
        if moved:
            self._blocked.setdefault(winner, set()).update(moved)


def merge_pairs(
    session: Session, pairs: Sequence[PairToMerge], *, method: MergeMethod
) -> list[MergeOutcome]:
    """Merge the customers of many pairs of nodes at once; one outcome per pair, in order.

    The outcome of each pair is the one ``merge_profiles`` would give if called for the pairs
    one by one in this order (put the surest first: a chain of pairs is recorded through its
    strongest links): the older root wins, customers already one are ``same``, and an undone
    merge between any nodes of the two customers, as they stand at that pair, blocks it. The
    roots are read (and, on PostgreSQL, locked) once, the outcomes decided in memory, and the
    audit rows, links and re-pointed trees written in a few multi-row statements. Raises
    ``LookupError`` when a node does not exist. Runs in the caller's transaction.
    """
    if not pairs:
        return []
    connection = session.connection()
    roots = _lock_roots_of_many(session, sorted({n for pair in pairs for n in (pair.a, pair.b)}))
    # Only blocks touching these customers can forbid one of these merges.
    customers = _Customers(blocks_of_roots(connection, sorted(set(roots.values()))))
    outcomes: list[MergeOutcome] = []
    merged: list[tuple[int, int, int]] = []  # (position in outcomes, winner, loser)
    for pair in pairs:
        root_a, root_b = customers.find(roots[pair.a]), customers.find(roots[pair.b])
        winner, loser = min(root_a, root_b), max(root_a, root_b)
        if winner == loser:
            outcomes.append(MergeOutcome("same", None, winner, None))
        elif customers.blocked(winner, loser):
            outcomes.append(MergeOutcome("blocked", None, winner, loser))
        else:
            customers.join(winner, loser)
            merged.append((len(outcomes), winner, loser))
            outcomes.append(MergeOutcome("merged", None, winner, loser))
    if not merged:
        return outcomes
    now = utcnow()
    # Each loser root is linked under the root that won it, and every node of its tree (the
    # root included) re-pointed at the customer's final root: the per-pair statement, with
    # the final root for the winner, run for all losers at once.
    # The statements are independent of one another (a final root never loses), so they run
    # in the order of the losers: the index on canonical_id is then walked in order rather
    # than at random, which a large graph's page cache notices.
    stamp = bind_value(connection, _PROFILES.c.updated_at, now)
    repoint = [
        {"loser": loser, "winner": winner, "winner_root": customers.find(loser), "now": stamp}
        for _, winner, loser in sorted(merged, key=lambda merge: merge[2])
    ]
    execute_many(connection, _LINK_AND_REPOINT_MANY, repoint)
    # The audit rows, with ids drawn first (after the writes above, which hold SQLite's write
    # lock): the driver then takes them all in one call, with nothing returned row by row.
    merge_ids = _new_merge_ids(connection, len(merged))
    created = bind_value(connection, _MERGES.c.created_at, now)
    method_name = str(method)
    audit = [
        {
            "id": merge_id,
            "winner_id": winner,
            "loser_id": loser,
            "method": method_name,
            "reason": bind_value(connection, _MERGES.c.reason, pairs[position].reason),
            "created_at": created,
        }
        for merge_id, (position, winner, loser) in zip(merge_ids, merged, strict=True)
    ]
    execute_many(connection, _INSERT_MERGES, audit)
    for merge_id, (position, winner, loser) in zip(merge_ids, merged, strict=True):
        outcomes[position] = MergeOutcome("merged", merge_id, winner, loser)
    return outcomes


def unmerge(session: Session, merge_id: int, *, reason: str) -> None:
    """Undo a merge: the loser's subtree becomes its own customer again, for good.

    Merges made later inside either side stay. A block between the two roots keeps the same
    merge from happening again automatically. Raises ``LookupError`` for an unknown merge and
    ``ValueError`` for one already undone. Runs in the caller's transaction.
    """
    merge = session.execute(
        select(Merge.id, Merge.winner_id, Merge.loser_id, Merge.undone_at).where(
            Merge.id == merge_id
        )
    ).one_or_none()
    if merge is None:
        raise LookupError(f"merge {merge_id} does not exist")
    if merge.undone_at is not None:
        raise ValueError(f"merge {merge_id} was already undone")
    loser = merge.loser_id
    # Lock the customer's current root (the winner or whatever absorbed it since), then the
    # loser: the same order a merge of this customer would take.
    root, _ = _lock_roots(session, merge.winner_id, merge.winner_id)
    session.execute(select(Profile.id).where(Profile.id == loser).with_for_update()).one()
    locked = session.execute(
        select(Merge.undone_at).where(Merge.id == merge_id).with_for_update()
    ).one()
    if locked.undone_at is not None:
        raise ValueError(f"merge {merge_id} was already undone")
    now = utcnow()
    session.execute(
        update(Profile)
        .where(Profile.id == loser)
        .values(merged_into_id=None, canonical_id=loser, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    # The loser's subtree: the nodes whose merged_into chain reaches the loser. Only nodes of
    # the customer being split can be in it, so the walk stays within that one tree.
    subtree = select(Profile.id).where(Profile.merged_into_id == loser).cte(recursive=True)
    child = aliased(Profile)
    subtree = subtree.union_all(
        select(child.id).join(subtree, child.merged_into_id == subtree.c.id)
    )
    session.execute(
        update(Profile)
        .where(Profile.id.in_(select(subtree.c.id)), Profile.canonical_id == root)
        .values(canonical_id=loser, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Merge)
        .where(Merge.id == merge_id)
        .values(undone_at=now, undone_reason=reason[:500])
        .execution_options(synchronize_session=False)
    )
    low, high = min(loser, merge.winner_id), max(loser, merge.winner_id)
    exists = session.scalar(
        select(MergeBlock.id).where(MergeBlock.profile_a_id == low, MergeBlock.profile_b_id == high)
    )
    if exists is None:
        session.execute(
            insert(MergeBlock).values(
                profile_a_id=low, profile_b_id=high, merge_id=merge_id, created_at=now
            )
        )


def profile_of_record(session: Session, source_record_id: int) -> int | None:
    """The node a source's customer record was resolved to (not its canonical root), if any."""
    return session.scalar(
        select(RecordProfile.profile_id).where(RecordProfile.source_record_id == source_record_id)
    )
