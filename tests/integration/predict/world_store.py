"""A store filled from a synthetic world, resolved by the worker, as a retailer's would be."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from patron import identity, ingest
from patron.settings import Environment, Settings
from patron.storage import make_engine, make_session_factory
from patron.worker import run_once
from patron.world import IDENTITY_RULES, generate_world


def build_world_store(database_url: str, directory: Path, *, customers: int, seed: int) -> Path:
    """Generate a world of ``customers`` people into ``directory``, import it into the
    migrated store at ``database_url`` and resolve it; returns the world's directory."""
    world = directory / "world"
    generate_world(world, customers=customers, seed=seed)
    engine = make_engine(database_url)
    try:
        sessions = make_session_factory(engine)
        ingest.import_world(sessions, world)
        with sessions() as session, session.begin():
            identity.save_rules(session, identity.parse_rules(IDENTITY_RULES))
    finally:
        engine.dispose()
    drain(database_url)
    return world


def drain(database_url: str) -> None:
    """Resolve everything imported so far (nothing else writes: no settle time to wait)."""
    engine = make_engine(database_url)
    try:
        sessions = make_session_factory(engine)
        settings = Settings(environment=Environment.DEVELOPMENT, database_url=database_url)
        while run_once(sessions, settings, settle=timedelta(0)).identity.items_read:
            pass
    finally:
        engine.dispose()
