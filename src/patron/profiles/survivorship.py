"""Survivorship: which source record's value of each attribute a customer's golden record keeps.

Pure functions, no I/O. A customer has several source records (a POS loyalty member, an e-shop
account, a CRM row...) that disagree: an old phone, a typo in the birth date, a moved address.
Each attribute survives by a rule:

* ``most_recent``: the value of the most recently delivered record that has one;
* ``most_frequent``: the value most records agree on (compared without case and spacing), ties
  going to the most recent;
* ``most_trusted_source``: the value of the most trusted source that has one (sources listed by
  name or channel, first most trusted; unlisted sources come after, by recency).

Address fields survive together from one record, never mixed: a street from one house and a
postcode from another would describe no house at all. Every surviving value carries its lineage:
the source and the source's record id it came from, the rule, and when that record was delivered.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Any, Final

from patron.identity import FieldSurvivorship, SurvivorshipRules

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence


class SurvivorshipRule(StrEnum):
    MOST_RECENT = "most_recent"
    MOST_FREQUENT = "most_frequent"
    MOST_TRUSTED_SOURCE = "most_trusted_source"


NAME_FIELDS: Final = ("first_name", "last_name")
ADDRESS_FIELDS: Final = ("street", "city", "postcode", "region", "country")
# The attributes every source record has a column for, in the order a golden record lists them.
STANDARD_FIELDS: Final = (
    *NAME_FIELDS,
    "email",
    "phone",
    "loyalty_card",
    "birth_date",
    *ADDRESS_FIELDS,
)
# Attributes that survive together, from one record: the group's rule picks the record.
FIELD_GROUPS: Final[Mapping[str, tuple[str, ...]]] = {"address": ADDRESS_FIELDS}


@dataclass(frozen=True, slots=True)
class FieldPolicy:
    """How one attribute (or one group of attributes) survives."""

    rule: SurvivorshipRule
    # Source names or channels, most trusted first (read by ``most_trusted_source``).
    trusted_sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SurvivorshipPolicy:
    """The rule of each attribute; a group (``address``) has one rule for all its fields."""

    fields: Mapping[str, FieldPolicy] = field(default_factory=dict)
    default: FieldPolicy = FieldPolicy(SurvivorshipRule.MOST_RECENT)

    def policy_of(self, name: str) -> FieldPolicy:
        return self.fields.get(name, self.default)


def policy_from_rules(rules: SurvivorshipRules) -> SurvivorshipPolicy:
    """The survivorship section of the workspace's identity rules, as survivorship reads it."""

    def policy(configured: FieldSurvivorship) -> FieldPolicy:
        return FieldPolicy(SurvivorshipRule(configured.rule), configured.trusted_sources)

    return SurvivorshipPolicy(
        fields={name: policy(configured) for name, configured in rules.fields.items()},
        default=policy(rules.default),
    )


# The rules of a workspace that never saved its own.
DEFAULT_POLICY: Final = policy_from_rules(SurvivorshipRules())


@dataclass(frozen=True, slots=True)
class RecordValues:
    """One source record of a customer, as survivorship sees it."""

    source_record_id: int
    source: str
    channel: str
    record_id: str
    updated_at: datetime
    # Attribute name → value; empty values are left out.
    values: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class SurvivingValue:
    """An attribute's value in the golden record, with where it came from (its lineage)."""

    value: str | None
    source: str
    channel: str
    record_id: str
    source_record_id: int
    rule: SurvivorshipRule
    at: datetime
    # The group the value survived with (``address``), if any.
    group: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "source": self.source,
            "channel": self.channel,
            "record_id": self.record_id,
            "source_record_id": self.source_record_id,
            "rule": self.rule.value,
            "at": self.at.isoformat(),
            "group": self.group,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SurvivingValue:
        return cls(
            value=data["value"],
            source=data["source"],
            channel=data["channel"],
            record_id=data["record_id"],
            source_record_id=int(data["source_record_id"]),
            rule=SurvivorshipRule(data["rule"]),
            at=datetime.fromisoformat(data["at"]),
            group=data.get("group"),
        )


def comparison_key(value: str) -> str:
    """What two values must share to count as the same (``Ann@X.com `` = ``ann@x.com``)."""
    return "".join(value.split()).casefold()


def _group_key(fields: Sequence[str], record: RecordValues) -> str:
    return "\x1f".join(comparison_key(record.values.get(name, "")) for name in fields)


def _field_key(name: str, record: RecordValues) -> str:
    return comparison_key(record.values[name])


def _recency(record: RecordValues) -> tuple[datetime, int]:
    # The record id breaks ties between records delivered in the same instant: the later one.
    return (record.updated_at, record.source_record_id)


def _trust_rank(record: RecordValues, trusted: Sequence[str]) -> int:
    wanted = [name.casefold() for name in trusted]
    for rank, name in enumerate(wanted):
        if record.source.casefold() == name or record.channel.casefold() == name:
            return rank
    return len(wanted)


def _pick_record(
    candidates: Sequence[RecordValues],
    policy: FieldPolicy,
    key_of: Callable[[RecordValues], str],
) -> RecordValues:
    """The record whose value survives among ``candidates`` (all of which have one);
    ``key_of`` gives what a record's value must share with another's to count as the same."""
    if len(candidates) == 1:
        return candidates[0]
    if policy.rule is SurvivorshipRule.MOST_TRUSTED_SOURCE:
        best_rank = min(_trust_rank(r, policy.trusted_sources) for r in candidates)
        candidates = [r for r in candidates if _trust_rank(r, policy.trusted_sources) == best_rank]
    elif policy.rule is SurvivorshipRule.MOST_FREQUENT:
        keys = [key_of(r) for r in candidates]
        counts = Counter(keys)
        top = max(counts.values())
        candidates = [r for r, key in zip(candidates, keys, strict=True) if counts[key] == top]
    return max(candidates, key=_recency)


def _lineage(
    record: RecordValues, name: str, policy: FieldPolicy, group: str | None
) -> SurvivingValue:
    return SurvivingValue(
        value=record.values.get(name),
        source=record.source,
        channel=record.channel,
        record_id=record.record_id,
        source_record_id=record.source_record_id,
        rule=policy.rule,
        at=record.updated_at,
        group=group,
    )


def survive(
    records: Iterable[RecordValues], policy: SurvivorshipPolicy = DEFAULT_POLICY
) -> dict[str, SurvivingValue]:
    """Each attribute's surviving value among one customer's ``records``, with its lineage.

    Attributes no record has are absent. A group's fields come from the one record the group's
    rule picks among the records that have any of them (a field that record lacks stays empty
    rather than being filled in from another address).
    """
    records = list(records)
    golden: dict[str, SurvivingValue] = {}
    grouped = {name for fields in FIELD_GROUPS.values() for name in fields}
    for group, fields in FIELD_GROUPS.items():
        candidates = [r for r in records if any(name in r.values for name in fields)]
        if not candidates:
            continue
        group_policy = policy.policy_of(group)
        # Most frequent compares whole addresses, not single fields.
        chosen = _pick_record(candidates, group_policy, partial(_group_key, fields))
        for name in fields:
            golden[name] = _lineage(chosen, name, group_policy, group)
    names = [n for n in STANDARD_FIELDS if n not in grouped]
    extra = sorted({n for r in records for n in r.values} - set(STANDARD_FIELDS) - grouped)
    for name in (*names, *extra):
        candidates = [r for r in records if name in r.values]
        if not candidates:
            continue
        field_policy = policy.policy_of(name)
        chosen = _pick_record(candidates, field_policy, partial(_field_key, name))
        golden[name] = _lineage(chosen, name, field_policy, None)
    # Standard attributes first, in their usual order, then a source's extra ones.
    return {name: golden[name] for name in (*STANDARD_FIELDS, *extra) if name in golden}


def golden_values(golden: Mapping[str, SurvivingValue]) -> dict[str, str]:
    """The golden record without lineage: attribute → value, empty ones left out."""
    return {name: kept.value for name, kept in golden.items() if kept.value is not None}
