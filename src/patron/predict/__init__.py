"""Predictions of purchase behaviour per customer: CLV, churn, next product, channel, send time."""
