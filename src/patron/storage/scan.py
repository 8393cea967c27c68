"""DuckDB reading the store: its scanner extensions, and the processes allowed to use them.

DuckDB attaches the SQLite file (``sqlite_scanner``) or the PostgreSQL database
(``postgres_scanner``) read-only. The extensions come from the PyPI packages
``duckdb-extension-sqlite-scanner`` and ``duckdb-extension-postgres-scanner`` and are loaded
by file path: DuckDB's own download of extensions would need the internet, and an extension
of another DuckDB version refuses to load.

``sqlite_scanner`` carries its own copy of SQLite. Two copies of SQLite in one process must
never have the same database open (SQLite's "How To Corrupt An SQLite Database File",
2.2.1): POSIX locks belong to the process, so neither copy sees the other's locks. The copy
that opens a WAL database second finds no lock on it, takes itself for the only user and
truncates the shared-memory index (the ``-shm`` file) under the first; the first then reads
past the end of a mapped file and the process dies with SIGBUS, or reads a half-rebuilt
index. ``patron serve`` did exactly that when a report was asked for while its embedded
worker wrote the store.

So a process that opens a SQLite store through Python's ``sqlite3`` runs each DuckDB read of
that store in a child process (``run_in_child``), started with ``spawn``: a fork would copy
the parent's open SQLite connections and its threads' locks. Locks between processes work,
so the child reads a consistent store: what was committed when it read. PostgreSQL has no
such limit: its reads run in the calling process.
"""

from __future__ import annotations

import importlib
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, ParamSpec, TypeVar

import duckdb
from sqlalchemy.engine import make_url

from patron.storage.engine import normalise_url

if TYPE_CHECKING:
    from collections.abc import Callable

P = ParamSpec("P")
R = TypeVar("R")


class StoreScanError(RuntimeError):
    """DuckDB cannot read the store: an unsupported or in-memory database, or a missing or
    mismatched scanner extension."""


class ProcessDiedError(RuntimeError):
    """A child process stopped (killed, out of memory) before it answered."""


@dataclass(frozen=True)
class StoreScanner:
    """How DuckDB attaches one store: the extension's package and name, the ``ATTACH`` type,
    and the target (a SQLite file's path, or a libpq connection string)."""

    package: str
    extension: str
    attach_type: str
    target: str

    def extension_path(self) -> Path:
        """The extension's file in its package. Raises ``StoreScanError`` when the package
        is missing or holds no build for the installed DuckDB."""
        try:
            package = importlib.import_module(self.package)
        except ImportError as error:
            msg = f"the {self.extension} extension is not installed (pip package {self.package})"
            raise StoreScanError(msg) from error
        path = (
            Path(str(package.__file__)).parent
            / "extensions"
            / f"v{duckdb.__version__}"
            / f"{self.extension}.duckdb_extension"
        )
        if not path.is_file():
            msg = (
                f"{path} is missing: {self.package} must be the same version as duckdb "
                f"({duckdb.__version__})"
            )
            raise StoreScanError(msg)
        return path

    def attach(self, connection: duckdb.DuckDBPyConnection, name: str) -> None:
        """Load the extension into ``connection`` and attach the store read-only as ``name``.
        Raises ``StoreScanError`` for a missing extension, ``duckdb.Error`` for a store that
        cannot be attached."""
        connection.execute(f"LOAD {quote(str(self.extension_path()))}")
        connection.execute(
            f"ATTACH {quote(self.target)} AS {name} (TYPE {self.attach_type}, READ_ONLY)"
        )


_SCANNERS = {
    "sqlite": ("duckdb_extension_sqlite_scanner", "sqlite_scanner", "sqlite"),
    "postgresql": ("duckdb_extension_postgres_scanner", "postgres_scanner", "postgres"),
}


def store_scanner(database_url: str) -> StoreScanner:
    """How DuckDB reads the store at ``database_url``. Raises ``StoreScanError`` for an
    engine DuckDB cannot attach or an in-memory SQLite database."""
    url = make_url(normalise_url(database_url))
    backend = url.get_backend_name()
    scanner = _SCANNERS.get(backend)
    if scanner is None:
        msg = f"DuckDB reads SQLite or PostgreSQL stores, not {backend!r}"
        raise StoreScanError(msg)
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            msg = "DuckDB needs a SQLite store in a file"
            raise StoreScanError(msg)
        return StoreScanner(*scanner, target=url.database)
    # libpq's key=value form; the password, when there is one, stays inside this process.
    parts = {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "dbname": url.database,
    }
    dsn = " ".join(f"{key}={value}" for key, value in parts.items() if value is not None)
    return StoreScanner(*scanner, target=dsn)


def offline_duckdb() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that never reaches for the internet (extensions are
    loaded by path, never installed or loaded by DuckDB on its own) and prints nothing (no
    progress bar on standard output, which a command's JSON owns)."""
    connection = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    connection.execute("SET enable_progress_bar = false")
    return connection


def quote(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def reads_need_own_process(database_url: str) -> bool:
    """Whether DuckDB must read the store at ``database_url`` from a process that does not
    also open it through Python's ``sqlite3``: true for SQLite files (an in-memory database
    lives in its process alone, and DuckDB cannot attach it)."""
    url = make_url(normalise_url(database_url))
    return url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")


def spawned_pool(processes: int) -> ProcessPoolExecutor:
    """A pool of ``processes`` children started with ``spawn`` (nothing of this process's
    connections or locks copied into them)."""
    return ProcessPoolExecutor(
        max_workers=processes, mp_context=multiprocessing.get_context("spawn")
    )


def run_in_child(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Call ``function(*args, **kwargs)`` in a new child process and return what it returns.

    The function, its arguments and its result must be picklable; an exception it raises is
    raised here. Raises ``ProcessDiedError`` when the child dies before answering.
    """
    return start_in_child(function, *args, **kwargs).result()


class ChildCall(Generic[R]):
    """A call running in its own child process (``start_in_child``); ``result`` waits."""

    def __init__(self, pool: ProcessPoolExecutor, future: Future[R]) -> None:
        self._pool = pool
        self._future = future

    def result(self) -> R:
        """What the call returned (its exception raised here). Raises ``ProcessDiedError``
        when the child died before answering."""
        try:
            return self._future.result()
        except BrokenProcessPool as error:
            msg = f"the child process stopped before it answered: {error}"
            raise ProcessDiedError(msg) from error
        finally:
            self._pool.shutdown(wait=True)

    def cancel(self) -> None:
        """Give up on the result: the child is left to finish and exit on its own."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def start_in_child(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> ChildCall[R]:
    """Start ``function(*args, **kwargs)`` in a new child process; this process goes on
    until it asks for the ``result``."""
    pool = spawned_pool(1)
    return ChildCall(pool, pool.submit(function, *args, **kwargs))
