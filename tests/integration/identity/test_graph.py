import random
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from patron import identity, ingest
from patron.identity.graph import PairToMerge, merge_pairs
from patron.identity.models import (
    EventProfile,
    Merge,
    MergeBlock,
    OrderProfile,
    Profile,
    RecordProfile,
)
from patron.ingest.models import Event, Order, SourceRecord

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
REASON = {"rule": "shared identifier", "identifier": {"type": "email", "value": "a@b.example"}}


def merge(session: Session, a: int, b: int) -> identity.MergeOutcome:
    return identity.merge_profiles(
        session, a, b, method=identity.MergeMethod.DETERMINISTIC, reason=REASON
    )


def customers(session: Session, *nodes: int) -> list[int]:
    return [identity.canonical_id(session, node) for node in nodes]


def given_history(session: Session, node: int, tag: str) -> None:
    """One event, one customer record and one order of the given node."""
    source = ingest.ensure_source(session, "eshop", ingest.Channel.ESHOP)
    event = ingest.normalise_message(
        {"type": "track", "event": "Viewed", "userId": tag, "messageId": f"m-{tag}"},
        source_id=source.id,
        received_at=T0,
    )
    ingest.append_events(session, [event])
    event_id = session.scalar(select(func.max(Event.id)))
    record = SourceRecord(source_id=source.id, record_id=tag, content_hash=tag)
    session.add(record)
    session.flush()
    order = Order(
        source_id=source.id,
        order_id=f"o-{tag}",
        source_record_id=record.id,
        ordered_at=T0,
        channel="eshop",
        currency="EUR",
        total_minor=1000,
        content_hash=tag,
    )
    session.add(order)
    session.flush()
    session.add_all(
        [
            EventProfile(event_id=event_id, profile_id=node),
            RecordProfile(source_record_id=record.id, profile_id=node),
            OrderProfile(order_pk=order.id, profile_id=node),
        ]
    )
    session.flush()


def history_of(session: Session, customer: int) -> dict[str, list[str]]:
    """What a customer owns, read through the graph."""
    nodes = select(Profile.id).where(Profile.canonical_id == customer)
    events = session.scalars(
        select(Event.user_id)
        .join(EventProfile, EventProfile.event_id == Event.id)
        .where(EventProfile.profile_id.in_(nodes))
        .order_by(Event.user_id)
    ).all()
    records = session.scalars(
        select(SourceRecord.record_id)
        .join(RecordProfile, RecordProfile.source_record_id == SourceRecord.id)
        .where(RecordProfile.profile_id.in_(nodes))
        .order_by(SourceRecord.record_id)
    ).all()
    orders = session.scalars(
        select(Order.order_id)
        .join(OrderProfile, OrderProfile.order_pk == Order.id)
        .where(OrderProfile.profile_id.in_(nodes))
        .order_by(Order.order_id)
    ).all()
    return {"events": list(events), "records": list(records), "orders": list(orders)}


def test_a_new_profile_is_its_own_customer(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        first = identity.new_profile(session)
        second = identity.new_profile(session)
        many = identity.new_profiles(session, 3)

    with sessions() as session:
        assert customers(session, first, second, *many) == [first, second, *many]
        assert len({first, second, *many}) == 5


def test_canonical_id_of_an_unknown_node_is_a_lookup_error(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session, pytest.raises(LookupError, match="profile 999"):
        identity.canonical_id(session, 999)


def test_merge_links_the_younger_root_under_the_older_and_records_why(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        older, younger = identity.new_profiles(session, 2)

    with sessions.begin() as session:
        outcome = merge(session, younger, older)

    with sessions() as session:
        assert outcome.status == "merged"
        assert (outcome.winner_id, outcome.loser_id) == (older, younger)
        assert customers(session, older, younger) == [older, older]
        loser = session.get_one(Profile, younger)
        assert loser.merged_into_id == older
        row = session.get_one(Merge, outcome.merge_id)
        assert (row.winner_id, row.loser_id, row.method) == (older, younger, "deterministic")
        assert row.reason == REASON
        assert row.undone_at is None


def test_merging_one_customer_with_itself_changes_nothing(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        a, b = identity.new_profiles(session, 2)
        merge(session, a, b)

    with sessions.begin() as session:
        outcome = merge(session, b, a)

    with sessions() as session:
        assert outcome == identity.MergeOutcome("same", None, a, None)
        assert session.scalar(select(func.count()).select_from(Merge)) == 1


def test_a_chain_of_merges_resolves_every_node_to_the_oldest_root(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        a, b, c, d = identity.new_profiles(session, 4)
        for node in (a, b, c, d):
            given_history(session, node, f"n{node}")

    with sessions.begin() as session:
        merge(session, c, d)  # c absorbs d
        merge(session, b, d)  # b absorbs the tree of c
        merge(session, d, a)  # a absorbs everything, reached through the youngest node

    with sessions() as session:
        assert customers(session, a, b, c, d) == [a, a, a, a]
        assert history_of(session, a) == {
            "events": [f"n{n}" for n in (a, b, c, d)],
            "records": [f"n{n}" for n in (a, b, c, d)],
            "orders": [f"o-n{n}" for n in (a, b, c, d)],
        }


def test_unmerge_restores_both_customers_with_their_events_orders_and_records(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        a, b = identity.new_profiles(session, 2)
        given_history(session, a, "alice")
        given_history(session, b, "bob")
        merged = merge(session, a, b)
        assert merged.merge_id is not None

    with sessions.begin() as session:
        identity.unmerge(session, merged.merge_id, reason="two people")

    with sessions() as session:
        assert customers(session, a, b) == [a, b]
        assert history_of(session, a) == {
            "events": ["alice"],
            "records": ["alice"],
            "orders": ["o-alice"],
        }
        assert history_of(session, b) == {
            "events": ["bob"],
            "records": ["bob"],
            "orders": ["o-bob"],
        }
        row = session.get_one(Merge, merged.merge_id)
        assert row.undone_at is not None
        assert row.undone_reason == "two people"
        assert session.get_one(Profile, b).merged_into_id is None
        block = session.scalars(select(MergeBlock)).one()
        assert (block.profile_a_id, block.profile_b_id, block.merge_id) == (a, b, merged.merge_id)


def test_a_block_stops_the_same_merge_through_any_node_of_either_side(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        a, b, a2, b2 = identity.new_profiles(session, 4)
        merged = merge(session, a, b)
        assert merged.merge_id is not None
        identity.unmerge(session, merged.merge_id, reason="two people")
        merge(session, a, a2)
        merge(session, b, b2)

    with sessions.begin() as session:
        direct = merge(session, b, a)
        through_others = merge(session, b2, a2)

    with sessions() as session:
        assert direct == identity.MergeOutcome("blocked", None, a, b)
        assert through_others == identity.MergeOutcome("blocked", None, a, b)
        assert customers(session, a, b, a2, b2) == [a, b, a, b]


def test_merges_inside_either_side_survive_the_unmerge_of_another(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        a, a2, b, b2, late = identity.new_profiles(session, 5)
        merge(session, a, a2)  # made before, inside the winner's side
        merge(session, b, b2)  # made before, inside the loser's side
        joined = merge(session, a2, b2)
        merge(session, late, b)  # made after, through a node of the loser's side
        assert joined.merge_id is not None

    with sessions.begin() as session:
        identity.unmerge(session, joined.merge_id, reason="wrong")

    with sessions() as session:
        assert customers(session, a, a2) == [a, a]
        assert customers(session, b, b2) == [b, b]
        # The later merge joined its node to the customer as it was then (a's root): it stays.
        assert customers(session, late) == [a]


def test_unmerge_of_a_merge_buried_under_later_merges_splits_only_its_subtree(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        top, a, b, c = identity.new_profiles(session, 4)
        inner = merge(session, b, c)  # b absorbs c
        merge(session, a, b)  # a absorbs b's tree
        merge(session, top, a)  # top absorbs it all
        assert inner.merge_id is not None

    with sessions.begin() as session:
        identity.unmerge(session, inner.merge_id, reason="c is someone else")

    with sessions() as session:
        assert customers(session, top, a, b, c) == [top, top, top, c]


def test_unmerge_of_an_unknown_or_undone_merge_is_refused(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        a, b = identity.new_profiles(session, 2)
        merged = merge(session, a, b)
        assert merged.merge_id is not None
        identity.unmerge(session, merged.merge_id, reason="wrong")

    with sessions.begin() as session:
        with pytest.raises(ValueError, match="already undone"):
            identity.unmerge(session, merged.merge_id, reason="again")
        with pytest.raises(LookupError, match="merge 999"):
            identity.unmerge(session, 999, reason="nothing")


def test_a_merge_after_an_unmerge_and_a_re_merge_elsewhere_keeps_one_block(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        a, b = identity.new_profiles(session, 2)
        first = merge(session, a, b)
        assert first.merge_id is not None
        identity.unmerge(session, first.merge_id, reason="wrong")
        manual = identity.merge_profiles(
            session, a, b, method=identity.MergeMethod.MANUAL, reason={"by": "support"}
        )

    with sessions() as session:
        assert manual.status == "blocked"
        assert session.scalar(select(func.count()).select_from(MergeBlock)) == 1


def test_profile_of_record_is_the_node_not_the_customer(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        a, b = identity.new_profiles(session, 2)
        given_history(session, b, "bob")
        merge(session, a, b)
        record_id = session.scalar(select(SourceRecord.id).where(SourceRecord.record_id == "bob"))
        assert record_id is not None

    with sessions() as session:
        assert identity.profile_of_record(session, record_id) == b
        assert identity.profile_of_record(session, record_id + 1) is None


def _graph_state(session: Session, nodes: list[int]) -> dict[str, object]:
    """Each node's root and link, and the merges made among them, written relative to the
    first node (so that two copies of one graph compare equal)."""
    base = nodes[0]
    rows = session.execute(
        select(Profile.id, Profile.canonical_id, Profile.merged_into_id)
        .where(Profile.id.in_(nodes))
        .order_by(Profile.id)
    ).all()
    merges = session.execute(
        select(Merge.winner_id, Merge.loser_id, Merge.method, Merge.reason)
        .where(Merge.loser_id.in_(nodes), Merge.undone_at.is_(None))
        .order_by(Merge.id)
    ).all()
    return {
        "nodes": [
            (node - base, root - base, None if link is None else link - base)
            for node, root, link in rows
        ],
        "merges": [(w - base, lo - base, method, reason) for w, lo, method, reason in merges],
    }


def _relative(outcome: identity.MergeOutcome, base: int) -> tuple[object, ...]:
    loser = None if outcome.loser_id is None else outcome.loser_id - base
    return (outcome.status, outcome.merge_id is not None, outcome.winner_id - base, loser)


def test_merge_pairs_gives_what_merging_the_pairs_one_by_one_gives(
    sessions: sessionmaker[Session],
) -> None:
    # Given two copies of one graph: merged trees, an undone merge (a block) and loose nodes.
    rng = random.Random(7)  # noqa: S311 - a fixed, reproducible set of pairs
    size = 60
    pairs = [(rng.randrange(size), rng.randrange(size)) for _ in range(90)]
    pairs += [(0, 1), (1, 0), (5, 5)]  # the same pair twice, and a node with itself
    copies: list[list[int]] = []
    with sessions.begin() as session:
        for _ in range(2):
            nodes = identity.new_profiles(session, size)
            merge(session, nodes[0], nodes[1])
            merge(session, nodes[2], nodes[3])
            merge(session, nodes[3], nodes[4])
            undone = merge(session, nodes[10], nodes[11])
            assert undone.merge_id is not None
            identity.unmerge(session, undone.merge_id, reason="two people")
            merge(session, nodes[10], nodes[12])
            copies.append(nodes)
    one_by_one_nodes, set_based_nodes = copies

    # When the first copy merges the pairs one by one and the second all at once.
    method = identity.MergeMethod.PROBABILISTIC
    with sessions.begin() as session:
        one_by_one = [
            identity.merge_profiles(
                session, one_by_one_nodes[a], one_by_one_nodes[b], method=method,
                reason={"pair": index},
            )
            for index, (a, b) in enumerate(pairs)
        ]  # fmt: skip
    with sessions.begin() as session:
        set_based = merge_pairs(
            session,
            [
                PairToMerge(set_based_nodes[a], set_based_nodes[b], {"pair": index})
                for index, (a, b) in enumerate(pairs)
            ],
            method=method,
        )

    # Then every outcome, root, link and audit row is the same.
    assert [_relative(o, one_by_one_nodes[0]) for o in one_by_one] == [
        _relative(o, set_based_nodes[0]) for o in set_based
    ]
    assert {o.status for o in set_based} == {"merged", "same", "blocked"}
    with sessions() as session:
        assert _graph_state(session, one_by_one_nodes) == _graph_state(session, set_based_nodes)
        merge_ids = [o.merge_id for o in set_based if o.merge_id is not None]
        assert session.scalars(
            select(Merge.reason).where(Merge.id.in_(merge_ids)).order_by(Merge.id)
        ).all() == [{"pair": i} for i, o in enumerate(set_based) if o.status == "merged"]


def test_merge_pairs_of_an_unknown_node_is_a_lookup_error(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        (node,) = identity.new_profiles(session, 1)
        with pytest.raises(LookupError, match="does not exist"):
            merge_pairs(
                session,
                [PairToMerge(node, node + 1000, {})],
                method=identity.MergeMethod.MANUAL,
            )
