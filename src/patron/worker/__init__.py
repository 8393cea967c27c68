"""The worker: reads the event log in order and keeps the projections built from it."""

from patron.worker.loop import WorkerPass, drain, run_once, run_worker

__all__ = ["WorkerPass", "drain", "run_once", "run_worker"]
