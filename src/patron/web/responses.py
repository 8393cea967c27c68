"""What every admin API route shares: the app's services and JSON answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from fastapi import Request, Response

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from patron.web.app import AppServices


def services(request: Request) -> AppServices:
    found: AppServices = request.app.state.services
    return found


def sessions(request: Request) -> sessionmaker[Session]:
    return services(request).sessions


def json_response(status: int, content: object) -> Response:
    # orjson writes the packages' frozen dataclasses and UTC datetimes (ISO 8601) itself.
    return Response(orjson.dumps(content), status_code=status, media_type="application/json")


def error_response(status: int, code: str, message: str) -> Response:
    return json_response(status, {"error": code, "message": message})
