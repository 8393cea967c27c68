"""``patron demo``: a retail world to look at, loaded and served."""

from __future__ import annotations

from pathlib import Path

import typer

from patron import identity, ingest, migrations, world
from patron.cli.context import load_settings, session_scope
from patron.cli.serve import serve_forever
from patron.storage import make_engine, make_session_factory

DEMO_WORLD = Path("var") / "demo-world"
DEMO_SEED = 2026
# Sources the demo hands write keys for: the ones a browser or an app sends events from.
DEMO_LIVE_SOURCES = ("eshop-web", "mobile-app")


def demo(
    customers: int = typer.Option(3_000, help="Customers in the demo world."),
    serve_after: bool = typer.Option(True, "--serve/--no-serve", help="Serve when loaded."),
) -> None:
    """Migrate the embedded database, load a demo retail world, and serve it."""
    settings = load_settings()
    typer.echo(f"database: {settings.database_url}")
    migrations.upgrade(settings.database_url)
    manifest = DEMO_WORLD / "manifest.json"
    if not manifest.exists():
        typer.echo(f"generating a world of {customers:,} customers in {DEMO_WORLD} …")
        world.generate_world(DEMO_WORLD, customers=customers, seed=DEMO_SEED)
    engine = make_engine(settings.database_url)
    try:
        typer.echo("importing it (importing again changes nothing) …")
        for summary in ingest.import_world(make_session_factory(engine), DEMO_WORLD):
            typer.echo(f"  {summary.describe()}")
    finally:
        engine.dispose()
    with session_scope(settings) as session:
        rules = identity.parse_rules(world.IDENTITY_RULES)
        if identity.current_rules(session) != rules:
            identity.save_rules(session, rules, note="the demo retailer's configuration")
        keys = {
            name: ingest.rotate_write_key(session, name).write_key for name in DEMO_LIVE_SOURCES
        }
    base = f"http://{settings.host}:{settings.port}"
    typer.echo("")
    typer.echo(f"Patron is ready: open {base}/ (API docs at {base}/docs)")
    typer.echo("write keys for sending events (new keys each time the demo starts):")
    for name, key in keys.items():
        typer.echo(f"  {name:<12} {key}")
    typer.echo("try:")
    typer.echo(
        f"  curl -u {keys[DEMO_LIVE_SOURCES[0]]}: -H 'Content-Type: application/json' "
        f'-d \'{{"userId": "demo-1", "event": "Product Viewed"}}\' {base}/v1/track'
    )
    if serve_after:
        serve_forever(settings, workers=1, embedded_worker=True)
