"""Event files: Segment messages (track, identify, page, screen, group, alias) in bulk.

Each message is validated exactly as the tracking API validates it and goes into the same
event log, deduplicated on ``messageId``. A message without a ``messageId`` gets one made
from its content, so importing the file again adds nothing.

A CSV file has one message per row: the columns ``type, event, name, userId, anonymousId,
messageId, timestamp, previousId, groupId, sentAt`` and dotted columns such as
``properties.price`` or ``context.page.url`` for nested fields. CSV cells are text; a column
named with a ``:number``, ``:boolean`` or ``:json`` suffix is read as that type.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import orjson

from patron.ingest.event_log import append_events
from patron.ingest.importers.report import ChunkOutcome, FileFormat
from patron.ingest.importers.values import InvalidRowError, shown
from patron.ingest.messages import MessageError, normalise_message

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy import Connection

    from patron.ingest.importers.pipeline import ImportContext
    from patron.ingest.messages import EventRow

TOP_LEVEL = (
    "type",
    "event",
    "name",
    "userId",
    "anonymousId",
    "messageId",
    "timestamp",
    "previousId",
    "groupId",
    "sentAt",
)
NESTED = ("properties", "traits", "context", "integrations")
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


def derived_message_id(message: Mapping[str, Any]) -> str:
    """A messageId made from the message's content: the same message always gets the same."""
    digest = hashlib.blake2b(
        orjson.dumps(message, option=orjson.OPT_SORT_KEYS), digest_size=16
    ).hexdigest()
    return f"import-{digest}"


def _typed(column: str, kind: str, value: str) -> Any:
    if kind == "number":
        try:
            number = orjson.loads(value)
        except orjson.JSONDecodeError:
            number = None
        if isinstance(number, bool) or not isinstance(number, int | float):
            msg = f"{column} {shown(value)} is not a number"
            raise InvalidRowError(msg)
        return number
    if kind == "boolean":
        word = value.lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        msg = f"{column} {shown(value)} is not true or false"
        raise InvalidRowError(msg)
    if kind == "json":
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError as error:
            msg = f"{column} is not valid JSON: {error}"
            raise InvalidRowError(msg) from None
    msg = f"column {column!r}: unknown type {kind!r} (use number, boolean or json)"
    raise InvalidRowError(msg)


def message_from_columns(values: Mapping[str, Any]) -> dict[str, Any]:
    """A Segment message from a CSV row: standard columns, dotted and typed columns.

    A column that is neither standard nor dotted is a property (a trait for identify and
    group calls).
    """
    message: dict[str, Any] = {}
    kind = str(values.get("type", "")).strip()
    loose = "traits" if kind in {"identify", "group"} else "properties"
    for column, raw in values.items():
        cell = raw.strip() if isinstance(raw, str) else raw
        if cell is None or cell == "":
            continue
        name, _, type_name = column.partition(":")
        value = _typed(column, type_name, cell) if type_name else cell
        if name in TOP_LEVEL:
            message[name] = value
            continue
        path = name.split(".")
        if path[0] not in NESTED:
            path = [loose, *path]
        target = message
        for part in path[:-1]:
            child = target.setdefault(part, {})
            if not isinstance(child, dict):
                msg = f"column {column!r} nests under {part!r}, which has a value of its own"
                raise InvalidRowError(msg)
            target = child
        target[path[-1]] = value
    return message


class EventImporter:
    """Appends messages to the event log of the import's source."""

    columns: Mapping[str, str] = {name.lower(): name for name in TOP_LEVEL}
    required: tuple[str, ...] = ("type",)
    tables: tuple[str, ...] = ()

    def __init__(self, context: ImportContext) -> None:
        self.context = context

    def parse(self, values: Mapping[str, Any]) -> EventRow:
        message = (
            message_from_columns(values)
            if self.context.file_format is FileFormat.CSV
            else dict(values)
        )
        if message.get("messageId") in (None, ""):
            message["messageId"] = derived_message_id(message)
        try:
            return normalise_message(
                message, source_id=self.context.source.id, received_at=self.context.now
            )
        except MessageError as error:
            raise InvalidRowError(error.reason) from None

    def write(self, connection: Connection, rows: list[tuple[int, EventRow]]) -> ChunkOutcome:
        stored = append_events(connection, [row for _, row in rows])
        # A message already in the log (same source and messageId) is skipped, not an error.
        return ChunkOutcome(inserted=stored, unchanged=len(rows) - stored)
