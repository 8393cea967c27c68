"""The ASGI entry point for uvicorn: settings are read when the server starts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from patron.settings import Settings
from patron.web.app import create_app

if TYPE_CHECKING:
    from fastapi import FastAPI


def app_from_environment() -> FastAPI:
    """Build the app from ``PATRON_*`` settings (``uvicorn --factory`` calls this)."""
    return create_app(Settings())
