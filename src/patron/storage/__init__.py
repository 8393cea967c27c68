"""Storage shared by every package: the declarative base, column types and engines."""

from patron.storage.base import Base
from patron.storage.engine import (
    dialect_insert,
    make_engine,
    make_session_factory,
    normalise_url,
)
from patron.storage.types import BigIntPK, JSONDocument, UTCDateTime, utcnow

__all__ = [
    "Base",
    "BigIntPK",
    "JSONDocument",
    "UTCDateTime",
    "dialect_insert",
    "make_engine",
    "make_session_factory",
    "normalise_url",
    "utcnow",
]
