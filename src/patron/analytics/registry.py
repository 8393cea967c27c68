"""The reports this package builds, by name."""

from __future__ import annotations

from patron.analytics.contract import ReportDefinition, ReportRegistry
from patron.analytics.reports import overview


def builtin_reports() -> ReportRegistry:
    """Every report of this package, in the order ``patron report list`` shows them.

    Reports of packages above this one (model quality, from predictions) are added by the
    composition roots with ``ReportRegistry.including``.
    """
    return ReportRegistry(
        (
            ReportDefinition(
                overview.NAME,
                overview.TITLE,
                "Customers, active customers, orders, revenue, AOV and purchase frequency, "
                "by channel and store, with the trend and the comparison period.",
                overview.overview,
            ),
        )
    )
