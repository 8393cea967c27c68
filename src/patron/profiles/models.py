"""Tables of the customer 360: the golden record of each customer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from patron.storage import Base, JSONDocument, UTCDateTime, utcnow


class GoldenRecord(Base):
    """The surviving value of each attribute of a customer (a canonical profile), with its
    lineage: which source record gave it, by which survivorship rule."""

    __tablename__ = "golden_records"

    profile_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True
    )
    # {"email": {"value": ..., "source": ..., "record_id": ..., "rule": ..., "at": ...}, ...}
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    # Searchable copies of the surviving values.
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255), index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
