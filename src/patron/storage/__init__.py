"""Storage shared by every package: the declarative base, column types and engines."""

from patron.storage.base import Base
from patron.storage.bulk import bind_value, execute_many, keys_join
from patron.storage.engine import (
    dialect_insert,
    has_written,
    large_page_cache,
    make_engine,
    make_session_factory,
    normalise_url,
    refresh_statistics,
)
from patron.storage.scan import (
    ChildCall,
    ProcessDiedError,
    StoreScanError,
    StoreScanner,
    offline_duckdb,
    quote,
    reads_need_own_process,
    run_in_child,
    spawned_pool,
    start_in_child,
    store_scanner,
)
from patron.storage.types import BigIntPK, JSONDocument, UTCDateTime, utcnow

__all__ = [
    "Base",
    "BigIntPK",
    "ChildCall",
    "JSONDocument",
    "ProcessDiedError",
    "StoreScanError",
    "StoreScanner",
    "UTCDateTime",
    "bind_value",
    "dialect_insert",
    "execute_many",
    "has_written",
    "keys_join",
    "large_page_cache",
    "make_engine",
    "make_session_factory",
    "normalise_url",
    "offline_duckdb",
    "quote",
    "reads_need_own_process",
    "refresh_statistics",
    "run_in_child",
    "spawned_pool",
    "start_in_child",
    "store_scanner",
    "utcnow",
]
