"""The reports this package builds, by name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from patron.analytics.contract import ReportDefinition, ReportRegistry
from patron.analytics.reports import affinity, carts, cohorts, omnichannel, overview, rfm
from patron.analytics.store import open_store

if TYPE_CHECKING:
    from patron.analytics.contract import Report, ReportRequest


def run_report(database_url: str, definition: ReportDefinition, request: ReportRequest) -> Report:
    """Run one report over the store at ``database_url`` (its snapshot while fresh).

    Raises ``AnalyticsStoreError`` when the store cannot be opened for analysis.
    """
    with open_store(database_url) as store:
        return definition.run(store, request)


def builtin_reports() -> ReportRegistry:
    """Every report of this package, in the order ``patron report list`` shows them.

    Reports of packages above this one are added with ``ReportRegistry.including``
    (``patron.predict.every_report`` adds model quality).
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
            ReportDefinition(
                omnichannel.NAME,
                omnichannel.TITLE,
                "Customers of one, two or all three channels side by side: value, frequency, "
                "order size, retention; channel combinations and migration.",
                omnichannel.omnichannel,
            ),
            ReportDefinition(
                cohorts.NAME,
                cohorts.TITLE,
                "Retention triangle by first-purchase month, and retention by first channel.",
                cohorts.cohorts,
            ),
            ReportDefinition(
                rfm.NAME,
                rfm.TITLE,
                "Recency, frequency and monetary scores in quintiles and the classic named "
                "segments (champions ... lost), with their sizes and value.",
                rfm.rfm,
            ),
            ReportDefinition(
                affinity.NAME,
                affinity.TITLE,
                "Departments bought by the same customers, categories and products bought in "
                "the same order: support, confidence and lift of the top pairs.",
                affinity.affinity,
            ),
            ReportDefinition(
                carts.NAME,
                carts.TITLE,
                "Abandonment rate and value left in carts by channel, with the trend.",
                carts.abandoned_carts,
            ),
        )
    )
