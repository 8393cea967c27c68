"""The admin UI's landing page and the first admin API endpoints."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

import patron
from patron import ingest
from patron.web.responses import services

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
STATIC_DIR = Path(__file__).parent / "static"

router = APIRouter()
# The admin API endpoints of this module; the app guards them with the admin token.
admin_router = APIRouter(prefix="/api", tags=["admin"])


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def landing(request: Request) -> HTMLResponse:
    found = services(request)
    with found.sessions() as session:
        stats = ingest.collection_stats(session)
        sources = ingest.list_sources(session)
    base_url = str(request.base_url).rstrip("/")
    return TEMPLATES.TemplateResponse(
        request,
        "landing.html",
        {
            "version": patron.__version__,
            "stats": stats,
            "sources": sources,
            "base_url": base_url,
            "environment": found.settings.environment.value,
        },
    )


@admin_router.get("/stats")
def stats(request: Request) -> dict[str, int]:
    """Counts of everything collected so far."""
    with services(request).sessions() as session:
        return dataclasses.asdict(ingest.collection_stats(session))


@admin_router.get("/sources")
def sources(request: Request) -> list[dict[str, Any]]:
    """The sources; their write keys are never shown again, only the first characters."""
    with services(request).sessions() as session:
        return [
            {
                "id": source.id,
                "name": source.name,
                "channel": source.channel.value,
                "default_region": source.default_region,
                "key_hint": source.write_key_hint,
            }
            for source in ingest.list_sources(session)
        ]
