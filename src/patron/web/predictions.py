"""The predictions API: a customer's predictions and the fitted models."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query, Request, Response

from patron import predict, profiles
from patron.web.responses import error_response, json_response, sessions

router = APIRouter(prefix="/api", tags=["predictions"])


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


@router.get(
    "/profiles/{profile_id}/predictions",
    summary="The customer's predictions: CLV, churn risk, next products, preferred channel, "
    "send time (the newest as-of date unless one is given; a merged-away id shows its "
    "surviving customer)",
)
def customer_predictions(
    request: Request,
    profile_id: int,
    as_of: str | None = Query(None, description="The run for this as-of date, YYYY-MM-DD"),
) -> Response:
    try:
        day = _day(as_of)
    except ValueError:
        return error_response(422, "invalid_parameter", f"as_of: {as_of!r} is not a date")
    try:
        with sessions(request)() as session:
            found = predict.customer_predictions(session, profile_id, day)
    except (profiles.ProfileNotFoundError, predict.PredictionNotFoundError) as error:
        return error_response(404, "not_found", str(error))
    return json_response(200, found)


@router.get(
    "/models/{name}",
    summary="A prediction model's fitted parameters and diagnostics (the newest fit unless "
    "an as-of date is given)",
)
def model(
    request: Request,
    name: str,
    as_of: str | None = Query(None, description="The fit for this as-of date, YYYY-MM-DD"),
) -> Response:
    if name not in predict.MODEL_NAMES:
        known = ", ".join(predict.MODEL_NAMES)
        return error_response(404, "not_found", f"no model {name!r}; the models are: {known}")
    try:
        day = _day(as_of)
    except ValueError:
        return error_response(422, "invalid_parameter", f"as_of: {as_of!r} is not a date")
    try:
        with sessions(request)() as session:
            found = predict.stored_model(session, name, day)
    except predict.PredictionNotFoundError as error:
        return error_response(404, "not_found", str(error))
    return json_response(200, found.as_json())
