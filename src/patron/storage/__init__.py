"""Storage shared by every package: the declarative base, column types and engines."""

from patron.storage.base import Base
from patron.storage.bulk import bind_value, execute_many
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
    "bind_value",
    "dialect_insert",
    "execute_many",
    "make_engine",
    "make_session_factory",
    "normalise_url",
    "utcnow",
]
