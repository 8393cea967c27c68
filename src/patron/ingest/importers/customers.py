"""Customer files: each source's customer records (loyalty members, e-shop accounts, CRM)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select

from patron.ingest.importers.report import ChunkOutcome, RowError
from patron.ingest.importers.values import (
    column_lengths,
    content_hash,
    extras,
    iso_date,
    required_text,
    text,
)
from patron.ingest.importers.writing import upsert_changed
from patron.ingest.models import SourceRecord

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import date

    from sqlalchemy import Connection, Table

    from patron.ingest.importers.pipeline import ImportContext

TABLE = cast("Table", SourceRecord.__table__)
TEXT_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "loyalty_card",
    "street",
    "city",
    "postcode",
    "region",
    "country",
)
COLUMNS = ("id", *TEXT_FIELDS[:5], "birth_date", *TEXT_FIELDS[5:])
_LENGTHS = column_lengths(TABLE)


@dataclass(frozen=True, slots=True)
class CustomerRow:
    record_id: str
    fields: dict[str, str | date | None]
    attributes: dict[str, Any]
    content_hash: str


class CustomerImporter:
    """Writes customer records keyed by (source, id); fills placeholders left by orders."""

    columns: Mapping[str, str] = {name: name for name in COLUMNS}
    required: tuple[str, ...] = ("id",)
    tables: tuple[str, ...] = ("source_records",)

    def __init__(self, context: ImportContext) -> None:
        self.context = context

    def parse(self, values: Mapping[str, Any]) -> CustomerRow:
        record_id = required_text(values, "id", _LENGTHS["record_id"])
        fields: dict[str, str | date | None] = {
            name: text(values, name, _LENGTHS[name]) for name in TEXT_FIELDS
        }
        fields["birth_date"] = iso_date(values, "birth_date")
        attributes = extras(values, COLUMNS)
        digest = content_hash([record_id, fields, attributes])
        return CustomerRow(record_id, fields, attributes, digest)

    def write(self, connection: Connection, rows: list[tuple[int, CustomerRow]]) -> ChunkOutcome:
        outcome = ChunkOutcome()
        duplicates = self.context.scratch.claim_keys([(n, row.record_id) for n, row in rows])
        rows = [(n, row) for n, row in rows if n not in duplicates]
        for line, first in duplicates.items():
            outcome.errors.append(RowError(line, f"duplicate id (first on line {first})"))
        source_id = self.context.source.id
        stored = {
            record_id: (digest, placeholder)
            for record_id, digest, placeholder in connection.execute(
                select(TABLE.c.record_id, TABLE.c.content_hash, TABLE.c.is_placeholder).where(
                    TABLE.c.source_id == source_id,
                    TABLE.c.record_id.in_([row.record_id for _, row in rows]),
                )
            ).all()
        }
        changed: list[dict[str, Any]] = []
        now = self.context.now
        for _, row in rows:
            previous = stored.get(row.record_id)
            if previous is None or previous[1]:
                # A placeholder left by an order counts as inserted: its content arrives now.
                outcome.inserted += 1
            elif previous[0] == row.content_hash:
                outcome.unchanged += 1
                continue
            else:
                outcome.updated += 1
            changed.append(
                {
                    "source_id": source_id,
                    "record_id": row.record_id,
                    **row.fields,
                    "attributes": row.attributes,
                    "is_placeholder": False,
                    "content_hash": row.content_hash,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        upsert_changed(connection, TABLE, changed, key=("source_id", "record_id"))
        return outcome
