"""The review queue API: pairs of customer records probabilistic matching was unsure about,
and pairs an identity rule held apart (a shared email whose first names disagree)."""

from __future__ import annotations

from fastapi import APIRouter, Body, Query, Request, Response

from patron import identity
from patron.web.responses import error_response, json_response, sessions

router = APIRouter(prefix="/api/identity/review", tags=["identity"])

_STATUSES = ("review", "merged", "accepted", "rejected", "all")


@router.get("", summary="Pairs to decide: the most likely scored first, then rule-held ones")
def list_pairs(
    request: Request,
    status: str = Query("review", description="review (waiting), merged, accepted, rejected, all"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> Response:
    if status not in _STATUSES:
        return error_response(
            400, "invalid_request", f"status must be one of {', '.join(_STATUSES)}"
        )
    wanted = None if status == "all" else status
    with sessions(request)() as session:
        pairs = identity.list_match_pairs(session, status=wanted, limit=limit, offset=offset)
        total = identity.count_match_pairs(session, status=wanted)
    return json_response(200, {"total": total, "pairs": [pair.as_json() for pair in pairs]})


@router.get("/{pair_id}", summary="One pair: its contributions, or the rule that held it apart")
def show_pair(request: Request, pair_id: int) -> Response:
    try:
        with sessions(request)() as session:
            pair = identity.match_pair(session, pair_id)
    except LookupError as error:
        return error_response(404, "not_found", str(error.args[0]))
    return json_response(200, pair.as_json())


def _decide(request: Request, pair_id: int, decided_by: str, *, accept: bool) -> Response:
    try:
        with sessions(request)() as session, session.begin():
            if accept:
                decision = identity.accept_match_pair(session, pair_id, decided_by=decided_by)
            else:
                decision = identity.reject_match_pair(session, pair_id, decided_by=decided_by)
    except identity.PairDecidedError as error:
        return error_response(409, "already_decided", str(error))
    except LookupError as error:
        return error_response(404, "not_found", str(error.args[0]))
    return json_response(
        200,
        {
            "pair_id": decision.pair_id,
            "status": decision.status,
            "merge_id": decision.merge_id,
            "merge_status": decision.merge_status,
        },
    )


@router.post("/{pair_id}/accept", summary="Accept a pair: merge the two customers by hand")
def accept_pair(
    request: Request,
    pair_id: int,
    decided_by: str = Body("api", embed=True, max_length=255),
) -> Response:
    return _decide(request, pair_id, decided_by, accept=True)


@router.post(
    "/{pair_id}/reject",
    summary="Reject a pair: two different people, never to be merged automatically",
)
def reject_pair(
    request: Request,
    pair_id: int,
    decided_by: str = Body("api", embed=True, max_length=255),
) -> Response:
    return _decide(request, pair_id, decided_by, accept=False)
