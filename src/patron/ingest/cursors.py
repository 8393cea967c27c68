"""Cursors of the readers of the event log (and of other append-mostly tables).

A reader remembers how far it has got in a ``processor_cursors`` row. Reading and moving the
cursor happen in the reader's transaction with the row locked (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite serialises writers), so two workers never handle the same rows twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from patron.ingest.models import ProcessorCursor
from patron.storage import dialect_insert, utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def locked_cursor(session: Session, name: str) -> ProcessorCursor:
    """The cursor called ``name``, locked for this transaction (created at 0 if missing)."""
    cursor = session.get(ProcessorCursor, name, with_for_update=True)
    if cursor is not None:
        return cursor
    # Two workers may both find it missing: the second one's insert does nothing and its
    # read below waits for the first one's transaction.
    session.execute(
        dialect_insert(session, ProcessorCursor)
        .values(name=name, position=0, updated_at=utcnow())
        .on_conflict_do_nothing()
    )
    return session.get_one(ProcessorCursor, name, with_for_update=True)


def lock_cursor(session: Session, name: str) -> int:
    """Lock the cursor called ``name`` for this transaction and return its position."""
    return locked_cursor(session, name).position


def move_cursor(session: Session, name: str, position: int) -> None:
    """Set the position of a cursor locked by ``lock_cursor`` in this transaction."""
    cursor = locked_cursor(session, name)
    cursor.position = position
    cursor.updated_at = utcnow()
    session.flush()
