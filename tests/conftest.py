"""Fixtures shared by every test: the two storage engines Patron supports.

Every storage test runs on SQLite and on PostgreSQL. PostgreSQL is reached at
``PATRON_TEST_POSTGRES_URL`` (default: the local server with trust authentication); the suite
creates a throw-away database for the run and drops it at the end. If the server cannot be
reached the run stops with a message saying so, unless ``PATRON_SKIP_POSTGRES=1`` is set.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from patron import migrations
from patron.settings import Environment, Settings
from patron.storage import make_engine, make_session_factory

POSTGRES_SERVER_URL = os.environ.get(
    "PATRON_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SKIP_POSTGRES = os.environ.get("PATRON_SKIP_POSTGRES") == "1"
ENGINES = ["sqlite"] if SKIP_POSTGRES else ["sqlite", "postgresql"]
TEST_SECRET = "test-secret-key-for-the-suite"


def _server_connection() -> psycopg.Connection[tuple[object, ...]]:
    url = make_url(POSTGRES_SERVER_URL)
    return psycopg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        dbname=url.database or "postgres",
        autocommit=True,
        connect_timeout=5,
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    if SKIP_POSTGRES:
        return
    try:
        _server_connection().close()
    except psycopg.OperationalError as error:
        pytest.exit(
            f"PostgreSQL cannot be reached at {POSTGRES_SERVER_URL} ({error}).\n"
            "Every storage test runs on PostgreSQL too: start the server, point "
            "PATRON_TEST_POSTGRES_URL at one, or set PATRON_SKIP_POSTGRES=1 to run on "
            "SQLite only.",
            returncode=3,
        )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SKIP_POSTGRES:
        terminalreporter.write_sep(
            "!",
            "PATRON_SKIP_POSTGRES=1: every PostgreSQL variant of the storage tests was SKIPPED",
            red=True,
            bold=True,
        )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "patron.db"
    migrations.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A throw-away PostgreSQL database for this run, migrated, dropped at the end."""
    name = f"patron_test_{uuid.uuid4().hex[:12]}"
    with _server_connection() as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_SERVER_URL).set(database=name).render_as_string(hide_password=False)
    try:
        migrations.upgrade(url)
        yield url
    finally:
        with _server_connection() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _truncate_all(engine: Engine) -> None:
    tables = ", ".join(f'"{table.name}"' for table in migrations.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=ENGINES)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    """A migrated, empty database on each engine in turn."""
    if request.param == "sqlite":
        path = tmp_path / "patron.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    url: str = request.getfixturevalue("postgres_database")
    yield url
    engine = make_engine(url, pool_size=1)
    try:
        _truncate_all(engine)
    finally:
        engine.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(environment=Environment.TEST, database_url=database_url, secret_key=TEST_SECRET)
