"""Patron: an open-source customer data platform and CRM for omnichannel retail."""

__version__ = "0.1.0"
