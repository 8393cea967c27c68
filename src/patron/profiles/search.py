"""Finding customers by name, email, phone or loyalty card.

Emails, phones and loyalty cards are normalised the way identity resolution normalises them
(``+44 7700 900123`` finds ``07700 900123``) and looked up among every identifier of the graph,
so a customer is found by an old email too, not only by the golden one. Names are matched as
prefixes of the golden record's first and last names, without case.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from sqlalchemy import and_, func, or_, select

from patron import identity
from patron.identity.models import Identifier, Profile
from patron.profiles.models import GoldenRecord

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement
    from sqlalchemy.orm import InstrumentedAttribute, Session

MAX_SEARCH_RESULTS: Final = 100
_PHONE_LIKE: Final = re.compile(r"\+?[\d\s().\-/]{6,}")
_LIKE_SPECIALS: Final = re.compile(r"([\\%_])")


@dataclass(frozen=True, slots=True)
class ProfileMatch:
    """A customer found by a search, with its golden name and contacts."""

    id: int
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    # What matched: name, email, phone, loyalty_card.
    matched_on: tuple[str, ...]


def _prefix(column: InstrumentedAttribute[str | None], text: str) -> ColumnElement[bool]:
    escaped = _LIKE_SPECIALS.sub(r"\\\1", text.casefold())
    return func.lower(column).like(f"{escaped}%", escape="\\")


def _identifier_keys(q: str, region: str | None) -> list[tuple[str, str]]:
    keys = []
    if "@" in q and (email := identity.normalise("email", q)) is not None:
        keys.append(("email", email))
    if _PHONE_LIKE.fullmatch(q) and (phone := identity.normalise("phone", q, region=region)):
        keys.append(("phone", phone))
    if (card := identity.normalise("loyalty_card", q)) is not None:
        keys.append(("loyalty_card", card))
    return keys


def _name_condition(q: str) -> ColumnElement[bool] | None:
    words = q.split()
    if not words or "@" in q or any(ch.isdigit() for ch in q):
        return None
    if len(words) == 1:
        return or_(_prefix(GoldenRecord.first_name, q), _prefix(GoldenRecord.last_name, q))
    first, last = words[0], " ".join(words[1:])
    reversed_first, reversed_last = words[-1], " ".join(words[:-1])
    return or_(
        and_(_prefix(GoldenRecord.first_name, first), _prefix(GoldenRecord.last_name, last)),
        and_(
            _prefix(GoldenRecord.first_name, reversed_first),
            _prefix(GoldenRecord.last_name, reversed_last),
        ),
    )


def search_profiles(
    session: Session, q: str, *, region: str | None = None, limit: int = 20
) -> list[ProfileMatch]:
    """Customers whose name, email, phone or loyalty card matches ``q``, lowest id first.

    National phone numbers are read in ``region``. Raises ``ValueError`` for an empty query or
    a limit outside 1..100.
    """
    q = q.strip()
    if not q:
        msg = "the search needs some text: a name, an email, a phone or a loyalty card"
        raise ValueError(msg)
    if not 1 <= limit <= MAX_SEARCH_RESULTS:
        msg = f"limit must be between 1 and {MAX_SEARCH_RESULTS}, not {limit}"
        raise ValueError(msg)
    matched: dict[int, list[str]] = defaultdict(list)
    keys = _identifier_keys(q, region)
    if keys:
        rows = session.execute(
            select(Profile.canonical_id, Identifier.type)
            .join(Profile, Profile.id == Identifier.profile_id)
            .where(or_(*(and_(Identifier.type == t, Identifier.value == v) for t, v in keys)))
            .distinct()
            .order_by(Profile.canonical_id)
            .limit(limit * len(keys))
        )
        for root, kind in rows:
            matched[root].append(kind)
    if (names := _name_condition(q)) is not None:
        for root in session.scalars(
            select(GoldenRecord.profile_id)
            .where(names)
            .order_by(GoldenRecord.profile_id)
            .limit(limit)
        ):
            matched[root].append("name")
    found = sorted(matched)[:limit]
    if not found:
        return []
    golden = {
        row.profile_id: row
        for row in session.scalars(select(GoldenRecord).where(GoldenRecord.profile_id.in_(found)))
    }
    results = []
    for root in found:
        row = golden.get(root)
        results.append(
            ProfileMatch(
                id=root,
                first_name=row.first_name if row else None,
                last_name=row.last_name if row else None,
                email=row.email if row else None,
                phone=row.phone if row else None,
                matched_on=tuple(sorted(set(matched[root]))),
            )
        )
    return results
