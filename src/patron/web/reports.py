"""The reports API: every report by name, in JSON, CSV, HTML or PNG."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from patron import analytics, predict
from patron.web.responses import error_response, json_response, services

router = APIRouter(prefix="/api", tags=["reports"])

_FORMATS = tuple(f for f in analytics.ReportFormat if f is not analytics.ReportFormat.TABLE)


def _invalid(parameter: str, message: str) -> Response:
    return json_response(
        422, {"error": "invalid_parameter", "parameter": parameter, "message": message}
    )


@router.get("/reports", summary="The reports there are, with their names and what they show")
def list_reports() -> Response:
    return json_response(
        200,
        {
            "reports": [
                {"name": d.name, "title": d.title, "description": d.description}
                for d in predict.every_report()
            ]
        },
    )


@router.get(
    "/reports/{name}",
    summary="A report over a period in the retailer's time zone, with filters and a comparison",
)
def show_report(  # noqa: PLR0917 - one parameter per query parameter
    request: Request,
    name: str,
    date_from: str | None = Query(None, alias="from", description="First day, YYYY-MM-DD"),
    date_to: str | None = Query(None, alias="to", description="Last day (included), YYYY-MM-DD"),
    period: str | None = Query(
        None, description="last-30-days, last-90-days, last-12-months, ytd or all"
    ),
    channel: list[str] | None = Query(None, description="pos, eshop, app (repeat or commas)"),
    store: list[str] | None = Query(None, description="Store ids (repeat or commas)"),
    compare: str | None = Query(None, description="previous-period, previous-year or none"),
    top: int | None = Query(None, description="Length of ranked lists (default 20)"),
    report_format: str = Query("json", alias="format", description="json, csv, html or png"),
) -> Response:
    app_services = services(request)
    settings = app_services.settings
    try:
        definition = predict.every_report().get(name)
    except analytics.UnknownReportError as error:
        return error_response(404, "not_found", error.args[0])
    try:
        chosen = analytics.ReportFormat(report_format)
        if chosen not in _FORMATS:
            raise ValueError(chosen)
    except ValueError:
        choices = ", ".join(f.value for f in _FORMATS)
        return _invalid("format", f"{report_format!r} is not a format; use one of {choices}")
    try:
        report_request = analytics.parse_request(
            period=period,
            date_from=date_from,
            date_to=date_to,
            channels=channel,
            stores=store,
            compare=compare,
            timezone=settings.timezone,
            top=top,
        )
    except analytics.ReportRequestError as error:
        return _invalid(error.parameter, error.message)
    try:
        result = app_services.reports.run(definition, report_request)
    except analytics.AnalyticsStoreError as error:
        return error_response(503, "analytics_unavailable", str(error))
    return Response(
        analytics.render_report(result, chosen),
        status_code=200,
        media_type=analytics.MEDIA_TYPES[chosen],
    )
