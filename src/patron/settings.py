"""Typed settings, built once by the composition root (never read at import time)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET_KEY = "patron-development-secret-do-not-use-in-production"  # noqa: S105


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class InsecureSettingsError(RuntimeError):
    """A secret was left at its development default outside development."""


class Settings(BaseSettings):
    """Patron's settings, read from ``PATRON_*`` environment variables or a ``.env`` file."""

    model_config = SettingsConfigDict(env_prefix="PATRON_", env_file=".env", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = Field(
        default_factory=lambda: f"sqlite:///{Path('var') / 'patron.db'}",
        description="SQLAlchemy URL; sqlite:///path for the embedded store, "
        "postgresql://user@host/db for production.",
    )
    secret_key: str = DEVELOPMENT_SECRET_KEY
    # Bearer token of the admin API (``/api/*``). Without one the admin API is open, which
    # only development allows.
    admin_token: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    # The SQLite store commits one group of batches at a time; this is how many events may
    # wait for a commit before the tracking API answers 429 and asks the client to retry.
    ingest_queue_limit: int = 50_000
    ingest_retry_after_seconds: int = 2
    default_phone_region: str = "GB"
    # The retailer's time zone (IANA name): the days, weeks and months of reports, and the
    # local hours of send-time predictions.
    timezone: str = "UTC"
    # An open cart untouched for this long counts as abandoned.
    cart_abandon_after_minutes: int = 60
    # How often the worker looks for new events when it has caught up.
    worker_poll_seconds: float = 1.0

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Self:
        if (
            self.environment is not Environment.DEVELOPMENT
            and self.secret_key == DEVELOPMENT_SECRET_KEY
        ):
            msg = (
                "PATRON_SECRET_KEY is still the development default; set a secret of your own "
                f"when PATRON_ENVIRONMENT={self.environment.value}"
            )
            raise InsecureSettingsError(msg)
        if self.environment is Environment.PRODUCTION and self.admin_token is None:
            msg = (
                "PATRON_ADMIN_TOKEN is not set: the admin API would be open to anyone; set a "
                "long random token when PATRON_ENVIRONMENT=production"
            )
            raise InsecureSettingsError(msg)
        return self

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            msg = f"unknown time zone {value!r}: use an IANA name such as Europe/London"
            raise ValueError(msg) from error
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
