"""Throw-away, migrated databases for the benchmarks (an SQLite file or a PostgreSQL
database), and ``patron`` commands run against them."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from typing import TYPE_CHECKING

import psycopg
from sqlalchemy.engine import make_url

from patron import migrations

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def create_throwaway(
    engine_name: str, postgres_url: str, workdir: Path
) -> tuple[str, Callable[[], None]]:
    """A migrated, empty database on ``engine_name``: its URL and the function that drops it."""
    if engine_name == "sqlite":
        url = f"sqlite:///{workdir / 'bench.db'}"

        def drop() -> None:
            for suffix in ("", "-wal", "-shm"):
                (workdir / f"bench.db{suffix}").unlink(missing_ok=True)

    else:
        name = f"patron_bench_{uuid.uuid4().hex[:10]}"
        server = make_url(postgres_url)
        admin = psycopg.connect(
            host=server.host,
            port=server.port or 5432,
            user=server.username,
            dbname=server.database,
            autocommit=True,
        )
        admin.execute(f'CREATE DATABASE "{name}"')
        url = server.set(database=name).render_as_string(hide_password=False)

        def drop() -> None:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()

    migrations.upgrade(url)
    return url, drop


def run_patron(database_url: str, *args: str) -> str:
    """Run one ``patron`` command on the database, in a process of its own, as a user would;
    its standard output. A failed command stops the benchmark with its error output."""
    env = {**os.environ, "PATRON_DATABASE_URL": database_url, "PATRON_ENVIRONMENT": "development"}
    result = subprocess.run(
        [sys.executable, "-m", "patron", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"patron {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return result.stdout
