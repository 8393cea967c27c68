"""Keeping the analytics snapshot fresh beside the worker loop.

A refresh of a large store takes minutes (docs/benchmarks.md), so it runs in a thread of its
own: the loop keeps resolving and projecting while the snapshot is written.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import TYPE_CHECKING

from patron import analytics

if TYPE_CHECKING:
    from patron.settings import Settings

logger = logging.getLogger(__name__)

# How often the worker asks whether the snapshot is due (a file read; the store is read only
# when the snapshot is old enough).
SNAPSHOT_CHECK_INTERVAL = timedelta(minutes=1)


def keep_snapshot_fresh(
    settings: Settings,
    stop: threading.Event,
    *,
    every: timedelta = SNAPSHOT_CHECK_INTERVAL,
) -> None:
    """Until ``stop`` is set, refresh the store's analytics snapshot when it is due
    (``analytics.refresh_stale_snapshot``); a failed refresh is logged and tried again."""
    while not stop.is_set():
        try:
            done = analytics.refresh_stale_snapshot(settings.database_url)
        except analytics.AnalyticsStoreError:
            logger.exception("analytics snapshot refresh failed; tried again later")
        else:
            if done is not None:
                logger.info(
                    "analytics snapshot as of %s written to %s in %.1f s",
                    done.taken_at.isoformat(),
                    done.path,
                    done.seconds,
                )
        stop.wait(every.total_seconds())


def start_snapshot_keeper(settings: Settings, stop: threading.Event) -> threading.Thread:
    """Start ``keep_snapshot_fresh`` in a daemon thread and return it."""
    thread = threading.Thread(
        target=keep_snapshot_fresh,
        args=(settings, stop),
        name="patron-analytics-snapshot",
        daemon=True,
    )
    thread.start()
    return thread
