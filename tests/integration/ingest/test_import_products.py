"""Importing product catalogues."""

from pathlib import Path

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from patron.ingest import Channel, RowError, import_file
from patron.ingest.models import Product


def products(sessions: sessionmaker[Session]) -> dict[str, Product]:
    with sessions() as session:
        return {p.sku: p for p in session.scalars(select(Product))}


def test_csv_products_are_stored_with_prices_in_minor_units(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "products.csv"
    path.write_text(
        "sku,name,category,brand,price,currency,colour\n"
        "TEA-1,Green tea,Tea,Leafy,4.99,gbp,green\n"
        "CUP-2,Cup,,,,,\n"
        "BAD-3,Bad,,,4.99,,\n"
        "BAD-4,Bad,,,four,GBP,\n"
    )

    summary = import_file(sessions, "products", path, source="eshop", channel=Channel.ESHOP)

    assert (summary.inserted, summary.rejected) == (2, 2)
    assert summary.errors == (
        RowError(4, "price needs a currency"),
        RowError(5, "price 'four' is not an amount (write it like 12.50)"),
    )
    tea = products(sessions)["TEA-1"]
    assert (tea.name, tea.category, tea.brand) == ("Green tea", "Tea", "Leafy")
    assert (tea.price_minor, tea.currency, tea.attributes) == (499, "GBP", {"colour": "green"})
    assert products(sessions)["CUP-2"].price_minor is None


def test_jsonl_products_are_idempotent_and_updated_on_change(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    first = tmp_path / "a.jsonl"
    first.write_bytes(
        orjson.dumps({"sku": "A", "name": "Apple", "price": 1, "currency": "EUR"})
        + b"\n"
        + orjson.dumps({"sku": "B", "name": "Banana", "price": 0.5, "currency": "EUR"})
        + b"\n"
    )
    import_file(sessions, "products", first, source="pim", channel=Channel.CRM)
    before = products(sessions)

    same = import_file(sessions, "products", first, source="pim")
    second = tmp_path / "b.jsonl"
    second.write_bytes(
        orjson.dumps({"sku": "A", "name": "Apple", "price": 1.2, "currency": "EUR"}) + b"\n"
    )
    changed = import_file(sessions, "products", second, source="pim")

    after = products(sessions)
    assert (same.unchanged, same.updated) == (2, 0)
    assert (changed.updated, after["A"].price_minor) == (1, 120)
    assert after["A"].updated_at > before["A"].updated_at
    assert after["B"].updated_at == before["B"].updated_at
