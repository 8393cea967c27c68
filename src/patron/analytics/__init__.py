"""Reports across channels, read by DuckDB from the live store."""

from patron.analytics.store import AnalyticsStore, AnalyticsStoreError, open_store

__all__ = ["AnalyticsStore", "AnalyticsStoreError", "open_store"]
