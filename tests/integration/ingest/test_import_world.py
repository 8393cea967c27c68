"""Importing a world directory from its manifest."""

from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from patron import ingest
from patron.ingest import Channel, ImportFileError, ImportKind, import_world
from patron.ingest.models import Event, Order, OrderLine, Product, SourceRecord


def make_world(directory: Path, files: list[dict[str, str]]) -> Path:
    directory.mkdir(exist_ok=True)
    manifest = {
        "format": "patron-world/1",
        "seed": 7,
        "customers": 2,
        "sources": [
            {"name": "store-pos", "channel": "pos", "default_region": "GB"},
            {"name": "mobile-app", "channel": "app", "default_region": "CZ"},
        ],
        "files": files,
    }
    (directory / "manifest.json").write_bytes(orjson.dumps(manifest))
    return directory


def count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_world_is_imported_kind_by_kind_whatever_the_manifest_order(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # given a world whose manifest lists order lines and orders before the customers
    world = tmp_path / "world"
    world.mkdir()
    (world / "lines.csv").write_text("order_id,line_no,sku,quantity,unit_price\nr1,1,TEA,2,2.50\n")
    (world / "orders.csv").write_text(
        "id,customer_id,loyalty_card,email,phone,ordered_at,channel,store_id,currency,total,"
        "discount,voucher_code\nr1,c1,,,,2024-01-01T10:00:00Z,,S1,GBP,5.00,,\n"
    )
    (world / "customers.csv").write_text(
        "id,first_name,last_name,email,phone,loyalty_card,birth_date,street,city,postcode,"
        "region,country\nc1,Ann,Lee,,,,,,,,,\n"
    )
    (world / "products.csv").write_text(
        "sku,name,category,brand,price,currency\nTEA,Tea,,,2.50,GBP\n"
    )
    (world / "app.jsonl").write_bytes(
        orjson.dumps({"type": "screen", "name": "Home", "anonymousId": "d1", "messageId": "s1"})
        + b"\n"
    )
    (world / "truth.csv").write_text("source,record_id,person_id\nstore-pos,c1,p1\n")
    make_world(
        world,
        [
            {"path": "truth.csv", "kind": "truth"},
            {"path": "app.jsonl", "kind": "events", "source": "mobile-app", "format": "jsonl"},
            {"path": "lines.csv", "kind": "order_lines", "source": "store-pos", "channel": "pos"},
            {"path": "orders.csv", "kind": "orders", "source": "store-pos", "channel": "pos"},
            {"path": "customers.csv", "kind": "customers", "source": "store-pos"},
            {"path": "products.csv", "kind": "products", "source": "store-pos"},
        ],
    )

    # when it is imported
    summaries = import_world(sessions, world)

    # then files are imported products, customers, orders, lines, events; truth is not
    assert [(s.kind, Path(s.path).name) for s in summaries] == [
        (ImportKind.PRODUCTS, "products.csv"),
        (ImportKind.CUSTOMERS, "customers.csv"),
        (ImportKind.ORDERS, "orders.csv"),
        (ImportKind.ORDER_LINES, "lines.csv"),
        (ImportKind.EVENTS, "app.jsonl"),
    ]
    assert all(s.ok and s.inserted == 1 for s in summaries)
    assert summaries[2].placeholders_created == 0
    with sessions() as session:
        sources = {s.name: s for s in ingest.list_sources(session)}
        record = session.scalars(select(SourceRecord)).one()
    assert (sources["store-pos"].channel, sources["store-pos"].default_region) == (
        Channel.POS,
        "GB",
    )
    assert (sources["mobile-app"].channel, sources["mobile-app"].default_region) == (
        Channel.APP,
        "CZ",
    )
    assert (record.first_name, record.is_placeholder) == ("Ann", False)
    counts = [count(sessions, m) for m in (Product, Order, OrderLine, Event)]
    assert counts == [1, 1, 1, 1]

    # and importing the world again changes nothing
    again = import_world(sessions, world)
    assert [s.unchanged for s in again] == [1, 1, 1, 1, 1]
    assert [count(sessions, m) for m in (Product, Order, OrderLine, Event)] == counts


def test_a_missing_file_is_reported_and_the_other_files_are_imported(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    world = make_world(
        tmp_path / "world",
        [
            {"path": "gone.csv", "kind": "customers", "source": "store-pos"},
            {"path": "products.csv", "kind": "products", "source": "store-pos"},
        ],
    )
    (world / "products.csv").write_text("sku,name\nTEA,Tea\n")

    summaries = import_world(sessions, world)

    assert [(s.kind, s.ok) for s in summaries] == [
        (ImportKind.PRODUCTS, True),
        (ImportKind.CUSTOMERS, False),
    ]
    assert summaries[1].error is not None
    assert "gone.csv" in summaries[1].error
    assert "not imported" in summaries[1].describe()


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        (b"{not json", "bad JSON"),
        (b'{"format": "other/2", "files": []}', "not a patron-world/1 manifest"),
        (
            b'{"format": "patron-world/1", "files": [{"path": "x", "kind": "refunds"}]}',
            "unknown kind 'refunds'",
        ),
    ],
    ids=["bad-json", "other-format", "unknown-kind"],
)
def test_a_bad_manifest_is_refused(
    sessions: sessionmaker[Session], tmp_path: Path, manifest: bytes, reason: str
) -> None:
    (tmp_path / "manifest.json").write_bytes(manifest)

    with pytest.raises(ImportFileError, match=reason):
        import_world(sessions, tmp_path)
