"""DuckDB's reads of a SQLite store, kept out of processes that write the store.

DuckDB reads a SQLite store through the ``sqlite_scanner`` extension, which carries its own
copy of SQLite. Two copies of SQLite in one process must never have the same database open
(SQLite's "How To Corrupt An SQLite Database File", 2.2.1): POSIX locks belong to the
process, so neither copy sees the other's locks. The copy that opens a WAL database second
finds no lock on it, takes itself for the only user and truncates the shared-memory index
(the ``-shm`` file) under the first; the first then reads past the end of a mapped file and
the process dies with SIGBUS, or reads a half-rebuilt index. ``patron serve`` did exactly
that when a report was asked for while its embedded worker wrote the store.

So a process that writes a SQLite store through Python's ``sqlite3`` (the API with its
worker, the worker with its snapshot refresh) runs each DuckDB read of that store in a child
process, started with ``spawn``: a fork would copy the parent's open SQLite connections and
its threads' locks. Locks between processes work, so the child reads a consistent store.
PostgreSQL has no such limit: its reads run in the calling thread.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from sqlalchemy.engine import make_url

from patron.analytics.registry import run_report
from patron.analytics.store import AnalyticsStoreError
from patron.storage import normalise_url

if TYPE_CHECKING:
    from collections.abc import Callable

    from patron.analytics.contract import Report, ReportDefinition, ReportRequest

P = ParamSpec("P")
R = TypeVar("R")

# Report requests of the API wait for a free child: two keep both cores of a small machine
# busy without holding many DuckDB buffers at once.
REPORT_PROCESSES = 2


def reads_need_own_process(database_url: str) -> bool:
    """Whether DuckDB must read the store at ``database_url`` from a process that does not
    also open it through Python's ``sqlite3`` (true for SQLite files)."""
    return make_url(normalise_url(database_url)).get_backend_name() == "sqlite"


def _spawned_pool(processes: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=processes, mp_context=multiprocessing.get_context("spawn")
    )


def _child_died(error: BrokenProcessPool) -> AnalyticsStoreError:
    return AnalyticsStoreError(f"the analytics process stopped before it answered: {error}")


def run_in_own_process(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Call ``function(*args, **kwargs)`` in a new child process and return what it returns.

    The function, its arguments and its result must be picklable; an exception it raises is
    raised here. Raises ``AnalyticsStoreError`` when the child dies before answering (killed,
    out of memory).
    """
    with _spawned_pool(1) as pool:
        try:
            return pool.submit(function, *args, **kwargs).result()
        except BrokenProcessPool as error:
            raise _child_died(error) from error


class ReportRunner:
    """Runs reports for a process that also writes the store (the API beside the worker).

    On a SQLite store each report runs in one of ``processes`` child processes, started on
    the first request and kept for the next ones; on PostgreSQL it runs in the calling
    thread. ``close`` stops the children. Safe to call from several threads.
    """

    def __init__(self, database_url: str, *, processes: int = REPORT_PROCESSES) -> None:
        self.database_url = database_url
        self.in_own_process = reads_need_own_process(database_url)
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def run(self, definition: ReportDefinition, request: ReportRequest) -> Report:
        """Run one report (``analytics.run_report``) over the store.

        Raises ``AnalyticsStoreError`` when the store cannot be opened for analysis. A child
        found dead (killed while idle, or while it ran the report: the pool cannot tell which)
        is replaced and the report runs once more in a new one; a second death raises
        ``AnalyticsStoreError`` too.
        """
        if not self.in_own_process:
            return run_report(self.database_url, definition, request)
        try:
            return self._report_in(self._running_pool(), definition, request)
        except BrokenProcessPool:
            pass  # the child died before or during this report: once more, in a new one
        try:
            return self._report_in(self._running_pool(), definition, request)
        except BrokenProcessPool as error:
            raise _child_died(error) from error

    def _report_in(
        self, pool: ProcessPoolExecutor, definition: ReportDefinition, request: ReportRequest
    ) -> Report:
        try:
            return pool.submit(run_report, self.database_url, definition, request).result()
        except BrokenProcessPool:
            self._discard(pool)
            raise

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    def _running_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = _spawned_pool(self._processes)
            return self._pool

    def close(self) -> None:
        """Stop the child processes (a report running in one is left to finish)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
