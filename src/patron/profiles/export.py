"""The customer export: one JSON line per customer, its golden attributes and its records.

``{"id": 12, "attributes": {"first_name": "Ann", ...}, "records": [{"source": "pos", "id": "c1"}]}``

Record-linkage benchmarks read this format to compare Patron's customers with the true ones, so
it stays exactly this shape. The export streams: one query, read in batches in customer order,
one customer in memory at a time, whatever the number of customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import orjson
from sqlalchemy import select

from patron.identity.models import Profile, RecordProfile
from patron.ingest.models import Source, SourceRecord
from patron.profiles.golden import RECORD_COLUMNS, record_values, survivorship_policy
from patron.profiles.survivorship import RecordValues, golden_values, survive

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sqlalchemy.orm import Session

    from patron.profiles.survivorship import SurvivorshipPolicy

EXPORT_BATCH: Final = 2_000


@dataclass(frozen=True, slots=True)
class ExportedCustomer:
    id: int
    attributes: dict[str, str]
    records: tuple[tuple[str, str], ...]

    def to_json_line(self) -> bytes:
        return orjson.dumps(
            {
                "id": self.id,
                "attributes": self.attributes,
                "records": [{"source": source, "id": rid} for source, rid in self.records],
            }
        )


def _customer(
    root: int, records: list[RecordValues], policy: SurvivorshipPolicy
) -> ExportedCustomer:
    return ExportedCustomer(
        id=root,
        attributes=golden_values(survive(records, policy)),
        records=tuple((r.source, r.record_id) for r in records),
    )


def iter_customers(session: Session) -> Iterator[ExportedCustomer]:
    """Every customer (canonical profile), lowest id first, with its golden attributes and
    source records; customers known only from events come with no records."""
    policy = survivorship_policy(session)
    # Every node, with its records if it has any: a customer whose nodes hold no record is
    # exported too. Ordered by root, so that one customer's rows arrive together.
    query = (
        select(Profile.canonical_id, *RECORD_COLUMNS)
        .outerjoin(RecordProfile, RecordProfile.profile_id == Profile.id)
        .outerjoin(SourceRecord, SourceRecord.id == RecordProfile.source_record_id)
        .outerjoin(Source, Source.id == SourceRecord.source_id)
        .order_by(Profile.canonical_id, SourceRecord.id)
        .execution_options(yield_per=EXPORT_BATCH)
    )
    current: int | None = None
    records: list[RecordValues] = []
    for row in session.execute(query):
        root: int = row[0]
        if root != current:
            if current is not None:
                yield _customer(current, records, policy)
            current, records = root, []
        if row[1] is not None:
            records.append(record_values(row[1:]))
    if current is not None:
        yield _customer(current, records, policy)


def export_customers(session: Session, write: Callable[[bytes], Any]) -> int:
    """Write every customer as a JSON line (``bytes`` ending in a newline) through ``write``;
    return how many were written."""
    count = 0
    for customer in iter_customers(session):
        write(customer.to_json_line() + b"\n")
        count += 1
    return count
