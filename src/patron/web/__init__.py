"""The FastAPI application: tracking API, JSON admin API and the admin UI."""

from patron.web.app import create_app

__all__ = ["create_app"]
