"""A period cut into the months read from the rollups (their orders away from the months'
edges lie in the period), the edges read from the orders, and the orders near a month's edge
read one by one."""

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
    assert split.edge_orders_condition("t") == "true"
    assert split.outside_condition("t") == "false"


def test_a_year_of_london_days_is_read_from_its_months_without_edges() -> None:
    # London summer time: the year's bounds are 23:00 UTC the evening before, within a day
    # of a month's start, so no month's inner part is cut
    span = window(Period(date(2025, 7, 1), date(2026, 6, 30)), "Europe/London")

    split = month_split(span)

    assert (split.first, split.last) == (utc(2025, 7, 1), utc(2026, 7, 1))
    assert split.edges == ()
    # the orders near an edge are the span's, and June 2026's last hour is taken away
    assert split.edge_orders_condition("t") == span.condition("t")
    assert split.outside_condition("t") == (
        "t >= TIMESTAMP '2025-07-01 00:00:00' AND t < TIMESTAMP '2026-07-01 00:00:00' "
        "AND NOT (t >= TIMESTAMP '2025-06-30 23:00:00' AND t < TIMESTAMP '2026-06-30 23:00:00')"
    )


def test_whole_utc_months_have_no_edge() -> None:
    split = month_split(Window(utc(2025, 11, 1), utc(2026, 2, 1)))

    assert (split.first, split.last) == (utc(2025, 11, 1), utc(2026, 2, 1))
    assert split.edges == ()


def test_a_bound_deep_inside_a_month_makes_an_edge_of_that_months_part() -> None:
    split = month_split(Window(utc(2025, 3, 1, 11), utc(2025, 10, 30, 11)))

    assert (split.first, split.last) == (utc(2025, 3, 1), utc(2025, 10, 1))
    assert split.edges == (Window(utc(2025, 10, 1), utc(2025, 10, 30, 11)),)
    assert "NOT (t >= TIMESTAMP '2025-10-01 00:00:00'" in split.edge_orders_condition("t")


@pytest.mark.parametrize(
    ("start", "end", "edges"),
    [
        pytest.param(
            utc(2025, 5, 3),
            utc(2025, 5, 21),
            (Window(utc(2025, 5, 3), utc(2025, 5, 21)),),
            id="inside one month",
        ),
        pytest.param(
            utc(2025, 5, 3),
            utc(2025, 6, 20),
            (Window(utc(2025, 5, 3), utc(2025, 6, 1)), Window(utc(2025, 6, 1), utc(2025, 6, 20))),
            id="across one month start",
        ),
    ],
)
def test_a_period_without_a_whole_month_is_all_edge(
    start: datetime, end: datetime, edges: tuple[Window, ...]
) -> None:
    split = month_split(Window(start, end))

    assert not split.has_months
    assert split.months_condition("m") == "false"
    assert split.edges == edges
