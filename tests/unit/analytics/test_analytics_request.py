"""Report requests from what a person typed: periods in the retailer's zone, comparisons,
filters, and errors that name the parameter."""

from datetime import UTC, date, datetime

import pytest

from patron import analytics
from patron.analytics.reports.rfm import segment_of

NOW = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        pytest.param("last-30-days", date(2026, 1, 30), date(2026, 2, 28), id="30 days"),
        pytest.param("last-90-days", date(2025, 12, 1), date(2026, 2, 28), id="90 days"),
        pytest.param("last-12-months", date(2025, 3, 1), date(2026, 2, 28), id="12 months"),
        pytest.param("ytd", date(2026, 1, 1), date(2026, 2, 28), id="year to date"),
    ],
)
def test_named_periods_end_today_in_the_retailers_zone(period: str, start: date, end: date) -> None:
    # 03:00 UTC on 1 March is still 28 February in New York
    request = analytics.parse_request(period=period, timezone="America/New_York", now=NOW)

    assert request.period == analytics.Period(start, end)


def test_all_the_data_has_no_period_and_no_comparison_by_default() -> None:
    request = analytics.parse_request(period="all", now=NOW)

    assert request.period is None
    assert request.comparison_period is None


def test_comparisons_are_the_period_before_or_a_year_earlier() -> None:
    before = analytics.parse_request(date_from="2024-03-01", date_to="2024-03-31", now=NOW)
    year = analytics.parse_request(
        date_from="2024-02-01", date_to="2024-02-29", compare="previous-year", now=NOW
    )

    assert before.comparison_period == analytics.Period(date(2024, 1, 30), date(2024, 2, 29))
    assert year.comparison_period == analytics.Period(date(2023, 2, 1), date(2023, 2, 28))


@pytest.mark.parametrize(
    ("parameters", "parameter"),
    [
        pytest.param({"period": "last-week"}, "period", id="unknown period"),
        pytest.param({"period": "ytd", "date_from": "2024-01-01"}, "period", id="both"),
        pytest.param({"date_from": "2024-13-01"}, "from", id="bad date"),
        pytest.param({"date_from": "2024-02-01", "date_to": "2024-01-01"}, "to", id="reversed"),
        pytest.param({"compare": "last-decade"}, "compare", id="unknown comparison"),
        pytest.param({"compare": "previous-year"}, "compare", id="comparison of all"),
        pytest.param({"channels": ["web"]}, "channel", id="not a sales channel"),
        pytest.param({"channels": ["pos,"]}, "channel", id="empty channel"),
        pytest.param({"stores": ["S1; DROP"]}, "store", id="bad store id"),
        pytest.param({"top": 0}, "top", id="top out of range"),
        pytest.param({"timezone": "Mars/Olympus"}, "timezone", id="unknown zone"),
    ],
)
def test_a_bad_parameter_is_named_in_the_error(
    parameters: dict[str, object], parameter: str
) -> None:
    with pytest.raises(analytics.ReportRequestError) as raised:
        analytics.parse_request(now=NOW, **parameters)  # type: ignore[arg-type]

    assert raised.value.parameter == parameter


def test_filters_accept_repeated_and_comma_separated_values() -> None:
    request = analytics.parse_request(channels=["pos,app", "app"], stores=["S1"], now=NOW)

    assert request.filters.channels == ("pos", "app")
    assert request.filters.describe() == {"channel": ["pos", "app"], "store": ["S1"]}


def test_every_recency_and_frequency_score_has_one_named_segment() -> None:
    found = {segment_of(r, f) for r in range(1, 6) for f in range(1, 6)}

    assert len(found) == 11
    assert segment_of(5, 5) == "champions"
    assert segment_of(1, 1) == "lost"
    assert segment_of(1, 5) == "can't lose"


def test_a_registry_refuses_two_reports_of_one_name_and_names_the_known_ones() -> None:
    registry = analytics.builtin_reports()
    overview = registry.get("overview")

    with pytest.raises(ValueError, match="overview"):
        registry.including(overview)
    with pytest.raises(analytics.UnknownReportError, match="omnichannel"):
        registry.get("nonsense")
