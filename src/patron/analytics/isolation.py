"""DuckDB's reads of a SQLite store, kept out of processes that write the store.

A process that writes a SQLite store through Python's ``sqlite3`` (the API with its worker, the
worker with its snapshot refresh) must not let DuckDB's ``sqlite_scanner`` open the same file
(``patron.storage.scan`` says why): it runs each report, and each snapshot refresh, in a child
process. PostgreSQL has no such limit: its reads run in the calling thread.
"""

from __future__ import annotations

import threading
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from patron.analytics.registry import run_report
from patron.analytics.store import AnalyticsStoreError
from patron.storage import ProcessDiedError, reads_need_own_process, run_in_child, spawned_pool

if TYPE_CHECKING:
    from collections.abc import Callable
    from concurrent.futures import ProcessPoolExecutor

    from patron.analytics.contract import Report, ReportDefinition, ReportRequest

P = ParamSpec("P")
R = TypeVar("R")

# Report requests of the API wait for a free child: two keep both cores of a small machine
# busy without holding many DuckDB buffers at once.
REPORT_PROCESSES = 2


def _child_died(error: BrokenProcessPool) -> AnalyticsStoreError:
    return AnalyticsStoreError(f"the analytics process stopped before it answered: {error}")


def run_in_own_process(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Call ``function(*args, **kwargs)`` in a new child process and return what it returns.

    The function, its arguments and its result must be picklable; an exception it raises is
    raised here. Raises ``AnalyticsStoreError`` when the child dies before answering (killed,
    out of memory).
    """
    try:
        return run_in_child(function, *args, **kwargs)
    except ProcessDiedError as error:
        raise AnalyticsStoreError(f"the analytics process stopped: {error}") from error


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
                self._pool = spawned_pool(self._processes)
            return self._pool

    def close(self) -> None:
        """Stop the child processes (a report running in one is left to finish)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
