"""Group commit: many requests' events written in one transaction, acknowledged after commit.

Request handlers hand their validated rows to ``EventWriter.submit`` and wait on the future
it returns. A writer thread takes everything pending (up to a bound), inserts it in one
transaction, commits, and only then resolves every future, so a ``200`` always means the
events are durable, while the cost of a commit (an fsync on SQLite) is shared by every
request that arrived meanwhile. SQLite has a single writer; PostgreSQL can take a few.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from patron.ingest.event_log import FailedMessage, append_events, record_failed_events

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Engine

    from patron.ingest.messages import EventRow

log = logging.getLogger(__name__)

# How many events one transaction takes at most: large enough to amortise the commit,
# small enough that a transaction stays short and the first requests are not kept waiting.
MAX_GROUP_EVENTS = 5_000


class IngestOverloadedError(RuntimeError):
    """More events are waiting for a commit than the queue allows; retry later."""


class StoreUnavailableError(RuntimeError):
    """The database could not be reached or refused the write for a transient reason."""


@dataclass(slots=True)
class _Submission:
    rows: Sequence[EventRow]
    failures: Sequence[FailedMessage]
    future: Future[None]

    @property
    def size(self) -> int:
        return len(self.rows) + len(self.failures)


def _is_transient(error: BaseException) -> bool:
    # OperationalError covers a server that is down or restarting, a lost connection, too many
    # connections, a deadlock, SQLite's "database is locked" or an unreadable file;
    # InterfaceError a closed connection. They go away by themselves: the client is told to
    # retry.
    if isinstance(error, DisconnectionError | PoolTimeoutError | OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def _resolve(future: Future[None], error: BaseException | None = None) -> None:
    # A request that gave up waiting (its client went away) has cancelled its future; its
    # events are committed all the same, and a retry of them will be deduplicated.
    try:
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
    except InvalidStateError:
        pass


class EventWriter:
    """Writes submitted events to the event log in group commits on background threads."""

    def __init__(
        self,
        engine: Engine,
        *,
        threads: int = 1,
        queue_limit: int = 50_000,
        max_group_events: int = MAX_GROUP_EVENTS,
    ) -> None:
        self._engine = engine
        self._thread_count = threads
        self._queue_limit = queue_limit
        self._max_group = max_group_events
        self._pending: deque[_Submission] = deque()
        self._pending_events = 0
        self._condition = threading.Condition()
        self._stopping = False
        self._threads: list[threading.Thread] = []

    @property
    def pending_events(self) -> int:
        """Events submitted and not yet taken by a writer thread."""
        return self._pending_events

    @property
    def thread_count(self) -> int:
        return self._thread_count

    def start(self) -> None:
        with self._condition:
            self._stopping = False
        for number in range(self._thread_count):
            thread = threading.Thread(
                target=self._run, name=f"patron-event-writer-{number}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        """Write what is pending, then stop the threads."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def submit(
        self, rows: Sequence[EventRow], failures: Sequence[FailedMessage] = ()
    ) -> Future[None]:
        """Queue rows (and failed messages) for the next commit.

        The future resolves once they are committed (duplicates of stored messages skipped),
        or fails with ``StoreUnavailableError`` (retry later) or the database's error.
        Raises ``IngestOverloadedError`` at once if the queue is full.
        """
        future: Future[None] = Future()
        submission = _Submission(rows, failures, future)
        if submission.size == 0:
            future.set_result(None)
            return future
        with self._condition:
            if self._stopping or not self._threads:
                msg = "the event writer is not running"
                raise StoreUnavailableError(msg)
            # A request bigger than the whole queue is let in when the queue is empty, or it
            # could never be accepted.
            if self._pending_events and (
                self._pending_events + submission.size > self._queue_limit
            ):
                msg = f"{self._pending_events} events are waiting to be written"
                raise IngestOverloadedError(msg)
            self._pending.append(submission)
            self._pending_events += submission.size
            self._condition.notify()
        return future

    def _take(self) -> list[_Submission] | None:
        with self._condition:
            while not self._pending:
                if self._stopping:
                    return None
                self._condition.wait()
            group: list[_Submission] = []
            taken = 0
            while self._pending and (not group or taken + self._pending[0].size <= self._max_group):
                submission = self._pending.popleft()
                group.append(submission)
                taken += submission.size
            self._pending_events -= taken
            return group

    def _run(self) -> None:
        while (group := self._take()) is not None:
            try:
                self._write(group)
            except BaseException as error:  # every waiting request must hear of it
                log.exception("the event writer failed")
                for submission in group:
                    _resolve(submission.future, error)

    def _write(self, group: list[_Submission]) -> None:
        try:
            self._commit(group)
        except SQLAlchemyError as error:
            if _is_transient(error) or len(group) == 1:
                self._fail(group, error)
                return
            # One request's data was refused (not a transient fault): write each request on
            # its own so that the others are not held back by it.
            for submission in group:
                try:
                    self._commit([submission])
                except SQLAlchemyError as single_error:
                    self._fail([submission], single_error)
                else:
                    _resolve(submission.future)
            return
        for submission in group:
            _resolve(submission.future)

    def _commit(self, group: list[_Submission]) -> None:
        rows = [row for submission in group for row in submission.rows]
        failures = [failure for submission in group for failure in submission.failures]
        with self._engine.begin() as connection:
            append_events(connection, rows)
            if failures:
                record_failed_events(connection, failures)

    @staticmethod
    def _fail(group: list[_Submission], error: SQLAlchemyError) -> None:
        if _is_transient(error):
            log.warning("the event log is unavailable: %s", error)
            cause = getattr(error, "orig", None) or error
            failure: BaseException = StoreUnavailableError(str(cause)[:500])
        else:
            log.error("the event log refused a write: %s", error)
            failure = error
        for submission in group:
            _resolve(submission.future, failure)
