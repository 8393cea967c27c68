"""A deterministic synthetic retail world with ground truth, for the demo, tests and benchmarks.

``generate_world(directory, customers=N, seed=S)`` writes what a UK department store's
channels deliver (store receipts, an e-shop, its web analytics, a mobile app, a loyalty CRM)
in Patron's import formats, with ``truth.csv`` naming the real person behind every customer
record and ``manifest.json`` listing every file with its kind, source and channel.
"""

from patron.world.catalogue import DEPARTMENTS, PRODUCT_TYPES, SEASONS, build_catalogue
from patron.world.generate import (
    IDENTITY_RULES,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    SOURCES,
    WorldError,
    WorldFile,
    WorldSource,
    WorldSummary,
    generate_world,
)
from patron.world.mess import MESS_TAGS
from patron.world.shopping import DEPARTMENT_TASTES, STORES, CustomerType
from patron.world.timeline import (
    CURRENCY,
    HISTORY_END,
    HISTORY_START,
    MONTH_DEMAND,
    REGION,
    WEEKDAY_DEMAND,
)

__all__ = [
    "CURRENCY",
    "DEPARTMENTS",
    "DEPARTMENT_TASTES",
    "HISTORY_END",
    "HISTORY_START",
    "IDENTITY_RULES",
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "MESS_TAGS",
    "MONTH_DEMAND",
    "PRODUCT_TYPES",
    "REGION",
    "SEASONS",
    "SOURCES",
    "STORES",
    "WEEKDAY_DEMAND",
    "CustomerType",
    "WorldError",
    "WorldFile",
    "WorldSource",
    "WorldSummary",
    "build_catalogue",
    "generate_world",
]
