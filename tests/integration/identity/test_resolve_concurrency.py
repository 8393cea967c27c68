import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from patron import identity, ingest
from patron.identity.models import EventProfile, Identifier, Merge, Profile
from patron.settings import Settings
from patron.worker import run_once

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
PEOPLE = 60


def events_of(person: int, web: int, app: int) -> list[ingest.EventRow]:
    """A visitor browsing anonymously, logging in on the web, then in the app with the same
    email: three identities that must end as one customer. The app user's record, filled from
    its identify calls before events are resolved, holds the email, which the web's events
    then join: one merge per person, the web login joining the cookie's history."""
    email = f"person{person}@shop.example.org"
    messages: list[tuple[int, dict[str, Any]]] = [
        (web, {"type": "page", "anonymousId": f"cookie-{person}"}),
        (app, {"type": "identify", "userId": f"app-{person}", "traits": {"phone": "07400 1"
                                                                          f"{person:05d}"}}),
        (web, {"type": "track", "event": "Viewed", "userId": f"web-{person}",
               "context": {"traits": {"email": email}}}),
        (web, {"type": "identify", "anonymousId": f"cookie-{person}", "userId": f"web-{person}"}),
        (app, {"type": "identify", "userId": f"app-{person}", "traits": {"email": email}}),
    ]  # fmt: skip
    return [
        ingest.normalise_message(
            {**body, "messageId": f"p{person}-{n}"}, source_id=source, received_at=T0
        )
        for n, (source, body) in enumerate(messages)
    ]


def graph(session: Session) -> dict[str, Any]:
    """The graph as a partition: each customer's identifiers, and how many events each has."""
    customers: dict[int, set[tuple[str, str]]] = {}
    rows = session.execute(
        select(Profile.canonical_id, Identifier.type, Identifier.value).join(
            Identifier, Identifier.profile_id == Profile.id
        )
    ).all()
    for root, kind, value in rows:
        customers.setdefault(root, set()).add((kind, value))
    events = dict(
        session.execute(
            select(Profile.canonical_id, func.count())
            .join(EventProfile, EventProfile.profile_id == Profile.id)
            .group_by(Profile.canonical_id)
        ).all()
    )
    return {
        "customers": sorted(
            (sorted(identifiers), events.get(root, 0)) for root, identifiers in customers.items()
        ),
        "merges": session.scalar(select(func.count()).select_from(Merge)),
    }


def expected_graph() -> dict[str, Any]:
    return {
        "customers": sorted(
            (
                sorted(
                    [
                        ("anonymous_id", f"cookie-{p}"),
                        ("email", f"person{p}@shop.example.org"),
                        ("phone", f"+4474001{p:05d}"),
                        # a source's userIds are its own customer record ids
                        ("record", f"app-{p}"),
                        ("record", f"web-{p}"),
                        ("user_id", f"app-{p}"),
                        ("user_id", f"web-{p}"),
                    ]
                ),
                5,
            )
            for p in range(PEOPLE)
        ),
        "merges": PEOPLE,
    }


def test_two_workers_resolving_the_same_customers_at_once_lose_no_update(
    engine: Engine, sessions: sessionmaker[Session], settings: Settings
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs two PostgreSQL transactions")
    with sessions.begin() as session:
        web = ingest.ensure_source(session, "web", ingest.Channel.WEB).id
        app = ingest.ensure_source(session, "app", ingest.Channel.APP).id
        # Interleaved: each batch holds pieces of many people, and the people's pieces are
        # spread over several batches.
        rows = [row for p in range(PEOPLE) for row in events_of(p, web, app)]
        rows.sort(key=lambda row: (row.message_id.split("-")[1], row.message_id))
        ingest.append_events(session, rows)
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            while True:
                with sessions.begin() as session:
                    step = identity.resolve_identities(
                        session, default_region="GB", settle=timedelta(0), limit=7
                    )
                if step.items_read == 0:
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the main thread
            failures.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    with sessions() as session:
        assert graph(session) == expected_graph()
    # And a worker pass after them finds nothing left to do.
    assert run_once(sessions, settings, settle=timedelta(0)).identity.items_read == 0
