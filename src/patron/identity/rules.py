"""The workspace's identity rules, as versioned data.

What counts as an identifier (blocked values, custom identifiers a source declares), how many of
each type one customer may have, which identifier gives way when a limit would be broken, the
probabilistic match thresholds and the survivorship rule of each attribute. Each saved version is
a row of ``identity_rule_sets``; the newest is in force, and a workspace that never saved any
runs on the defaults below.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import insert, select

from patron.identity.identifiers import BUILT_IN_TYPES, CUSTOM_PREFIX
from patron.identity.models import IdentityRuleSet
from patron.storage import utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ANY_TYPE = "*"
SurvivorshipRuleName = Literal["most_recent", "most_frequent", "most_trusted_source"]


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CustomIdentifier(_Rules):
    """An identifier a source sends as a trait (e.g. a membership number in ``member_no``).

    Its type is ``custom:<name>``. ``sources`` lists the source names that send it (empty: all).
    ``per_source``: the value only means something inside the sending source.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,23}$")
    trait: str = Field(min_length=1, max_length=100)
    sources: tuple[str, ...] = ()
    per_source: bool = False

    @property
    def type(self) -> str:
        return f"{CUSTOM_PREFIX}{self.name}"


class MatchThresholds(_Rules):
    """Probabilistic matching: pairs at or above ``auto_merge`` merge, those at or above
    ``review`` wait for a person, the rest are ignored."""

    auto_merge: float = Field(default=0.99, ge=0.0, le=1.0)
    review: float = Field(default=0.80, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> MatchThresholds:
        if self.review > self.auto_merge:
            raise ValueError("review must not be above auto_merge")
        return self


class SharedIdentifierGuard(_Rules):
    """Identifiers two people can share (a household's email) join customers only when their
    first names can be one person's.

    When the only identifiers joining two customers are of the ``types`` listed, and both have
    first names that clearly disagree (not equal, not a nickname of each other, not one typing
    slip apart), the two stay apart and the pair waits for a person in the review queue. A user
    id, a loyalty card or a phone is never such evidence on its own: two people do not share
    them.
    """

    enabled: bool = True
    types: tuple[str, ...] = ("email",)


class FieldSurvivorship(_Rules):
    """How one attribute (or the ``address`` group) of the golden record survives."""

    rule: SurvivorshipRuleName
    # Source names or channels, most trusted first (read by most_trusted_source).
    trusted_sources: tuple[str, ...] = ()


def _default_survivorship() -> dict[str, FieldSurvivorship]:
    trusted = "most_trusted_source"
    return {
        "first_name": FieldSurvivorship(rule="most_frequent"),
        "last_name": FieldSurvivorship(rule="most_recent"),
        "email": FieldSurvivorship(rule=trusted, trusted_sources=("eshop", "app", "crm")),
        "phone": FieldSurvivorship(rule="most_recent"),
        "loyalty_card": FieldSurvivorship(rule=trusted, trusted_sources=("crm", "pos")),
        "birth_date": FieldSurvivorship(rule="most_frequent"),
        "address": FieldSurvivorship(rule=trusted, trusted_sources=("pos", "crm", "eshop")),
    }


class SurvivorshipRules(_Rules):
    fields: dict[str, FieldSurvivorship] = Field(default_factory=_default_survivorship)
    default: FieldSurvivorship = FieldSurvivorship(rule="most_recent")


def _default_blocked_values() -> dict[str, tuple[str, ...]]:
    return {
        ANY_TYPE: (
            "null", "none", "nil", "undefined", "unknown", "anonymous", "n/a", "na", "-",
            "0", "-1", "test", "guest",
        ),
        "email": ("test@test.com", "test@example.com", "a@a.com", "no@email.com"),
    }  # fmt: skip


def _default_blocked_patterns() -> dict[str, tuple[str, ...]]:
    return {
        "email": (r"(no|none|noemail|no-email|no\.email|noreply|no-reply)@.*", r".*@example\.com"),
        # The same digit all along (+447777777777) or a plain run (+441234567890).
        "phone": (r"\+\d{1,3}(\d)\1{6,}", r"\+\d{1,3}0?123456789\d?"),
        "loyalty_card": (r"0+",),
    }


def _default_limits() -> dict[str, int]:
    # One user id and one customer record per source, one phone and one loyalty card: a second
    # one is more often another member of the household than the same person, and a person who
    # really has two is still linked by probabilistic matching (names, address, birth date).
    return {
        "user_id": 1,
        "record": 1,
        "email": 5,
        "phone": 1,
        "loyalty_card": 1,
        "push_token": 10,
        "device_id": 10,
        "anonymous_id": 20,
    }


def _default_priority() -> tuple[str, ...]:
    return (
        "user_id", "record", "loyalty_card", "email", "phone", "push_token", "device_id",
        "anonymous_id",
    )  # fmt: skip


class IdentityRules(_Rules):
    """Every rule of identity resolution; the defaults suit a retailer's usual channels."""

    # Values that are never identifiers, per type (``*``: every type), compared after
    # normalisation and without case.
    blocked_values: dict[str, tuple[str, ...]] = Field(default_factory=_default_blocked_values)
    # Regular expressions a whole normalised value must match to be blocked, per type.
    blocked_patterns: dict[str, tuple[str, ...]] = Field(default_factory=_default_blocked_patterns)
    # How many identifiers of a type one customer may hold (per source for source-scoped
    # types, so ``user_id: 1`` is one user id per source). Types not listed are unlimited.
    limits: dict[str, int] = Field(default_factory=_default_limits)
    # Strongest first: an event belongs to its strongest identifier's profile, and when a
    # limit would be broken the weaker identifier gives way. Unlisted types come last.
    priority: tuple[str, ...] = Field(default_factory=_default_priority)
    custom_identifiers: tuple[CustomIdentifier, ...] = ()
    # Whose customer record id a source's userId is (source name → the name of the source of
    # the records). By default a source's userIds are its own customer ids (an app's user id
    # is the id of its customer record); name another source when, e.g., an e-shop's web
    # analytics sends the e-shop account id: such an event belongs to that customer record.
    user_id_records: dict[str, str] = Field(default_factory=dict)
    shared_identifiers: SharedIdentifierGuard = SharedIdentifierGuard()
    match: MatchThresholds = MatchThresholds()
    survivorship: SurvivorshipRules = SurvivorshipRules()

    @field_validator("blocked_patterns")
    @classmethod
    def _patterns_compile(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for kind, patterns in value.items():
            for index, pattern in enumerate(patterns):
                try:
                    re.compile(pattern)
                except re.error as error:
                    msg = f"{kind}[{index}] {pattern!r} is not a valid pattern: {error}"
                    raise ValueError(msg) from error
        return value

    @field_validator("limits")
    @classmethod
    def _limits_positive(cls, value: dict[str, int]) -> dict[str, int]:
        for kind, limit in value.items():
            if limit < 1:
                raise ValueError(f"the limit of {kind} must be at least 1, not {limit}")
        return value

    @model_validator(mode="after")
    def _known_types(self) -> IdentityRules:
        known = set(BUILT_IN_TYPES) | {custom.type for custom in self.custom_identifiers}
        names = [custom.name for custom in self.custom_identifiers]
        if len(names) != len(set(names)):
            raise ValueError("custom_identifiers: each name may be declared once")
        for section, kinds in (
            ("blocked_values", self.blocked_values.keys()),
            ("blocked_patterns", self.blocked_patterns.keys()),
            ("limits", self.limits.keys()),
            ("priority", self.priority),
            ("shared_identifiers.types", self.shared_identifiers.types),
        ):
            for kind in kinds:
                if kind not in known and not (kind == ANY_TYPE and section.startswith("blocked")):
                    raise ValueError(
                        f"{section}: unknown identifier type {kind!r} "
                        f"(known: {', '.join(sorted(known))})"
                    )
        if len(self.priority) != len(set(self.priority)):
            raise ValueError("priority: each type may be listed once")
        return self

    def rank(self, kind: str) -> int:
        """Position in the priority order (0 is the strongest; unlisted types last)."""
        return _rank_table(self.priority).get(kind, len(self.priority))

    def limit(self, kind: str) -> int | None:
        return self.limits.get(kind)

    def is_shareable(self, kind: str) -> bool:
        """Whether identifiers of this type, alone, join customers only if first names agree."""
        guard = self.shared_identifiers
        return guard.enabled and kind in guard.types

    def is_blocked(self, kind: str, value: str) -> bool:
        """Whether a normalised value of this type is never to be used as an identifier."""
        values, patterns = self._blocklist
        folded = value.casefold()
        if folded in values.get(ANY_TYPE, ()) or folded in values.get(kind, ()):
            return True
        return any(
            pattern.fullmatch(value)
            for pattern in (*patterns.get(ANY_TYPE, ()), *patterns.get(kind, ()))
        )

    @cached_property
    def _blocklist(
        self,
    ) -> tuple[dict[str, frozenset[str]], dict[str, tuple[re.Pattern[str], ...]]]:
        # Built once per rule set: resolution asks for every identifier of every event.
        values = {
            kind: frozenset(blocked.casefold() for blocked in listed)
            for kind, listed in self.blocked_values.items()
        }
        patterns = {
            kind: tuple(re.compile(pattern, re.IGNORECASE) for pattern in listed)
            for kind, listed in self.blocked_patterns.items()
        }
        return values, patterns


_RANKS: dict[tuple[str, ...], dict[str, int]] = {}


def _rank_table(priority: tuple[str, ...]) -> dict[str, int]:
    table = _RANKS.get(priority)
    if table is None:
        table = {kind: index for index, kind in enumerate(priority)}
        _RANKS[priority] = table
    return table


class RulesError(ValueError):
    """A rule set is not valid; the message says what is wrong and where."""


def parse_rules(document: Any) -> IdentityRules:
    """Validate a rule set (a JSON object); raises ``RulesError`` naming each bad place."""
    try:
        return IdentityRules.model_validate(document)
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"]) or "(top level)"
            problems.append(f"{where}: {problem['msg']}")
        raise RulesError("; ".join(problems)) from None


def current_rules(session: Session) -> IdentityRules:
    """The rules in force: the newest saved version, or the defaults."""
    stored = session.scalar(
        select(IdentityRuleSet.rules).order_by(IdentityRuleSet.id.desc()).limit(1)
    )
    if stored is None:
        return IdentityRules()
    return IdentityRules.model_validate(stored)


def current_rules_version(session: Session) -> int | None:
    """The version number of the rules in force (None while the defaults apply)."""
    return session.scalar(select(IdentityRuleSet.id).order_by(IdentityRuleSet.id.desc()).limit(1))


def save_rules(session: Session, rules: IdentityRules, *, note: str | None = None) -> int:
    """Store a new version of the rules, in force from now on; return its version number."""
    latest = current_rules_version(session) or 0
    version = latest + 1
    session.execute(
        insert(IdentityRuleSet).values(
            id=version,
            rules=rules.model_dump(mode="json"),
            created_at=utcnow(),
            note=note[:500] if note else None,
        )
    )
    return version
