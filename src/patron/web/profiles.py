"""The customer 360 API: profiles, their timeline, search, and the undoing of merges."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query, Request, Response

from patron import identity, profiles
from patron.web.responses import error_response, json_response, services, sessions

router = APIRouter(prefix="/api", tags=["customers"])


@router.get("/profiles", summary="Find customers by name, email, phone or loyalty card")
def search(
    request: Request,
    q: str = Query(..., description="A name, an email, a phone number or a loyalty card"),
    limit: int = Query(20, ge=1, le=100),
) -> Response:
    region = services(request).settings.default_phone_region
    try:
        with sessions(request)() as session:
            found = profiles.search_profiles(session, q, region=region, limit=limit)
    except ValueError as error:
        return error_response(400, "invalid_request", str(error))
    return json_response(200, {"profiles": found})


@router.get(
    "/profiles/{profile_id}",
    summary="The customer 360: golden record with lineage, identifiers, source records, merges "
    "and the first page of the timeline (a merged-away id shows its surviving customer)",
)
def show(
    request: Request,
    profile_id: int,
    limit: int = Query(50, ge=1, le=profiles.MAX_TIMELINE_LIMIT),
) -> Response:
    try:
        with sessions(request)() as session:
            view = profiles.customer_360(session, profile_id, limit=limit)
    except profiles.ProfileNotFoundError as error:
        return error_response(404, "not_found", str(error))
    return json_response(200, view)


@router.get("/profiles/{profile_id}/timeline", summary="The customer's timeline, newest first")
def timeline(
    request: Request,
    profile_id: int,
    cursor: str | None = Query(None, description="next_cursor of the previous page"),
    limit: int = Query(50, ge=1, le=profiles.MAX_TIMELINE_LIMIT),
) -> Response:
    try:
        with sessions(request)() as session:
            root = profiles.resolve_customer(session, profile_id)
            page = profiles.customer_timeline(session, root, cursor=cursor, limit=limit)
    except profiles.ProfileNotFoundError as error:
        return error_response(404, "not_found", str(error))
    except profiles.InvalidCursorError as error:
        return error_response(400, "invalid_cursor", str(error))
    return json_response(200, {"id": root, **_page(page)})


@router.get(
    "/profiles/{profile_id}/explain",
    summary="Why the customer is who it is: its nodes, identifiers with their sources, records, "
    "merges with their reasons, and the blocks left by undone merges",
)
def explain(request: Request, profile_id: int) -> Response:
    try:
        with sessions(request)() as session:
            found = identity.explain_profile(session, profile_id)
    except LookupError as error:
        return error_response(404, "not_found", str(error))
    return json_response(200, found)


def _page(page: profiles.TimelinePage) -> dict[str, Any]:
    return {"entries": page.entries, "next_cursor": page.next_cursor}


@router.post(
    "/merges/{merge_id}/undo",
    summary="Split the customers a merge joined; the same merge never happens again by itself",
)
def undo(
    request: Request,
    merge_id: int,
    body: dict[str, Any] | None = Body(
        None, examples=[{"reason": "two people sharing a family email"}]
    ),
) -> Response:
    reason = (body or {}).get("reason") or "undone through the API"
    if not isinstance(reason, str):
        return error_response(400, "invalid_request", "reason must be text")
    try:
        with sessions(request)() as session, session.begin():
            undone = profiles.undo_merge(session, merge_id, reason=reason)
    except LookupError as error:
        return error_response(404, "not_found", str(error))
    except ValueError as error:
        return error_response(409, "already_undone", str(error))
    return json_response(200, undone)
