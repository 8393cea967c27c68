"""Collection: the Segment-compatible tracking API, write keys, and the importers."""

from patron.ingest import models as _models  # noqa: F401 - registers the tables
from patron.ingest.carts import SETTLE_TIME as CART_SETTLE_TIME
from patron.ingest.carts import CartProjection, mark_abandoned_carts, project_carts
from patron.ingest.collector import (
    BadRequestError,
    Collected,
    Collector,
    PayloadTooLargeError,
    Rejection,
    UnauthorizedError,
    analytics_js_settings,
    body_limit,
)
from patron.ingest.cursors import lock_cursor, move_cursor
from patron.ingest.event_log import FailedMessage, append_events, record_failed_events
from patron.ingest.failed import (
    FailedEventInfo,
    ReplayOutcome,
    list_failed_events,
    replay_failed_events,
)
from patron.ingest.importers import (
    FileFormat,
    ImportFileError,
    ImportKind,
    ImportProgress,
    ImportSummary,
    NoProgress,
    RowError,
    import_file,
    import_world,
)
from patron.ingest.messages import (
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    MAX_EVENT_BYTES,
    EventRow,
    MessageError,
    isoformat,
    normalise_message,
)
from patron.ingest.money import MoneyError, currency_exponent, to_minor_units
from patron.ingest.sources import (
    Channel,
    NewSource,
    SourceExistsError,
    SourceInfo,
    create_source,
    ensure_source,
    list_sources,
    rotate_write_key,
    source_by_name,
    source_by_write_key,
)
from patron.ingest.stats import CollectionStats, collection_stats
from patron.ingest.writer import EventWriter, IngestOverloadedError, StoreUnavailableError

__all__ = [
    "CART_SETTLE_TIME",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_EVENTS",
    "MAX_EVENT_BYTES",
    "BadRequestError",
    "CartProjection",
    "Channel",
    "Collected",
    "CollectionStats",
    "Collector",
    "EventRow",
    "EventWriter",
    "FailedEventInfo",
    "FailedMessage",
    "FileFormat",
    "ImportFileError",
    "ImportKind",
    "ImportProgress",
    "ImportSummary",
    "IngestOverloadedError",
    "MessageError",
    "MoneyError",
    "NewSource",
    "NoProgress",
    "PayloadTooLargeError",
    "Rejection",
    "ReplayOutcome",
    "RowError",
    "SourceExistsError",
    "SourceInfo",
    "StoreUnavailableError",
    "UnauthorizedError",
    "analytics_js_settings",
    "append_events",
    "body_limit",
    "collection_stats",
    "create_source",
    "currency_exponent",
    "ensure_source",
    "import_file",
    "import_world",
    "isoformat",
    "list_failed_events",
    "list_sources",
    "lock_cursor",
    "mark_abandoned_carts",
    "move_cursor",
    "normalise_message",
    "project_carts",
    "record_failed_events",
    "replay_failed_events",
    "rotate_write_key",
    "source_by_name",
    "source_by_write_key",
    "to_minor_units",
]
