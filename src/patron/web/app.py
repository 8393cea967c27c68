"""The composition root of the web application."""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

import patron
from patron.storage import make_engine, make_session_factory
from patron.web import pages

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from patron.settings import Settings


@dataclass(frozen=True)
class AppServices:
    """What the routes need, built once per application."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]


def create_app(settings: Settings) -> FastAPI:
    """Build the application for ``settings``; the database must be migrated already."""
    engine = make_engine(settings.database_url)
    services = AppServices(settings=settings, engine=engine, sessions=make_session_factory(engine))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(title="Patron", version=patron.__version__, lifespan=lifespan)
    app.state.services = services
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")

    @app.get("/health", tags=["operations"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
