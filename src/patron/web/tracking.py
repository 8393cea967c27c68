"""The Segment-compatible tracking API (``/v1/*``) and the failed-events admin API.

The routes read the HTTP request (body size, gzip, HTTP Basic), hand it to the ingest
package's ``Collector`` and turn its answer or its error into Segment's responses: ``200``
only after the commit, ``400`` with what is wrong, ``401``, ``413``, and ``429`` / ``503`` with
``Retry-After`` for faults that go away by themselves (the SDKs retry those and drop 4xx).
"""

from __future__ import annotations

import base64
import binascii
import logging
import zlib
from typing import TYPE_CHECKING, Any, Final

import orjson
from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.middleware.cors import CORSMiddleware

from patron import ingest

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

router = APIRouter(tags=["tracking"])
failed_events_router = APIRouter(prefix="/api/failed-events", tags=["failed events"])

# analytics.js posts to /v1/t, /v1/i... (the first letter of the call) and batches to /v1/b.
_PATHS: Final = {
    "track": ("/v1/track", "/v1/t"),
    "identify": ("/v1/identify", "/v1/i"),
    "page": ("/v1/page", "/v1/p"),
    "screen": ("/v1/screen", "/v1/s"),
    "group": ("/v1/group", "/v1/g"),
    "alias": ("/v1/alias", "/v1/a"),
    "batch": ("/v1/batch", "/v1/b"),
}
_SUCCESS: Final = b'{"success":true}'
_GZIP_WBITS: Final = 16 + zlib.MAX_WBITS


def _json(status: int, content: object, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(content), status_code=status, media_type="application/json", headers=headers
    )


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    # ``code`` and ``message`` are what the Segment and RudderStack SDKs read from an error.
    return _json(status, {"success": False, "code": code, "message": message}, headers)


def _retry_later(request: Request, message: str, status: int) -> Response:
    seconds = str(request.app.state.services.settings.ingest_retry_after_seconds)
    code = "overloaded" if status == 429 else "unavailable"
    return _error(status, code, message, {"Retry-After": seconds})


def _basic_user(authorization: str | None) -> str | None:
    """The user name of an HTTP Basic header (the write key); ``None`` for other schemes."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        msg = "the Authorization header is not valid HTTP Basic"
        raise ingest.UnauthorizedError(msg) from None
    return decoded.partition(":")[0] or None


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        msg = f"the body is {declared} bytes; the limit is {limit // 1024} KB"
        raise ingest.PayloadTooLargeError(msg)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            msg = f"the body is over the limit of {limit // 1024} KB"
            raise ingest.PayloadTooLargeError(msg)
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding in {"", "identity"}:
        return body
    if encoding != "gzip":
        msg = f"Content-Encoding {encoding!r} is not supported; send gzip or plain JSON"
        raise ingest.BadRequestError(msg)
    inflater = zlib.decompressobj(_GZIP_WBITS)
    try:
        # Inflate at most one byte past the limit: a small body cannot expand into a big one.
        inflated = inflater.decompress(body, limit + 1)
    except zlib.error as error:
        msg = f"the body is not valid gzip: {error}"
        raise ingest.BadRequestError(msg) from None
    if len(inflated) > limit:
        msg = f"the decompressed body is over the limit of {limit // 1024} KB"
        raise ingest.PayloadTooLargeError(msg)
    if not inflater.eof:
        msg = "the gzip body is truncated"
        raise ingest.BadRequestError(msg)
    return inflated


async def _collect(request: Request, endpoint: str) -> Response:
    collector: ingest.Collector = request.app.state.services.collector
    try:
        body = await _read_body(request, ingest.body_limit(endpoint))
        write_key = _basic_user(request.headers.get("authorization"))
        collected = await collector.collect(endpoint, body, write_key=write_key)
    except ingest.BadRequestError as error:
        return _error(400, "invalid_request", str(error))
    except ingest.UnauthorizedError as error:
        return _error(401, "unauthorized", str(error))
    except ingest.PayloadTooLargeError as error:
        return _error(413, "payload_too_large", str(error))
    except ingest.IngestOverloadedError as error:
        return _retry_later(request, f"too many events are waiting to be written ({error})", 429)
    except (ingest.StoreUnavailableError, TimeoutError) as error:
        return _retry_later(request, f"the event log is unavailable: {error}", 503)
    except Exception:
        log.exception("a tracking call could not be stored")
        return _error(500, "internal_error", "the events could not be stored; retry later")
    if not collected.rejected:
        return Response(_SUCCESS, media_type="application/json")
    return _json(
        200,
        {
            "success": True,
            "accepted": collected.accepted,
            "rejected": [
                {"index": r.index, "messageId": r.message_id, "reason": r.reason}
                for r in collected.rejected
            ],
        },
    )


def _route(endpoint: str) -> Callable[[Request], Awaitable[Response]]:
    async def collect(request: Request) -> Response:
        return await _collect(request, endpoint)

    collect.__name__ = f"collect_{endpoint}"
    return collect


_REQUEST_BODY: Final = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "additionalProperties": True},
            }
        },
    }
}

for _endpoint, (_path, _short) in _PATHS.items():
    _summary = (
        "A batch of calls (up to 2,500 messages, 500 KB)"
        if _endpoint == "batch"
        else f"A {_endpoint} call (up to 32 KB)"
    )
    router.add_api_route(
        _path,
        _route(_endpoint),
        methods=["POST"],
        summary=_summary,
        openapi_extra=_REQUEST_BODY,
        response_class=Response,
    )
    router.add_api_route(
        _short,
        _route(_endpoint),
        methods=["POST"],
        include_in_schema=False,
        response_class=Response,
    )


@router.get("/v1/projects/{write_key}/settings", summary="Settings for analytics.js")
async def analytics_js_settings(write_key: str, request: Request) -> Response:
    """What analytics.js loads at start: it sends its events back to this host."""
    collector: ingest.Collector = request.app.state.services.collector
    try:
        await collector.authenticate(write_key)
    except ingest.UnauthorizedError as error:
        return _error(404, "not_found", str(error))
    except ingest.StoreUnavailableError as error:
        return _retry_later(request, f"the store is unavailable: {error}", 503)
    api_host = f"{request.url.netloc}/v1"
    return _json(200, ingest.analytics_js_settings(write_key, api_host, request.url.scheme))


class TrackingCORSMiddleware:
    """CORS for ``/v1/`` only: any web page may send events; the admin API stays same-origin."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._cors = CORSMiddleware(
            app,
            allow_origins=["*"],
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=["Retry-After"],
            max_age=86_400,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            await self._cors(scope, receive, send)
        else:
            await self._app(scope, receive, send)


def _failed_json(failed: ingest.FailedEventInfo) -> dict[str, Any]:
    return {
        "id": failed.id,
        "source_id": failed.source_id,
        "message_id": failed.message_id,
        "reason": failed.reason,
        "payload": failed.payload,
        "received_at": ingest.isoformat(failed.received_at),
        "status": failed.status,
        "resolved_at": None if failed.resolved_at is None else ingest.isoformat(failed.resolved_at),
        "event_id": failed.event_id,
    }


@failed_events_router.get("", summary="Messages that failed validation, newest first")
def list_failed(
    request: Request,
    status: str = Query("failed", description="failed, replayed, discarded or all"),
    source_id: int | None = Query(None),
    limit: int = Query(100, ge=1, le=1000),
    before_id: int | None = Query(None, description="Page on: the smallest id seen so far"),
) -> Response:
    sessions = request.app.state.services.sessions
    try:
        with sessions() as session:
            found = ingest.list_failed_events(
                session,
                status=None if status == "all" else status,
                source_id=source_id,
                limit=limit,
                before_id=before_id,
            )
    except ValueError as error:
        return _error(400, "invalid_request", str(error))
    return _json(200, [_failed_json(failed) for failed in found])


_REPLAY_STATUS: Final = {"replayed": 200, "failed": 422, "not_found": 404, "already_resolved": 409}


@failed_events_router.post(
    "/{failed_event_id}/replay",
    summary="Validate a failed event again (optionally corrected) and store it",
    openapi_extra={
        "requestBody": {
            "required": False,
            "description": "The corrected message; empty to replay the stored one.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def replay_failed(failed_event_id: int, request: Request) -> Response:
    body = await request.body()
    corrected: Any = None
    if body.strip():
        try:
            corrected = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            return _error(400, "invalid_request", f"the body is not valid JSON: {error}")
    sessions = request.app.state.services.sessions

    def replay() -> ingest.ReplayOutcome:
        with sessions.begin() as session:
            (outcome,) = ingest.replay_failed_events(
                session, [failed_event_id], corrected_payload=corrected
            )
            return outcome

    outcome = await run_in_threadpool(replay)
    return _json(
        _REPLAY_STATUS[outcome.status],
        {
            "id": outcome.failed_event_id,
            "status": outcome.status,
            "reason": outcome.reason,
            "event_id": outcome.event_id,
        },
    )
