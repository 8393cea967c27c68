"""A period cut into whole UTC months, read from the rollups, and partial edges, read from
the orders."""

from datetime import UTC, date, datetime

import pytest

from patron.analytics.contract import Period
from patron.analytics.rollups import month_split
from patron.analytics.scope import Window, window


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    """A naive UTC time, as the views and windows hold them."""
    return datetime(year, month, day, hour, tzinfo=UTC).replace(tzinfo=None)


def test_all_the_data_is_every_month_and_no_edge() -> None:
    split = month_split(None)

    assert split.every_month
    assert split.edges == ()
    assert split.months_condition("m") == "true"


def test_a_period_of_local_days_keeps_its_partial_months_as_edges() -> None:
    # London summer time: the year's bounds are 23:00 UTC the evening before
    span = window(Period(date(2025, 7, 1), date(2026, 6, 30)), "Europe/London")

    split = month_split(span)

    assert (split.first, split.last) == (utc(2025, 7, 1), utc(2026, 6, 1))
    assert split.edges == (
        Window(utc(2025, 6, 30, 23), utc(2025, 7, 1)),
        Window(utc(2026, 6, 1), utc(2026, 6, 30, 23)),
    )


def test_whole_utc_months_have_no_edge() -> None:
    split = month_split(Window(utc(2025, 11, 1), utc(2026, 2, 1)))

    assert (split.first, split.last) == (utc(2025, 11, 1), utc(2026, 2, 1))
    assert split.edges == ()


@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param(utc(2025, 5, 3), utc(2025, 5, 21), id="inside one month"),
        pytest.param(utc(2025, 5, 3), utc(2025, 6, 20), id="across one month start"),
    ],
)
def test_a_period_without_a_whole_month_is_all_edge(start: datetime, end: datetime) -> None:
    split = month_split(Window(start, end))

    assert not split.has_months
    assert split.edges == (Window(start, end),)
    assert split.months_condition("m") == "false"
