"""``patron serve`` and ``patron worker``."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

import typer
import uvicorn

from patron.cli.context import load_settings, require_migrated_store
from patron.worker import drain, run_worker

if TYPE_CHECKING:
    from patron.settings import Settings


def serve_forever(
    settings: Settings, *, workers: int, embedded_worker: bool, access_log: bool = False
) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s %(message)s")
    stop = threading.Event()
    thread = None
    if embedded_worker:
        thread = threading.Thread(
            target=run_worker, args=(settings, stop), name="patron-worker", daemon=True
        )
        thread.start()
    try:
        uvicorn.run(
            "patron.web.asgi:app_from_environment",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=workers,
            log_level="info",
            access_log=access_log,
        )
    finally:
        stop.set()
        if thread is not None:
            thread.join(timeout=10)


def serve(
    host: str | None = typer.Option(None, help="Address to listen on (PATRON_HOST)."),
    port: int | None = typer.Option(None, help="Port to listen on (PATRON_PORT)."),
    workers: int = typer.Option(1, help="HTTP worker processes."),
    embedded_worker: bool = typer.Option(
        True, help="Also run the event-log worker in this process."
    ),
    access_log: bool = typer.Option(
        False, help="Log every request (costs CPU on a busy tracking endpoint)."
    ),
) -> None:
    """Serve the tracking API, the admin API and the UI."""
    settings = load_settings()
    require_migrated_store(settings)
    if host is not None:
        settings.host = host
    if port is not None:
        settings.port = port
    serve_forever(settings, workers=workers, embedded_worker=embedded_worker, access_log=access_log)


def worker(
    drain_and_exit: bool = typer.Option(
        False,
        "--drain",
        help="Process everything received so far, print what was done, and exit "
        "(for scripts: import, drain, then read a resolved store).",
    ),
) -> None:
    """Run the event-log worker alone (any number of them against one PostgreSQL)."""
    settings = load_settings()
    require_migrated_store(settings)
    if drain_and_exit:
        done = drain(settings)
        typer.echo(
            f"drained: {done.identity.records:,} records, {done.identity.orders:,} orders and "
            f"{done.identity.events:,} events resolved ({done.identity.profiles_created:,} "
            f"customers new, {done.identity.merges:,} merges); {done.events_read:,} events "
            f"projected, {done.carts_changed:,} carts changed, {done.carts_abandoned:,} abandoned"
        )
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    try:
        run_worker(settings, stop)
    except KeyboardInterrupt:
        stop.set()
