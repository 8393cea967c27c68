"""The tracking API's use case: authenticate, parse, validate, write, acknowledge.

``Collector.collect`` takes a request body (already decompressed) for one endpoint and
returns once its events are committed, or raises one of the errors below, each of which the
web layer turns into a status code. Write keys are looked up once and then served from
memory, so the hot path makes no query but the insert.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import orjson
from sqlalchemy.exc import SQLAlchemyError

from patron.ingest.event_log import FailedMessage
from patron.ingest.messages import (
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    MAX_EVENT_BYTES,
    MESSAGE_TYPES,
    EventRow,
    MessageError,
    message_id_of,
    normalise_message,
)
from patron.ingest.sources import SourceInfo, source_by_write_key
from patron.ingest.writer import StoreUnavailableError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from patron.ingest.writer import EventWriter

BATCH: Final = "batch"
ENDPOINTS: Final = frozenset({*MESSAGE_TYPES, BATCH})
# How long a looked-up write key is trusted: a rotated key stops working within this time.
_KEY_TTL_SECONDS: Final = 60.0
# Unknown keys are remembered briefly, so a client with a wrong key cannot make every one of
# its requests query the database, while a source just created works within seconds.
_UNKNOWN_KEY_TTL_SECONDS: Final = 5.0
_KEY_CACHE_LIMIT: Final = 10_000
# How long a request waits for its commit before it is told to retry.
_COMMIT_TIMEOUT_SECONDS: Final = 30.0


class UnauthorizedError(ValueError):
    """No write key, or one that belongs to no source."""


class BadRequestError(ValueError):
    """The body cannot be read as a tracking call; the message says what is wrong."""


class PayloadTooLargeError(ValueError):
    """The body or the batch is over the tracking API's limits."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """A message of a batch that failed validation and was kept in ``failed_events``."""

    index: int
    message_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Collected:
    """What a request delivered: events accepted (stored, or already stored) and rejected."""

    accepted: int
    rejected: list[Rejection] = field(default_factory=list)


def body_limit(endpoint: str) -> int:
    """The largest body, in bytes, that ``endpoint`` accepts."""
    return MAX_BATCH_BYTES if endpoint == BATCH else MAX_EVENT_BYTES


def _parse(body: bytes) -> dict[str, Any]:
    if not body.strip():
        msg = "the request body is empty; send a JSON object"
        raise BadRequestError(msg)
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        msg = f"the body is not valid JSON: {error}"
        raise BadRequestError(msg) from None
    if not isinstance(document, dict):
        msg = "the body must be a JSON object"
        raise BadRequestError(msg)
    return document


def _merged(batch_value: dict[str, Any], message_value: object) -> object:
    # The batch's context and integrations apply to every message, the message's own keys
    # winning, as in Segment's batch call.
    if message_value is None:
        return batch_value
    if not isinstance(message_value, dict):
        return message_value
    return {**batch_value, **message_value}


class WriteKeys:
    """Write key → source, remembered in memory for a short while."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._known: dict[str, tuple[SourceInfo | None, float]] = {}

    def cached(self, write_key: str) -> tuple[bool, SourceInfo | None]:
        """``(True, source or None)`` when the answer is in memory, else ``(False, None)``."""
        entry = self._known.get(write_key)
        if entry is None or entry[1] < time.monotonic():
            return False, None
        return True, entry[0]

    def look_up(self, write_key: str) -> SourceInfo | None:
        """Ask the database (a blocking call) and remember the answer."""
        with self._sessions() as session:
            source = source_by_write_key(session, write_key)
        if len(self._known) >= _KEY_CACHE_LIMIT:
            self._known.clear()
        ttl = _KEY_TTL_SECONDS if source is not None else _UNKNOWN_KEY_TTL_SECONDS
        self._known[write_key] = (source, time.monotonic() + ttl)
        return source

    def forget(self) -> None:
        self._known.clear()


class Collector:
    """Accepts tracking calls for the sources whose write keys it is shown."""

    def __init__(self, sessions: sessionmaker[Session], writer: EventWriter) -> None:
        self.write_keys = WriteKeys(sessions)
        self._writer = writer

    async def authenticate(self, write_key: str | None) -> SourceInfo:
        """The source of ``write_key``; raises ``UnauthorizedError``."""
        if not write_key:
            msg = "no write key: send it as the HTTP Basic user name or as writeKey in the body"
            raise UnauthorizedError(msg)
        known, source = self.write_keys.cached(write_key)
        if not known:
            try:
                source = await asyncio.to_thread(self.write_keys.look_up, write_key)
            except SQLAlchemyError as error:
                cause = getattr(error, "orig", None) or error
                raise StoreUnavailableError(str(cause)[:500]) from error
        if source is None:
            msg = "the write key belongs to no source"
            raise UnauthorizedError(msg)
        return source

    async def collect(
        self,
        endpoint: str,
        body: bytes,
        *,
        write_key: str | None,
        received_at: datetime | None = None,
    ) -> Collected:
        """Store the call(s) in ``body`` sent to ``endpoint`` (a call type or ``batch``).

        ``write_key`` comes from the Authorization header; without it the body's
        ``writeKey`` is used. Returns after the commit. Raises ``UnauthorizedError``,
        ``BadRequestError`` (a bad body, or a bad message on a single-call endpoint),
        ``PayloadTooLargeError``, and from the writer ``IngestOverloadedError`` and
        ``StoreUnavailableError``. Messages of a batch that fail validation do not fail the
        request: they are kept in ``failed_events`` and listed in the result.
        """
        if endpoint not in ENDPOINTS:
            msg = f"unknown endpoint {endpoint!r}"
            raise ValueError(msg)
        if len(body) > body_limit(endpoint):
            raise PayloadTooLargeError(_too_large(endpoint, len(body)))
        if write_key:
            source = await self.authenticate(write_key)
            document = _parse(body)
        else:
            document = _parse(body)
            key = document.get("writeKey")
            source = await self.authenticate(key if isinstance(key, str) else None)
        received_at = received_at or datetime.now(UTC)
        if endpoint == BATCH:
            rows, rejected, failures = self._read_batch(document, source.id, received_at)
        else:
            try:
                row = normalise_message(
                    document, source_id=source.id, received_at=received_at, message_type=endpoint
                )
            except MessageError as error:
                raise BadRequestError(error.reason) from None
            rows, rejected, failures = [row], [], []
        future = self._writer.submit(rows, failures)
        await asyncio.wait_for(asyncio.wrap_future(future), _COMMIT_TIMEOUT_SECONDS)
        return Collected(accepted=len(rows), rejected=rejected)

    @staticmethod
    def _read_batch(
        document: dict[str, Any], source_id: int, received_at: datetime
    ) -> tuple[list[EventRow], list[Rejection], list[FailedMessage]]:
        messages = document.get("batch")
        if not isinstance(messages, list):
            msg = "batch must be a list of messages"
            raise BadRequestError(msg)
        if len(messages) > MAX_BATCH_EVENTS:
            msg = f"a batch holds at most {MAX_BATCH_EVENTS} messages, this one has {len(messages)}"
            raise PayloadTooLargeError(msg)
        sent_at = document.get("sentAt")
        context = document.get("context")
        integrations = document.get("integrations")
        rows: list[EventRow] = []
        rejected: list[Rejection] = []
        failures: list[FailedMessage] = []
        for index, raw in enumerate(messages):
            message = raw
            if isinstance(raw, dict) and (
                isinstance(context, dict) or isinstance(integrations, dict)
            ):
                message = dict(raw)
                if isinstance(context, dict):
                    message["context"] = _merged(context, raw.get("context"))
                if isinstance(integrations, dict):
                    message["integrations"] = _merged(integrations, raw.get("integrations"))
            try:
                rows.append(
                    normalise_message(
                        message, source_id=source_id, received_at=received_at, sent_at=sent_at
                    )
                )
            except MessageError as error:
                message_id = message_id_of(message)
                rejected.append(Rejection(index, message_id, error.reason))
                failures.append(
                    FailedMessage(
                        source_id=source_id,
                        reason=error.reason,
                        payload=_as_sent(message, sent_at),
                        received_at=received_at,
                        message_id=message_id,
                    )
                )
        return rows, rejected, failures


def _as_sent(message: object, sent_at: object) -> object:
    # Kept for replay: the message less its write key, with the batch's sentAt, so that a
    # replay corrects its timestamp the way the first attempt would have.
    if not isinstance(message, dict):
        return message
    kept = {key: value for key, value in message.items() if key != "writeKey"}
    if sent_at is not None and "sentAt" not in kept:
        kept["sentAt"] = sent_at
    return kept


def _too_large(endpoint: str, size: int) -> str:
    limit = body_limit(endpoint) // 1024
    what = "a batch" if endpoint == BATCH else "a single call"
    return f"the body is {size} bytes; {what} may be at most {limit} KB"


def analytics_js_settings(write_key: str, api_host: str, protocol: str) -> dict[str, Any]:
    """The settings analytics.js loads for a write key, pointing it at this Patron.

    ``api_host`` is ``host[:port]/v1`` as the browser reaches it. No device-mode
    destinations, and analytics.js's own metrics are switched off (they would go to Segment).
    """
    return {
        "integrations": {
            "Segment.io": {
                "apiKey": write_key,
                "apiHost": api_host,
                "protocol": protocol,
                "addBundledMetadata": True,
                "unbundledIntegrations": [],
                "maybeBundledConfigIds": {},
            }
        },
        "plan": {
            "track": {"__default": {"enabled": True, "integrations": {}}},
            "identify": {"__default": {"enabled": True}},
            "group": {"__default": {"enabled": True}},
        },
        "edgeFunction": {},
        "analyticsNextEnabled": True,
        "middlewareSettings": {},
        "enabledMiddleware": {},
        "metrics": {"sampleRate": 0},
        "legacyVideoPluginsEnabled": False,
        "remotePlugins": [],
    }
