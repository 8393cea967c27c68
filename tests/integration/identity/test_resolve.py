import hashlib
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from patron import identity, ingest
from patron.identity.models import EventProfile, Identifier, Merge, OrderProfile, RecordProfile
from patron.ingest.models import Event, Order, SourceRecord

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
_ids = itertools.count(1)


def message(source_id: int, kind: str = "track", **fields: Any) -> ingest.EventRow:
    body: dict[str, Any] = {"type": kind, "messageId": f"m-{next(_ids)}", **fields}
    if kind == "track":
        body.setdefault("event", "Viewed")
    if "userId" not in body and "anonymousId" not in body:
        body["anonymousId"] = f"cookie-{next(_ids)}"
    return ingest.normalise_message(body, source_id=source_id, received_at=T0)


def given_events(sessions: sessionmaker[Session], *rows: ingest.EventRow) -> None:
    with sessions.begin() as session:
        ingest.append_events(session, list(rows))


def resolve(sessions: sessionmaker[Session]) -> identity.ResolutionStep:
    total = identity.ResolutionStep()
    while True:
        with sessions.begin() as session:
            step = identity.resolve_identities(
                session, default_region="GB", settle=timedelta(0), limit=50
            )
        total += step
        if step.items_read == 0:
            return total


def source(sessions: sessionmaker[Session], name: str, channel: ingest.Channel) -> int:
    with sessions.begin() as session:
        return ingest.ensure_source(session, name, channel).id


def customer_of_event(session: Session, message_id: str) -> int | None:
    node = session.scalar(
        select(EventProfile.profile_id)
        .join(Event, Event.id == EventProfile.event_id)
        .where(Event.message_id == message_id)
    )
    return None if node is None else identity.canonical_id(session, node)


def customer_of(session: Session, kind: str, value: str) -> int | None:
    node = session.scalar(
        select(Identifier.profile_id).where(Identifier.type == kind, Identifier.value == value)
    )
    return None if node is None else identity.canonical_id(session, node)


def customers(session: Session) -> int:
    return (
        session.scalar(select(func.count(func.distinct(identity.models.Profile.canonical_id)))) or 0
    )


def test_a_visitor_who_logs_in_becomes_one_customer_with_their_anonymous_history(
    sessions: sessionmaker[Session],
) -> None:
    web = source(sessions, "web", ingest.Channel.WEB)
    browse = message(web, anonymousId="cookie-a")
    login = message(
        web, "identify", anonymousId="cookie-a", userId="u-1", traits={"email": " Ann@Shop.CO.UK"}
    )
    later = message(web, userId="u-1")
    given_events(sessions, browse, login, later)

    step = resolve(sessions)

    with sessions() as session:
        ann = customer_of(session, "user_id", "u-1")
        assert ann is not None
        assert [customer_of_event(session, m.message_id) for m in (browse, login, later)] == [
            ann,
            ann,
            ann,
        ]
        assert customer_of(session, "email", "ann@shop.co.uk") == ann
        assert customers(session) == 1
    # The user's record, filled from the identify call before the events are resolved, is
    # joined to the cookie's history by the login: one merge.
    assert (step.events, step.records_filled, step.merges) == (3, 1, 1)


def test_the_same_email_on_two_channels_merges_them_and_says_why(
    sessions: sessionmaker[Session],
) -> None:
    web = source(sessions, "web", ingest.Channel.WEB)
    app = source(sessions, "app", ingest.Channel.APP)
    given_events(
        sessions,
        message(web, "identify", userId="w-1", traits={"email": "ann@shop.co.uk"}),
        message(app, "identify", userId="a-1", traits={"phone": "07400 123456"}),
    )
    resolve(sessions)
    given_events(
        sessions, message(app, "identify", userId="a-1", traits={"email": "ANN@shop.co.uk"})
    )

    step = resolve(sessions)

    with sessions() as session:
        web_customer = customer_of(session, "user_id", "w-1")
        assert web_customer == customer_of(session, "user_id", "a-1")
        assert customer_of(session, "phone", "+447400123456") == web_customer
        merge = session.scalars(select(Merge)).one()
        assert merge.method == "deterministic"
        assert merge.reason["identifier"] == {"type": "email", "value": "ann@shop.co.uk"}
        # The app user's record, given the email by the call, joined the two.
        assert merge.reason["with"] == {"type": "record", "value": "a-1"}
    assert step.merges == 1


def test_a_shared_store_tablet_does_not_chain_its_shoppers_together(
    sessions: sessionmaker[Session],
) -> None:
    app = source(sessions, "app", ingest.Channel.APP)
    tablet = {"device": {"id": "TABLET-1", "type": "android"}}
    given_events(
        sessions,
        message(app, userId="ann", anonymousId="tablet-cookie", context=tablet),
        message(app, userId="bob", anonymousId="tablet-cookie", context=tablet),
        message(app, "identify", userId="cy", anonymousId="tablet-cookie", context=tablet),
    )

    step = resolve(sessions)

    with sessions() as session:
        people = [customer_of(session, "user_id", who) for who in ("ann", "bob", "cy")]
        assert len(set(people)) == 3
        # The tablet belongs to the first shopper seen with it.
        assert customer_of(session, "device_id", "tablet-1") == people[0]
        assert customer_of(session, "anonymous_id", "tablet-cookie") == people[0]
        assert session.scalar(select(func.count()).select_from(Merge)) == 0
    assert step.merges_refused >= 2


def test_a_family_email_never_merges_two_user_ids_of_one_source(
    sessions: sessionmaker[Session],
) -> None:
    shop = source(sessions, "eshop", ingest.Channel.ESHOP)
    given_events(
        sessions,
        message(shop, "identify", userId="mum", traits={"email": "family@home.example.org"}),
        message(shop, "identify", userId="dad", traits={"email": "family@home.example.org"}),
    )

    resolve(sessions)

    with sessions() as session:
        assert customer_of(session, "user_id", "mum") != customer_of(session, "user_id", "dad")
        assert customer_of(session, "email", "family@home.example.org") == customer_of(
            session, "user_id", "mum"
        )


def test_blocked_and_invalid_values_are_not_identifiers(sessions: sessionmaker[Session]) -> None:
    web = source(sessions, "web", ingest.Channel.WEB)
    first = message(web, "identify", userId="null", anonymousId="c-1",
                    traits={"email": "test@test.com", "phone": "12"})  # fmt: skip
    second = message(web, "identify", userId="undefined", anonymousId="c-2",
                     traits={"email": "test@test.com"})  # fmt: skip
    nothing = message(web, anonymousId="anonymous")
    given_events(sessions, first, second, nothing)

    resolve(sessions)

    with sessions() as session:
        kinds = set(session.scalars(select(Identifier.type)))
        assert kinds == {"anonymous_id"}
        assert customer_of_event(session, first.message_id) != customer_of_event(
            session, second.message_id
        )
        assert customer_of_event(session, nothing.message_id) is None


def test_an_identifier_past_the_customers_limit_is_not_attached(
    sessions: sessionmaker[Session],
) -> None:
    web = source(sessions, "web", ingest.Channel.WEB)
    given_events(
        sessions,
        *(
            message(web, "identify", userId="u-1", traits={"email": f"ann{n}@shop.co.uk"})
            for n in range(7)
        ),
    )

    resolve(sessions)

    with sessions() as session:
        emails = session.scalars(select(Identifier.value).where(Identifier.type == "email")).all()
        # The user's record holds the newest email; the calls add the oldest up to the limit.
        assert sorted(emails) == [f"ann{n}@shop.co.uk" for n in (0, 1, 2, 3, 6)]


def test_alias_joins_the_previous_id_to_the_user_id(sessions: sessionmaker[Session]) -> None:
    app = source(sessions, "app", ingest.Channel.APP)
    given_events(
        sessions,
        message(app, anonymousId="install-1"),
        message(app, userId="u-9"),
        message(app, "alias", userId="u-9", previousId="install-1"),
    )

    step = resolve(sessions)

    with sessions() as session:
        assert customer_of(session, "anonymous_id", "install-1") == customer_of(
            session, "user_id", "u-9"
        )
    assert step.merges == 1


def given_record(session: Session, source_id: int, record_id: str, **fields: Any) -> int:
    record = SourceRecord(
        source_id=source_id,
        record_id=record_id,
        content_hash=hashlib.sha256(repr(fields).encode()).hexdigest(),
        **fields,
    )
    session.add(record)
    session.flush()
    return record.id


def given_order(session: Session, source_id: int, order_id: str, **fields: Any) -> int:
    order = Order(
        source_id=source_id,
        order_id=order_id,
        ordered_at=T0,
        channel="pos",
        currency="GBP",
        total_minor=1250,
        content_hash=order_id,
        **fields,
    )
    session.add(order)
    session.flush()
    return order.id


def test_records_and_orders_join_the_customer_of_their_identifiers(
    sessions: sessionmaker[Session],
) -> None:
    pos = source(sessions, "pos", ingest.Channel.POS)
    web = source(sessions, "web", ingest.Channel.WEB)
    given_events(sessions, message(web, "identify", userId="w-1",
                                   traits={"email": "ann@shop.co.uk"}))  # fmt: skip
    with sessions.begin() as session:
        record = given_record(session, pos, "P-1", email="Ann@Shop.co.uk ",
                              loyalty_card="6337 0001 2345")  # fmt: skip
        known = given_order(session, pos, "R-1", source_record_id=record)
        by_card = given_order(session, pos, "R-2", loyalty_card="633700012345")
        stranger = given_order(session, pos, "R-3", email="someone@else.example.net")
        anonymous = given_order(session, pos, "R-4")

    step = resolve(sessions)

    with sessions() as session:
        ann = customer_of(session, "user_id", "w-1")
        node_of_record = identity.profile_of_record(session, record)
        assert node_of_record is not None
        assert identity.canonical_id(session, node_of_record) == ann
        orders = dict(session.execute(select(OrderProfile.order_pk, OrderProfile.profile_id)).all())
        assert identity.canonical_id(session, orders[known]) == ann
        assert identity.canonical_id(session, orders[by_card]) == ann
        assert identity.canonical_id(session, orders[stranger]) not in (ann, None)
        assert anonymous not in orders
    # The records: P-1, and the web user's own record, filled from its identify call.
    assert (step.records, step.orders, step.records_filled) == (2, 4, 1)


def test_a_placeholder_record_is_resolved_again_when_its_content_arrives(
    sessions: sessionmaker[Session],
) -> None:
    pos = source(sessions, "pos", ingest.Channel.POS)
    app = source(sessions, "app", ingest.Channel.APP)
    with sessions.begin() as session:
        record = given_record(session, pos, "P-7", is_placeholder=True)
        given_order(session, pos, "R-7", source_record_id=record)
    resolve(sessions)
    given_events(sessions, message(app, "identify", userId="a-7",
                                   traits={"phone": "+44 7400 765432"}))  # fmt: skip
    resolve(sessions)

    with sessions.begin() as session:
        filled = session.get_one(SourceRecord, record)
        filled.phone = "07400 765432"
        filled.is_placeholder = False
        filled.content_hash = "filled"
    step = resolve(sessions)

    with sessions() as session:
        app_customer = customer_of(session, "user_id", "a-7")
        assert customer_of(session, "record", "P-7") == app_customer
        order_node = session.scalar(select(OrderProfile.profile_id))
        assert order_node is not None
        assert identity.canonical_id(session, order_node) == app_customer
        assert session.get_one(RecordProfile, record).content_hash == "filled"
    assert (step.records, step.merges) == (1, 1)


def test_an_undone_merge_is_not_made_again_by_the_next_events(
    sessions: sessionmaker[Session],
) -> None:
    web = source(sessions, "web", ingest.Channel.WEB)
    given_events(
        sessions,
        message(web, anonymousId="c-1", context={"traits": {"email": "ann@shop.co.uk"}}),
        message(web, anonymousId="c-2", context={"traits": {"phone": "07400 111222"}}),
        message(web, anonymousId="c-2", context={"traits": {"email": "ann@shop.co.uk"}}),
    )
    resolve(sessions)
    with sessions.begin() as session:
        merge_id = session.scalars(select(Merge.id)).one()
        identity.unmerge(session, merge_id, reason="two people")

    given_events(
        sessions,
        message(web, anonymousId="c-2", context={"traits": {"email": "ann@shop.co.uk"}}),
    )
    step = resolve(sessions)

    with sessions() as session:
        assert customer_of(session, "anonymous_id", "c-1") != customer_of(
            session, "anonymous_id", "c-2"
        )
    assert (step.merges, step.merges_refused) == (0, 1)


def test_a_batch_of_events_costs_a_fixed_number_of_queries(
    sessions: sessionmaker[Session],
) -> None:
    web = source(sessions, "web", ingest.Channel.WEB)
    returning = [message(web, userId=f"u-{n}", traits={"email": f"u{n}@shop.co.uk"},
                         kind="identify") for n in range(40)]  # fmt: skip
    given_events(sessions, *returning)
    resolve(sessions)
    given_events(sessions, *(message(web, userId=f"u-{n}") for n in range(40)))
    statements: list[str] = []
    with sessions.begin() as session:
        bind = session.connection()
        event.listen(bind, "before_cursor_execute", lambda *args: statements.append(args[2]))
        step = identity.resolve_events(session, default_region="GB", settle=timedelta(0))

    assert step.events == 40
    # cursor, events, rules, sources, identifiers with their roots, counts, blocks,
    # assignments, cursor move
    assert len(statements) <= 10


def statements_to_join(sessions: sessionmaker[Session], web: int, people: range) -> list[str]:
    """Resolve visitors known by a cookie and, apart, by a user id; then count the statements
    of the events batch that logs each of them in (one merge per person)."""
    given_events(sessions, *(message(web, anonymousId=f"c-{n}") for n in people))
    given_events(sessions, *(message(web, userId=f"u-{n}") for n in people))
    resolve(sessions)
    given_events(
        sessions,
        *(message(web, "identify", anonymousId=f"c-{n}", userId=f"u-{n}") for n in people),
    )
    with sessions.begin() as session:
        identity.fill_records_from_identify_calls(session, default_region="GB", settle=timedelta(0))
        identity.resolve_customer_records(session, default_region="GB")
    statements: list[str] = []
    with sessions.begin() as session:
        bind = session.connection()
        event.listen(bind, "before_cursor_execute", lambda *args: statements.append(args[2]))
        step = identity.resolve_events(session, default_region="GB", settle=timedelta(0))
    assert (step.events, step.merges) == (len(people), len(people))
    return statements


def test_the_merges_of_a_batch_cost_the_same_statements_however_many_they_are(
    sessions: sessionmaker[Session], engine: Engine
) -> None:
    web = source(sessions, "web", ingest.Channel.WEB)

    few = statements_to_join(sessions, web, range(2))
    many = statements_to_join(sessions, web, range(2, 42))

    if engine.dialect.name == "sqlite":
        # SQLite's driver returns the ids of a multi-row insert only row by row: the audit
        # rows are one in-process statement each (no round trip), everything else is shared.
        few, many = ([s for s in found if "INSERT INTO merges" not in s] for found in (few, many))
    assert [s.split("(")[0] for s in many] == [s.split("(")[0] for s in few]


def test_a_custom_identifier_declared_by_a_source_joins_its_customers(
    sessions: sessionmaker[Session],
) -> None:
    app = source(sessions, "app", ingest.Channel.APP)
    web = source(sessions, "web", ingest.Channel.WEB)
    with sessions.begin() as session:
        identity.save_rules(
            session,
            identity.parse_rules(
                {
                    "custom_identifiers": [
                        {"name": "member", "trait": "member_no", "sources": ["app", "web"]}
                    ]
                }
            ),
        )
    given_events(
        sessions,
        message(app, "identify", userId="a-1", traits={"member_no": " M-77 "}),
        message(web, "identify", userId="w-1", traits={"member_no": "M-77"}),
        message(web, "identify", userId="w-2", traits={"other_no": "M-77"}),
    )

    resolve(sessions)

    with sessions() as session:
        assert customer_of(session, "custom:member", "M-77") == customer_of(
            session, "user_id", "a-1"
        )
        assert customer_of(session, "user_id", "w-1") == customer_of(session, "user_id", "a-1")
        assert customer_of(session, "user_id", "w-2") != customer_of(session, "user_id", "a-1")


def test_user_ids_declared_as_another_sources_record_ids_join_those_records(
    sessions: sessionmaker[Session],
) -> None:
    analytics = source(sessions, "shop-web", ingest.Channel.WEB)
    shop = source(sessions, "shop", ingest.Channel.ESHOP)
    with sessions.begin() as session:
        identity.save_rules(
            session, identity.parse_rules({"user_id_records": {"shop-web": "shop"}})
        )
        given_record(session, shop, "C-42", email="ann@shop.co.uk")
    given_events(sessions, message(analytics, userId="C-42"))

    step = resolve(sessions)

    with sessions() as session:
        assert customer_of(session, "user_id", "C-42") == customer_of(session, "record", "C-42")
    assert step.merges == 0
