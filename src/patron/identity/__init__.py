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

__all__ = [
    "MergeMethod",
    "MergeOutcome",
    "canonical_id",
    "canonical_ids",
    "merge_profiles",
    "new_profile",
    "new_profiles",
    "profile_of_record",
    "unmerge",
]
