"""Product files: a source's catalogue, keyed by SKU."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select

from patron.ingest.importers.report import ChunkOutcome, RowError
from patron.ingest.importers.values import (
    InvalidRowError,
    amount,
    column_lengths,
    content_hash,
    currency,
    extras,
    minor_units,
    required_text,
    text,
)
from patron.ingest.importers.writing import upsert_changed
from patron.ingest.models import Product

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy import Connection, Table

    from patron.ingest.importers.pipeline import ImportContext

TABLE = cast("Table", Product.__table__)
COLUMNS = ("sku", "name", "category", "brand", "price", "currency")
_LENGTHS = column_lengths(TABLE)


@dataclass(frozen=True, slots=True)
class ProductRow:
    sku: str
    fields: dict[str, str | int | None]
    attributes: dict[str, Any]
    content_hash: str


class ProductImporter:
    """Writes products keyed by (source, sku)."""

    columns: Mapping[str, str] = {name: name for name in COLUMNS}
    required: tuple[str, ...] = ("sku",)
    tables: tuple[str, ...] = ("products",)

    def __init__(self, context: ImportContext) -> None:
        self.context = context

    def parse(self, values: Mapping[str, Any]) -> ProductRow:
        sku = required_text(values, "sku", _LENGTHS["sku"])
        price = amount(values, "price")
        code = currency(values)
        if price is not None and code is None:
            msg = "price needs a currency"
            raise InvalidRowError(msg)
        fields: dict[str, str | int | None] = {
            "name": text(values, "name", _LENGTHS["name"]),
            "category": text(values, "category", _LENGTHS["category"]),
            "brand": text(values, "brand", _LENGTHS["brand"]),
            "currency": code,
            "price_minor": None if price is None else minor_units(price, code or "", "price"),
        }
        attributes = extras(values, COLUMNS)
        return ProductRow(sku, fields, attributes, content_hash([sku, fields, attributes]))

    def write(self, connection: Connection, rows: list[tuple[int, ProductRow]]) -> ChunkOutcome:
        outcome = ChunkOutcome()
        duplicates = self.context.scratch.claim_keys([(n, row.sku) for n, row in rows])
        for line, first in duplicates.items():
            outcome.errors.append(RowError(line, f"duplicate sku (first on line {first})"))
        rows = [(n, row) for n, row in rows if n not in duplicates]
        source_id = self.context.source.id
        stored = dict(
            connection.execute(
                select(TABLE.c.sku, TABLE.c.content_hash).where(
                    TABLE.c.source_id == source_id, TABLE.c.sku.in_([r.sku for _, r in rows])
                )
            ).all()
        )
        changed: list[dict[str, Any]] = []
        now = self.context.now
        for _, row in rows:
            if not outcome.tally(stored=stored.get(row.sku), incoming=row.content_hash):
                continue
            changed.append(
                {
                    "source_id": source_id,
                    "sku": row.sku,
                    **row.fields,
                    "attributes": row.attributes,
                    "content_hash": row.content_hash,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        upsert_changed(connection, TABLE, changed, key=("source_id", "sku"))
        return outcome
