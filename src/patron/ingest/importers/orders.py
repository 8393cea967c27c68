"""Order files (store receipts, e-shop orders) and order-line files.

An order refers to its customer by the source's own customer id. A customer not delivered yet
gets a placeholder record, so the order is linked at once; the customer file fills it in
later. A receipt without any customer reference is an anonymous order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import delete, select

from patron.ingest.importers.report import ChunkOutcome, RowError
from patron.ingest.importers.values import (
    InvalidRowError,
    amount,
    checked_money,
    column_lengths,
    content_hash,
    currency,
    extras,
    integer,
    minor_units,
    required_text,
    shown,
    text,
    timestamp,
)
from patron.ingest.importers.writing import (
    insert_missing,
    insert_rows,
    replace_by_key,
    upsert_changed,
)
from patron.ingest.models import Order, OrderLine, SourceRecord
from patron.ingest.sources import Channel

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from sqlalchemy import Connection, Table

    from patron.ingest.importers.pipeline import ImportContext

ORDERS = cast("Table", Order.__table__)
LINES = cast("Table", OrderLine.__table__)
RECORDS = cast("Table", SourceRecord.__table__)
ORDER_COLUMNS = (
    "id",
    "customer_id",
    "loyalty_card",
    "email",
    "phone",
    "ordered_at",
    "channel",
    "store_id",
    "currency",
    "total",
    "discount",
    "voucher_code",
)
LINE_COLUMNS = ("order_id", "line_no", "sku", "quantity", "unit_price", "discount")
_LENGTHS = column_lengths(ORDERS)
_SKU_LENGTH = column_lengths(LINES)["sku"]
_CUSTOMER_ID_LENGTH = column_lengths(RECORDS)["record_id"]
_CHANNELS = ", ".join(c.value for c in Channel)


@dataclass(frozen=True, slots=True)
class LineValues:
    line_no: int
    sku: str
    quantity: int
    unit_price_minor: int
    discount_minor: int

    def __post_init__(self) -> None:
        checked_money(self.quantity * self.unit_price_minor - self.discount_minor, "the line total")

    def as_row(self, order_pk: int) -> dict[str, Any]:
        return {
            "order_pk": order_pk,
            "line_no": self.line_no,
            "sku": self.sku,
            "quantity": self.quantity,
            "unit_price_minor": self.unit_price_minor,
            "discount_minor": self.discount_minor,
            "total_minor": self.quantity * self.unit_price_minor - self.discount_minor,
        }


@dataclass(frozen=True, slots=True)
class OrderRow:
    order_id: str
    customer_id: str | None
    fields: dict[str, Any]
    attributes: dict[str, Any]
    # None when the row carries no lines (a CSV order): its stored lines are left alone.
    lines: tuple[LineValues, ...] | None
    content_hash: str


def _channel(values: Mapping[str, Any], default: Channel) -> str:
    value = text(values, "channel")
    if value is None:
        return default.value
    try:
        return Channel(value.lower()).value
    except ValueError:
        msg = f"channel {shown(value)} is not one of {_CHANNELS}"
        raise InvalidRowError(msg) from None


def _discount(values: Mapping[str, Any], column: str, code: str) -> int:
    raw = amount(values, column)
    if raw is None:
        return 0
    minor = minor_units(raw, code, column)
    if minor < 0:
        msg = f"{column} must not be negative"
        raise InvalidRowError(msg)
    return minor


def _embedded_lines(raw: list[Any], code: str) -> tuple[LineValues, ...]:
    lines: list[LineValues] = []
    numbers: set[int] = set()
    for index, item in enumerate(raw):
        try:
            if not isinstance(item, dict):
                msg = f"expected an object, found {shown(item)}"
                raise InvalidRowError(msg)
            line_no = integer(item, "line_no", minimum=1) or index + 1
            if line_no in numbers:
                msg = f"line_no {line_no} appears twice"
                raise InvalidRowError(msg)
            numbers.add(line_no)
            quantity = integer(item, "quantity")
            price = amount(item, "unit_price")
            if quantity is None or price is None:
                msg = f"{'quantity' if quantity is None else 'unit_price'} is missing"
                raise InvalidRowError(msg)
            lines.append(
                LineValues(
                    line_no=line_no,
                    sku=required_text(item, "sku", _SKU_LENGTH),
                    quantity=quantity,
                    unit_price_minor=minor_units(price, code, "unit_price"),
                    discount_minor=_discount(item, "discount", code),
                )
            )
        except InvalidRowError as error:
            msg = f"lines[{index}]: {error}"
            raise InvalidRowError(msg) from None
    return tuple(lines)


class OrderImporter:
    """Writes orders keyed by (source, id), their placeholder customers and embedded lines."""

    columns: Mapping[str, str] = {name: name for name in ORDER_COLUMNS}
    required: tuple[str, ...] = ("id", "ordered_at", "currency", "total")
    tables: tuple[str, ...] = ("orders", "source_records")

    def __init__(self, context: ImportContext) -> None:
        self.context = context

    def parse(self, values: Mapping[str, Any]) -> OrderRow:
        order_id = required_text(values, "id", _LENGTHS["order_id"])
        customer_id = text(values, "customer_id", _CUSTOMER_ID_LENGTH)
        ordered_at: datetime = timestamp(values, "ordered_at", self.context.zone)
        code = currency(values)
        if code is None:
            msg = "currency is missing"
            raise InvalidRowError(msg)
        total = amount(values, "total")
        if total is None:
            msg = "total is missing"
            raise InvalidRowError(msg)
        fields: dict[str, Any] = {
            "loyalty_card": text(values, "loyalty_card", _LENGTHS["loyalty_card"]),
            "email": text(values, "email", _LENGTHS["email"]),
            "phone": text(values, "phone", _LENGTHS["phone"]),
            "ordered_at": ordered_at,
            "channel": _channel(values, self.context.source.channel),
            "store_id": text(values, "store_id", _LENGTHS["store_id"]),
            "currency": code,
            "total_minor": minor_units(total, code, "total"),
            "discount_minor": _discount(values, "discount", code),
            "voucher_code": text(values, "voucher_code", _LENGTHS["voucher_code"]),
        }
        raw_lines = values.get("lines")
        lines: tuple[LineValues, ...] | None = None
        if isinstance(raw_lines, list):
            lines = _embedded_lines(raw_lines, code)
        elif raw_lines is not None and not isinstance(raw_lines, str):
            msg = f"lines must be a list of objects, not {shown(raw_lines)}"
            raise InvalidRowError(msg)
        standard = ORDER_COLUMNS if lines is None else (*ORDER_COLUMNS, "lines")
        attributes = extras(values, standard)
        digest = content_hash([order_id, customer_id, fields, attributes, lines and list(lines)])
        return OrderRow(order_id, customer_id, fields, attributes, lines, digest)

    def write(self, connection: Connection, rows: list[tuple[int, OrderRow]]) -> ChunkOutcome:
        outcome = ChunkOutcome()
        duplicates = self.context.scratch.claim_keys([(n, row.order_id) for n, row in rows])
        for line, first in duplicates.items():
            outcome.errors.append(RowError(line, f"duplicate id (first on line {first})"))
        orders = [row for n, row in rows if n not in duplicates]
        customers = self._customer_records(connection, orders, outcome)
        source_id = self.context.source.id
        stored = dict(
            connection.execute(
                select(ORDERS.c.order_id, ORDERS.c.content_hash).where(
                    ORDERS.c.source_id == source_id,
                    ORDERS.c.order_id.in_([row.order_id for row in orders]),
                )
            ).all()
        )
        changed: list[dict[str, Any]] = []
        with_lines: dict[str, tuple[LineValues, ...]] = {}
        now = self.context.now
        for row in orders:
            if not outcome.tally(stored=stored.get(row.order_id), incoming=row.content_hash):
                continue
            changed.append(
                {
                    "source_id": source_id,
                    "order_id": row.order_id,
                    "source_record_id": customers.get(row.customer_id or ""),
                    **row.fields,
                    "attributes": row.attributes,
                    "content_hash": row.content_hash,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if row.lines is not None:
                with_lines[row.order_id] = row.lines
        upsert_changed(connection, ORDERS, changed, key=("source_id", "order_id"))
        outcome.lines_written = self._replace_lines(connection, with_lines)
        return outcome

    def _customer_records(
        self, connection: Connection, orders: list[OrderRow], outcome: ChunkOutcome
    ) -> dict[str, int]:
        """The customer record id of each customer the orders name; placeholders as needed."""
        wanted = {row.customer_id for row in orders if row.customer_id is not None}
        if not wanted:
            return {}
        source_id = self.context.source.id
        query = select(RECORDS.c.record_id, RECORDS.c.id).where(RECORDS.c.source_id == source_id)
        found = dict(connection.execute(query.where(RECORDS.c.record_id.in_(wanted))).all())
        missing = wanted - found.keys()
        if missing:
            now = self.context.now
            placeholders = [
                {
                    "source_id": source_id,
                    "record_id": record_id,
                    "attributes": {},
                    "is_placeholder": True,
                    # Never the hash of real content, so the customer file always fills it.
                    "content_hash": "",
                    "created_at": now,
                    "updated_at": now,
                }
                for record_id in sorted(missing)
            ]
            insert_missing(connection, RECORDS, placeholders, key=("source_id", "record_id"))
            outcome.placeholders_created += len(missing)
            found.update(connection.execute(query.where(RECORDS.c.record_id.in_(missing))).all())
        return found

    def _replace_lines(
        self, connection: Connection, with_lines: dict[str, tuple[LineValues, ...]]
    ) -> int:
        if not with_lines:
            return 0
        keys = dict(
            connection.execute(
                select(ORDERS.c.order_id, ORDERS.c.id).where(
                    ORDERS.c.source_id == self.context.source.id,
                    ORDERS.c.order_id.in_(with_lines),
                )
            ).all()
        )
        connection.execute(delete(LINES).where(LINES.c.order_pk.in_(keys.values())))
        rows = [
            line.as_row(keys[order_id]) for order_id, lines in with_lines.items() for line in lines
        ]
        insert_rows(connection, LINES, rows)
        return len(rows)


@dataclass(frozen=True, slots=True)
class LineRow:
    order_id: str
    line_no: int | None
    sku: str
    quantity: int
    unit_price: str
    discount: str | None


class OrderLineImporter:
    """Writes lines of orders imported before, keyed by (order, line number)."""

    columns: Mapping[str, str] = {name: name for name in LINE_COLUMNS}
    required: tuple[str, ...] = ("order_id", "sku", "quantity", "unit_price")
    tables: tuple[str, ...] = ("order_lines",)

    def __init__(self, context: ImportContext) -> None:
        self.context = context

    def parse(self, values: Mapping[str, Any]) -> LineRow:
        order_id = required_text(values, "order_id", _LENGTHS["order_id"])
        line_no = integer(values, "line_no", minimum=1)
        sku = required_text(values, "sku", _SKU_LENGTH)
        quantity = integer(values, "quantity")
        if quantity is None:
            msg = "quantity is missing"
            raise InvalidRowError(msg)
        unit_price = amount(values, "unit_price")
        if unit_price is None:
            msg = "unit_price is missing"
            raise InvalidRowError(msg)
        return LineRow(order_id, line_no, sku, quantity, unit_price, amount(values, "discount"))

    def write(self, connection: Connection, rows: list[tuple[int, LineRow]]) -> ChunkOutcome:
        outcome = ChunkOutcome()
        orders = {
            order_id: (pk, code)
            for order_id, pk, code in connection.execute(
                select(ORDERS.c.order_id, ORDERS.c.id, ORDERS.c.currency).where(
                    ORDERS.c.source_id == self.context.source.id,
                    ORDERS.c.order_id.in_({row.order_id for _, row in rows}),
                )
            ).all()
        }
        known: list[tuple[int, LineRow]] = []
        for line, row in rows:
            if row.order_id in orders:
                known.append((line, row))
            else:
                reason = (
                    f"order {shown(row.order_id)} is not known for source "
                    f"{self.context.source.name!r} (import orders before their lines)"
                )
                outcome.errors.append(RowError(line, reason))
        numbered = self._numbered(known)
        values: list[tuple[int, str, LineValues]] = []
        for line, row, line_no in numbered:
            code = orders[row.order_id][1]
            try:
                discount = 0
                if row.discount is not None:
                    discount = minor_units(row.discount, code, "discount")
                if discount < 0:
                    msg = "discount must not be negative"
                    raise InvalidRowError(msg)
                price = minor_units(row.unit_price, code, "unit_price")
                checked = LineValues(line_no, row.sku, row.quantity, price, discount)
            except InvalidRowError as error:
                outcome.errors.append(RowError(line, str(error)))
                continue
            values.append((line, row.order_id, checked))
        duplicates = self.context.scratch.claim_keys(
            [(line, f"{order_id}\x1f{v.line_no}") for line, order_id, v in values]
        )
        for line, first in duplicates.items():
            outcome.errors.append(
                RowError(line, f"duplicate line of its order (first on line {first})")
            )
        fresh = [
            v.as_row(orders[order_id][0]) for line, order_id, v in values if line not in duplicates
        ]
        stored = {
            (line_row["order_pk"], line_row["line_no"]): line_row
            for line_row in connection.execute(
                select(
                    LINES.c.order_pk,
                    LINES.c.line_no,
                    LINES.c.sku,
                    LINES.c.quantity,
                    LINES.c.unit_price_minor,
                    LINES.c.discount_minor,
                    LINES.c.total_minor,
                ).where(LINES.c.order_pk.in_({new["order_pk"] for new in fresh}))
            ).mappings()
        }
        changed: list[dict[str, Any]] = []
        for new in fresh:
            previous = stored.get((new["order_pk"], new["line_no"]))
            if outcome.tally(stored=None if previous is None else dict(previous), incoming=new):
                changed.append(new)
        replace_by_key(connection, LINES, changed, key=("order_pk", "line_no"))
        outcome.lines_written = len(changed)
        return outcome

    def _numbered(self, rows: list[tuple[int, LineRow]]) -> list[tuple[int, LineRow, int]]:
        """Each row with its line number: as given, or its place among its order's lines."""
        scratch = self.context.scratch
        counts = scratch.counts(row.order_id for _, row in rows)
        numbered = []
        for line, row in rows:
            counts[row.order_id] += 1
            numbered.append((line, row, row.line_no or counts[row.order_id]))
        scratch.store_counts(counts)
        return numbered
