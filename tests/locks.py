"""Holding the event log from another connection, so that Patron's writer has to wait."""

import sqlite3
from typing import Any

import psycopg
from sqlalchemy.engine import make_url


class EventsWriteLock:
    """Another connection holding the events table until the block ends."""

    def __init__(self, database_url: str) -> None:
        self._url = make_url(database_url)
        self._connection: Any = None

    def __enter__(self) -> None:
        if self._url.get_backend_name() == "sqlite":
            self._connection = sqlite3.connect(self._url.database or "", isolation_level=None)
            self._connection.execute("BEGIN IMMEDIATE")
        else:
            self._connection = psycopg.connect(
                host=self._url.host,
                port=self._url.port or 5432,
                user=self._url.username,
                dbname=self._url.database,
            )
            self._connection.execute("LOCK TABLE events IN EXCLUSIVE MODE")

    def __exit__(self, *_: object) -> None:
        self._connection.rollback()
        self._connection.close()
