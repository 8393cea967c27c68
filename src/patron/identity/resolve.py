"""Real-time deterministic identity resolution of events, customer records and orders.

The worker calls ``resolve_identities`` after each batch of the log. Each thing it reads (an
event, a source's customer record, an order) carries identifiers; they are normalised, blocked
values dropped, and taken strongest first (the rules' priority order):

* no identifier known yet: a new profile node gets them all;
* one customer knows some of them: the others are attached to it;
* several customers know them: they are merged (deterministically, with the two identifiers
  that joined them as the reason), unless the merge would break a per-customer limit (two
  ``userId`` of one source, six emails...) or an undone merge forbids it: then the weaker
  identifier gives way and stays with the customer that has it.

An identifier that would break a limit of the customer is not attached. That is what keeps a
shared in-store tablet or a family email from chaining different people together: the tablet's
device id belongs to the first shopper seen with it, and each later shopper, arriving with a
``userId`` of their own, cannot be merged into that shopper (one ``userId`` per source).

Limits do not help when the two people have no such identifier of one source: a family email
on a store record and an app account. The rules' shared-identifier guard does: when the only
identifiers joining an item to a customer are shareable ones (emails) and the first names on
both sides clearly disagree (``patron.identity.names``), the item does not join that customer,
and the two customers wait in the review queue for a person to decide (once per pair).

Before any of this, the traits of identify calls fill in the source records their userIds
designate (``fill_records_from_identify_calls``, ``patron.identity.traits``), so that a record
has its name before an order's or an event's email is weighed against it.

Every step reads in batches (one query for all identifiers of a batch, with their customers'
identifier counts and blocks) and holds the ``identity`` cursor row locked for its whole
transaction: one resolver at a time, so two workers never resolve the same customer at once and
no update is lost. A batch decides its merges in memory and writes them together at its end
(``merge_pairs``), which locks the customers' roots and reads them and their blocks again,
against manual merges, unmerges and review decisions made meanwhile.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from sqlalchemy import (
    bindparam,
    case,
    delete,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased

from patron import ingest
from patron.identity.graph import (
    MergeMethod,
    PairToMerge,
    among,
    blocks_of_roots,
    canonical_ids,
    id_chunks,
    merge_pairs,
    new_profiles,
)
from patron.identity.identifiers import (
    IdentifierKey,
    IdentifierType,
    normalise,
    scope_of,
)
from patron.identity.models import (
    EventProfile,
    Identifier,
    MatchPair,
    OrderProfile,
    Profile,
    RecordProfile,
)
from patron.identity.names import clean_first_name, first_names_disagree
from patron.identity.rules import IdentityRules, current_rules
from patron.identity.traits import TraitUpdate, fill_records_from_traits, record_fields
from patron.ingest.models import Event, Order, Source, SourceRecord
from patron.storage import dialect_insert, execute_many, keys_join, utcnow

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import datetime, timedelta

    from sqlalchemy import Dialect, Table, TextClause
    from sqlalchemy.orm import Session

EVENTS_CURSOR = "identity"
ORDERS_CURSOR = "identity-orders"
TRAITS_CURSOR = "identity-traits"
# Records are found by what they hold (no node yet, or content changed since), not by an
# append-only id: each sweep walks the table once, from here, and starts again at the end.
RECORDS_SWEEP_CURSOR = "identity-records-sweep"
# The traits pass reads this many batches of the log per call: it only decodes the traits of
# identify calls, and orders and events wait until it has caught up.
_TRAITS_BATCHES = 20
# The same settle time as every reader of the log (see ``ingest.CART_SETTLE_TIME``).
SETTLE_TIME = ingest.CART_SETTLE_TIME
# Ids per IN list, well under SQLite's limit of bound parameters.
_LOOKUP_CHUNK = 3_000
# New customers made at once when a batch needs more than it expected (records the
# shared-identifier rule holds apart, say): one statement instead of one per customer.
_SPARE_CHUNK = 256
# The longest source record id (``source_records.record_id``).
_RECORD_ID_LENGTH = 255
_TRAIT_FIELDS = {
    IdentifierType.EMAIL: ("email",),
    IdentifierType.PHONE: ("phone",),
    IdentifierType.LOYALTY_CARD: ("loyalty_card", "loyaltyCard"),
}

_Slot = tuple[str, int]  # (type, scope): what a per-customer limit counts


@dataclass(frozen=True, slots=True)
class ResolutionStep:
    """What one call resolved and what it changed in the graph."""

    events: int = 0
    records: int = 0
    orders: int = 0
    profiles_created: int = 0
    identifiers_added: int = 0
    merges: int = 0
    merges_refused: int = 0
    # Joins through a shareable identifier alone (a family email) between customers whose
    # first names disagree: kept apart for a person to decide.
    merges_held: int = 0
    # Pairs of customers so held put into the review queue (each pair once, ever).
    held_queued: int = 0
    # Source customer records filled in (or created) from identify traits, and the events the
    # traits pass read to find the identify calls.
    records_filled: int = 0
    traits_scanned: int = 0

    def __add__(self, other: ResolutionStep) -> ResolutionStep:
        return ResolutionStep(
            *(a + b for a, b in zip(self._values(), other._values(), strict=True))
        )

    def _values(self) -> tuple[int, ...]:
        return (
            self.events,
            self.records,
            self.orders,
            self.profiles_created,
            self.identifiers_added,
            self.merges,
            self.merges_refused,
            self.merges_held,
            self.held_queued,
            self.records_filled,
            self.traits_scanned,
        )

    @property
    def items_read(self) -> int:
        return self.events + self.records + self.orders + self.traits_scanned


class _Candidate(NamedTuple):
    """An identifier an item carries, and the source that sent it (a named tuple, for speed)."""

    key: IdentifierKey
    source_id: int


@dataclass(slots=True)
class _Counts:
    profiles_created: int = 0
    identifiers_added: int = 0
    merges: int = 0
    merges_refused: int = 0
    merges_held: int = 0
    held_queued: int = 0

    def step(self, *, events: int = 0, records: int = 0, orders: int = 0) -> ResolutionStep:
        """What a call read, with what this batch changed in the graph."""
        return ResolutionStep(
            events=events,
            records=records,
            orders=orders,
            profiles_created=self.profiles_created,
            identifiers_added=self.identifiers_added,
            merges=self.merges,
            merges_refused=self.merges_refused,
            merges_held=self.merges_held,
            held_queued=self.held_queued,
        )


@dataclass(frozen=True, slots=True)
class _HeldPair:
    """An item kept apart from a customer by the shared-identifier guard."""

    item: int  # the node the item was resolved to
    other: int  # a node of the customer it was kept from
    shared: IdentifierKey
    item_names: frozenset[str]
    other_names: frozenset[str]


@dataclass(slots=True)
class _Batch:
    """The part of the graph a batch touches, loaded once, kept in step with its changes."""

    session: Session
    rules: IdentityRules
    node_of: dict[IdentifierKey, int] = field(default_factory=dict)
    # The root of each node as read (or made); a merge of this batch is kept in ``merged_into``
    # (loser root -> winner root) and written when the batch finishes (``_root`` follows it).
    root_of: dict[int, int] = field(default_factory=dict)
    merged_into: dict[int, int] = field(default_factory=dict)
    # For each customer (current root), the customers an undone merge or a rejected review
    # keeps it from (roots as read; ``_root`` them before comparing).
    blocked: dict[int, set[int]] = field(default_factory=dict)
    slots: dict[int, Counter[_Slot]] = field(default_factory=dict)
    # The cleaned first names of each customer's records, for the shared-identifier guard
    # (read only for batches where a shareable identifier is known already).
    names: dict[int, set[str]] = field(default_factory=dict)
    names_read: set[int] = field(default_factory=set)
    new_identifiers: list[dict[str, Any]] = field(default_factory=list)
    merges: list[PairToMerge] = field(default_factory=list)
    # Customers an item was kept apart from by the shared-identifier guard, for review.
    held: list[_HeldPair] = field(default_factory=list)
    spare_nodes: list[int] = field(default_factory=list)
    counts: _Counts = field(default_factory=_Counts)
    # When the batch's identifiers were added: one time for all of them.
    now: datetime = field(default_factory=utcnow)

    def load(self, keys: set[IdentifierKey], expected_new: int) -> None:
        """Read the nodes of ``keys`` and the identifier counts of their customers."""
        wanted = sorted(key for key in keys if key not in self.node_of)
        rows: Sequence[Any] = ()
        if wanted:
            columns = cast("Table", Identifier.__table__).c
            table, known = keys_join(
                self.session.get_bind().dialect,
                (columns.type, columns.scope, columns.value),
                wanted,
            )
            # Each identifier's node and that node's root, in one query.
            rows = self.session.execute(
                select(
                    columns.type,
                    columns.scope,
                    columns.value,
                    columns.profile_id,
                    Profile.canonical_id,
                )
                .select_from(table)
                .join(Identifier, known)
                .join(Profile, Profile.id == columns.profile_id)
            ).all()
        for kind, scope, value, node, root in rows:
            self.node_of[IdentifierKey(kind, scope, value)] = node
            # A node read before keeps its root as read then (merges of this batch are
            # followed through ``merged_into``).
            self.root_of.setdefault(node, root)
        # Roots read for the first time: neither counted yet nor merged away in this batch.
        fresh = set(self.root_of.values()) - self.slots.keys() - self.merged_into.keys()
        self._load_slots(fresh)
        self._load_blocks(fresh)
        if self.rules.shared_identifiers.enabled and any(
            self.rules.is_shareable(key.type) for key in self.node_of
        ):
            # Names matter only where a shareable identifier is known already.
            self._load_names(set(self.root_of.values()) - self.names_read)
        if expected_new > 0:
            # New customers are made in one statement; the ones not needed are removed at the
            # end of the batch, in the same transaction.
            self.spare_nodes.extend(reversed(new_profiles(self.session, expected_new)))

    def _load_slots(self, roots: set[int]) -> None:
        for root in roots:
            self.slots[root] = Counter()
        connection = self.session.connection()
        postgres = connection.dialect.name == "postgresql"
        profiles = cast("Table", Profile.__table__).c
        identifiers = cast("Table", Identifier.__table__).c
        query = (
            select(profiles.canonical_id, identifiers.type, identifiers.scope, func.count())
            .join_from(
                cast("Table", Profile.__table__),
                cast("Table", Identifier.__table__),
                identifiers.profile_id == profiles.id,
            )
            .where(among(profiles.canonical_id, "roots", postgres=postgres))
            .group_by(profiles.canonical_id, identifiers.type, identifiers.scope)
        )
        for chunk in id_chunks(sorted(roots), postgres=postgres):
            for root, kind, scope, count in connection.execute(query, {"roots": chunk}):
                self.slots[root][(kind, scope)] = count

    def _load_names(self, roots: set[int]) -> None:
        self.names_read |= roots
        postgres = self.session.get_bind().dialect.name == "postgresql"
        query = (
            select(Profile.canonical_id, SourceRecord.first_name)
            .join(RecordProfile, RecordProfile.profile_id == Profile.id)
            .join(SourceRecord, SourceRecord.id == RecordProfile.source_record_id)
            .where(
                among(Profile.canonical_id, "roots", postgres=postgres),
                SourceRecord.first_name.is_not(None),
            )
            .distinct()
        )
        for chunk in id_chunks(sorted(roots), postgres=postgres):
            for root, first_name in self.session.execute(query, {"roots": chunk}):
                cleaned = clean_first_name(first_name)
                if cleaned is not None:
                    self.names.setdefault(self._find(root), set()).add(cleaned)

    def _load_blocks(self, roots: set[int]) -> None:
        for a, b in blocks_of_roots(self.session.connection(), sorted(roots)):
            if a != b:
                self.blocked.setdefault(self._find(a), set()).add(b)
                self.blocked.setdefault(self._find(b), set()).add(a)

    def _find(self, root: int) -> int:
        """The customer a root read in this batch belongs to now."""
        winner = self.merged_into.get(root)
        if winner is None:
            return root
        final = self._find(winner)
        if final != winner:
            self.merged_into[root] = final
        return final

    def _root(self, node: int) -> int:
        return self._find(self.root_of[node])

    def _blocked(self, a: int, b: int) -> bool:
        """Whether an undone merge or a rejected review keeps customers ``a`` and ``b`` apart."""
        return any(self._find(other) == b for other in self.blocked.get(a, ()))

    def _new_node(self) -> int:
        if not self.spare_nodes:
            self.spare_nodes.extend(reversed(new_profiles(self.session, _SPARE_CHUNK)))
        node = self.spare_nodes.pop()
        self.root_of[node] = node
        self.slots[node] = Counter()
        self.names_read.add(node)
        self.counts.profiles_created += 1
        return node

    def _conflict(self, held: Counter[_Slot], added: Counter[_Slot]) -> _Slot | None:
        """The first limit that holding both sets of identifiers would break, if any."""
        for slot, count in added.items():
            limit = self.rules.limit(slot[0])
            if limit is None:
                continue
            present = held.get(slot, 0)
            if present and count and present + count > limit:
                return slot
        return None

    def _attach(self, candidate: _Candidate, node: int) -> bool:
        if candidate.key in self.node_of:
            return False
        root = self._root(node)
        slot = (candidate.key.type, candidate.key.scope)
        limit = self.rules.limit(candidate.key.type)
        if limit is not None and self.slots[root][slot] + 1 > limit:
            return False
        self.node_of[candidate.key] = node
        self.slots[root][slot] += 1
        self.new_identifiers.append(
            {
                "type": candidate.key.type,
                "scope": candidate.key.scope,
                "value": candidate.key.value,
                "profile_id": node,
                "source_id": candidate.source_id,
                "created_at": self.now,
            }
        )
        self.counts.identifiers_added += 1
        return True

    def _merge(
        self,
        root: int,
        other: int,
        joining: IdentifierKey,
        anchor: IdentifierKey,
        on: dict[str, Any],
    ) -> int | None:
        """Merge two customers if the rules allow it; the surviving root, or None.

        The merge is decided here and written with the batch's others in ``finish``.
        """
        if self._conflict(self.slots[root], self.slots[other]) is not None:
            self.counts.merges_refused += 1
            return None
        if self._blocked(root, other):
            self.counts.merges_refused += 1
            return None
        winner, loser = min(root, other), max(root, other)
        self.merges.append(
            PairToMerge(
                winner,
                loser,
                {
                    "rule": "identifiers seen together",
                    "identifier": {"type": joining.type, "value": joining.value},
                    "with": {"type": anchor.type, "value": anchor.value},
                    "on": on,
                },
            )
        )
        self.merged_into[loser] = winner
        self.counts.merges += 1
        self.slots[winner] = self.slots.get(winner, Counter()) + self.slots.pop(loser, Counter())
        self.names[winner] = self.names.get(winner, set()) | self.names.pop(loser, set())
        self.blocked.setdefault(winner, set()).update(self.blocked.pop(loser, ()))
        return winner

    def _held_apart(
        self,
        ordered: Sequence[_Candidate],
        root: int,
        names: set[str],
        held: dict[int, _HeldPair],
    ) -> bool:
        """Whether the item must not join ``root``: the only identifiers it shares with that
        customer are shareable ones (a family email) and their first names disagree."""
        if root in held:
            return True
        shared: IdentifierKey | None = None
        for candidate in ordered:
            node = self.node_of.get(candidate.key)
            if node is None or self._root(node) != root:
                continue
            if not self.rules.is_shareable(candidate.key.type):
                return False
            shared = shared or candidate.key
        theirs = self.names.get(root, set())
        if shared is None or not first_names_disagree(names, theirs):
            return False
        # The item's side is known once the item is resolved (``resolve`` fills it in).
        held[root] = _HeldPair(0, root, shared, frozenset(names), frozenset(theirs))
        self.counts.merges_held += 1
        return True

    def resolve(
        self,
        candidates: Sequence[_Candidate],
        on: dict[str, Any],
        first_name: str | None = None,
    ) -> int | None:
        """The node the identifiers resolve to, after attaching and merging; None if none.

        ``first_name`` (cleaned) is the item's own, if it has one: a record's, an identify
        call's. It is what the shared-identifier guard compares.
        """
        if not candidates:
            return None
        unique = {c.key: c for c in reversed(candidates)}
        ordered = sorted(unique.values(), key=lambda c: self.rules.rank(c.key.type))
        anchor: int | None = None  # the node of the strongest identifier
        anchor_key: IdentifierKey | None = None
        pending: list[_Candidate] = []  # unknown identifiers before any known one
        guarded = self.rules.shared_identifiers.enabled
        own_names = {first_name} if first_name is not None else set()
        held: dict[int, _HeldPair] = {}  # customers the item is kept apart from
        for candidate in ordered:
            node = self.node_of.get(candidate.key)
            if node is None:
                if anchor is None:
                    pending.append(candidate)
                else:
                    self._attach(candidate, anchor)
                continue
            root = self._root(node)
            if anchor is None:
                wanted = Counter((c.key.type, c.key.scope) for c in pending)
                if self._conflict(self.slots[root], wanted) is not None:
                    # A stronger identifier of this event cannot join that customer.
                    self.counts.merges_refused += 1
                    continue
                if guarded and self._held_apart(ordered, root, own_names, held):
                    continue
                anchor, anchor_key = node, candidate.key
                for waiting in pending:
                    self._attach(waiting, anchor)
                pending = []
                continue
            anchor_root = self._root(anchor)
            if root != anchor_root and anchor_key is not None:
                if guarded and self._held_apart(
                    ordered, root, own_names | self.names.get(anchor_root, set()), held
                ):
                    continue
                self._merge(anchor_root, root, candidate.key, anchor_key, on)
        if anchor is None:
            anchor = self._new_node()
            for waiting in pending:
                self._attach(waiting, anchor)
        if guarded and first_name is not None:
            self.names.setdefault(self._root(anchor), set()).add(first_name)
        self.held.extend(replace(pair, item=anchor) for pair in held.values())
        return anchor

    def finish(self) -> None:
        """Write the merges and the identifiers of the batch, and drop the new nodes that were
        not needed."""
        if self.merges:
            # One set-based write for the batch's merges, in the order they were decided. It
            # locks the roots and reads them and their blocks again: a manual merge, unmerge or
            # review decision committed since the batch read them shows here, and a merge it
            # now forbids is not made (counted as refused).
            outcomes = merge_pairs(self.session, self.merges, method=MergeMethod.DETERMINISTIC)
            unmade = sum(1 for outcome in outcomes if outcome.status != "merged")
            self.counts.merges -= unmade
            self.counts.merges_refused += unmade
            self.merges = []
        _insert_rows(self.session, Identifier, self.new_identifiers)
        self.new_identifiers = []
        if self.spare_nodes:
            self.session.execute(
                delete(Profile)
                .where(Profile.id.in_(self.spare_nodes))
                .execution_options(synchronize_session=False)
            )
            self.spare_nodes = []


def _insert_rows(session: Session, entity: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows in the caller's transaction, the fastest way for each engine.

    SQLite steps one prepared statement per row, through the driver's own ``executemany``
    (the ORM's bulk insert spends more in Python per row than SQLite does): each distinct
    value of a column SQLAlchemy would convert (a time) is converted once. On PostgreSQL that
    costs a round trip per row, and multi-row ``VALUES`` cost SQLAlchemy a bound parameter per
    value: each column goes as one array instead, and the rows are ``unnest``ed from them, in
    one statement whatever their number. Rows carry every column they set: no Python-side
    default is applied.
    """
    if not rows:
        return
    table = cast("Table", inspect(entity).local_table)
    columns = tuple(rows[0])
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        session.execute(
            _unnest_insert(connection.dialect, table, columns),
            {name: [row[name] for row in rows] for name in columns},
        )
        return
    dialect = connection.dialect
    for name in columns:
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            bound = {value: process(value) for value in {row[name] for row in rows}}
            rows = [{**row, name: bound[row[name]]} for row in rows]
    execute_many(connection, insert(table), rows)


@lru_cache(maxsize=32)
def _unnest_insert(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> TextClause:
    """``INSERT INTO table (columns) SELECT * FROM unnest(one array per column)``."""
    arrays = ", ".join(
        f"CAST(:{name} AS {table.c[name].type.compile(dialect=dialect)}[])" for name in columns
    )
    return text(
        f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({arrays})"  # noqa: S608 - names from the schema
    ).bindparams(*(bindparam(name, type_=postgresql.ARRAY(table.c[name].type)) for name in columns))


class _IdentifierReader:
    """Turns raw values into identifiers under the rules, each distinct value once per batch.

    A visitor's cookie, an app's user id or a household's email comes back in event after
    event: normalising it (an email's validation above all) and checking the blocklist again
    each time cost a quarter of resolving a batch.
    """

    __slots__ = ("_known", "rules")

    def __init__(self, rules: IdentityRules) -> None:
        self.rules = rules
        self._known: dict[tuple[str, object, int, str | None, bool], _Candidate | None] = {}

    def candidate(
        self,
        kind: str,
        raw: object,
        source_id: int,
        region: str | None,
        *,
        per_source: bool = False,
    ) -> _Candidate | None:
        """The identifier a raw value of this type is, or None (not one, or blocked)."""
        if raw is None:
            return None
        if not isinstance(raw, str | int):  # JSON objects and lists are not hashable
            return self._read(kind, raw, source_id, region, per_source=per_source)
        memo = (kind, raw, source_id, region, per_source)
        try:
            return self._known[memo]
        except KeyError:
            found = self._read(kind, raw, source_id, region, per_source=per_source)
            self._known[memo] = found
            return found

    def _read(
        self, kind: str, raw: object, source_id: int, region: str | None, *, per_source: bool
    ) -> _Candidate | None:
        value = normalise(kind, raw, region=region)
        if value is None or self.rules.is_blocked(kind, value):
            return None
        key = IdentifierKey(kind, scope_of(kind, source_id, per_source=per_source), value)
        return _Candidate(key, source_id)


def _traits_candidates(
    reader: _IdentifierReader,
    traits: dict[str, Any],
    source_id: int,
    source_name: str,
    region: str | None,
) -> list[_Candidate]:
    found: list[_Candidate] = []
    if not traits:
        return found
    for kind, names in _TRAIT_FIELDS.items():
        for name in names:
            raw = traits.get(name)
            if raw is None:
                continue
            candidate = reader.candidate(kind, raw, source_id, region)
            if candidate is not None:
                found.append(candidate)
                break
    for custom in reader.rules.custom_identifiers:
        if custom.sources and source_name not in custom.sources:
            continue
        candidate = reader.candidate(
            custom.type,
            traits.get(custom.trait),
            source_id,
            region,
            per_source=custom.per_source,
        )
        if candidate is not None:
            found.append(candidate)
    return found


@dataclass(frozen=True, slots=True)
class _SourceInfo:
    name: str
    region: str | None
    # The source whose customer record ids this source sends as userId, if the rules say so.
    records_of_user_ids: int | None = None


def _sources(session: Session, default_region: str, rules: IdentityRules) -> dict[int, _SourceInfo]:
    rows = session.execute(select(Source.id, Source.name, Source.default_region)).all()
    by_name = {name: source_id for source_id, name, _ in rows}
    return {
        source_id: _SourceInfo(
            name,
            region or default_region,
            # A source's userIds are its own customer ids unless the rules name another
            # source whose records they are.
            by_name.get(rules.user_id_records.get(name, name)),
        )
        for source_id, name, region in rows
    }


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True, slots=True)
class _ParsedEvent:
    row: Any
    found: list[_Candidate]
    # alias: the previous id (a user id or a cookie).
    previous: list[_Candidate]
    # identify: the first name its traits give (cleaned), for the shared-identifier guard.
    first_name: str | None = None


def _parse_event(reader: _IdentifierReader, row: Any, source: _SourceInfo) -> _ParsedEvent:
    found, previous = _event_candidates(reader, row, source)
    if row.type != "identify":
        return _ParsedEvent(row, found, previous)
    first_name = record_fields(_dict(row.traits), region=source.region).get("first_name")
    return _ParsedEvent(
        row, found, previous, clean_first_name(first_name) if isinstance(first_name, str) else None
    )


def _event_candidates(
    reader: _IdentifierReader, row: Any, source: _SourceInfo
) -> tuple[list[_Candidate], list[_Candidate]]:
    """The identifiers an event carries, and the alias's previous id (user id or cookie)."""
    traits = dict(_dict(row.context_traits))
    if row.type == "identify":
        traits.update(_dict(row.traits))
    found: list[_Candidate] = []
    for kind, raw in (
        (IdentifierType.USER_ID, row.user_id),
        (IdentifierType.ANONYMOUS_ID, row.anonymous_id),
    ):
        candidate = reader.candidate(kind, raw, row.source_id, source.region)
        if candidate is not None:
            found.append(candidate)
    if source.records_of_user_ids is not None and found and found[0].key.type == "user_id":
        # The userId is the customer id of another source's records (an e-shop's analytics
        # sending the e-shop account id): the event belongs to that customer record.
        record = IdentifierKey(
            IdentifierType.RECORD, source.records_of_user_ids, found[0].key.value
        )
        found.append(_Candidate(record, row.source_id))
    found.extend(_traits_candidates(reader, traits, row.source_id, source.name, source.region))
    device = _dict(row.device)
    for kind, raw in (
        (IdentifierType.DEVICE_ID, device.get("id")),
        (IdentifierType.PUSH_TOKEN, device.get("token")),
    ):
        candidate = reader.candidate(kind, raw, row.source_id, source.region)
        if candidate is not None:
            found.append(candidate)
    previous: list[_Candidate] = []
    if row.type == "alias" and row.previous_id is not None:
        for kind in (IdentifierType.USER_ID, IdentifierType.ANONYMOUS_ID):
            candidate = reader.candidate(kind, row.previous_id, row.source_id, source.region)
            if candidate is not None:
                previous.append(candidate)
    return found, previous


def _expected_new(batch: _Batch, groups: Iterable[Sequence[_Candidate]]) -> int:
    """An upper bound of the new customers a batch makes: groups sharing no known identifier,
    counted once per strongest identifier."""
    firsts: set[IdentifierKey] = set()
    for group in groups:
        if group and not any(c.key in batch.node_of for c in group):
            firsts.add(min(group, key=lambda c: batch.rules.rank(c.key.type)).key)
    return len(firsts)


_RECORDS_OF_ROOTS = (
    select(Profile.canonical_id, SourceRecord.id, SourceRecord.first_name)
    .join(RecordProfile, RecordProfile.profile_id == Profile.id)
    .join(SourceRecord, SourceRecord.id == RecordProfile.source_record_id)
    .where(Profile.canonical_id.in_(bindparam("roots", expanding=True)))
)
_profile_a, _profile_b = aliased(Profile), aliased(Profile)
_record_a, _record_b = aliased(RecordProfile), aliased(RecordProfile)
# The pairs of customers the review queue holds already (any status), as their roots now.
_QUEUED_BETWEEN = (
    select(_profile_a.canonical_id, _profile_b.canonical_id)
    .select_from(MatchPair)
    .join(_record_a, _record_a.source_record_id == MatchPair.record_a_id)
    .join(_profile_a, _profile_a.id == _record_a.profile_id)
    .join(_record_b, _record_b.source_record_id == MatchPair.record_b_id)
    .join(_profile_b, _profile_b.id == _record_b.profile_id)
    .where(_profile_a.canonical_id.in_(bindparam("roots", expanding=True)))
)


def _shown_names(first_name: str | None, names: frozenset[str]) -> str:
    """A side's first names for a reviewer: the record's as written when it is one of them."""
    if first_name and clean_first_name(first_name) in names:
        return first_name.strip()
    return ", ".join(sorted(name.title() for name in names))


def _queue_held_pairs(session: Session, held: Sequence[_HeldPair]) -> int:
    """Put the customers the shared-identifier guard kept apart into the review queue.

    Each pair of customers once, as a pair of their records (the item's own record or another
    of its customer's, one whose first name disagrees by preference), with the rule's reason
    instead of a match probability. A pair of customers the queue holds already, waiting or
    decided, is not queued again; a customer without any record cannot be shown and is left
    out. Runs in the caller's transaction, after the batch's assignments are written. Returns
    how many pairs were queued.
    """
    if not held:
        return 0
    roots = canonical_ids(session, {node for pair in held for node in (pair.item, pair.other)})
    wanted: dict[tuple[int, int], tuple[int, int, _HeldPair]] = {}
    for pair in held:
        item, other = roots[pair.item], roots[pair.other]
        if item != other:  # else joined since, by a stronger identifier
            wanted.setdefault((min(item, other), max(item, other)), (item, other, pair))
    customers = sorted({root for key in wanted for root in key})
    records: dict[int, list[tuple[int, str | None]]] = {}
    queued: set[tuple[int, int]] = set()
    for start in range(0, len(customers), _LOOKUP_CHUNK):
        chunk = {"roots": customers[start : start + _LOOKUP_CHUNK]}
        for root, record, first_name in session.execute(_RECORDS_OF_ROOTS, chunk):
            records.setdefault(root, []).append((record, first_name))
        for a, b in session.execute(_QUEUED_BETWEEN, chunk):
            queued.add((min(a, b), max(a, b)))
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for key, (item, other, pair) in wanted.items():
        if key in queued or item not in records or other not in records:
            continue
        sides = sorted(
            (
                _representative(records[item], pair.item_names),
                _representative(records[other], pair.other_names),
            ),
            key=lambda side: side[0][0],
        )
        (record_a, names_a), (record_b, names_b) = sides
        shown = f"{_shown_names(record_a[1], names_a)} / {_shown_names(record_b[1], names_b)}"
        rows.append(
            {
                "record_a_id": record_a[0],
                "record_b_id": record_b[0],
                "method": "rule",
                "model_id": None,
                "probability": None,
                "match_weight": None,
                "contributions": {},
                "reason": {
                    "rule": "shared identifiers",
                    "identifier": {"type": pair.shared.type, "value": pair.shared.value},
                    "first_names": [sorted(names_a), sorted(names_b)],
                    "text": f"shared {pair.shared.type}, first names disagree: {shown}",
                },
                "status": "review",
                "created_at": now,
            }
        )
    if not rows:
        return 0
    # A pair `patron resolve` scored meanwhile (in a transaction that committed first) keeps
    # its score: the rule's row is not written over it, and not counted as queued.
    written = session.execute(
        dialect_insert(session, MatchPair)
        .on_conflict_do_nothing(index_elements=["record_a_id", "record_b_id"])
        .returning(MatchPair.id),
        rows,
    )
    return len(written.all())


def _representative(
    records: list[tuple[int, str | None]], names: frozenset[str]
) -> tuple[tuple[int, str | None], frozenset[str]]:
    """The record shown for a customer: the oldest whose first name is one compared."""
    ordered = sorted(records)
    named = [record for record in ordered if clean_first_name(record[1]) in names]
    return (named or ordered)[0], names


def resolve_events(
    session: Session,
    *,
    default_region: str,
    limit: int = 5_000,
    settle: timedelta = SETTLE_TIME,
) -> ResolutionStep:
    """Resolve the next ``limit`` settled events of the log; call until it reads none.

    Runs in the caller's transaction with the identity cursor locked.
    """
    position = ingest.lock_cursor(session, EVENTS_CURSOR)
    # In Core, on the connection: the ORM's handling of each of thousands of rows is not needed.
    events = cast("Table", Event.__table__).c
    rows = (
        session.connection()
        .execute(
            select(
                events.id,
                events.source_id,
                events.type,
                events.user_id,
                events.anonymous_id,
                events.previous_id,
                # Only the parts that carry identifiers: decoding whole payloads (products,
                # properties, pages) would cost more than resolving them.
                events.payload["traits"].label("traits"),
                events.payload[("context", "traits")].label("context_traits"),
                events.payload[("context", "device")].label("device"),
            )
            .where(events.id > position, events.received_at <= utcnow() - settle)
            .order_by(events.id)
            .limit(limit)
        )
        .all()
    )
    if not rows:
        return ResolutionStep()
    rules = current_rules(session)
    sources = _sources(session, default_region, rules)
    batch = _Batch(session, rules)
    reader = _IdentifierReader(rules)
    parsed = [_parse_event(reader, row, sources[row.source_id]) for row in rows]
    keys = {c.key for event in parsed for c in (*event.found, *event.previous)}
    batch.load(keys, 0)
    batch.load(set(), _expected_new(batch, (event.found for event in parsed)))
    assignments: list[dict[str, int]] = []
    for event in parsed:
        candidates = list(event.found)
        if event.previous:
            # alias: the previous id is a known user id, else the visitor's cookie.
            known = [c for c in event.previous if c.key in batch.node_of]
            candidates.append(known[0] if known else event.previous[-1])
        node = batch.resolve(candidates, {"event_id": event.row.id}, event.first_name)
        if node is not None:
            assignments.append({"event_id": event.row.id, "profile_id": node})
    batch.finish()
    _insert_rows(session, EventProfile, assignments)
    batch.counts.held_queued += _queue_held_pairs(session, batch.held)
    ingest.move_cursor(session, EVENTS_CURSOR, rows[-1].id)
    return batch.counts.step(events=len(rows))


def _record_candidates(
    reader: _IdentifierReader, row: Any, source: _SourceInfo
) -> list[_Candidate]:
    found = [
        _Candidate(
            IdentifierKey(IdentifierType.RECORD, row.source_id, row.record_id), row.source_id
        )
    ]
    for kind, raw in (
        (IdentifierType.EMAIL, row.email),
        (IdentifierType.PHONE, row.phone),
        (IdentifierType.LOYALTY_CARD, row.loyalty_card),
    ):
        candidate = reader.candidate(kind, raw, row.source_id, source.region)
        if candidate is not None:
            found.append(candidate)
    found.extend(
        _traits_candidates(reader, _dict(row.attributes), row.source_id, source.name, source.region)
        if reader.rules.custom_identifiers
        else ()
    )
    return found


_RECORD_COLUMNS = (
    SourceRecord.id,
    SourceRecord.source_id,
    SourceRecord.record_id,
    SourceRecord.first_name,
    SourceRecord.email,
    SourceRecord.phone,
    SourceRecord.loyalty_card,
    SourceRecord.attributes,
    SourceRecord.content_hash,
)


def _resolve_record_rows(
    batch: _Batch, rows: Sequence[Any], sources: dict[int, _SourceInfo]
) -> None:
    reader = _IdentifierReader(batch.rules)
    parsed = [(row, _record_candidates(reader, row, sources[row.source_id])) for row in rows]
    batch.load({c.key for _, found in parsed for c in found}, 0)
    batch.load(set(), _expected_new(batch, (found for _, found in parsed)))
    known = set(
        batch.session.scalars(
            select(RecordProfile.source_record_id).where(
                RecordProfile.source_record_id.in_([row.id for row in rows])
            )
        )
    )
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for row, found in parsed:
        node = batch.resolve(found, {"source_record_id": row.id}, clean_first_name(row.first_name))
        if node is None:  # never: the record identifier is always there
            continue
        assignment = {
            "source_record_id": row.id,
            "profile_id": node,
            "content_hash": row.content_hash,
        }
        (updates if row.id in known else inserts).append(assignment)
    _insert_rows(batch.session, RecordProfile, inserts)
    if updates:
        # ORM bulk update by primary key: one executemany.
        batch.session.execute(update(RecordProfile), updates)


def _records_to_resolve(session: Session, *, after: int, limit: int) -> list[Any]:
    return list(
        session.execute(
            select(*_RECORD_COLUMNS)
            .outerjoin(RecordProfile, RecordProfile.source_record_id == SourceRecord.id)
            .where(
                SourceRecord.id > after,
                or_(
                    RecordProfile.source_record_id.is_(None),
                    RecordProfile.content_hash.is_(None),
                    RecordProfile.content_hash != SourceRecord.content_hash,
                ),
            )
            .order_by(SourceRecord.id)
            .limit(limit)
        ).all()
    )


def resolve_customer_records(
    session: Session, *, default_region: str, limit: int = 5_000
) -> ResolutionStep:
    """Resolve the next ``limit`` customer records not resolved yet or changed since (placeholders
    left by orders too); call until it reads none. Runs in the caller's transaction."""
    ingest.lock_cursor(session, EVENTS_CURSOR)
    after = ingest.lock_cursor(session, RECORDS_SWEEP_CURSOR)
    rows = _records_to_resolve(session, after=after, limit=limit)
    if not rows and after:
        # The sweep reached the end: the next one starts now, from the first record.
        rows = _records_to_resolve(session, after=0, limit=limit)
    # A full batch leaves the sweep where it got to, so the next batch does not walk again
    # past every record already resolved; a short one ends the sweep.
    ingest.move_cursor(session, RECORDS_SWEEP_CURSOR, rows[-1].id if len(rows) == limit else 0)
    if not rows:
        return ResolutionStep()
    batch = _Batch(session, current_rules(session))
    _resolve_record_rows(batch, rows, _sources(session, default_region, batch.rules))
    batch.finish()
    batch.counts.held_queued += _queue_held_pairs(session, batch.held)
    return batch.counts.step(records=len(rows))


def resolve_orders(
    session: Session,
    *,
    default_region: str,
    limit: int = 5_000,
    settle: timedelta = SETTLE_TIME,
) -> ResolutionStep:
    """Resolve the next ``limit`` orders: to their customer record's node, or, for an anonymous
    receipt, to the node of the loyalty card, email or phone printed on it. A receipt with
    none of them stays anonymous. The identifiers printed on a customer's order are that
    customer's too (the contact details an app order carries join its user to the other
    channels). Runs in the caller's transaction."""
    ingest.lock_cursor(session, EVENTS_CURSOR)
    position = ingest.lock_cursor(session, ORDERS_CURSOR)
    rows = session.execute(
        select(
            Order.id,
            Order.source_id,
            Order.source_record_id,
            SourceRecord.source_id.label("record_source_id"),
            SourceRecord.record_id,
            Order.loyalty_card,
            Order.email,
            Order.phone,
        )
        .outerjoin(SourceRecord, SourceRecord.id == Order.source_record_id)
        # Settled orders only, as for events: an import committing a lower id late is not
        # stepped over (the importers stamp each chunk when they write it).
        .where(Order.id > position, Order.created_at <= utcnow() - settle)
        .order_by(Order.id)
        .limit(limit)
    ).all()
    if not rows:
        return ResolutionStep()
    rules = current_rules(session)
    sources = _sources(session, default_region, rules)
    batch = _Batch(session, rules)
    record_ids = {row.source_record_id for row in rows if row.source_record_id is not None}
    record_nodes = _record_nodes(session, record_ids)
    unresolved = record_ids - record_nodes.keys()
    if unresolved:
        records = session.execute(
            select(*_RECORD_COLUMNS)
            .where(SourceRecord.id.in_(sorted(unresolved)))
            .order_by(SourceRecord.id)
        ).all()
        _resolve_record_rows(batch, records, sources)
        record_nodes.update(_record_nodes(session, unresolved))
    reader = _IdentifierReader(rules)
    printed: list[tuple[Any, list[_Candidate]]] = []
    for row in rows:
        found = []
        if row.source_record_id is not None:
            key = IdentifierKey(IdentifierType.RECORD, row.record_source_id, row.record_id)
            found.append(_Candidate(key, row.source_id))
        for kind, raw in (
            (IdentifierType.LOYALTY_CARD, row.loyalty_card),
            (IdentifierType.EMAIL, row.email),
            (IdentifierType.PHONE, row.phone),
        ):
            candidate = reader.candidate(kind, raw, row.source_id, sources[row.source_id].region)
            if candidate is not None:
                found.append(candidate)
        printed.append((row, found))
    batch.load({c.key for _, found in printed for c in found}, 0)
    batch.load(set(), _expected_new(batch, (found for _, found in printed)))
    by_order = {row.id: batch.resolve(found, {"order_pk": row.id}) for row, found in printed}
    assignments = []
    for row in rows:
        # A customer's order stays with its record's node, whatever its printed details did.
        node = (
            record_nodes.get(row.source_record_id)
            if row.source_record_id is not None
            else by_order.get(row.id)
        )
        if node is not None:
            assignments.append({"order_pk": row.id, "profile_id": node})
    batch.finish()
    _insert_rows(session, OrderProfile, assignments)
    batch.counts.held_queued += _queue_held_pairs(session, batch.held)
    ingest.move_cursor(session, ORDERS_CURSOR, rows[-1].id)
    return batch.counts.step(orders=len(rows), records=len(unresolved))


def fill_records_from_identify_calls(
    session: Session,
    *,
    default_region: str,
    limit: int = 5_000 * _TRAITS_BATCHES,
    settle: timedelta = SETTLE_TIME,
) -> ResolutionStep:
    """Give the traits of the next settled identify calls (among ``limit`` events of the log) to
    the source records their userIds designate (see ``patron.identity.traits``).

    A pass of its own, with its own cursor, run before orders and events are resolved: a record
    then has its details (its first name above all) before an order's or an event's shared
    email is weighed against them. Runs in the caller's transaction with the identity cursor
    locked.
    """
    ingest.lock_cursor(session, EVENTS_CURSOR)
    position = ingest.lock_cursor(session, TRAITS_CURSOR)
    rows = session.execute(
        select(
            Event.id,
            Event.source_id,
            Event.type,
            Event.user_id,
            # Only identify calls' traits are decoded.
            case((Event.type == "identify", Event.payload["traits"]), else_=None).label("traits"),
        )
        .where(Event.id > position, Event.received_at <= utcnow() - settle)
        .order_by(Event.id)
        .limit(limit)
    ).all()
    if not rows:
        return ResolutionStep()
    rules = current_rules(session)
    sources = _sources(session, default_region, rules)
    reader = _IdentifierReader(rules)
    updates: list[TraitUpdate] = []
    for row in rows:
        if row.type != "identify" or row.traits is None:
            continue
        source = sources[row.source_id]
        records_of = source.records_of_user_ids
        user_id = reader.candidate(IdentifierType.USER_ID, row.user_id, row.source_id, None)
        if records_of is None or user_id is None or len(user_id.key.value) > _RECORD_ID_LENGTH:
            continue
        fields = record_fields(_dict(row.traits), region=source.region)
        if fields:
            updates.append(TraitUpdate(records_of, user_id.key.value, fields))
    filled = fill_records_from_traits(session, updates)
    ingest.move_cursor(session, TRAITS_CURSOR, rows[-1].id)
    return ResolutionStep(records_filled=filled, traits_scanned=len(rows))


def resolve_identities(
    session: Session,
    *,
    default_region: str,
    limit: int = 5_000,
    settle: timedelta = SETTLE_TIME,
) -> ResolutionStep:
    """Identify calls' traits first; once they have caught up with the log, one batch of each:
    changed customer records, then new orders, then settled events.

    Call until ``items_read`` is 0. Runs in the caller's transaction; ``default_region`` reads
    national phone numbers of sources without a region of their own.
    """
    traits_limit = limit * _TRAITS_BATCHES
    step = fill_records_from_identify_calls(
        session, default_region=default_region, limit=traits_limit, settle=settle
    )
    if step.traits_scanned == traits_limit:
        # A backlog (a log imported at once): its records get their details first.
        return step
    step += resolve_customer_records(session, default_region=default_region, limit=limit)
    step += resolve_orders(session, default_region=default_region, limit=limit, settle=settle)
    return step + resolve_events(session, default_region=default_region, limit=limit, settle=settle)


def _record_nodes(session: Session, record_ids: set[int]) -> dict[int, int]:
    if not record_ids:
        return {}
    return dict(
        session.execute(
            select(RecordProfile.source_record_id, RecordProfile.profile_id).where(
                RecordProfile.source_record_id.in_(sorted(record_ids))
            )
        ).all()
    )
