"""Reports across channels, read by DuckDB from the live store.

A report is a function ``(store, ReportRequest) -> Report`` listed in a ``ReportRegistry``;
one renderer per format (terminal table, JSON, CSV, HTML, PNG) draws any report.
"""

from patron.analytics.contract import (
    Cell,
    Chart,
    ChartKind,
    Column,
    Comparison,
    Filters,
    Period,
    Report,
    ReportDefinition,
    ReportFunction,
    ReportRegistry,
    ReportRequest,
    Series,
    Table,
    Unit,
    UnknownReportError,
)
from patron.analytics.isolation import ReportRunner, run_in_own_process
from patron.analytics.registry import builtin_reports, run_report
from patron.analytics.render import MEDIA_TYPES, ReportFormat, render_report
from patron.analytics.request import (
    SALES_CHANNELS,
    NamedPeriod,
    ReportRequestError,
    local_today,
    parse_request,
)
from patron.analytics.snapshot import SnapshotInfo, refresh_snapshot, refresh_stale_snapshot
from patron.analytics.store import (
    SNAPSHOT_MAX_AGE,
    AnalyticsStore,
    AnalyticsStoreError,
    open_store,
    snapshot_path,
)

__all__ = [
    "MEDIA_TYPES",
    "SALES_CHANNELS",
    "SNAPSHOT_MAX_AGE",
    "AnalyticsStore",
    "AnalyticsStoreError",
    "Cell",
    "Chart",
    "ChartKind",
    "Column",
    "Comparison",
    "Filters",
    "NamedPeriod",
    "Period",
    "Report",
    "ReportDefinition",
    "ReportFormat",
    "ReportFunction",
    "ReportRegistry",
    "ReportRequest",
    "ReportRequestError",
    "ReportRunner",
    "Series",
    "SnapshotInfo",
    "Table",
    "Unit",
    "UnknownReportError",
    "builtin_reports",
    "local_today",
    "open_store",
    "parse_request",
    "refresh_snapshot",
    "refresh_stale_snapshot",
    "render_report",
    "run_in_own_process",
    "run_report",
    "snapshot_path",
]
