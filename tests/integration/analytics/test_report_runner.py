"""``ReportRunner``: the API's reports in child processes on SQLite, in the thread on
PostgreSQL, with the same answers as ``run_report``."""

import dataclasses
import multiprocessing
import os
import signal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from tests.integration.analytics.retail import build_store

from patron import analytics
from patron.settings import Settings
from patron.storage import reads_need_own_process

ALL_DATA = analytics.parse_request(
    period="all",
    date_from=None,
    date_to=None,
    channels=None,
    stores=None,
    compare=None,
    timezone="UTC",
    top=None,
)


def found(report: analytics.Report) -> analytics.Report:
    """The report without the time it was made, which differs from run to run."""
    return dataclasses.replace(report, generated_at=None)


@pytest.fixture
def store_url(sessions: sessionmaker[Session], settings: Settings, tmp_path: Path) -> str:
    build_store(sessions, settings, tmp_path)
    return settings.database_url


def test_the_runner_answers_as_run_report_does(store_url: str) -> None:
    overview = analytics.builtin_reports().get("overview")
    runner = analytics.ReportRunner(store_url)
    try:
        # when the API's runner and a direct call run the same report
        through_runner = runner.run(overview, ALL_DATA)
        again = runner.run(overview, ALL_DATA)
    finally:
        runner.close()
    direct = analytics.run_report(store_url, overview, ALL_DATA)

    # then both give the same report; SQLite's in a child process, PostgreSQL's in this one
    assert found(through_runner) == found(direct)
    assert found(again) == found(direct)
    assert found(direct).tables
    assert runner.in_own_process == store_url.startswith("sqlite")


def test_children_killed_while_idle_are_replaced(store_url: str) -> None:
    if not reads_need_own_process(store_url):
        pytest.skip("PostgreSQL reports run in the calling thread: no child to kill")
    carts = analytics.builtin_reports().get("abandoned-carts")
    runner = analytics.ReportRunner(store_url, processes=1)
    try:
        first = runner.run(carts, ALL_DATA)
        children = multiprocessing.active_children()
        assert children
        # given the child killed between two requests (the OOM killer, an operator)
        for child in children:
            os.kill(child.pid or 0, signal.SIGKILL)
            child.join(timeout=10)

        # when the next report is asked for
        second = runner.run(carts, ALL_DATA)
    finally:
        runner.close()

    # then a new child answers it
    assert found(second) == found(first)
