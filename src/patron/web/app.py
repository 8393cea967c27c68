"""The composition root of the web application."""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Depends
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

import patron
from patron import analytics, ingest
from patron.storage import make_engine, make_session_factory
from patron.web import pages, predictions, profiles, reports, review, tracking
from patron.web.auth import require_admin

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from fastapi import FastAPI
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from patron.settings import Settings


@dataclass(frozen=True)
class AppServices:
    """What the routes need, built once per application."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    writer: ingest.EventWriter
    collector: ingest.Collector
    reports: analytics.ReportRunner


# SQLite takes one writer at a time; PostgreSQL commits several groups of events in parallel.
POSTGRES_EVENT_WRITERS = 3


def create_app(settings: Settings) -> FastAPI:
    """Build the application for ``settings``; the database must be migrated already."""
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    writer = ingest.EventWriter(
        engine,
        threads=1 if settings.is_sqlite else POSTGRES_EVENT_WRITERS,
        queue_limit=settings.ingest_queue_limit,
    )
    services = AppServices(
        settings=settings,
        engine=engine,
        sessions=sessions,
        writer=writer,
        collector=ingest.Collector(sessions, writer),
        # Reports of a SQLite store run in child processes: this process writes the store.
        reports=analytics.ReportRunner(settings.database_url),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        writer.start()
        # What is alive at start (modules, routes, mappers) lives as long as the process: keep
        # it out of the garbage collector's full passes, which otherwise walk it all again and
        # again while request bodies come and go (measured: 55 ms per full pass). Once per
        # process, after a collection, so that no garbage is frozen with it.
        if gc.get_freeze_count() == 0:
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            writer.stop()
            services.reports.close()
            engine.dispose()

    # FastAPIOffline serves the Swagger UI and ReDoc assets itself: no CDN at run time.
    app = FastAPIOffline(title="Patron", version=patron.__version__, lifespan=lifespan)
    app.state.services = services
    app.include_router(pages.router)
    app.include_router(tracking.router)
    admin = [Depends(require_admin)]
    for admin_router in (
        pages.admin_router,
        tracking.failed_events_router,
        profiles.router,
        review.router,
        reports.router,
        predictions.router,
    ):
        app.include_router(admin_router, dependencies=admin)
    app.add_middleware(tracking.TrackingCORSMiddleware)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")

    @app.get("/health", tags=["operations"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
