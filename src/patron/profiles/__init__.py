"""The customer 360: golden record, traits and the timeline across channels."""

from patron.profiles import models as _models  # noqa: F401 - registers the tables
from patron.profiles.customer360 import (
    MAX_TIMELINE_LIMIT,
    Customer360,
    GoldenAttribute,
    IdentifierView,
    InvalidCursorError,
    MergeView,
    OrderLineView,
    ProfileNotFoundError,
    SourceRecordView,
    TimelineEntry,
    TimelinePage,
    customer_360,
    customer_timeline,
    resolve_customer,
)
from patron.profiles.export import ExportedCustomer, export_customers, iter_customers
from patron.profiles.golden import (
    refresh_all_golden_records,
    refresh_changed_golden_records,
    refresh_golden_records,
    survivorship_policy,
)
from patron.profiles.merges import UndoneMerge, undo_merge
from patron.profiles.search import ProfileMatch, search_profiles
from patron.profiles.survivorship import (
    FieldPolicy,
    RecordValues,
    SurvivingValue,
    SurvivorshipPolicy,
    SurvivorshipRule,
    survive,
)

__all__ = [
    "MAX_TIMELINE_LIMIT",
    "Customer360",
    "ExportedCustomer",
    "FieldPolicy",
    "GoldenAttribute",
    "IdentifierView",
    "InvalidCursorError",
    "MergeView",
    "OrderLineView",
    "ProfileMatch",
    "ProfileNotFoundError",
    "RecordValues",
    "SourceRecordView",
    "SurvivingValue",
    "SurvivorshipPolicy",
    "SurvivorshipRule",
    "TimelineEntry",
    "TimelinePage",
    "UndoneMerge",
    "customer_360",
    "customer_timeline",
    "export_customers",
    "iter_customers",
    "refresh_all_golden_records",
    "refresh_changed_golden_records",
    "refresh_golden_records",
    "resolve_customer",
    "search_profiles",
    "survive",
    "survivorship_policy",
    "undo_merge",
]
