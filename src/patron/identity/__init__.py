"""Identity resolution: identifiers, the identity graph, matching, merges and their undoing."""

from patron.identity import models as _models  # noqa: F401 - registers the tables
from patron.identity.graph import (
    MergeMethod,
    MergeOutcome,
    canonical_id,
    canonical_ids,
    merge_profiles,
    new_profile,
    new_profiles,
    profile_of_record,
    unmerge,
)
from patron.identity.identifiers import (
    IdentifierKey,
    IdentifierType,
    normalise,
    normalise_email,
    normalise_loyalty_card,
    normalise_phone,
)
from patron.identity.rules import (
    CustomIdentifier,
    FieldSurvivorship,
    IdentityRules,
    MatchThresholds,
    RulesError,
    SurvivorshipRules,
    current_rules,
    current_rules_version,
    parse_rules,
    save_rules,
)

__all__ = [
    "CustomIdentifier",
    "FieldSurvivorship",
    "IdentifierKey",
    "IdentifierType",
    "IdentityRules",
    "MatchThresholds",
    "MergeMethod",
    "MergeOutcome",
    "RulesError",
    "SurvivorshipRules",
    "canonical_id",
    "canonical_ids",
    "current_rules",
    "current_rules_version",
    "merge_profiles",
    "new_profile",
    "new_profiles",
    "normalise",
    "normalise_email",
    "normalise_loyalty_card",
    "normalise_phone",
    "parse_rules",
    "profile_of_record",
    "save_rules",
    "unmerge",
]
